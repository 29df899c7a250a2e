"""The refine part of a report, as plain data: chain counts, token shares, reduction per ratio, PIR per type,
and one compact record per chain for the viewer.

The units struck through at each ratio are computed here with the function `thinktrim refine` prunes with
(`units_to_remove`, same scope, same ratios, same scored chains), so the viewer shows exactly what each
`refined_r*` file left out.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from thinktrim.data.trace import FUNCTIONAL_KINDS, StepKind
from thinktrim.refine.prune import units_to_remove
from thinktrim.refine.stats import SCORED, ratio_tag
from thinktrim.report.inputs import RefineFolder

STATUSES = ("scored", "no_units", "overlong", "no_answer", "unclosed")
KIND_CODE = {k.value: i for i, k in enumerate(StepKind)}
PIR_POINTS = 400  # PIR values drawn per type in the distribution chart (all go into the quartiles)
QUESTION_CHARS = 2000
# Fields of an annotation record the viewer shows in their own place, or that mean little to a reader; any
# other scalar field (newer versions add some) is listed under the chain's title as is.
_NOT_LISTED = {"id", "status", "reason", "steps", "location", "full_nll", "context_tokens", "version",
               "judge_failures"}  # judge failures are counted by reason in the run summary


def removal_by_ratio(folder: RefineFolder) -> dict[float, dict[str, set[int]]]:
    """Unit numbers removed per chain at each ratio: what `refine` wrote to `refined_r{ratio}`."""
    scored = {i: a.steps for i, a in folder.annotations.items() if a.status in SCORED}
    return {r: units_to_remove(scored, r, folder.scope) for r in folder.ratios}  # type: ignore[arg-type]


def quantiles(values: list[float]) -> list[float]:
    """min, q1, median, q3, max (linear interpolation between order statistics)."""
    xs = sorted(values)

    def q(p: float) -> float:
        pos = p * (len(xs) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(xs) - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

    return [q(p) for p in (0.0, 0.25, 0.5, 0.75, 1.0)]


def pir_by_kind(folder: RefineFolder) -> dict[str, dict[str, Any]]:
    """Per functional type: how many scored units, their PIR quartiles and mean, and a sample of values."""
    values: dict[str, list[float]] = {k.value: [] for k in FUNCTIONAL_KINDS}
    for ann in folder.annotations.values():
        if ann.status not in SCORED:
            continue
        seen: set[int] = set()
        for s in ann.steps:  # a unit counts under its functional step's kind (an error correction's unit also
            # holds the abandoned progressive attempt before it: classify.assign_units)
            if s.unit is not None and s.pir is not None and s.unit not in seen and s.kind.value in values:
                seen.add(s.unit)
                values[s.kind.value].append(s.pir)
    out = {}
    rng = random.Random(0)
    for kind, xs in values.items():
        if xs:
            shown = xs if len(xs) <= PIR_POINTS else rng.sample(xs, PIR_POINTS)
            out[kind] = {"n": len(xs), "quantiles": quantiles(xs), "mean": sum(xs) / len(xs),
                         "points": [round(x, 5) for x in shown]}
        else:
            out[kind] = {"n": 0}
    return out


def protected_by_kind(folder: RefineFolder) -> dict[str, int]:
    """Steps never pruned because they open the chain or state the answer, per type."""
    counts = {k.value: 0 for k in StepKind}
    for ann in folder.annotations.values():
        for s in ann.steps:
            if s.protected:
                counts[s.kind.value] += 1
    return counts


def input_part(run: dict[str, Any]) -> dict[str, Any]:
    """Which part of its input the run read (split, subset, --start/--end; only those it set), recorded beside
    the input in the report's data: the chains and questions shown are that part's."""
    given = {"split": None, "subset": None, "start": 0, "end": None}
    return {k: run[k] for k, default in given.items() if run.get(k, default) != default}


def refine_summary(folder: RefineFolder, name: str) -> dict[str, Any]:
    """Everything the refine charts and tables draw, from stats.json and the annotations."""
    stats = folder.stats or {}
    status = {s: 0 for s in STATUSES}
    for ann in folder.annotations.values():
        status[ann.status] = status.get(ann.status, 0) + 1
    not_scored = [{"id": i, "status": a.status, "reason": a.reason or ""}
                  for i, a in folder.annotations.items() if a.status not in SCORED]
    not_scored += [{"id": r.get("location", ""), "status": "rejected",
                    "reason": f"{r.get('field')}: {r.get('reason')}" if r.get("field") else str(r.get("reason", ""))}
                   for r in folder.rejects]
    ratios = []
    for r in folder.ratios:
        entry = stats.get("ratios", {}).get(ratio_tag(r))
        if entry:
            ratios.append({"ratio": r, "tag": ratio_tag(r), "units_removed": entry["units_removed"],
                           "token_reduction": entry["token_reduction"],
                           "tokens_before": entry["thinking_tokens_before"],
                           "tokens_after": entry["thinking_tokens_after"],
                           "file": stats.get("files", {}).get(ratio_tag(r))})
    extra = {k: v for k, v in stats.items() if k.startswith("protected_") and isinstance(v, (int, float))}
    return {
        "name": name,
        "path": str(folder.path),
        "model": folder.run.get("model") or stats.get("model"),
        "input": folder.run.get("input") or stats.get("input"),
        "input_part": input_part(folder.run),
        "scope": folder.scope,
        "ratios": folder.ratios,
        "answer_target": stats.get("answer_target"),
        "chains": len(folder.annotations),
        "status": status,
        "rejected": stats.get("rejected", len(folder.rejects)),
        "not_scored": not_scored[:500],
        "not_scored_total": len(not_scored),
        "token_share": stats.get("token_share"),
        "tokens_by_kind": stats.get("tokens_by_kind"),
        "functional_units": stats.get("functional_units"),
        "per_ratio": ratios,
        "pir": pir_by_kind(folder),
        "protected": protected_by_kind(folder),
        "stats_extra": extra,
        "notes": folder.notes,
    }


def chain_records(folder: RefineFolder, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """One compact record per chain for the viewer (annotation order).

    Steps are `[text, kind code, link, unit, pir, protected, tokens]`; `removed` maps each ratio tag to the
    unit numbers struck through at that ratio.
    """
    removal = removal_by_ratio(folder)
    for n, (cid, ann) in enumerate(folder.annotations.items()):
        if limit is not None and n >= limit:
            return
        rec = ann.to_record()
        steps = [[d.get("text", ""), KIND_CODE[s.kind.value], s.link, s.unit,
                  None if s.pir is None else round(s.pir, 6), int(s.protected), t]
                 for d, s, t in zip(rec["steps"], ann.steps, ann.tokens)]
        extra = {k: v for k, v in rec.items()
                 if k not in _NOT_LISTED and isinstance(v, (str, int, float, bool)) and v != ""}
        question = folder.questions.get(cid)
        yield {
            "id": cid,
            "status": ann.status,
            "reason": rec.get("reason") or "",
            "question": question[:QUESTION_CHARS] if question else None,
            "extra": extra,
            "steps": steps,
            "removed": {ratio_tag(r): sorted(removal[r].get(cid, ())) for r in folder.ratios},
        }
