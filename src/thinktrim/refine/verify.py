"""Check a refine output folder: refined chains are exact concatenations of original step spans, and only
functional units were removed. Used by the tests and by `thinktrim refine-check`."""

from __future__ import annotations

from fnmatch import fnmatch
from itertools import zip_longest
from pathlib import Path
from typing import Any

from thinktrim.data.annotation import AnnotationReader, read_annotations
from thinktrim.data.formats import DATASETS_FOLDER, FILE_FORMATS, SourceRecord, read_records
from thinktrim.data.hf import is_dataset_source, is_save_to_disk
from thinktrim.data.store import read_json_object
from thinktrim.data.trace import Step
from thinktrim.errors import UserError
from thinktrim.refine.outputs import AnnotationIndex
from thinktrim.refine.pipeline import ANNOTATIONS, RUN_FILE, input_changed, read_run
from thinktrim.refine.stats import ratio_tag, refined_name


def removable_subsequence(refined: str, texts: list[str], removable: list[bool]) -> bool:
    """Whether `refined` is the concatenation of the texts with only removable ones left out.

    Walks the steps keeping the set of positions in `refined` reachable so far (a tiny dynamic program), so
    repeated step texts cannot fool it.
    """
    positions = {0}
    for text, can_drop in zip(texts, removable):
        nxt = {p + len(text) for p in positions if refined.startswith(text, p)}
        if can_drop:
            nxt |= positions
        positions = nxt
        if not positions:
            return False
    return len(refined) in positions


def check_refined(out_dir: str | Path) -> list[str]:
    """Problems found in the folder (empty when every refined file checks out).

    The chains checked are the ones `run.json` names (this run's, in input order); annotations.jsonl may hold
    more, scored under a larger --limit. A folder that is not a refine output, or lacks an output run.json
    promises (a refined file per ratio holding every chain, stats.json and what it lists), raises UserError: an
    unfinished write phase is not a pass. Streams like the write phase: one annotation is read back at a time.
    """
    out = Path(out_dir)
    if not (out / ANNOTATIONS).is_file():
        raise UserError(f"{out}: no {ANNOTATIONS}: not a `thinktrim refine` output folder")
    run = read_run(out)
    check_run_shape(out, run)
    missing = missing_outputs(out, run)
    if missing:
        raise UserError(f"{out}: incomplete refine output: {', '.join(missing)} missing (run.json promises "
                        f"{'it' if len(missing) == 1 else 'them'}); the run did not finish writing: rerun the same "
                        "`thinktrim refine` command")
    # a folder written before run.json named its chains: all of them (loading checks each chain's steps)
    ids = run.get("ids") or [ann.id for _, ann in read_annotations(out / ANNOTATIONS)]
    index = AnnotationIndex.build(out / ANNOTATIONS, [str(i) for i in ids])
    problems = [f"{i}: named in run.json but not annotated (an unfinished run?)" for i, offset in
                zip(index.ids, index.offsets) if offset < 0]
    annotated = [offset for offset in index.offsets if offset >= 0]
    files = sorted(p for p in out.glob("refined_r*") if p.is_file() or is_save_to_disk(p))
    if not files:
        problems.append(f"{out}: no refined_r* files")
    layout = run.get("layout", "auto")  # a layout of the user's own is not auto-detected
    short: list[str] = []  # refined files that lack chains: a write phase that did not finish
    with AnnotationReader(out / ANNOTATIONS) as annotations:
        problems += _check_spans_against_input(run, index, annotations)
        for path in files:
            found, bad = 0, []
            for item, offset in zip_longest(read_records(path, layout=layout, on_error="skip"), annotated):
                found += item is not None
                if item is None or offset is None:
                    continue
                if not isinstance(item, SourceRecord):
                    bad.append(f"{path.name}: unreadable record: {item}")
                    continue
                ann = annotations.at(offset)
                if not removable_subsequence(item.trace.thinking, ann.texts(), [_removable(s) for s in ann.steps]):
                    bad.append(f"{path.name}: {ann.id}: not the original steps minus functional units")
            if run.get("ids") and found != len(ids):
                short.append(f"{path.name} holds {found} of the {len(ids)} chains run.json names")
            elif found != len(annotated):
                problems.append(f"{path.name}: {found} records but {len(annotated)} annotated chains")
            else:
                problems += bad
    if short:
        raise UserError(f"{out}: incomplete refine output: {'; '.join(short)}; rerun the same `thinktrim refine` "
                        "command")
    return problems


def check_run_shape(out: Path, run: dict[str, Any]) -> None:
    """run.json's fields that the check follows, with the types refine writes; a UserError naming them."""
    where = out / RUN_FILE
    ids, ratios = run.get("ids"), run.get("ratios")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, (str, int)) for i in ids)):
        raise UserError(f"{where}: ids is {type(ids).__name__}, expected a list of chain ids")
    if ratios is not None and not (isinstance(ratios, list) and all(
            isinstance(r, (int, float)) and not isinstance(r, bool) for r in ratios)):
        raise UserError(f"{where}: ratios is {ratios!r}, expected a list of numbers")
    for key in ("input", "layout", "file_format"):
        if key in run and not isinstance(run[key], str):
            raise UserError(f"{where}: {key} is {type(run[key]).__name__}, expected a string")


def missing_outputs(out: Path, run: dict[str, Any]) -> list[str]:
    """The outputs that the run recorded in run.json writes and the folder lacks: a refined file per ratio,
    stats.json, and whatever stats.json lists as written (llamafactory/ included). Empty for a folder written
    before run.json recorded its ratios."""
    ratios = run.get("ratios")
    if not ratios:
        return []
    missing = [f"refined_{ratio_tag(r)}.*" for r in ratios
               if not any((out / refined_name(r, ext)).is_file() for ext in FILE_FORMATS)
               and not is_save_to_disk(out / refined_name(r, DATASETS_FOLDER))]
    stats = read_json_object(out / "stats.json", "thinktrim refine stats.json")
    if not stats:
        return [*missing, "stats.json"]
    recorded = sorted(str(tag) for tag in stats.get("ratios", {})) if isinstance(stats.get("ratios"), dict) else []
    if recorded != sorted(ratio_tag(r) for r in ratios):
        return [*missing, f"stats.json of these ratios (it is an earlier run's: {', '.join(recorded) or 'none'})"]
    outputs = stats.get("outputs")
    listed = outputs if isinstance(outputs, list) else []
    return [*missing, *(name for name in listed if isinstance(name, str)
                        and not ((out / name).is_file() or is_save_to_disk(out / name))
                        and not any(fnmatch(name, pattern) for pattern in missing))]


def _removable(step: Step) -> bool:
    """In a unit and unprotected: functional, or the attempt an error correction abandons (assign_units)."""
    return step.unit is not None and not step.protected


def _check_spans_against_input(run: dict, index: AnnotationIndex, annotations: AnnotationReader) -> list[str]:
    """The annotated steps' texts must concatenate to the input's thinking, chain by chain."""
    if not run:
        return []
    dataset = is_dataset_source(run["input"])
    if not (dataset or Path(run["input"]).is_file()):
        return [f"{run['input']}: input not found, original spans not checked"]
    problems = []
    part = {"split": run.get("split"), "subset": run.get("subset")}
    try:
        if input_changed(run):
            problems.append(f"{run['input']}: changed since the run read it (sha256 differs)")
    except UserError as e:  # a hub dataset since removed from the cache
        return [f"{e}; original spans not checked"]
    items = read_records(run["input"], layout=run["layout"], file_format=run["file_format"], on_error="skip",
                         start=run.get("start", 0), end=run.get("end"), **part)
    for item in items:
        offset = index.offset_of(item.trace.id) if isinstance(item, SourceRecord) else -1
        if offset >= 0 and annotations.at(offset).thinking != item.trace.thinking:
            problems.append(f"{item.trace.id}: annotated steps do not concatenate to the original thinking")
    return problems
