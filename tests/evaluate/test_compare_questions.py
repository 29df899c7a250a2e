"""`eval compare` checks that the runs answered the same questions: on eval run folders (graded samples scored by
the real `write_results`, or a real run of the embedded model), a run over a subset of the base's questions is
compared on the questions both answered, with one warning line; a benchmark a run lacks is shown as missing;
runs with no question in common are one `error:` line."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.evaluate.config import EvalConfig
from thinktrim.evaluate.metrics import aes
from thinktrim.evaluate.paper_table import MINUS, compare, folder_run
from thinktrim.evaluate.run import check_resume, load_items, question_sha, sample_key, write_results
from thinktrim.lm.generation.types import GenerationConfig

Verdicts = list[list[tuple[bool, int]]]  # per question, per sample: (correct?, tokens)


def scored_run(folder: Path, verdicts: dict[str, Verdicts], **settings) -> dict:
    """An eval run folder as `thinktrim eval` leaves it (run.json, <bench>/samples.jsonl and graded.jsonl,
    results.json) for hand-written samples: a boxed gold is right, a boxed -1 wrong. `settings`: EvalConfig's
    limit, start, end, data… (the question range of the run); verdicts go to the questions in order."""
    n = len(next(iter(verdicts.values()))[0])
    config = EvalConfig(benchmarks=tuple(b for b in verdicts if "data" not in settings), output_dir=str(folder),
                        grade_processes=0, generation=GenerationConfig(n=n), **settings)
    items = load_items(config)
    check_resume(folder, config)  # writes run.json
    for bench, bench_items in items.items():
        assert len(bench_items) == len(verdicts[bench]), bench
        rows = [{"key": sample_key(item.id, s), "question_id": item.id, "sample": s,
                 "question_sha": question_sha(item.question), "tokens": tokens, "finish_reason": "stop",
                 "response": f"\\boxed{{{item.answer if ok else -1}}}"}
                for item, samples in zip(bench_items, verdicts[bench]) for s, (ok, tokens) in enumerate(samples)]
        (folder / bench).mkdir(parents=True, exist_ok=True)
        (folder / bench / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return write_results(config, items, folder, {})


def invoke(*args: str | Path):
    return CliRunner().invoke(app, ["eval", "compare", *map(str, args)])


def warnings_of(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


# aime24, 2 samples per question: the base over questions 0-5, the run over questions 2-4 only.
BASE = [[(True, 100), (True, 300)], [(True, 200), (False, 200)], [(False, 900), (False, 700)],
        [(True, 400), (True, 400)], [(True, 500), (False, 300)], [(False, 1000), (False, 1000)]]
SHORT = [[(False, 200), (True, 200)], [(True, 100), (True, 300)], [(True, 150), (False, 250)]]
# On questions 2-4 the base has ACC (0 + 1 + 0.5) / 3 = 0.5 and TOK (1600 + 800 + 800) / 6 = 533.3;
# the run ACC (0.5 + 1 + 0.5) / 3 = 2/3 and TOK 1200 / 6 = 200. Over all six, the base has ACC 5.5/12, TOK 500.
BASE_ACC, BASE_TOK, SHORT_ACC, SHORT_TOK = 0.5, 3200 / 6, 2 / 3, 200.0


@pytest.fixture
def subset_runs(tmp_path: Path) -> tuple[Path, Path]:
    base = scored_run(tmp_path / "base", {"aime24": BASE}, limit=6)
    short = scored_run(tmp_path / "short", {"aime24": SHORT}, start=2, end=5)
    ids = [r["inputs"]["ids"] for r in (base["benchmarks"]["aime24"], short["benchmarks"]["aime24"])]
    assert ids[1] == ids[0][2:5]
    return tmp_path / "base", tmp_path / "short"


def test_a_subset_run_is_compared_on_the_questions_both_answered(subset_runs) -> None:
    base, short = subset_runs
    result = invoke(base, short, "--json")
    assert result.exit_code == 0, result.output
    assert warnings_of(result) == ["warning: aime24: compared on the 3 questions every run answered; left out 3 of "
                                   "6 from base"]
    rows = {r["run"]: r for r in json.loads(result.stdout)}
    assert rows["base"]["questions"] == rows["short"]["questions"] == 3
    assert rows["base"]["ACC %"] == pytest.approx(100 * BASE_ACC) and rows["base"]["TOK"] == pytest.approx(BASE_TOK)
    assert rows["short"]["ACC %"] == pytest.approx(100 * SHORT_ACC) and rows["short"]["TOK"] == SHORT_TOK
    assert rows["short"]["AES vs first"] == pytest.approx(aes(SHORT_ACC, SHORT_TOK, BASE_ACC, BASE_TOK))
    # not the deltas against all six of the base's questions, which results.json holds
    whole = json.loads((base / "results.json").read_text())["benchmarks"]["aime24"]["metrics"]
    assert whole["tokens:mean"] == 500 and rows["base"]["TOK"] != whole["tokens:mean"]

    table = invoke(base, short)
    assert table.exit_code == 0, table.output
    assert "66.7 +16.7" in table.stdout and f"200 {MINUS}62%" in table.stdout  # 200 / 533.3 - 1 = -62.5 %
    assert "Only the questions every run answered: aime24 3 of 6." in " ".join(table.stdout.split())
    assert "Average" not in table.stdout  # one benchmark: no Average row, and the caption names none

    sheet = invoke(base, short, "--format", "csv")
    assert sheet.exit_code == 0 and warnings_of(sheet) == warnings_of(result)
    cells = {r["run"]: r for r in csv.DictReader(io.StringIO(sheet.stdout))}  # stdout: the CSV alone
    assert float(cells["short"]["acc_delta_points"]) == pytest.approx(100 * (SHORT_ACC - BASE_ACC), rel=1e-5)
    assert float(cells["short"]["tokens_change"]) == pytest.approx(SHORT_TOK / BASE_TOK - 1, rel=1e-5)
    assert float(cells["short"]["aes"]) == pytest.approx(rows["short"]["AES vs first"], rel=1e-5)


def test_the_common_questions_are_scored_as_eval_scores_them(subset_runs, tmp_path: Path) -> None:
    """The base's figures on questions 2-4 are those of a run of its samples over exactly those questions."""
    base, short = subset_runs
    alone = scored_run(tmp_path / "base-2-4", {"aime24": BASE[2:5]}, start=2, end=5)["benchmarks"]["aime24"]
    restricted = compare([folder_run(base), folder_run(short)]).figures[0]["aime24"]
    assert restricted.acc == pytest.approx(alone["metrics"]["acc:avg@n=2"])
    assert restricted.tok == pytest.approx(alone["metrics"]["tokens:mean"])
    assert (restricted.questions, restricted.samples) == (alone["questions"], alone["samples"])


def test_the_pooled_figures_are_pooled_over_the_common_questions(tmp_path: Path) -> None:
    gsm8k = [[(True, 50)], [(False, 80)], [(True, 60)], [(True, 90)]]
    aime = [[(False, 900)], [(True, 700)], [(True, 500)], [(False, 1000)]]
    scored_run(tmp_path / "base", {"gsm8k": gsm8k, "aime24": aime}, limit=4)
    scored_run(tmp_path / "mine", {"gsm8k": [[(True, 40)]] * 3, "aime24": [[(True, 300)]] * 3}, start=1, end=4)
    # what the base scores on questions 1-3 of each, as one run
    alone = scored_run(tmp_path / "alone", {"gsm8k": gsm8k[1:], "aime24": aime[1:]}, start=1, end=4)
    result = invoke(tmp_path / "base", tmp_path / "mine", "--json")
    assert result.exit_code == 0, result.output
    assert warnings_of(result) == [f"warning: {b}: compared on the 3 questions every run answered; left out 1 of 4 "
                                   "from base" for b in ("gsm8k", "aime24")]
    rows = {(r["run"], r["benchmark"]): r for r in json.loads(result.stdout)}
    for section, key in ((alone["overall"], "overall"), *((alone["benchmarks"][b], b) for b in ("gsm8k", "aime24"))):
        assert rows["base", key]["ACC %"] == pytest.approx(100 * section["metrics"]["acc:avg@n=1"])
        assert rows["base", key]["TOK"] == pytest.approx(section["metrics"]["tokens:mean"])
    assert rows["base", "overall"]["questions"] == rows["mine", "overall"]["questions"] == 6
    assert rows["mine", "overall"]["ACC %"] == 100.0 and rows["mine", "overall"]["TOK"] == pytest.approx(170)
    per_bench = [rows["mine", b]["AES vs first"] for b in ("gsm8k", "aime24")]
    assert rows["mine", "benchmark mean"]["AES vs first"] == pytest.approx(sum(per_bench) / 2)
    table = invoke(tmp_path / "base", tmp_path / "mine")
    text = " ".join(table.stdout.split())
    assert table.exit_code == 0 and "Average: the mean over benchmarks" in text and "all questions (pooled)" in text
    assert "Only the questions every run answered: gsm8k 3 of 4, aime24 3 of 4." in text


def test_a_benchmark_a_run_lacks_is_shown_as_missing(tmp_path: Path) -> None:
    verdicts = {"gsm8k": [[(True, 50)], [(False, 80)]], "aime24": [[(True, 900)], [(False, 700)]]}
    scored_run(tmp_path / "base", verdicts, limit=2)
    scored_run(tmp_path / "mine", {"gsm8k": [[(True, 40)], [(True, 40)]]}, limit=2)
    result = invoke(tmp_path / "base", tmp_path / "mine", "--json")
    assert result.exit_code == 0, result.output
    assert warnings_of(result) == ["warning: aime24: missing from mine (shown as –)"]
    rows = {(r["run"], r["benchmark"]): r for r in json.loads(result.stdout)}
    assert rows["mine", "aime24"] == {"run": "mine", "benchmark": "aime24", "n": 1, "questions": None,
                                      "ACC %": None, "TOK": None, "EFF": None, "AES vs first": None}
    assert rows["mine", "gsm8k"]["ACC %"] == 100.0  # same questions as the base: as results.json has it
    assert rows["mine", "overall"]["TOK"] is None and rows["mine", "benchmark mean"]["AES vs first"] is None
    markdown = invoke(tmp_path / "base", tmp_path / "mine", "--format", "markdown")
    line = next(x for x in markdown.stdout.splitlines() if x.startswith("| mine"))
    assert line.endswith("| – | – | – | – | – | – | – | – |")  # aime24 and the Average
    assert "–: no figures" in markdown.stdout


@pytest.mark.parametrize("other", [{"start": 2, "end": 4}, {"benchmarks": ("gsm8k",), "limit": 2}])
def test_runs_without_a_common_question_are_an_error(tmp_path: Path, other: dict) -> None:
    scored_run(tmp_path / "base", {"aime24": [[(True, 900)], [(False, 700)]]}, limit=2)
    bench = other.pop("benchmarks", ("aime24",))[0]
    scored_run(tmp_path / "other", {bench: [[(True, 40)], [(True, 40)]]}, **other)
    for fmt in ([], ["--json"], ["--format", "latex"]):
        result = invoke(tmp_path / "base", tmp_path / "other", *fmt)
        assert result.exit_code == 2, result.output
        assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.output
        assert result.stderr.startswith(f"error: {tmp_path / 'other'}: none of its questions is one the base "
                                        f"{tmp_path / 'base'} answered (benchmarks: aime24)")


def test_another_version_of_a_question_under_the_same_id_is_left_out(tmp_path: Path) -> None:
    """Two versions of one data file: the same ids, one question reworded and one gold corrected."""
    old = [{"id": f"q{i}", "q": f"What is {i} + {i}?", "a": str(2 * i)} for i in range(4)]
    new = [dict(old[0]), dict(old[1], q="What is 1 plus 1?"), dict(old[2]), dict(old[3], a="7")]
    for name, records in (("v1", old), ("v2", new)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "sums.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    common = dict(question_field="q", answer_field="a", id_field="id", kind="number")
    scored_run(tmp_path / "base", {"sums": [[(True, 10)], [(True, 20)], [(False, 30)], [(True, 40)]]},
               data=str(tmp_path / "v1" / "sums.jsonl"), **common)
    scored_run(tmp_path / "mine", {"sums": [[(True, 5)], [(False, 5)], [(True, 5)], [(True, 5)]]},
               data=str(tmp_path / "v2" / "sums.jsonl"), **common)
    result = invoke(tmp_path / "base", tmp_path / "mine", "--json")
    assert result.exit_code == 0, result.output
    assert warnings_of(result) == [
        "warning: sums: compared on the 2 questions every run answered; left out 2 of 4 from base, 2 of 4 from "
        "mine (2 of them another question or gold under a base question's id)"]
    rows = {r["run"]: r for r in json.loads(result.stdout)}  # q0 and q2 only
    assert (rows["base"]["ACC %"], rows["base"]["TOK"]) == (50.0, 20.0)
    assert (rows["mine"]["ACC %"], rows["mine"]["TOK"]) == (100.0, 5.0)


def test_a_run_folder_without_its_graded_samples_is_named(subset_runs) -> None:
    base, short = subset_runs
    (base / "aime24" / "graded.jsonl").unlink()
    result = invoke(base, short)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == (f"error: {base}/aime24/graded.jsonl: not found; it is needed to score aime24 "
                                     "again on the 3 questions every run answered")


@pytest.mark.slow
def test_a_real_run_over_fewer_questions(tiny_run: Path, tmp_path: Path) -> None:
    """The embedded model's run over 2 gsm8k questions, and the same folder regraded over the first only (the
    samples are reused: nothing is generated): compared on that question, the two runs are the same."""
    from thinktrim.evaluate.run import evaluate

    from .conftest import eval_config

    first = tmp_path / "first"
    shutil.copytree(tiny_run, first)
    evaluate(eval_config(first, limit=1))
    result = invoke(tiny_run, first, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert warnings_of(result) == ["warning: gsm8k: compared on the 1 question every run answered; left out 1 of 2 "
                                   f"from {tiny_run.name}"]
    cells = {r["run"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert float(cells["first"]["acc_delta_points"]) == 0 and float(cells["first"]["tokens_change"]) == 0
    results = json.loads((first / "results.json").read_text())["benchmarks"]["gsm8k"]["metrics"]
    assert float(cells[tiny_run.name]["tokens"]) == pytest.approx(results["tokens:mean"], rel=1e-5)
