"""The report's training, curation and comparison parts as plain data: loss curves of train runs (several on one
chart, e.g. the same recipe on original and refined data), curate's funnel (problems in and out per step, drops by
reason), and the papers' comparison table of the eval runs (`thinktrim.evaluate.paper_table`, as `eval compare`
prints it) against the base run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from thinktrim.report.style import run_colour

if TYPE_CHECKING:
    from thinktrim.evaluate.paper_table import RunInput


def train_curve(summary: dict[str, Any], name: str, index: int) -> dict[str, Any]:
    """One run's curve: (step, loss) points, with what tells runs apart on one chart (data files, recipe)."""
    log = [e for e in summary.get("log") or [] if isinstance(e, dict) and e.get("loss") is not None]
    config = summary.get("config", {})
    optim, settings = config.get("optim", {}), config.get("model_settings", {})
    files = [str(f.get("path", "")).rsplit("/", 1)[-1] for f in summary.get("data", {}).get("files", [])]
    speeds = [e["tokens_per_second"] for e in log if e.get("tokens_per_second")]
    return {
        "name": name, "colour": run_colour(index), "command": summary.get("command"),
        "points": [[e["step"], e["loss"]] for e in log if "step" in e],
        "data": files, "recipe": optim.get("recipe"), "learning_rate": optim.get("learning_rate"),
        "lora": settings.get("lora"), "model": settings.get("model"),
        "steps": summary.get("training", {}).get("steps"), "final_loss": summary.get("training", {}).get("final_loss"),
        "tokens_per_second": sum(speeds) / len(speeds) if speeds else None,
    }


def train_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """train.json without its step log (the curve carries it): the summary card shows the rest."""
    return {k: v for k, v in summary.items() if k != "log"}


def curate_funnel(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Per curate step, in the order it ran: problems in, out, and the drops by reason (largest first)."""
    funnel = []
    for name, step in (stats.get("steps") or {}).items():
        dropped = dict(sorted((step.get("dropped") or {}).items(), key=lambda kv: -kv[1]))
        funnel.append({"step": name, "in": step.get("in", 0), "out": step.get("out", 0), "dropped": dropped,
                       "seconds": step.get("seconds")})
    return funnel


def comparison_table(runs: Sequence[RunInput]) -> dict[str, Any] | None:
    """The papers' table (LIMOPro's layout, O1-Pruner's AVERAGE) of the eval runs, the first as the base:
    the very cells, caption and warnings `thinktrim eval compare` prints (on the questions every run answered).
    None when fewer than two runs or the base has no benchmark; a comparison that cannot be made is its note."""
    from thinktrim.errors import UserError
    from thinktrim.evaluate.paper_table import caption, cell_texts, compare

    if len(runs) < 2 or not runs[0].results.get("benchmarks"):
        return None
    try:
        c = compare(runs)
    except UserError as e:  # the report still shows everything else
        return {"base": runs[0].name, "columns": [], "rows": [], "caption": "", "notes": [str(e)]}
    return {"base": c.base, "columns": c.names, "caption": caption(c), "notes": c.warnings,
            "rows": [{"run": run, "cells": [list(cell_texts(x)) for x in cells]} for run, cells in c.table]}
