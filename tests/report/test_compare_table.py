"""The report's copy of the papers' table: the same cells, caption and warnings as `thinktrim eval compare`, on
eval run folders whose runs answered other questions (scored by the real `write_results`), and as the page shows
them in a real headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app

from ..evaluate.test_compare_questions import BASE, SHORT, scored_run
from .conftest import page_data


def _report(tmp_path: Path, *runs: Path) -> Path:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", *map(str, runs), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _compare(*args: str | Path):
    result = CliRunner().invoke(app, ["eval", "compare", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def subset_report(tmp_path: Path) -> Path:
    """aime24: the base over questions 0-5, the other run over 2-4."""
    scored_run(tmp_path / "base", {"aime24": BASE}, limit=6)
    scored_run(tmp_path / "short", {"aime24": SHORT}, start=2, end=5)
    return _report(tmp_path, tmp_path / "base", tmp_path / "short")


def test_the_report_compares_on_the_common_questions_as_eval_compare(subset_report: Path) -> None:
    root = subset_report.parent
    table = page_data(subset_report)["eval"]["paper_table"]
    printed = _compare(root / "base", root / "short", "--format", "markdown")
    lines = printed.stdout.splitlines()
    assert [r["run"] for r in table["rows"]] == ["base", "short"] and table["columns"] == ["aime24"]
    for row in table["rows"]:
        line = next(x for x in lines if x.startswith(f"| {row['run']} |"))
        assert line == f"| {row['run']} | " + " | ".join(t for cell in row["cells"] for t in cell) + " |"
    assert table["rows"][1]["cells"][0][:2] == ["66.7 +16.7", "200 \u221262%"]  # on questions 2-4 only
    assert table["notes"] == [w.removeprefix("warning: ") for w in printed.stderr.splitlines()] == [
        "aime24: compared on the 3 questions every run answered; left out 3 of 6 from base"]
    assert table["caption"] == lines[-1]  # the caption below the Markdown table
    assert "Average" not in table["caption"] and "aime24 3 of 6" in table["caption"]


def test_two_benchmarks_name_the_average(tmp_path: Path) -> None:
    verdicts = {"gsm8k": [[(True, 50)], [(False, 80)]], "aime24": [[(True, 900)], [(False, 700)]]}
    scored_run(tmp_path / "base", verdicts, limit=2)
    scored_run(tmp_path / "mine", {"gsm8k": [[(True, 40)], [(True, 40)]]}, limit=2)
    table = page_data(_report(tmp_path, tmp_path / "base", tmp_path / "mine"))["eval"]["paper_table"]
    assert table["columns"] == ["gsm8k", "aime24", "Average"]
    assert "Average: the mean over benchmarks" in table["caption"]
    assert table["notes"] == ["aime24: missing from mine (shown as –)"]
    assert table["rows"][1]["cells"][1:] == [["–"] * 4, ["–"] * 4]


def test_runs_without_a_common_question_leave_a_note_not_a_table(tmp_path: Path) -> None:
    scored_run(tmp_path / "base", {"aime24": [[(True, 900)], [(False, 700)]]}, limit=2)
    scored_run(tmp_path / "other", {"aime24": [[(True, 40)], [(True, 40)]]}, start=2, end=4)
    data = page_data(_report(tmp_path, tmp_path / "base", tmp_path / "other"))["eval"]
    table = data["paper_table"]
    assert table["rows"] == [] and table["caption"] == ""
    (note,) = table["notes"]
    assert note.startswith(f"{tmp_path / 'other'}: none of its questions is one the base")
    # as many questions as the base, but others: no AES against it in the metric rows either
    rows = {r["run"]: r for r in data["rows"]}
    assert rows["other"]["questions"] == rows["base"]["questions"] == 2 and rows["other"]["aes"] is None


def test_the_page_shows_the_warning_and_a_caption_without_average(browser, subset_report: Path) -> None:
    from thinktrim.report.browser import open_report

    open_report(browser, subset_report)
    shown = browser.execute_script("""
        const card = document.querySelector('#paper-table');
        return {notes: [...card.querySelectorAll('.notes li')].map(li => li.textContent),
                caption: card.querySelector('p.note').textContent,
                rows: [...card.querySelectorAll('tbody tr')].map(r => r.querySelector('td').textContent)};""")
    table = page_data(subset_report)["eval"]["paper_table"]
    assert shown["notes"] == table["notes"] and shown["rows"] == ["base", "short"]
    assert shown["caption"] == f"As thinktrim eval compare prints it. {table['caption']}"
    assert "Average" not in shown["caption"]
