"""Check a refine output folder: refined chains are exact concatenations of original step spans, and only
functional units were removed. Used by the tests and by `thinktrim refine-check`."""

from __future__ import annotations

from itertools import zip_longest
from pathlib import Path

from thinktrim.data.annotation import AnnotationReader, read_annotations
from thinktrim.data.formats import SourceRecord, read_records
from thinktrim.data.store import file_fingerprint
from thinktrim.data.trace import Step
from thinktrim.refine.outputs import AnnotationIndex
from thinktrim.refine.pipeline import ANNOTATIONS, read_run


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
    more, scored under a larger --limit. A folder that is not a refine output raises ValueError. Streams like
    the write phase: one chain's annotation is read back at a time.
    """
    out = Path(out_dir)
    if not (out / ANNOTATIONS).is_file():
        raise ValueError(f"{out}: no {ANNOTATIONS}: not a `thinktrim refine` output folder")
    run = read_run(out)
    # a folder written before run.json named its chains: all of them (loading checks each chain's steps)
    ids = run.get("ids") or [ann.id for _, ann in read_annotations(out / ANNOTATIONS)]
    index = AnnotationIndex.build(out / ANNOTATIONS, [str(i) for i in ids])
    problems = [f"{i}: named in run.json but not annotated (an unfinished run?)" for i, offset in
                zip(index.ids, index.offsets) if offset < 0]
    annotated = [offset for offset in index.offsets if offset >= 0]
    files = sorted(out.glob("refined_r*.*"))
    if not files:
        problems.append(f"{out}: no refined_r*.* files")
    layout = run.get("layout", "auto")  # a layout of the user's own is not auto-detected
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
            if found != len(annotated):
                problems.append(f"{path.name}: {found} records but {len(annotated)} annotated chains")
            else:
                problems += bad
    return problems


def _removable(step: Step) -> bool:
    return step.kind.is_functional and step.unit is not None and not step.protected


def _check_spans_against_input(run: dict, index: AnnotationIndex, annotations: AnnotationReader) -> list[str]:
    """The annotated steps' texts must concatenate to the input's thinking, chain by chain."""
    if not run:
        return []
    if not Path(run["input"]).is_file():
        return [f"{run['input']}: input not found, original spans not checked"]
    problems = []
    before = run.get("input_fingerprint", {}).get("sha256")
    if before is not None and file_fingerprint(run["input"])["sha256"] != before:
        problems.append(f"{run['input']}: changed since the run read it (sha256 differs)")
    items = read_records(run["input"], layout=run["layout"], file_format=run["file_format"], on_error="skip")
    for item in items:
        offset = index.offset_of(item.trace.id) if isinstance(item, SourceRecord) else -1
        if offset >= 0 and annotations.at(offset).thinking != item.trace.thinking:
            problems.append(f"{item.trace.id}: annotated steps do not concatenate to the original thinking")
    return problems
