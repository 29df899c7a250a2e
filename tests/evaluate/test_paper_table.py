"""`thinktrim eval compare`: the papers' comparison table, rebuilt from results.json files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.evaluate.paper_table import MINUS, Cell, against, cell_texts, paper_table, render
from thinktrim.evaluate.summary import load_results


def write_run(folder: Path, benchmarks: dict[str, tuple[float, float]], n: int = 8) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    sections = {name: {"metrics": {f"acc:avg@n={n}": acc, "tokens:mean": tok}, "questions": 30,
                       "inputs": {"fingerprint": "f"}} for name, (acc, tok) in benchmarks.items()}
    (folder / "results.json").write_text(json.dumps(
        {"config": {"generation": {"n": n}}, "benchmarks": sections, "overall": {"metrics": {}}}))
    return folder


def test_a_row_of_limopros_table() -> None:
    """LIMO (56.7 %, 12,497 tokens: EFF 4.53e-5) against LIMOPro's refined model: the published deltas."""
    base = Cell(0.567, 12497)
    refined = against(0.633, 10588, base)
    acc, tok, eff, _ = cell_texts(refined)
    assert acc == "63.3 +6.6"
    assert tok == f"10,588 {MINUS}15%"
    assert eff == "5.98E-05 +32%"


def test_o1_pruner_row_aes_and_average() -> None:
    """Marco-o1 on MATH: 73.8 % / 1,156 tokens → 77.5 % / 657 tokens is AES 0.58 (O1-Pruner's Table 2)."""
    cell = against(0.775, 657, Cell(0.738, 1156))
    assert cell_texts(cell)[3] == "0.58"
    assert cell_texts(against(0.72, 1000, Cell(0.80, 1000)))[3] == f"{MINUS}0.50"  # accuracy falls: γ = 5


def test_average_is_the_mean_over_benchmarks(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", {"aime24": (0.5, 10000), "amc23": (0.9, 4000)})
    mine = write_run(tmp_path / "mine", {"aime24": (0.6, 8000), "amc23": (0.8, 4000)})
    names, table = paper_table([("base", load_results(base)), ("mine", load_results(mine))])
    assert names == ["aime24", "amc23", "Average"]
    (_, base_cells), (_, cells) = table
    assert base_cells[2].acc == pytest.approx(0.7) and base_cells[2].tok == 7000 and base_cells[2].aes is None
    average = cells[2]
    assert average.acc == pytest.approx(0.7) and average.tok == 6000
    assert average.acc_delta == pytest.approx(0.0) and average.tok_change == pytest.approx(6000 / 7000 - 1)
    assert average.aes == pytest.approx((cells[0].aes + cells[1].aes) / 2)  # O1-Pruner's AVERAGE column


def test_a_benchmark_the_base_lacks_leaves_dashes(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", {"aime24": (0.5, 10000), "amc23": (0.9, 4000)})
    mine = write_run(tmp_path / "mine", {"aime24": (0.6, 8000)})
    _, table = paper_table([("base", load_results(base)), ("mine", load_results(mine))])
    assert cell_texts(table[1][1][1]) == ("–", "–", "–", "–")
    assert table[1][1][2].aes is None  # no average AES over a benchmark it did not run


@pytest.mark.parametrize("fmt", ["table", "markdown", "latex", "csv"])
def test_compare_writes_each_format(tmp_path: Path, fmt: str) -> None:
    base = write_run(tmp_path / "LIMO", {"aime24": (0.567, 12497)})
    mine = write_run(tmp_path / "LIMOPro", {"aime24": (0.633, 10588)})
    result = CliRunner().invoke(app, ["eval", "compare", str(base), str(mine), "--format", fmt],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        mine_row = next(r for r in rows if r["run"] == "LIMOPro" and r["benchmark"] == "aime24")
        assert float(mine_row["acc_delta_points"]) == pytest.approx(6.6)
        assert float(mine_row["tokens_change"]) == pytest.approx(10588 / 12497 - 1, rel=1e-5)
    elif fmt == "latex":
        assert r"\begin{tabular}" in out and r"10,588 $-$15\%" in out and r"\multicolumn{4}{c}{aime24}" in out
    else:
        assert "63.3 +6.6" in out and f"10,588 {MINUS}15%" in out and "5.98E-05 +32%" in out
    if fmt == "markdown":
        assert out.splitlines()[1].startswith("|---|")


def test_render_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError):
        render(["a"], [], "html")  # type: ignore[arg-type]
