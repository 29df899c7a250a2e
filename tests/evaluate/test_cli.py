"""`thinktrim eval`, `eval grade` and `eval compare` through the real command line."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_help_everywhere() -> None:
    for args in (["eval", "--help"], ["eval", "grade", "--help"], ["eval", "compare", "--help"]):
        result = _invoke(*args)
        assert result.exit_code == 0 and "Usage" in result.output
    assert "--benchmark" in _invoke("eval", "--help").output
    assert "grade" in _invoke("eval").output  # no arguments: the help, listing the subcommands


def _responses(tmp_path: Path) -> Path:
    """Responses to gsm8k's first questions: right, wrong, right without a box, truncated."""
    from thinktrim.data.benchmarks import load_benchmark

    items = load_benchmark("gsm8k", limit=4)
    texts = [f"So the total is \\boxed{{{items[0].answer}}}.",
             f"I get \\boxed{{{int(items[1].answer.replace(',', '')) + 1}}}.",
             f"Adding up, the answer is {items[2].answer}.",
             f"First, {items[3].answer} apples and then"]
    rows = [{"question_id": it.id, "sample": 0, "response": t, "answer": it.answer, "kind": it.kind,
             "finish_reason": "length" if i == 3 else "stop", "tokens": 10 * (i + 1)}
            for i, (it, t) in enumerate(zip(items, texts))]
    path = tmp_path / "responses.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_grade_a_file_with_its_own_golds(tmp_path: Path) -> None:
    path = _responses(tmp_path)
    result = _invoke("eval", "grade", path, "-o", tmp_path / "graded.jsonl", "--grade-processes", "0")
    assert result.exit_code == 0, result.output
    graded = [json.loads(line) for line in (tmp_path / "graded.jsonl").read_text().splitlines()]
    assert [(g["correct"], g["truncated"]) for g in graded] == [(True, False), (False, False), (True, False),
                                                                 (False, True)]
    assert "acc:avg@n=1" in result.output and "0.500" in result.output  # 2 of 4
    assert "tokens:mean" in result.output and "25.000" in result.output


def test_grade_with_golds_from_the_benchmark(tmp_path: Path) -> None:
    path = _responses(tmp_path)
    stripped = tmp_path / "no_golds.jsonl"
    stripped.write_text("".join(json.dumps({"qid": r["question_id"], "text": r["response"]}) + "\n"
                                for r in map(json.loads, path.read_text().splitlines())))
    result = _invoke("eval", "grade", stripped, "--benchmark", "gsm8k", "--id-field", "qid", "--response-field",
                     "text", "--tokenizer", "embedded", "-o", tmp_path / "g.jsonl", "--grade-processes", "0")
    assert result.exit_code == 0, result.output
    graded = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    # Without finish reasons nothing counts as truncated: the last one is graded on its last number.
    assert [g["correct"] for g in graded][:3] == [True, False, True]
    assert all(g["tokens"] > 0 for g in graded)


def test_grade_other_layouts_json_parquet_nested_and_n_samples(tmp_path: Path) -> None:
    """Harness outputs as they come: n samples per record in a list, nested fields, JSON and Parquet files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"meta": {"idx": "a"}, "gt": "12", "outputs": {"texts": ["so \\boxed{12}", "maybe \\boxed{13}"]},
             "tokens": [5, 7]},
            {"meta": {"idx": "b"}, "gt": "1/2", "outputs": {"texts": ["\\boxed{0.5}", "\\boxed{\\frac{1}{2}}"]},
             "tokens": [3, 9]}]
    json_path = tmp_path / "harness.json"
    json_path.write_text(json.dumps({"results": rows}), encoding="utf-8")
    parquet_path = tmp_path / "harness.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet_path)
    for path in (json_path, parquet_path):
        out = tmp_path / f"{path.suffix[1:]}.jsonl"
        result = _invoke("eval", "grade", path, "--response-field", "outputs.texts", "--answer-field", "gt",
                         "--id-field", "meta.idx", "-o", out, "--grade-processes", "0")
        assert result.exit_code == 0, result.output
        graded = [json.loads(line) for line in out.read_text().splitlines()]
        assert [(g["question_id"], g["sample"], g["correct"], g["tokens"]) for g in graded] == [
            ("a", 0, True, 5), ("a", 1, False, 7), ("b", 0, True, 3), ("b", 1, True, 9)]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"gt": "1", "outputs": {"texts": ["x", 3]}}]), encoding="utf-8")
    result = runner.invoke(app, ["eval", "grade", str(bad), "--response-field", "outputs.texts", "--answer-field",
                                 "gt"])
    assert result.exit_code == 2 and f"{bad}[0]: field 'outputs.texts' missing, or not a string or a list" in (
        result.output.replace("\n", ""))


def test_grade_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"response": "\\\\boxed{1}", "answer": "1"}\n{"answer": "2"}\n')
    result = runner.invoke(app, ["eval", "grade", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2: field 'response' missing" in result.output
    result = runner.invoke(app, ["eval", "grade", str(bad), "--benchmark", "gsm8k"])
    assert result.exit_code == 2 and f"{bad}:1: question_id=None is not a question of gsm8k" in result.output


@pytest.mark.slow
def test_compare_two_runs(arith_runs: tuple[Path, Path]) -> None:
    from thinktrim.evaluate.metrics import aes

    long, short = arith_runs
    result = _invoke("eval", "compare", long, short, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["run"], r["benchmark"]) for r in rows] == [("long", "arith"), ("short", "arith")]
    base, cut = rows
    assert (base["ACC %"], cut["ACC %"]) == (75.0, 50.0)
    assert cut["TOK"] < base["TOK"] <= 32
    assert base["EFF"] == pytest.approx(0.75 / base["TOK"])
    assert base["AES vs first"] == 0.0
    expected = aes(0.5, cut["TOK"], 0.75, base["TOK"])
    assert cut["AES vs first"] == pytest.approx(expected) and expected < 0  # a third of the accuracy lost
    # The baseline given at run time gives the same AES in results.json.
    res = json.loads((short / "results.json").read_text())
    assert res["benchmarks"]["arith"]["metrics"]["aes:alpha=1&beta=3&gamma=5"] == pytest.approx(expected)
    assert "aes" in res["metric_definitions"]["aes:alpha=1&beta=3&gamma=5"].lower()
    table = _invoke("eval", "compare", long, short / "results.json")
    assert table.exit_code == 0 and "AES" in table.output and "short" in table.output
    assert "Average" not in table.output  # one benchmark: no Average row, and the caption names none
    missing = runner.invoke(app, ["eval", "compare", str(long), str(long.parent)])
    assert missing.exit_code == 2 and "no results.json" in missing.output


@pytest.mark.slow
def test_eval_command_runs_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "cli-run"
    result = _invoke("eval", "--benchmark", "gsm8k", "--limit", "1", "-n", "1", "--max-new-tokens", "8",
                     "--device", "cpu", "--grade-processes", "0", "-o", out)
    assert result.exit_code == 0, result.output
    assert "thinktrim eval" in result.output and "gsm8k" in result.output and "ACC %" in result.output
    assert (out / "results.json").exists()
    bad = runner.invoke(app, ["eval", "--benchmark", "gsm8k", "--temperature", "-1", "-o", str(out)])
    assert bad.exit_code == 2 and "--temperature: must be a finite number >= 0, got -1.0" in bad.output


def test_grade_records_answer_sources_and_the_policy_options(tmp_path: Path) -> None:
    """Each graded record says where its answer came from; the two fallbacks can be switched off."""
    rows = [{"question_id": "a", "response": "So \\boxed{12}.", "answer": "12"},
            {"question_id": "b", "response": "The answer is $7$.", "answer": "7"},
            {"question_id": "c", "response": "<think>so \\boxed{5}</think>\n\nThe final answer is", "answer": "5"},
            {"question_id": "d", "response": "In total 1,600 dollars", "answer": "1600"},
            {"question_id": "e", "response": "So the total is 1/2 +", "answer": "1/2"}]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "g.jsonl"
    result = _invoke("eval", "grade", path, "-o", out, "--grade-processes", "0")
    assert result.exit_code == 0, result.output
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(g["source"], g["correct"]) for g in graded] == [
        ("boxed", True), ("phrase", True), ("thinking", True), ("last_number", True), (None, False)]
    assert "answers from: boxed 1, phrase 1, thinking 1, last_number 1, none 1" in " ".join(result.output.split())
    result = _invoke("eval", "grade", path, "-o", out, "--grade-processes", "0", "--no-answer-from-thinking",
                     "--no-fallback-last-number")
    assert result.exit_code == 0, result.output
    assert [g["source"] for g in map(json.loads, out.read_text().splitlines())] == ["boxed", "phrase", None, None,
                                                                                   None]


def test_grade_counts_verdicts_by_reason_and_errors_by_type(tmp_path: Path) -> None:
    """A gold of 5,000 digits makes Python's int conversion raise (a real grading error): the verdict names
    the exception and its message, and the counts by reason are printed."""
    rows = [{"response": "\\boxed{3}", "answer": "3"}, {"response": "no idea", "answer": "3"},
            {"response": "\\boxed{1}", "answer": "1" * 5000, "kind": "number"}]
    path = tmp_path / "responses.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = _invoke("eval", "grade", path, "-o", tmp_path / "graded.jsonl", "--grade-processes", "0")
    assert result.exit_code == 0, result.output
    graded = [json.loads(line) for line in (tmp_path / "graded.jsonl").read_text().splitlines()]
    assert [g["reason"] for g in graded] == ["ok", "no_answer", "error"]
    assert graded[0]["error"] is None
    assert graded[2]["error"].startswith("ValueError: Exceeds the limit (4300 digits) for integer string")
    assert "Grading by reason" in result.output and "graded_by_reason" in result.output
    assert "grading_errors" in result.output and "ValueError: Exceeds" in result.output
