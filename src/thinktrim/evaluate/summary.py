"""Reading evaluation results back: the summary table, per-metric definitions, AES, `eval compare`.

Pure functions over `results.json` dictionaries (see `thinktrim.evaluate.run`), so a finished run can be
re-tabulated or compared without loading anything heavy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from thinktrim.errors import UserError
from thinktrim.evaluate.metrics import aes, describe_metric
from thinktrim.table import print_counts, print_table

AES_NAME = "aes:alpha=1&beta=3&gamma=5"
AES_MEAN_NAME = "aes_benchmark_mean:alpha=1&beta=3&gamma=5"
MEAN_ROW = "benchmark mean"  # the row of the per-benchmark AES's mean, beside `overall` (the pooled AES)
AES_ROWS_CAPTION = ("overall: AES of all questions pooled; benchmark mean: the mean of the per-benchmark AES, "
                    "O1-Pruner's AVERAGE column")


def metric(metrics: dict[str, float], prefix: str) -> float | None:
    """The value of the one metric whose name starts with `prefix` (names carry their parameters)."""
    hits = [v for k, v in metrics.items() if k.startswith(prefix)]
    return hits[0] if len(hits) == 1 else None


def aes_against(metrics: dict[str, float], base: dict[str, float]) -> float | None:

    acc, tok = metric(metrics, "acc:avg@"), metrics.get("tokens:mean")
    base_acc, base_tok = metric(base, "acc:avg@"), base.get("tokens:mean")
    if None in (acc, tok, base_acc, base_tok) or not base_acc or not base_tok:
        return None  # AES divides by the baseline's accuracy and length
    return aes(acc, tok, base_acc, base_tok)


def benchmark_mean_aes(values: Sequence[float | None]) -> float | None:
    """The mean of the per-benchmark AES (how O1-Pruner averages): None unless every benchmark has one."""
    if not values or any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None) / len(values)


def questions_fingerprint(section: dict[str, Any]) -> str | None:
    """eval's fingerprint of a benchmark section's questions and golds (None for runs that predate it)."""
    return (section.get("inputs") or {}).get("fingerprint")


def same_questions(section: dict[str, Any], base: dict[str, Any]) -> bool:
    """Whether two benchmark sections score the same questions and golds: by fingerprint, or by count for runs
    that predate fingerprints."""
    mine, theirs = questions_fingerprint(section), questions_fingerprint(base)
    if mine and theirs:
        return bool(mine == theirs)
    return bool(section.get("questions") == base.get("questions"))


def definitions_for(metric_dicts: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The definition of every metric name that occurs, so each figure in results.json names its own."""

    return {k: describe_metric(k) for m in metric_dicts for k in m}


def load_results(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "results.json" if run_dir.is_dir() else run_dir
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no results.json (is {run_dir} a finished `thinktrim eval` run?)") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file (is {run_dir} a `thinktrim eval` run?)") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    missing = [k for k in ("config", "benchmarks", "overall") if not isinstance(results, dict) or k not in results]
    if missing:
        raise UserError(f"{path}: not the results.json of a `thinktrim eval` run (no {', '.join(missing)})")
    wrong = results_shape_problem(results)
    if wrong:
        raise UserError(f"{path}: not the results.json of a `thinktrim eval` run ({wrong})")
    return results  # type: ignore[no-any-return]


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string"}.get(type(value), type(value).__name__)


def results_shape_problem(results: dict[str, Any]) -> str | None:
    """What in a results.json does not have the shape its readers (tables, compare, AES, the report) rely on,
    or None: checked once where the file is read, so a wrong file is one line and not a TypeError later."""

    def section(where: str, value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"{where} is {_kind(value)}, expected a mapping"
        metrics = value.get("metrics")
        if not isinstance(metrics, dict):
            return f"{where}.metrics is {_kind(metrics)}, expected a mapping of metric names to numbers"
        bad = next((k for k, v in metrics.items() if v is not None and (isinstance(v, bool)
                                                                         or not isinstance(v, (int, float)))), None)
        if bad is not None:
            return f"{where}.metrics.{bad} is {_kind(metrics[bad])}, expected a number"
        return None

    config = results["config"]
    if not isinstance(config, dict):
        return f"config is {_kind(config)}, expected a mapping"
    generation = config.get("generation")
    if not isinstance(generation, dict):
        return f"config.generation is {_kind(generation)}, expected a mapping"
    n = generation.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        return f"config.generation.n is {n!r}, expected a whole number >= 1"
    benchmarks = results["benchmarks"]
    if not isinstance(benchmarks, dict):
        return f"benchmarks is {_kind(benchmarks)}, expected a mapping of benchmark names to results"
    for name, value in benchmarks.items():
        problem = section(f"benchmarks.{name}", value)
        if problem:
            return problem
        questions = value.get("questions")
        if isinstance(questions, bool) or not isinstance(questions, int):
            return f"benchmarks.{name}.questions is {questions!r}, expected a whole number"
        inputs = value.get("inputs", {})
        if not isinstance(inputs, dict) or not isinstance(inputs.get("fingerprint", ""), str):
            return f"benchmarks.{name}.inputs is {_kind(inputs)}, expected a mapping with a fingerprint"
    return section("overall", results["overall"])


SUMMARY_COLUMNS = ("benchmark", "Q", "n", "ACC %", "pass@n %", "maj@n %", "TOK", "trunc %", "EFF", "AES")


def summary_rows(results: dict[str, Any]) -> list[list[Any]]:
    n = results["config"]["generation"]["n"]
    rows = []
    sections = [*results["benchmarks"].items()]
    if len(sections) > 1:
        sections.append(("overall", results["overall"]))
    for name, res in sections:
        m = res["metrics"]
        rows.append([name, res["questions"], n, _pct(metric(m, "acc:avg@")), _pct(metric(m, f"pass@k:k={n}&")),
                     _pct(metric(m, f"maj@k:k={n}&")), m.get("tokens:mean"), _pct(m.get("truncated:rate")),
                     m.get("eff:acc/tokens"), m.get(AES_NAME)])
    mean = results["overall"]["metrics"].get(AES_MEAN_NAME)
    if len(sections) > 1 and mean is not None:
        rows.append([MEAN_ROW, None, None, None, None, None, None, None, None, mean])
    return rows


def sources_line(counts: dict[str, int]) -> str:
    """ "answers from: boxed 30, phrase 2, thinking 1, last_number 0, none 7" """
    return "answers from: " + ", ".join(f"{source} {n}" for source, n in counts.items())


def print_summary(results: dict[str, Any]) -> None:

    cfg = results["config"]
    gen = cfg["generation"]
    sources = results["overall"].get("answer_sources")
    print_table(
        f"thinktrim eval — {cfg['model']} ({cfg['backend']}), T={gen['temperature']}, "
        f"top-p={gen['top_p']}, max {gen['max_new_tokens']} new tokens",
        SUMMARY_COLUMNS, format_rows(SUMMARY_COLUMNS, summary_rows(results)),
        caption="ACC = mean accuracy over the n samples (avg@n, the papers' pass@1); pass@n unbiased; maj@n "
                "majority vote over equivalent answers; TOK = mean output tokens (model tokenizer); trunc = hit "
                "the token limit (wrong unless a boxed answer came first); EFF = ACC/TOK; AES vs --baseline "
                f"({AES_ROWS_CAPTION}). "
                + (f"{sources_line(sources)}. " if sources else "") + "Definitions: results.json.",
    )
    print_counts("Grading by reason (all benchmarks)", results["overall"].get("counts", {}))


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def format_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Display precision per column: percentages and token means to 0.1, EFF in 3 significant digits."""

    def show(col: str, v: Any) -> Any:
        if not isinstance(v, float):
            return v
        if "%" in col or col == "TOK":
            return f"{v:,.1f}"
        if col == "EFF":
            return f"{v:.3g}"
        if col.startswith("AES"):
            return f"{v:+.3f}"
        return v

    return [[show(c, v) for c, v in zip(columns, row)] for row in rows]


def run_name(path: Path) -> str:
    return (path.parent.name if path.is_file() else path.name) or str(path)
