"""The eval part of a report, as plain data: a row per run and benchmark (AES against the chosen baseline), one
scatter point per run, accuracy by output-length quartile, answer sources, and per-question drill-downs.

Metric values are read from each run's results.json (`thinktrim.evaluate.summary` reads the names), so the
report shows the figures `thinktrim eval` printed.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from thinktrim.evaluate.summary import aes_against, metric, same_questions
from thinktrim.report.inputs import EvalFolder
from thinktrim.report.style import run_colour

QUESTION_CHARS = 1500


def _sections(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    benches = list(results.get("benchmarks", {}).items())
    return benches + ([("overall", results["overall"])] if len(benches) > 1 and "overall" in results else [])


def _base_section(base: dict[str, Any], results: dict[str, Any], bench: str) -> dict[str, Any] | None:
    """The baseline's matching section, only where AES means something: same benchmark, same questions (the
    papers' table, `thinktrim.evaluate.paper_table`, compares other runs on the questions they share)."""
    base_benches, mine = base.get("benchmarks", {}), results.get("benchmarks", {})
    if bench == "overall":
        same = base_benches.keys() == mine.keys() and all(same_questions(mine[b], base_benches[b]) for b in mine)
        return base.get("overall") if same else None
    section = base_benches.get(bench)
    return section if section and same_questions(mine[bench], section) else None


def run_info(folder: EvalFolder, name: str, index: int) -> dict[str, Any]:
    cfg = folder.results.get("config", {})
    gen = cfg.get("generation", {})
    return {"name": name, "path": str(folder.path), "colour": run_colour(index), "model": cfg.get("model"),
            "backend": cfg.get("backend"), "temperature": gen.get("temperature"), "top_p": gen.get("top_p"),
            "max_new_tokens": gen.get("max_new_tokens"), "n": gen.get("n"), "created": folder.results.get("created"),
            "notes": folder.notes}


def metric_rows(folders: list[EvalFolder], names: list[str], baseline: int) -> list[dict[str, Any]]:
    """One row per (run, benchmark) and per run overall when it has several benchmarks."""
    base = folders[baseline].results
    rows = []
    for i, (folder, name) in enumerate(zip(folders, names)):
        res = folder.results
        n = res.get("config", {}).get("generation", {}).get("n")
        for bench, section in _sections(res):
            m = section.get("metrics", {})
            base_section = _base_section(base, res, bench)
            rows.append({
                "run": name, "run_index": i, "benchmark": bench, "questions": section.get("questions"), "n": n,
                "acc": metric(m, "acc:avg@"), "pass_n": metric(m, f"pass@k:k={n}&"),
                "maj_n": metric(m, f"maj@k:k={n}&"), "tokens": m.get("tokens:mean"),
                "eff": m.get("eff:acc/tokens"), "truncated": m.get("truncated:rate"),
                "no_answer": m.get("no_answer:rate"),
                "aes": aes_against(m, base_section["metrics"]) if base_section else None,
                "is_baseline": i == baseline,
            })
    return rows


def scatter_points(folders: list[EvalFolder], names: list[str]) -> list[dict[str, Any]]:
    """One point per run: overall accuracy against mean output tokens."""
    points = []
    for i, (folder, name) in enumerate(zip(folders, names)):
        m = folder.results.get("overall", {}).get("metrics", {})
        acc, tok = metric(m, "acc:avg@"), m.get("tokens:mean")
        if acc is not None and tok is not None:
            points.append({"run": name, "x": tok, "y": acc, "colour": run_colour(i)})
    return points


def iso_eff(points: list[dict[str, Any]], most: int = 5) -> list[float]:
    """EFF values (1, 2, 5 × 10^k) for the scatter's rays of equal efficiency, spanning the runs' own EFFs.

    With no run above zero accuracy they span the plot's corner instead (10 % at the longest run's tokens).
    """
    effs = [p["y"] / p["x"] for p in points if p["x"] > 0 and p["y"] > 0]
    if not effs:
        top = max([p["x"] for p in points if p["x"] > 0] or [1.0])
        effs = [0.1 / top]
    lo, hi = min(effs) / 2.5, max(effs) * 2.5
    values = [m * 10.0**k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1) for m in (1, 2, 5)]
    values = [v for v in values if lo <= v <= hi]
    step = max(1, math.ceil(len(values) / most))
    return values[::step]


def length_quartiles(folder: EvalFolder) -> list[dict[str, Any]]:
    m = folder.results.get("overall", {}).get("metrics", {})
    return [{"q": q, "acc": m[f"acc:length_q{q}"], "max_tokens": m.get(f"tokens:length_q{q}_max")}
            for q in range(1, 5) if f"acc:length_q{q}" in m]


def answer_sources(folder: EvalFolder) -> dict[str, int] | None:
    """Where graded answers came from (boxed, phrase, …), when the graded records say (newer versions do)."""
    records = [g for rows in folder.graded.values() for g in rows]
    if not any("source" in g for g in records):
        return None
    return dict(Counter(g.get("source") or "none" for g in records).most_common())


def drilldown(folder: EvalFolder, bench: str) -> list[dict[str, Any]]:
    """Per question of one benchmark: its samples with extracted answer, source, verdict, tokens, response end."""
    questions: dict[str, dict[str, Any]] = {}
    texts = folder.questions.get(bench, {})
    responses = folder.responses.get(bench, {})
    for g in folder.graded.get(bench, []):
        qid = str(g.get("question_id"))
        q = questions.setdefault(qid, {"id": qid, "gold": g.get("answer"),
                                       "question": (texts.get(qid) or "")[:QUESTION_CHARS] or None, "samples": []})
        q["samples"].append({
            "sample": g.get("sample"), "extracted": g.get("extracted"), "source": g.get("source"),
            "correct": bool(g.get("correct")), "tokens": g.get("tokens"), "truncated": bool(g.get("truncated")),
            "reason": g.get("reason"), "tail": responses.get(str(g.get("key")))})
    for q in questions.values():
        q["samples"].sort(key=lambda s: s["sample"] if isinstance(s["sample"], int) else 0)
    return list(questions.values())
