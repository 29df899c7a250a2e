"""The comparison table the papers print (LIMOPro's layout, O1-Pruner's AVERAGE): runs against a base run.

Per benchmark and for the average over benchmarks, each run's ACC with its difference to the base in points
(`63.3 +6.6`), TOK with its relative change (`10,588 −15%`), EFF with its relative change (`5.98E-05 +32%`), and
AES against the base. The average row of a run is the mean of its per-benchmark ACC and TOK, EFF of those two
means, and the mean of its per-benchmark AES (O1-Pruner's AVERAGE column, docs/methods.md §3.4).

Pure functions over `results.json` dictionaries; `render` writes the same cells as a terminal table, Markdown,
LaTeX or CSV (CSV keeps the numbers in columns of their own, for a spreadsheet).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from thinktrim.evaluate.metrics import aes
from thinktrim.evaluate.summary import metric

AVERAGE = "Average"
TableFormat = Literal["table", "markdown", "latex", "csv"]
MINUS = "\u2212"  # the papers print a minus sign, not a hyphen


@dataclass(frozen=True)
class Cell:
    """One run on one benchmark (or the average): its figures and their change against the base."""

    acc: float | None  # a fraction
    tok: float | None
    acc_delta: float | None = None  # points (percentage points)
    tok_change: float | None = None  # relative (−0.15 is 15 % shorter)
    eff_change: float | None = None
    aes: float | None = None

    @property
    def eff(self) -> float | None:
        return self.acc / self.tok if self.acc is not None and self.tok else None


def _figures(section: dict[str, Any] | None) -> tuple[float | None, float | None]:
    if section is None:
        return None, None
    m = section["metrics"]
    return metric(m, "acc:avg@"), m.get("tokens:mean")


def against(acc: float | None, tok: float | None, base: Cell | None) -> Cell:
    """A cell with its changes against `base` (none when either side lacks a figure)."""
    if base is None or None in (acc, tok, base.acc, base.tok) or not base.tok:
        return Cell(acc, tok)
    eff, base_eff = acc / tok if tok else None, base.eff  # type: ignore[operator]
    return Cell(acc, tok, acc_delta=100 * (acc - base.acc),  # type: ignore[operator]
                tok_change=tok / base.tok - 1,  # type: ignore[operator]
                eff_change=(eff / base_eff - 1) if eff is not None and base_eff else None,
                aes=aes(acc, tok, base.acc, base.tok) if base.acc else None)  # type: ignore[arg-type]


def _mean(values: Sequence[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else sum(values) / len(values)  # type: ignore[arg-type]


def paper_table(runs: Sequence[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[tuple[str, list[Cell]]]]:
    """(benchmark names + Average, [(run name, cells)]): the first run is the base (its cells carry no change).
    With one benchmark there is no Average: it would repeat that benchmark's row."""
    base_results = runs[0][1]
    names = list(base_results["benchmarks"])
    table: list[tuple[str, list[Cell]]] = []
    base_cells: list[Cell] = []
    for i, (name, results) in enumerate(runs):
        cells = []
        for j, bench in enumerate(names):
            acc, tok = _figures(results["benchmarks"].get(bench))
            cells.append(Cell(acc, tok) if i == 0 else against(acc, tok, base_cells[j]))
        acc_avg, tok_avg = _mean([c.acc for c in cells]), _mean([c.tok for c in cells])
        if i == 0:
            average = Cell(acc_avg, tok_avg)
            base_cells = [*cells, average]
        else:
            average = against(acc_avg, tok_avg, base_cells[-1])
            average = Cell(average.acc, average.tok, average.acc_delta, average.tok_change, average.eff_change,
                           aes=_mean([c.aes for c in cells]))
        table.append((name, [*cells, average] if len(names) > 1 else cells))
    return ([*names, AVERAGE] if len(names) > 1 else names), table


# ---- rendering -----------------------------------------------------------------------------------------------


def _signed(x: float, text: str) -> str:
    return text if x >= 0 else text.replace("-", MINUS, 1)


def cell_texts(cell: Cell) -> tuple[str, str, str, str]:
    """(ACC, TOK, EFF, AES) as the papers print them: `63.3 +6.6`, `10,588 −15%`, `5.98E-05 +32%`, `0.58`."""
    if cell.acc is None or cell.tok is None:
        return "–", "–", "–", "–"
    acc = f"{100 * cell.acc:.1f}"
    if cell.acc_delta is not None:
        acc += " " + _signed(cell.acc_delta, f"{cell.acc_delta:+.1f}")
    tok = f"{cell.tok:,.0f}"
    if cell.tok_change is not None:
        tok += " " + _signed(cell.tok_change, f"{100 * cell.tok_change:+.0f}%")
    eff = f"{cell.eff:.2E}" if cell.eff is not None else "–"
    if cell.eff_change is not None:
        eff += " " + _signed(cell.eff_change, f"{100 * cell.eff_change:+.0f}%")
    aes_text = _signed(cell.aes, f"{cell.aes:.2f}") if cell.aes is not None else "–"
    return acc, tok, eff, aes_text


def _latex(text: str) -> str:
    return text.replace("%", r"\%").replace(MINUS, "$-$").replace("_", r"\_").replace("&", r"\&")


def render(names: Sequence[str], table: Sequence[tuple[str, list[Cell]]], fmt: TableFormat) -> str:
    """The table as Markdown, LaTeX or CSV text (`table`, for the terminal: `terminal_rows`)."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["run", "benchmark", "acc_percent", "acc_delta_points", "tokens", "tokens_change",
                         "eff", "eff_change", "aes"])
        for run, cells in table:
            for bench, c in zip(names, cells, strict=True):
                writer.writerow([run, bench, *(("" if v is None else f"{v:.6g}") for v in (
                    None if c.acc is None else 100 * c.acc, c.acc_delta, c.tok, c.tok_change, c.eff,
                    c.eff_change, c.aes))])
        return out.getvalue()
    header = ["Model"] + [f"{b} {k}" for b in names for k in ("ACC", "TOK", "EFF", "AES")]
    rows = [[run, *(t for c in cells for t in cell_texts(c))] for run, cells in table]
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"
    if fmt == "latex":
        top = " & ".join(["Model", *(rf"\multicolumn{{4}}{{c}}{{{_latex(b)}}}" for b in names)]) + r" \\"
        sub = " & ".join(["", *(["ACC", "TOK", "EFF", "AES"] * len(names))]) + r" \\"
        body = [" & ".join(_latex(t) for t in r) + r" \\" for r in rows]
        return "\n".join([rf"\begin{{tabular}}{{l{'rrrr' * len(names)}}}", r"\toprule", top, sub, r"\midrule",
                          *body, r"\bottomrule", r"\end{tabular}"]) + "\n"
    raise ValueError(f"no text rendering for {fmt!r}")


POOLED = "all questions (pooled)"


def pooled_cells(runs: Sequence[tuple[str, dict[str, Any]]]) -> list[Cell]:
    """Each run's figures over all its questions pooled (results.json's `overall`) against the base's: the
    pooled AES, which differs from the papers' mean over benchmarks."""
    base = Cell(*_figures(runs[0][1]["overall"]))
    return [base, *(against(*_figures(results["overall"]), base) for _, results in runs[1:])]


def terminal_rows(names: Sequence[str], table: Sequence[tuple[str, list[Cell]]],
                  pooled: Sequence[Cell] = ()) -> tuple[list[str], list[list[str]]]:
    """One row per (run, benchmark), then per run the pooled figures (when given and there are several
    benchmarks): the terminal is narrower than a paper's page."""
    columns = ["run", "benchmark", "ACC %", "TOK", "EFF", "AES"]
    rows = [[run, bench, *cell_texts(cells[i])] for i, bench in enumerate(names) for run, cells in table]
    if pooled and len(names) > 2:
        rows += [[run, POOLED, *cell_texts(cell)] for (run, _), cell in zip(table, pooled, strict=True)]
    return columns, rows
