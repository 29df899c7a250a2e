"""The comparison table the papers print (LIMOPro's layout, O1-Pruner's AVERAGE): runs against a base run.

Per benchmark and for the average over benchmarks, each run's ACC with its difference to the base in points
(`63.3 +6.6`), TOK with its relative change (`10,588 −15%`), EFF with its relative change (`5.98E-05 +32%`), and
AES against the base. The average row of a run is the mean of its per-benchmark ACC and TOK, EFF of those two
means, and the mean of its per-benchmark AES (O1-Pruner's AVERAGE column, docs/methods.md §3.4).

Deltas mean something only over the same questions: a benchmark whose runs answered other questions (a
`--limit`, `--start/--end`, another version of the benchmark) is compared on the questions every run answered,
ACC and TOK scored again from the runs' graded samples (`<bench>/graded.jsonl`) exactly as eval scores them, with
a warning naming what was left out. A run that lacks a benchmark is shown as missing (`–`).

`compare` works on `results.json` dictionaries and the graded records; `render` writes the same cells as a
terminal table, Markdown, LaTeX or CSV (CSV keeps the numbers in columns of their own, for a spreadsheet).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from thinktrim.data.store import read_jsonl_records
from thinktrim.errors import UserError
from thinktrim.evaluate.metrics import aes, summarize
from thinktrim.evaluate.summary import MEAN_ROW, load_results, metric, questions_fingerprint, run_name

AVERAGE = "Average"
POOLED = "all questions (pooled)"
GRADED = "graded.jsonl"  # a run folder's verdict per sample of a benchmark: <bench>/graded.jsonl
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


# ---- which questions: the same ones in every run -------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """A run's ACC and TOK on one benchmark and the question and sample counts they are means over: what pools
    benchmarks exactly (a question weighs the same in ACC, a sample in TOK, as results.json's `overall`)."""

    acc: float | None
    tok: float | None
    questions: int
    samples: int


GradedReader = Callable[[str], Sequence[dict[str, Any]] | None]


@dataclass(frozen=True)
class RunInput:
    """One run to compare: its name, its results.json, and how to read its graded samples of a benchmark
    (None where there are none); they are read only when its questions differ from the base's."""

    name: str
    results: dict[str, Any]
    graded: GradedReader | None = None
    where: str = ""  # the run folder, as messages name it


def folder_run(path: Path) -> RunInput:
    """A run folder (or its results.json) as `thinktrim eval` writes it: results.json, <bench>/graded.jsonl."""
    folder = path.parent if path.is_file() else path

    def graded(bench: str) -> list[dict[str, Any]] | None:
        file = folder / bench / GRADED
        return list(read_jsonl_records(file)) if file.is_file() else None

    return RunInput(run_name(path), load_results(path), graded, str(folder))


Signature = tuple[str | None, str | None]  # (question_sha, gold) of a question; None where not recorded
QuestionMap = dict[str, Signature]
GRADED_FIELDS = ("question_id", "sample", "correct", "truncated", "extracted")


def _graded_path(run: RunInput, bench: str) -> str:
    return f"{run.where or run.name}/{bench}/{GRADED}"


def _questions(run: RunInput, bench: str, section: dict[str, Any]) -> tuple[QuestionMap | None,
                                                                             list[dict[str, Any]] | None]:
    """The questions a run scored on `bench` (id → signature) and its graded records: from graded.jsonl, else
    from the ids results.json records (no signatures, no records); (None, None) when neither says."""
    records = run.graded(bench) if run.graded else None
    if records is not None:
        where = _graded_path(run, bench)
        questions: QuestionMap = {}
        for rec in records:
            lacking = next((k for k in GRADED_FIELDS if k not in rec), None)
            if lacking:
                raise UserError(f"{where}: a record without field {lacking!r} (not a `thinktrim eval` graded file)")
            sha, gold = rec.get("question_sha"), rec.get("answer")
            questions.setdefault(str(rec["question_id"]), (None if sha is None else str(sha),
                                                          None if gold is None else str(gold)))
        if len(questions) != section.get("questions"):
            raise UserError(f"{where}: {len(questions)} questions, but results.json scored "
                            f"{section.get('questions')} of {bench}; rerun the eval command to grade them again")
        return questions, [dict(r, question_id=str(r["question_id"])) for r in records]
    ids = (section.get("inputs") or {}).get("ids")
    if isinstance(ids, list):
        return {str(i): (None, None) for i in ids}, None
    return None, None


def _same_question(a: Signature, b: Signature) -> bool:
    return all(x is None or y is None or x == y for x, y in zip(a, b))


def _same_inputs(section: dict[str, Any], base: dict[str, Any]) -> bool:
    """Both sections scored the very same questions and golds (eval's fingerprint of them)."""
    mine = questions_fingerprint(section)
    return bool(mine) and mine == questions_fingerprint(base)


def _section_figures(section: dict[str, Any], n: int) -> Figures:
    m = section["metrics"]
    questions = int(section.get("questions") or 0)
    samples = section.get("samples") or m.get("samples") or questions * n
    return Figures(metric(m, "acc:avg@"), m.get("tokens:mean"), questions, int(samples))


def _scored_on(records: list[dict[str, Any]], common: set[str]) -> Figures:
    """ACC and TOK over the samples of the `common` questions, scored as eval scores a benchmark."""
    from thinktrim.evaluate.records import sample_results

    rows = [r for r in records if r["question_id"] in common]
    m = summarize(sample_results(rows), ks=())
    return Figures(metric(m, "acc:avg@"), m["tokens:mean"], len(common), len(rows))


@dataclass
class _Benchmark:
    """One benchmark across the runs: each run's figures, what the warning says, how many questions compared."""

    figures: list[Figures | None]
    notes: list[str] = field(default_factory=list)
    compared: int | None = None  # set when fewer than the base's questions were compared


def _benchmark(bench: str, runs: Sequence[RunInput]) -> _Benchmark:
    """Each run's figures on `bench` over the questions every run that has it answered."""
    sections = [r.results["benchmarks"].get(bench) for r in runs]
    out = _Benchmark([None if s is None else _section_figures(s, r.results["config"]["generation"]["n"])
                      for r, s in zip(runs, sections)])
    present = [i for i in range(1, len(runs)) if sections[i] is not None]
    missing = [runs[i].name for i in range(1, len(runs)) if sections[i] is None]
    if not all(_same_inputs(sections[i], sections[0]) for i in present):  # type: ignore[arg-type]
        _on_common_questions(bench, runs, sections, present, out)
    if missing:
        out.notes.append(f"missing from {', '.join(missing)} (shown as –)")
    return out


def _on_common_questions(bench: str, runs: Sequence[RunInput], sections: list[dict[str, Any] | None],
                         present: list[int], out: _Benchmark) -> None:
    """Restrict `bench` to the questions the base and every run that shares any with it answered."""
    read = {i: _questions(runs[i], bench, sections[i]) for i in [0, *present]}  # type: ignore[arg-type]
    base = read[0][0]
    for i in present:  # a run with the base's fingerprint answered the base's questions
        if read[i][0] is None and base is not None and _same_inputs(sections[i], sections[0]):  # type: ignore[arg-type]
            read[i] = (base, read[i][1])
    unknown = [i for i in present if (base is None or read[i][0] is None)
               and not _same_inputs(sections[i], sections[0])]  # type: ignore[arg-type]
    if unknown:
        out.notes.append(f"cannot tell which questions {', '.join(runs[i].name for i in unknown)} answered "
                         f"(no {GRADED}, no question ids in results.json): compared on all of them")
    if base is None:
        return
    shared = {i: {q for q, sig in read[i][0].items() if q in base and _same_question(sig, base[q])}  # type: ignore[union-attr]
              for i in present if i not in unknown}
    disjoint = [i for i, qs in shared.items() if not qs]
    for i in disjoint:
        out.figures[i] = None
    if disjoint:
        out.notes.append(f"{', '.join(runs[i].name for i in disjoint)} answered none of the base's questions "
                         "(shown as –)")
    compared = [i for i, qs in shared.items() if qs]
    common = set(base).intersection(*(shared[i] for i in compared))
    left: list[str] = []
    for i in [0, *compared]:
        questions, records = read[i]
        assert questions is not None
        if len(questions) == len(common):
            continue  # every question it answered is compared: its own figures are the figures
        if records is None:
            raise UserError(f"{_graded_path(runs[i], bench)}: not found; it is needed to score {bench} again on "
                            f"the {_questions_text(len(common))} every run answered")
        out.figures[i] = _scored_on(records, common)
        other = sum(1 for q, sig in questions.items() if q in base and not _same_question(sig, base[q]))
        left.append(f"{len(questions) - len(common)} of {len(questions)} from {runs[i].name}"
                    + (f" ({other} of them another question or gold under a base question's id)" if other else ""))
    if left:
        out.compared = len(common)
        out.notes.insert(0, f"compared on the {_questions_text(len(common))} every run answered; left out "
                            + ", ".join(left))


def _questions_text(k: int) -> str:
    return f"{k} question" if k == 1 else f"{k} questions"


def _pooled(figures: Sequence[Figures | None]) -> tuple[float | None, float | None]:
    """ACC and TOK of every question of the benchmarks pooled; none unless the run has each benchmark."""
    if not figures or any(f is None or f.acc is None or f.tok is None for f in figures):
        return None, None
    q, s = sum(f.questions for f in figures), sum(f.samples for f in figures)  # type: ignore[union-attr]
    if not q or not s:
        return None, None
    return (sum(f.acc * f.questions for f in figures) / q,  # type: ignore[union-attr,operator]
            sum(f.tok * f.samples for f in figures) / s)  # type: ignore[union-attr,operator]


@dataclass(frozen=True)
class Comparison:
    """The table and what it stands on: columns (the base's benchmarks, then Average when several), per run its
    cells and pooled cell against the base (the first run), the figures behind them, and per benchmark whose runs
    answered other questions a warning and (compared, the base's) question counts."""

    base: str
    names: list[str]
    table: list[tuple[str, list[Cell]]]
    pooled: list[Cell]
    figures: list[dict[str, Figures | None]]
    n: list[int]
    warnings: list[str] = field(default_factory=list)
    common: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def benchmarks(self) -> list[str]:
        return [b for b in self.names if b != AVERAGE]


def compare(runs: Sequence[RunInput]) -> Comparison:
    """The papers' table of `runs` against the first (the base), per benchmark of the base, on the questions
    every run answered. A run that answered none of the base's questions is an error: nothing to compare."""
    if not runs:
        raise UserError("compare: give at least one run folder")
    benches = list(runs[0].results["benchmarks"])
    per_run: list[dict[str, Figures | None]] = [{} for _ in runs]
    warnings: list[str] = []
    common: dict[str, tuple[int, int]] = {}
    for bench in benches:
        found = _benchmark(bench, runs)
        for i, f in enumerate(found.figures):
            per_run[i][bench] = f
        if found.notes:
            warnings.append(f"{bench}: " + "; ".join(found.notes))
        if found.compared is not None:
            common[bench] = (found.compared, runs[0].results["benchmarks"][bench]["questions"])
    for run, figures in zip(runs[1:], per_run[1:]):
        if all(f is None for f in figures.values()):
            raise UserError(f"{run.where or run.name}: none of its questions is one the base "
                            f"{runs[0].where or runs[0].name} answered (benchmarks: {', '.join(benches) or 'none'}); "
                            "nothing to compare")
    table: list[tuple[str, list[Cell]]] = []
    base_cells: list[Cell] = []
    pooled: list[Cell] = []
    for i, (run, figures) in enumerate(zip(runs, per_run)):
        cells = []
        for j, bench in enumerate(benches):
            f = figures[bench]
            acc, tok = (None, None) if f is None else (f.acc, f.tok)
            cells.append(Cell(acc, tok) if i == 0 else against(acc, tok, base_cells[j]))
        acc_avg, tok_avg = _mean([c.acc for c in cells]), _mean([c.tok for c in cells])
        if i == 0:
            average = Cell(acc_avg, tok_avg)
            base_cells = [*cells, average]
            pooled.append(Cell(*_pooled(list(figures.values()))))
        else:
            average = against(acc_avg, tok_avg, base_cells[-1])
            average = Cell(average.acc, average.tok, average.acc_delta, average.tok_change, average.eff_change,
                           aes=_mean([c.aes for c in cells]))
            pooled.append(against(*_pooled(list(figures.values())), pooled[0]))
        table.append((run.name, [*cells, average] if len(benches) > 1 else cells))
    return Comparison(runs[0].name, [*benches, AVERAGE] if len(benches) > 1 else benches, table, pooled, per_run,
                      [r.results["config"]["generation"]["n"] for r in runs], warnings, common)


def paper_table(runs: Sequence[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[tuple[str, list[Cell]]]]:
    """(benchmark names + Average, [(run name, cells)]): the first run is the base (its cells carry no change).
    With one benchmark there is no Average: it would repeat that benchmark's row. Questions are checked as far
    as results.json records them: `compare` of `folder_run`s also reads the graded samples."""
    c = compare([RunInput(name, results) for name, results in runs])
    return c.names, c.table


def caption(c: Comparison) -> str:
    """What the figures are, naming only what the table shows: the Average row with several benchmarks, the
    pooled rows, and the benchmarks compared on fewer questions than the base answered."""
    text = (f"Against {c.base}: ACC = avg@n in % (difference in points), TOK = mean output tokens (relative "
            "change), EFF = ACC/TOK (relative change), AES (α=1, β=3, γ=5).")
    if AVERAGE in c.names:
        text += (" Average: the mean over benchmarks of ACC and TOK, EFF of those, the mean of the per-benchmark "
                 f"AES (O1-Pruner's AVERAGE); {POOLED}: AES of every question pooled.")
    if c.common:
        text += " Only the questions every run answered: " + ", ".join(
            f"{bench} {k} of {total}" for bench, (k, total) in c.common.items()) + "."
    if any(f is None for figures in c.figures for f in figures.values()):
        text += " –: no figures (the run lacks the benchmark or its questions)."
    return text


def json_rows(c: Comparison) -> list[dict[str, Any]]:
    """`eval compare --json`: per benchmark a row per run (null figures where it has none), then with several
    benchmarks per run its pooled figures (`overall`) and the mean of its per-benchmark AES (`benchmark mean`),
    the table's Average AES. AES against the first run (0.0 for itself); `questions`: how many were compared."""
    base_cells = c.table[0][1]

    def row(i: int, bench: str, questions: int | None, cell: Cell, base: Cell) -> dict[str, Any]:
        return {"run": c.table[i][0], "benchmark": bench, "n": c.n[i], "questions": questions,
                "ACC %": None if cell.acc is None else 100 * cell.acc, "TOK": cell.tok, "EFF": cell.eff,
                "AES vs first": against(cell.acc, cell.tok, base).aes}

    rows = [row(i, bench, None if (f := c.figures[i][bench]) is None else f.questions, cells[j], base_cells[j])
            for j, bench in enumerate(c.benchmarks) for i, (_, cells) in enumerate(c.table)]
    if AVERAGE in c.names:
        for i, cell in enumerate(c.pooled):
            figures = list(c.figures[i].values())
            total = None if None in figures else sum(f.questions for f in figures)  # type: ignore[union-attr]
            rows.append(row(i, "overall", total, cell, c.pooled[0]))
        for i, (_, cells) in enumerate(c.table):
            mean = _mean([against(x.acc, x.tok, b).aes for x, b in zip(cells, base_cells)][:len(c.benchmarks)])
            rows.append({"run": c.table[i][0], "benchmark": MEAN_ROW, "n": c.n[i], "questions": None,
                         "ACC %": None, "TOK": None, "EFF": None, "AES vs first": mean})
    return rows


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


def render(names: Sequence[str], table: Sequence[tuple[str, list[Cell]]], fmt: TableFormat,
           caption_text: str = "") -> str:
    """The table as Markdown, LaTeX or CSV text (`table`, for the terminal: `terminal_rows`). The caption
    follows a Markdown table and opens a LaTeX one as a comment (the paper has its own \\caption); CSV is data
    only."""
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
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n" + (
            f"\n{caption_text}\n" if caption_text else "")
    if fmt == "latex":
        top = " & ".join(["Model", *(rf"\multicolumn{{4}}{{c}}{{{_latex(b)}}}" for b in names)]) + r" \\"
        sub = " & ".join(["", *(["ACC", "TOK", "EFF", "AES"] * len(names))]) + r" \\"
        body = [" & ".join(_latex(t) for t in r) + r" \\" for r in rows]
        return "\n".join([*([f"% {caption_text}"] if caption_text else []),
                          rf"\begin{{tabular}}{{l{'rrrr' * len(names)}}}", r"\toprule", top, sub, r"\midrule",
                          *body, r"\bottomrule", r"\end{tabular}"]) + "\n"
    raise ValueError(f"no text rendering for {fmt!r}")


def terminal_rows(names: Sequence[str], table: Sequence[tuple[str, list[Cell]]],
                  pooled: Sequence[Cell] = ()) -> tuple[list[str], list[list[str]]]:
    """One row per (run, benchmark), then per run the pooled figures (when given and there are several
    benchmarks): the terminal is narrower than a paper's page."""
    columns = ["run", "benchmark", "ACC %", "TOK", "EFF", "AES"]
    rows = [[run, bench, *cell_texts(cells[i])] for i, bench in enumerate(names) for run, cells in table]
    if pooled and len(names) > 2:
        rows += [[run, POOLED, *cell_texts(cell)] for (run, _), cell in zip(table, pooled, strict=True)]
    return columns, rows
