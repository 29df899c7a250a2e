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
    """Problems found in the folder (empty when every refined file checks out)."""
    from thinktrim.data.formats import read_records
    from thinktrim.refine.outputs import load_annotations

    out = Path(out_dir)
    anns = load_annotations(out)
    problems: list[str] = []
    for ann in anns.values():
        spans_ok = all(a.end == b.start for a, b in zip(ann.steps, ann.steps[1:]))
        if not spans_ok or (ann.steps and ann.steps[0].start != 0):
            problems.append(f"{ann.record['id']}: step spans are not contiguous")
    problems += _check_spans_against_input(out, anns)
    files = sorted(out.glob("refined_r*.*"))
    if not files:
        problems.append(f"{out}: no refined_r*.* files")
    ordered = list(anns.values())  # annotations are written in input order, as the refined files are
    layout = _run_settings(out).get("layout", "auto")  # a layout of the user's own is not auto-detected
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


def _run_settings(out: Path) -> dict:
    """The run's settings from `run.json` ({} for an output folder without one)."""
    import json

    run_file = out / "run.json"
    return json.loads(run_file.read_text(encoding="utf-8")) if run_file.exists() else {}


def _check_spans_against_input(out: Path, anns: dict) -> list[str]:
    """The annotated steps' texts must concatenate to the input's thinking, chain by chain."""

    from thinktrim.data.formats import SourceRecord, read_records

    run = _run_settings(out)
    if not run:
        return []
    if not Path(run["input"]).exists():
        return [f"{run['input']}: input not found, original spans not checked"]
    problems = []
    items = read_records(run["input"], layout=run["layout"], file_format=run["file_format"], on_error="skip")
    for item in items:
        ann = anns.get(item.trace.id) if isinstance(item, SourceRecord) else None
        if ann is not None and "".join(d["text"] for d in ann.record["steps"]) != item.trace.thinking:
            problems.append(f"{ann.record['id']}: annotated steps do not concatenate to the original thinking")
    return problems
