"""`thinktrim eval merge`: the shards of an `eval --shard i/N` run become one run folder, graded and scored.

Each shard generated the samples of its questions into `<output>/shards/i-of-N/<benchmark>/samples.jsonl`.
The merge checks that every shard is there, was run with the same settings, and holds all n samples of every
question that hashes to it; then it writes `<output>/<benchmark>/samples.jsonl` (the shards' complete lines,
one after the other) and grades and scores them as one process would (`write_results`), so results.json has
the same metrics as a single-process run over the same samples.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from thinktrim.data.shards import Shard, find_shards
from thinktrim.data.store import JsonlStore, atomic_open, changed_settings, copy_head
from thinktrim.errors import UserError
from thinktrim.evaluate.config import EvalConfig, EvalMergeConfig
from thinktrim.evaluate.records import read_run_record
from thinktrim.evaluate.run import (
    RESUME_KEYS,
    check_resume,
    load_items,
    sample_key,
    shard_items,
    write_results,
)
from thinktrim.lm.parallel import ParallelConfig

# What every shard must share to be one run: how samples are made, and which questions the run asks.
_ITEM_KEYS = ("benchmarks", "data", "path", "limit", "question_field", "answer_field", "id_field", "kind")
_SAMPLE_KEYS = ("n", "seed", "top_p", "backend")


def merge_shards(merge: EvalMergeConfig) -> dict[str, Any]:
    """Merge, grade and score the shards under `merge.output_dir`; returns results.json. A missing or unfinished
    shard, or shards run with other settings, is a UserError that names it."""
    out = Path(merge.output_dir)
    folders = find_shards(out)
    count = len(folders)
    views = {}
    for i, folder in folders.items():
        saved = read_run_record(folder)
        if not saved:
            raise UserError(f"{folder}: no run.json: shard {Shard(i, count)} never started; run `thinktrim eval "
                            f"… --shard {Shard(i, count)}`, then merge again")
        views[i] = saved
    first = views[0]
    for i, saved in views.items():
        changed = changed_settings(_shared_view(first), _shared_view(saved), (*RESUME_KEYS, *_ITEM_KEYS, *_SAMPLE_KEYS))
        if changed:
            raise UserError(f"{folders[i]}: shard {Shard(i, count)} was run with other settings than shard "
                            f"0/{count} ({'; '.join(changed)}); rerun it with the same ones")
    config = config_of(first, merge)
    items = load_items(config)
    n = config.generation.n
    sizes: dict[str, list[int]] = {bench: [] for bench in items}
    for i in range(count):
        shard = Shard(i, count)
        for bench, bench_items in shard_items(items, shard).items():
            sizes[bench].append(_check_complete(shard, folders[i] / bench / "samples.jsonl", bench_items, n))
    check_resume(out, config)
    for bench in items:
        with atomic_open(out / bench / "samples.jsonl", "wb") as merged:
            for i in range(count):
                if sizes[bench][i]:
                    copy_head(folders[i] / bench / "samples.jsonl", merged, sizes[bench][i])
    total = sum(len(v) for v in items.values()) * n
    stats = {"generated": 0, "resumed": total, "seconds": 0.0, "tokens": 0, "merged_shards": count}
    return write_results(config, items, out, stats)


def config_of(saved: dict[str, Any], merge: EvalMergeConfig) -> EvalConfig:
    """The single-process config of the run a shard's run.json describes, writing into the merge folder."""
    names = {f.name for f in fields(EvalConfig)}
    config = EvalConfig.from_mapping({k: v for k, v in saved.items() if k in names},
                                     source=f"{merge.output_dir} shards")
    return replace(config, output_dir=merge.output_dir, parallel=ParallelConfig(),
                   grade_processes=merge.grade_processes)


def _shared_view(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved config with its sampling settings flat beside the others."""
    return {**saved, **saved.get("generation", {})}


def _check_complete(shard: Shard, path: Path, items: list[Any], n: int) -> int:
    """The byte length of the shard's complete samples of one benchmark; UserError naming the shard when any
    of its questions lacks one of its n samples (an unfinished or killed shard run)."""
    keys, size = JsonlStore.complete_part(path, key="key") if path.exists() else (set(), 0)
    wanted = [sample_key(item.id, s) for item in items for s in range(n)]
    missing = [k for k in wanted if k not in keys]
    if missing:
        raise UserError(f"shard {shard} is unfinished: {len(wanted) - len(missing)} of its {len(wanted)} samples "
                        f"in {path} (first missing: {missing[0]}); rerun `thinktrim eval … --shard {shard}` to "
                        "finish it, then merge again")
    return size
