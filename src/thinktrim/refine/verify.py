"""Check a refine output folder: refined chains are exact concatenations of original step spans, and only
functional units were removed. Used by the tests and by `thinktrim refine-check`."""

from __future__ import annotations

from pathlib import Path

from thinktrim.data.trace import Step


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
    more, scored under a larger --limit. A folder that is not a refine output raises ValueError.
    """
    from thinktrim.data.formats import read_records
    from thinktrim.refine.outputs import load_annotations
    from thinktrim.refine.pipeline import ANNOTATIONS, read_run

    out = Path(out_dir)
    if not (out / ANNOTATIONS).is_file():
        raise ValueError(f"{out}: no {ANNOTATIONS}: not a `thinktrim refine` output folder")
    cached = load_annotations(out)
    run = read_run(out)
    ids = run.get("ids") or list(cached)  # a folder written before run.json named its chains: all of them
    problems: list[str] = [f"{i}: named in run.json but not annotated (an unfinished run?)" for i in ids
                           if i not in cached]
    anns = {i: cached[i] for i in ids if i in cached}
    for ann in anns.values():
        spans_ok = all(a.end == b.start for a, b in zip(ann.steps, ann.steps[1:]))
        if not spans_ok or (ann.steps and ann.steps[0].start != 0):
            problems.append(f"{ann.record['id']}: step spans are not contiguous")
    problems += _check_spans_against_input(run, anns)
    files = sorted(out.glob("refined_r*.*"))
    if not files:
        problems.append(f"{out}: no refined_r*.* files")
    ordered = list(anns.values())
    layout = run.get("layout", "auto")  # a layout of the user's own is not auto-detected
    for path in files:
        items = list(read_records(path, layout=layout, on_error="skip"))
        if len(items) != len(ordered):
            problems.append(f"{path.name}: {len(items)} records but {len(ordered)} annotated chains")
            continue
        for item, ann in zip(items, ordered):
            if not hasattr(item, "trace"):
                problems.append(f"{path.name}: unreadable record: {item}")
                continue
            texts = [d["text"] for d in ann.record["steps"]]
            if not removable_subsequence(item.trace.thinking, texts, [_removable(s) for s in ann.steps]):
                problems.append(f"{path.name}: {ann.record['id']}: not the original steps minus functional units")
    return problems


def _removable(step: Step) -> bool:
    return step.kind.is_functional and step.unit is not None and not step.protected


def _check_spans_against_input(run: dict, anns: dict) -> list[str]:
    """The annotated steps' texts must concatenate to the input's thinking, chain by chain."""
    from thinktrim.data.formats import SourceRecord, read_records
    from thinktrim.data.store import file_fingerprint

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
        ann = anns.get(item.trace.id) if isinstance(item, SourceRecord) else None
        if ann is not None and "".join(d["text"] for d in ann.record["steps"]) != item.trace.thinking:
            problems.append(f"{ann.record['id']}: annotated steps do not concatenate to the original thinking")
    return problems
