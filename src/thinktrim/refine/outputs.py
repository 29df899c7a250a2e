"""Everything `thinktrim refine` writes after scoring, derived from annotations.jsonl.

- `refined_r{ratio}.{ext}`: the input with pruned thinking, in the input's own layout and file format;
- `llamafactory/`: OpenAI-messages data per ratio, a `dataset_info.json` LLaMA-Factory reads as is, and per ratio
  `sft_limo_r{ratio}.yaml` (LIMO's recipe from `thinktrim.recipes`, with `ds_z3_config.json`) for
  `llamafactory-cli train`;
- `stats.json`: counts, skipped/unclosed ids, token share per step kind, token reduction per ratio
  (`thinktrim.refine.stats`).

The write phase streams, so its memory does not grow with the dataset beyond a small index: one pass over
annotations.jsonl keeps each chain's line offset and its scored units (`UnitTable`), the units are ranked,
then the input is read once and each record, with its annotation read back by offset, goes to one open
writer per ratio and output.
"""

from __future__ import annotations

import json
import shutil
from array import array
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import Any

import yaml

from thinktrim.data.annotation import AnnotationReader, ChainAnnotation, read_annotations
from thinktrim.data.chat import to_messages
from thinktrim.data.formats import (
    DATASETS_FOLDER,
    RecordWriter,
    SourceRecord,
    json_container_key,
    llamafactory_dataset_info,
    output_format,
    with_thinking,
)
from thinktrim.data.hf import dataset_features, is_dataset_source, is_save_to_disk, open_dataset
from thinktrim.data.layouts import RecordError
from thinktrim.data.store import atomic_open, write_json
from thinktrim.errors import UserError
from thinktrim.recipes import LIMO_BASE_MODEL, deepspeed_zero3, llamafactory_model, llamafactory_sft
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.pipeline import ANNOTATIONS, REJECTS, RUN_FILE, iter_input, read_run, run_ids
from thinktrim.refine.prune import UnitTable, refined_thinking
from thinktrim.refine.stats import SCORED, RunStats, ratio_tag, refined_name


@dataclass
class AnnotationIndex:
    """This run's chains, in input order, as found in annotations.jsonl: where each one's line starts (-1
    when it has none) and its scored units (`UnitTable`, chain numbers are positions in `ids`)."""

    ids: list[str]
    position: dict[str, int]  # id -> position in `ids`
    offsets: array
    units: UnitTable
    chain_of: array  # position in `ids` -> chain number in `units` (-1: not scored)

    @classmethod
    def build(cls, path: Path, ids: list[str]) -> AnnotationIndex:
        """One pass over the annotations file; chains it holds beyond `ids` (a larger --limit) are left out."""
        position = {chain_id: i for i, chain_id in enumerate(ids)}
        offsets, chain_of = array("q", [-1]) * len(ids), array("l", [-1]) * len(ids)
        units = UnitTable()
        for offset, ann in read_annotations(path):
            i = position.get(ann.id)
            if i is None:
                continue
            if offsets[i] >= 0:
                raise UserError(f"{path}: chain {ann.id!r} is annotated twice; rerun into a new folder")
            offsets[i] = offset
            if ann.status in SCORED:
                chain_of[i] = units.add(ann.id, ann.steps)
        return cls(ids, position, offsets, units, chain_of)

    def offset_of(self, chain_id: str) -> int:
        """Where the chain's annotation starts; -1 when it has none, or is not one of this run's chains."""
        i = self.position.get(chain_id)
        return -1 if i is None else self.offsets[i]

    @property
    def missing(self) -> int:
        return sum(1 for o in self.offsets if o < 0)

    def removed(self, i: int, masks: dict[float, bytearray]) -> dict[float, set[int]]:
        """The unit numbers removed from the chain at position `i`, at each ratio of `masks`."""
        c = self.chain_of[i]
        return {r: self.units.units_removed(c, m) if c >= 0 else set() for r, m in masks.items()}


def _run_ids(cfg: RefineConfig, out: Path) -> list[str]:
    """This run's chain ids, in input order: run.json's when it records this very run, else read off the input."""
    run = read_run(out)
    current = {**cfg.settings(), "input": str(Path(cfg.input).resolve())}
    same = all(run.get(k) == v for k, v in current.items() if k in ("input", "limit", "layout", "file_format"))
    if run.get("ids") and same:
        return [str(i) for i in run["ids"]]
    return run_ids(cfg)


def write_outputs(cfg: RefineConfig) -> dict[str, Any]:
    """Prune at every ratio and write the refined datasets, the LLaMA-Factory folder and stats.json.

    Everything is derived from this run's chains only: annotations.jsonl may hold more (scored under a larger
    --limit), which are neither written, ranked nor counted. Files a previous run wrote and this one does not
    (other ratios, another name) are removed, so the folder holds exactly this run's outputs. Every file is
    written atomically: a failure (a chain not yet scored, a full disk) leaves the previous ones as they were.
    """
    out = Path(cfg.output_dir)
    cfg = replace(cfg, on_error="skip")  # the rejects were reported while scoring; here they are listed
    index = AnnotationIndex.build(out / ANNOTATIONS, _run_ids(cfg, out))
    masks = index.units.removed_at(cfg.ratios, cfg.scope)  # type: ignore[arg-type]
    stats = RunStats(cfg.ratios)
    read_as = output_format(cfg.input, cfg.inputs.file_format)  # what the input is (parquet: its schema)
    file_format = read_as if cfg.output_format == "auto" else cfg.output_format
    folder = out / "llamafactory"
    entries = {r: f"{cfg.dataset_name}_{ratio_tag(r)}" for r in cfg.ratios}
    files = {r: refined_name(r, file_format) for r in cfg.ratios}
    rejected, seen = 0, 0
    with ExitStack() as stack:
        annotations = stack.enter_context(AnnotationReader(out / ANNOTATIONS))
        items = iter_input(cfg)
        head = _up_to_first_record(items)  # the input is open (a JSON one parsed) before its mirror is
        json_key = _container_key(cfg.input, head) if file_format == read_as == "json" else None
        schema = _parquet_schema(cfg) if read_as == "parquet" and file_format in ("parquet", DATASETS_FOLDER) else None
        refined = {r: stack.enter_context(RecordWriter(out / name, file_format, json_key, schema))
                   for r, name in files.items()}
        messages = {r: stack.enter_context(RecordWriter(folder / f"{e}.jsonl", "jsonl")) for r, e in entries.items()}
        rejects = None
        for item in chain(head, items):
            if isinstance(item, RecordError):
                if rejects is None:
                    rejects = stack.enter_context(RecordWriter(out / REJECTS, "jsonl"))
                rejects.write({"location": item.location, "field": item.field, "reason": item.reason})
                stats.add_reject(item.field)
                rejected += 1
                continue
            src = item
            if seen >= len(index.ids) or index.ids[seen] != src.trace.id:
                raise UserError(f"{src.location}: not the chain run.json names here; rerun `thinktrim refine`")
            offset = index.offsets[seen]
            if offset < 0:
                raise UserError(f"{src.location}: chain has no annotation ({index.missing} missing); rerun to "
                                "finish scoring")
            ann, removed = annotations.at(offset), index.removed(seen, masks)
            _write_chain(src, ann, removed, refined, messages, cfg.system_prompt)
            stats.add(ann, removed)
            seen += 1
        if seen != len(index.ids):
            raise UserError(f"{cfg.input}: {seen} chains read but run.json names {len(index.ids)}; rerun "
                            "`thinktrim refine`")
    info = {e: llamafactory_dataset_info(f"{e}.jsonl", style="messages") for e in entries.values()}
    write_json(folder / "dataset_info.json", info)
    recipes = _write_llamafactory_recipes(folder, entries, llamafactory_model(cfg.model))

    written = [ANNOTATIONS, RUN_FILE, "stats.json", *files.values(),
               *(f"{folder.name}/{e}.jsonl" for e in entries.values()), f"{folder.name}/dataset_info.json",
               *(f"{folder.name}/{name}" for name in recipes)]
    if rejected:
        written.append(REJECTS)
    result = stats.to_dict(cfg, rejected)
    result["files"] = {ratio_tag(r): f for r, f in files.items()}
    _remove_stale_outputs(out, written)
    result["outputs"] = written
    write_json(out / "stats.json", result)
    return result


def _write_llamafactory_recipes(folder: Path, entries: dict[float, str], model: str = LIMO_BASE_MODEL) -> list[str]:
    """LIMO's recipe training `model` (in LLaMA-Factory's template for its family) on each ratio's dataset, for
    `llamafactory-cli train` (and its DeepSpeed ZeRO-3 config)."""
    deepspeed = folder / "ds_z3_config.json"
    write_json(deepspeed, deepspeed_zero3())
    names = [deepspeed.name]
    for r, entry in entries.items():
        recipe = llamafactory_sft(entry, str(folder.resolve()), f"saves/{entry}_limo", str(deepspeed.resolve()),
                                  model=model)
        path = folder / f"sft_limo_{ratio_tag(r)}.yaml"
        with atomic_open(path) as f:
            f.write(f"# LIMO's recipe on {entry}: `llamafactory-cli train {path.name}` (8 GPUs: global batch 32;\n"
                    "# output_dir is relative to where you run it). Written by thinktrim refine.\n"
                    f"# Trains {model} in LLaMA-Factory's `{recipe['template']}` template; to train another model,\n"
                    "# change model_name_or_path and template together.\n")
            yaml.safe_dump(recipe, f, sort_keys=False)
        names.append(path.name)
    return names


def _write_chain(src: SourceRecord, ann: ChainAnnotation, removed: dict[float, set[int]],
                 refined: dict[float, RecordWriter], messages: dict[float, RecordWriter],
                 system_prompt: str | None) -> None:
    """One chain at every ratio: the input record with its kept steps, and the same as training messages."""
    for r, drop in removed.items():
        thinking = refined_thinking(src.trace.thinking, ann.steps, drop) if drop else src.trace.thinking
        refined[r].write(with_thinking(src, thinking) if drop else src.raw)
        if src.trace.thinking_closed:
            messages[r].write({"messages": to_messages(src.trace, system_prompt, thinking=thinking)})


def _up_to_first_record(items: Iterator[SourceRecord | RecordError]) -> list[SourceRecord | RecordError]:
    """The input's items up to its first valid record (the rejects before it, then it), taken off `items`."""
    head: list[SourceRecord | RecordError] = []
    for item in items:
        head.append(item)
        if isinstance(item, SourceRecord):
            break
    return head


def _container_key(path: str, head: list[SourceRecord | RecordError]) -> str | None:
    """The JSON input's container key, as its first valid record came with it; a file without one is parsed
    again for it (so even an output with no records keeps the input's shape)."""
    if head and isinstance(head[-1], SourceRecord):
        return head[-1].container_key
    return json_container_key(path)


def _parquet_schema(cfg: RefineConfig) -> Any:
    """The input's Parquet schema (read from its footer; a datasets input's Arrow schema), so the refined files
    keep its column types."""
    import pyarrow.parquet as pq

    if is_dataset_source(cfg.input):
        return dataset_features(open_dataset(cfg.input, cfg.inputs.split, cfg.inputs.subset))
    return pq.read_schema(cfg.input)


def _remove_stale_outputs(out: Path, written: list[str]) -> None:
    """Remove what the previous run's stats.json lists as written and this run did not write again."""
    try:
        previous = json.loads((out / "stats.json").read_text(encoding="utf-8")).get("outputs", [])
    except (OSError, ValueError, AttributeError):
        previous = []
    if (out / REJECTS).exists() and REJECTS not in written:
        previous.append(REJECTS)  # rejects of an earlier run that read further (or another version)
    for name in set(previous) - set(written):
        path = out / name
        if isinstance(name, str) and path.resolve().parent in (out.resolve(), (out / "llamafactory").resolve()):
            if is_save_to_disk(path) and not path.is_symlink():  # a refined datasets folder (--output-format)
                shutil.rmtree(path)
            elif not path.is_dir():
                path.unlink(missing_ok=True)
