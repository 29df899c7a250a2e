"""The report's loss curves (two train runs, original and refined data, same recipe, on one chart), curate's funnel
and the papers' comparison table beside the eval charts: page data against the files they come from, the PNGs,
and the charts as drawn in a real headless Chromium (screenshots kept)."""

import json
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.curate.config import CurateConfig
from thinktrim.curate.pipeline import curate

from .conftest import SAMPLE, page_data, read_jsonl, run_cli

pytestmark = pytest.mark.slow
STEPS = 6


@pytest.fixture(scope="module")
def train_dirs(tiny_model_dir, refine_dir, tmp_path_factory) -> list[Path]:
    """The same recipe on the two chains refine scored, as they were and refined at ratio 0.5."""
    root = tmp_path_factory.mktemp("report-train")
    refined = next(refine_dir.glob("refined_r0.5.*"))
    for name, data in (("original", SAMPLE), ("refined", refined)):
        args = ["train", "sft", str(data), "-o", str(root / name), "--model", str(tiny_model_dir), "--limit", "2",
                "--max-steps", str(STEPS), "--max-length", "512", "--overlong", "truncate", "--global-batch-size", "1",
                "--save-strategy", "no", "--learning-rate", "1e-2"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    return [root / "original", root / "refined"]


@pytest.fixture(scope="module")
def curate_dir(tmp_path_factory) -> Path:
    """A curation of 7 records (one a copy of another, grouped with it as one problem) that drops problems at
    two steps: a wrong chain, and below the top 3."""
    root = tmp_path_factory.mktemp("report-curate")
    records = read_jsonl(SAMPLE)
    wrong = {**records[1], "gt_answer": "123456"}
    pool = root / "pool.jsonl"
    rows = [records[0], wrong, *records[2:], dict(records[0], id="copy")]
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows))
    curate(CurateConfig(pools=(str(pool),), output_dir=str(root / "curated"), top=3, verify_chains=True,
                        grade_processes=0), progress=False)
    return root / "curated"


@pytest.fixture(scope="module")
def report(train_dirs, curate_dir, eval_dirs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report-training")
    run_cli("report", *map(str, train_dirs), str(curate_dir), *map(str, eval_dirs), "-o", str(out / "report.html"),
            "--png", str(out / "png"), "--baseline", str(eval_dirs[1]))
    return out / "report.html"


def test_loss_curves_are_the_train_json_logs(report, train_dirs) -> None:
    curves = [part["curve"] for part in page_data(report)["train"]]
    assert [c["name"] for c in curves] == ["original", "refined"]
    for curve, folder in zip(curves, train_dirs):
        log = json.loads((folder / "train.json").read_text())["log"]
        assert curve["points"] == [[e["step"], e["loss"]] for e in log] and len(log) == STEPS
        assert curve["recipe"] == "cpu" and curve["steps"] == STEPS and curve["tokens_per_second"] > 0
    assert curves[0]["data"] == [SAMPLE.name] and curves[1]["data"][0].startswith("refined_r0.5")
    assert curves[0]["colour"] != curves[1]["colour"]
    assert all("log" not in part["summary"] for part in page_data(report)["train"])  # carried once, by the curve


def test_funnel_is_curates_stats(report, curate_dir) -> None:
    (part,) = page_data(report)["curate"]
    stats = json.loads((curate_dir / "stats.json").read_text())
    funnel = part["funnel"]
    assert [s["step"] for s in funnel] == list(stats["steps"])
    assert [(s["in"], s["out"], s["dropped"]) for s in funnel] == [
        (s["in"], s["out"], s["dropped"]) for s in stats["steps"].values()]
    # read takes records and gives problems (the copy of a chain is grouped with it), then problems all the way
    assert (funnel[0]["step"], funnel[0]["in"], funnel[0]["out"]) == ("read", 7, stats["problems"])
    assert all(a["out"] == b["in"] for a, b in pairwise(funnel)) and funnel[-1]["out"] == stats["kept"] == 3
    reasons = {r for s in funnel for r in s["dropped"]}
    assert "no chain reaches the gold answer" in reasons and "below the top 3" in reasons
    assert sum(n for s in funnel for n in s["dropped"].values()) == stats["problems"] - 3  # each drop has a reason


def test_comparison_table_is_eval_compares(report, eval_dirs) -> None:
    from thinktrim.evaluate.paper_table import cell_texts, paper_table
    from thinktrim.evaluate.summary import load_results

    table = page_data(report)["eval"]["paper_table"]
    assert table["base"] == "greedy" and [r["run"] for r in table["rows"]] == ["greedy", "sampled"]
    names, rows = paper_table([(p.name, load_results(p)) for p in (eval_dirs[1], eval_dirs[0])])
    assert table["columns"] == names == ["gsm8k"]  # one benchmark: no Average row
    assert [r["cells"] for r in table["rows"]] == [[list(cell_texts(c)) for c in cells] for _, cells in rows]
    printed = CliRunner().invoke(app, ["eval", "compare", str(eval_dirs[1]), str(eval_dirs[0]), "--format",
                                       "markdown"])
    assert printed.exit_code == 0, printed.output
    line = next(x for x in printed.output.splitlines() if x.startswith("| sampled"))
    assert line == "| sampled | " + " | ".join(t for cell in table["rows"][1]["cells"] for t in cell) + " |"


def test_pngs_of_the_new_charts(report) -> None:
    from PIL import Image

    png = report.parent / "png"
    for name in ("train_loss.png", "curated_curate_funnel.png"):
        with Image.open(png / name) as image:
            assert image.size[0] > 1000 and image.size[1] > 600, name


def test_charts_in_the_browser(browser, report, tmp_path_factory, capsys) -> None:
    from thinktrim.report.browser import open_report, screenshot

    open_report(browser, report)
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []
    data = page_data(report)
    drawn = browser.execute_script("""
        const svg = document.querySelector('#train-loss svg');
        const lines = [...svg.querySelectorAll('path')].filter(p => p.getAttribute('fill') === 'none');
        return {lines: lines.map(p => [p.getAttribute('stroke'), (p.getAttribute('d').match(/[ML]/g) || []).length]),
                dots: svg.querySelectorAll('circle').length,
                legend: [...document.querySelectorAll('#train-curves .legend span')].map(s => s.textContent),
                bars: [...document.querySelectorAll('.curate-funnel svg rect')].map(r => r.querySelector('title')
                       ?.textContent).filter(Boolean),
                drops: [...document.querySelectorAll('.curate-funnel tbody tr')].map(r => r.textContent),
                head: [...document.querySelectorAll('#paper-table thead tr')].map(r =>
                       [...r.querySelectorAll('th')].map(th => th.textContent)),
                table: [...document.querySelectorAll('#paper-table tbody tr')].map(r =>
                       [...r.querySelectorAll('td')].map(td => td.textContent)),
                tableBeforeCharts: !!(document.querySelector('#paper-table').compareDocumentPosition(
                       document.querySelector('#eval-scatter')) & Node.DOCUMENT_POSITION_FOLLOWING)};""")
    curves = [p["curve"] for p in data["train"]]
    assert drawn["lines"] == [[c["colour"], STEPS] for c in curves]
    assert drawn["dots"] == 2 * STEPS and drawn["legend"] == ["original", "refined"]
    funnel = data["curate"][0]["funnel"]
    assert drawn["bars"] == [f"{kind} · {s['step']}: {s[key]}" for s in funnel for kind, key in
                             (("in", "in"), ("out (kept)", "out"))]
    assert len(drawn["drops"]) == sum(len(s["dropped"]) for s in funnel)
    assert drawn["table"] == [[r["run"], *(t for cell in r["cells"] for t in cell)]
                              for r in data["eval"]["paper_table"]["rows"]]
    assert drawn["head"] == [["run", "gsm8k"], ["ACC", "TOK", "EFF", "AES"]]
    assert drawn["tableBeforeCharts"]
    shots = tmp_path_factory.mktemp("training-screenshots")
    for element in ("train-curves", "curate-funnels", "eval"):
        screenshot(browser, element, shots / f"{element}.png")
        assert (shots / f"{element}.png").stat().st_size > 10_000
    with capsys.disabled():
        print(f"\ntraining/curation screenshots: {shots}")
