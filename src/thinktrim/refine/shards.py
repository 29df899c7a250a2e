"""`thinktrim refine-merge`: the shards of a `refine --shard i/N` run become the folder one process would have
written.

Each shard scored its own chains into `<output>/shards/i-of-N/annotations.jsonl`. The merge checks that every
shard is there, scored the same input with the same settings, and holds every chain that hashes to it; then it
writes `<output>/annotations.jsonl` (the shards' complete lines, one after the other) and `run.json` (every
chain, in input order), and runs the write phase over them, so ranking (`--scope dataset` too), refined files
and stats.json are computed over all shards at once, exactly as in one process.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from thinktrim.config import setting_names
from thinktrim.data.annotation import check_annotation_version
from thinktrim.data.hf import source_fingerprint
from thinktrim.data.shards import Shard, find_shards
from thinktrim.data.store import JsonlStore, atomic_open, changed_settings, copy_head
from thinktrim.errors import UserError
from thinktrim.lm.parallel import ParallelConfig
from thinktrim.refine.config import RefineConfig, RefineMergeConfig
from thinktrim.refine.outputs import write_outputs
from thinktrim.refine.pipeline import ANNOTATIONS, SCORING_KEYS, read_run, run_ids, write_run

# What every shard must share to be one run: the scoring settings, and which chains the run reads.
_SHARED_KEYS = (*SCORING_KEYS, "limit", "file_format", "on_error", "split", "subset", "start", "end")
MERGED = "merged_shards"  # run.json: how many shards a merge read


def merge_shards(merge: RefineMergeConfig) -> dict[str, Any]:
    """Merge the shards under `merge.output_dir` and write every output; returns stats.json. A missing or
    unfinished shard, or shards of different runs, is a UserError that names it."""
    out = Path(merge.output_dir)
    folders = find_shards(out)
    count = len(folders)
    runs = {}
    for i, folder in folders.items():
        runs[i] = read_run(folder)
        if not runs[i]:
            raise UserError(f"{folder}: no run.json: shard {Shard(i, count)} never started; run `thinktrim refine "
                            f"… --shard {Shard(i, count)}`, then merge again")
    first = runs[0]
    for i, run in runs.items():
        changed = changed_settings(first, run, _SHARED_KEYS)
        if first.get("input_fingerprint", {}).get("sha256") != run.get("input_fingerprint", {}).get("sha256"):
            changed.append("input_fingerprint (the input changed between shards)")
        if changed:
            raise UserError(f"{folders[i]}: shard {Shard(i, count)} was run with other settings than shard "
                            f"0/{count} ({'; '.join(changed)}); rerun it with the same ones")
    cfg = config_of(first, merge)
    fingerprint = source_fingerprint(cfg.input, cfg.inputs.split, cfg.inputs.subset)
    if fingerprint["sha256"] != first.get("input_fingerprint", {}).get("sha256"):
        raise UserError(f"{cfg.input} changed since the shards scored it (sha256 differs); rescore the shards")
    ids = run_ids(cfg)
    sizes = {i: _check_complete(Shard(i, count), folders[i], ids) for i in range(count)}
    previous = read_run(out)
    if (out / ANNOTATIONS).exists() and previous and MERGED not in previous:
        raise UserError(f"{out} holds a run scored in one process ({ANNOTATIONS}); merge into the folder the "
                        "shards were run with only, or move that run away")
    with atomic_open(out / ANNOTATIONS, "wb") as merged:
        for i in range(count):
            copy_head(folders[i] / ANNOTATIONS, merged, sizes[i])
    write_run(cfg, out, fingerprint, ids, **{MERGED: count})
    return write_outputs(cfg)


def config_of(run: dict[str, Any], merge: RefineMergeConfig) -> RefineConfig:
    """The single-process config of the run a shard's run.json describes, with the merge's overrides."""
    names = setting_names(RefineConfig)
    cfg = RefineConfig.from_mapping({k: v for k, v in run.items() if k in names}, source=f"{merge.output_dir} shards")
    overrides = {k: getattr(merge, k) for k in ("ratios", "scope", "name") if getattr(merge, k) is not None}
    return replace(cfg, output_dir=merge.output_dir, parallel=ParallelConfig(), **overrides)


def _check_complete(shard: Shard, folder: Path, ids: list[str]) -> int:
    """The byte length of the shard's complete annotations; UserError naming the shard when it lacks any of
    its chains (an unfinished or killed shard run)."""
    path = folder / ANNOTATIONS
    keys, size = JsonlStore.complete_part(path) if path.exists() else (set(), 0)
    if size:
        check_annotation_version(path)
    wanted = [i for i in ids if shard.holds(i)]
    missing = [i for i in wanted if i not in keys]
    if missing:
        raise UserError(f"shard {shard} is unfinished: {len(wanted) - len(missing)} of its {len(wanted)} chains "
                        f"scored in {folder} (first missing: {missing[0]}); rerun `thinktrim refine … --shard "
                        f"{shard}` to finish it, then merge again")
    return size

