"""The evaluation run loop on the embedded model: end to end, resume after kill -9, re-grading, checks."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from thinktrim.evaluate.config import EvalConfig
from thinktrim.evaluate.records import grade_records, read_run_record
from thinktrim.evaluate.run import evaluate
from thinktrim.evaluate.summary import summary_rows

from .conftest import eval_config

pytestmark = pytest.mark.slow


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_end_to_end_writes_samples_grades_and_results(tiny_run: Path) -> None:
    samples = [json.loads(line) for line in _lines(tiny_run / "gsm8k" / "samples.jsonl")]
    assert sorted(s["key"] for s in samples) == sorted(f"{s['question_id']}#{s['sample']}" for s in samples)
    assert len({s["key"] for s in samples}) == 4 and {s["sample"] for s in samples} == {0, 1}
    for s in samples:
        assert s["response"] and 1 <= s["tokens"] <= 24 and s["finish_reason"] in ("stop", "length")
        assert s["kind"] == "number" and s["answer"]
    graded = [json.loads(line) for line in _lines(tiny_run / "gsm8k" / "graded.jsonl")]
    assert sorted(g["key"] for g in graded) == sorted(s["key"] for s in samples)
    assert [g["sample"] for g in graded] == [0, 1, 0, 1]  # question order, then sample
    results = json.loads((tiny_run / "results.json").read_text())
    bench = results["benchmarks"]["gsm8k"]
    assert (bench["questions"], bench["samples"]) == (2, 4)
    m = bench["metrics"]
    assert m["tokens:mean"] == pytest.approx(sum(s["tokens"] for s in samples) / 4)
    assert m["acc:avg@n=2"] == pytest.approx(sum(g["correct"] for g in graded) / 4)
    assert m["truncated:rate"] == pytest.approx(sum(g["truncated"] for g in graded) / 4)
    # 24 tokens is too few for a boxed answer: the limit-hit responses are truncated and wrong.
    for g in graded:
        assert g["truncated"] == (g["finish_reason"] == "length")
        if g["truncated"]:
            assert g["reason"] == "truncated" and not g["correct"]
    for name in m:
        assert results["metric_definitions"][name], f"{name} has no definition"
    sources = bench["answer_sources"]
    assert sum(sources.values()) == 4 and set(sources) == {"boxed", "phrase", "thinking", "last_number", "none"}
    assert sources["none"] == sum(g["source"] is None for g in graded)
    assert results["overall"]["answer_sources"] == sources
    reasons = bench["counts"]["graded_by_reason"]  # every verdict counted under its reason
    assert reasons == dict(Counter(g["reason"] for g in graded).most_common()) and sum(reasons.values()) == 4
    assert results["overall"]["counts"] == bench["counts"]
    assert bench["inputs"]["ids"] == [g["question_id"] for g in graded[::2]] and bench["inputs"]["limit"] == 2
    assert results["config"]["generation"]["max_new_tokens"] == 24
    assert results["generation"]["generated"] == 4 and results["generation"]["resumed"] == 0
    assert summary_rows(results)[0][:3] == ["gsm8k", 2, 2]


def test_rerun_regrades_without_generating(tiny_run: Path) -> None:
    before = (tiny_run / "gsm8k" / "samples.jsonl").read_bytes()
    results = evaluate(eval_config(tiny_run))
    assert results["generation"] == {"generated": 0, "resumed": 4, "seconds": 0.0, "tokens": 0}
    assert (tiny_run / "gsm8k" / "samples.jsonl").read_bytes() == before
    assert results["benchmarks"]["gsm8k"]["metrics"] == json.loads(
        (tiny_run / "results.json").read_text())["benchmarks"]["gsm8k"]["metrics"]


def test_changed_settings_are_refused_on_resume(tiny_run: Path) -> None:
    with pytest.raises(ValueError, match=r"run\.json.*max_new_tokens=24 → 32"):
        evaluate(eval_config(tiny_run, max_new_tokens=32))


def test_a_run_of_an_earlier_version_with_config_json_resumes(tmp_path: Path, tiny_run: Path) -> None:
    """Eval's record was config.json (a model's config has that name too): such a run is still read, for a
    release, and resumes without generating; a model folder's config.json is no run record."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(tiny_run, old)
    (old / "run.json").rename(old / "config.json")
    assert read_run_record(old) == json.loads((old / "config.json").read_text())
    results = evaluate(eval_config(old))
    assert results["generation"]["generated"] == 0 and results["generation"]["resumed"] == 4
    assert not (old / "run.json").exists()
    with pytest.raises(ValueError, match=r"old/config\.json.*max_new_tokens=24 → 32"):
        evaluate(eval_config(old, max_new_tokens=32))
    newer = {"benchmarks": ["other"], "generation": {"n": 1}}
    (old / "run.json").write_text(json.dumps(newer))  # the new name wins over the old
    assert read_run_record(old) == newer
    (old / "run.json").write_text(json.dumps({"input": "x.jsonl", "ratios": [0.3]}))  # another command's record
    assert read_run_record(old) is None
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    assert read_run_record(model) is None and read_run_record(tmp_path / "nothing") is None


def test_more_samples_extend_a_run(tmp_path: Path, tiny_run: Path) -> None:
    """n=2 → n=3 on a copy of a finished run generates only sample #2 of each question."""
    import shutil

    out = tmp_path / "more"
    shutil.copytree(tiny_run, out)
    results = evaluate(eval_config(out, n=3, max_new_tokens=24))
    assert (results["generation"]["generated"], results["generation"]["resumed"]) == (2, 4)
    keys = [json.loads(line)["key"] for line in _lines(out / "gsm8k" / "samples.jsonl")]
    assert len(keys) == len(set(keys)) == 6
    assert "acc:avg@n=3" in results["benchmarks"]["gsm8k"]["metrics"]


def test_resume_after_kill_9_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "thinktrim.cli", "eval", "--benchmark", "gsm8k", "--limit", "3", "-n", "2",
            "--max-new-tokens", "16", "--batch-size", "1", "--device", "cpu", "--grade-processes", "0",
            "-o", str(out)]
    samples = out / "gsm8k" / "samples.jsonl"
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while not (samples.exists() and samples.read_bytes().count(b"\n") >= 2):
            assert proc.poll() is None, f"the run ended before it was killed: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "no samples written in 180 s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    data = samples.read_bytes()
    done = data[: data.rfind(b"\n") + 1]
    n_done = done.count(b"\n")
    assert 2 <= n_done < 6, "the kill came too late to test a resume"
    # A write torn by the kill (as if it had hit mid-line) must be dropped, not read as a sample.
    with samples.open("ab") as f:
        f.write(b'{"key": "torn#0", "response": "half a li')
    results = evaluate(eval_config(out, limit=3, max_new_tokens=16, batch_size=1))
    assert (results["generation"]["generated"], results["generation"]["resumed"]) == (6 - n_done, n_done)
    after = samples.read_bytes()
    assert after.startswith(done)  # finished samples kept byte for byte, not regenerated
    keys = [json.loads(line)["key"] for line in after.decode().splitlines()]
    assert len(keys) == len(set(keys)) == 6 and "torn#0" not in keys
    assert results["benchmarks"]["gsm8k"]["samples"] == 6


def test_custom_jsonl_benchmark(arith_runs) -> None:
    long, short = arith_runs
    rows = [json.loads(line) for line in _lines(long / "arith" / "samples.jsonl")]
    by_id = {r["question_id"]: r for r in rows}
    # Greedy, no system prompt: the same answer the backends give in tests/lm.
    assert by_id["arith-0"]["response"] == "2 + 3 = 5" and by_id["arith-0"]["answer"] == "5"
    graded = {g["question_id"]: g for g in map(json.loads, _lines(long / "arith" / "graded.jsonl"))}
    assert [graded[f"arith-{i}"]["correct"] for i in range(4)] == [True, False, True, True]
    assert graded["arith-0"]["extracted"] == "5"
    cut = {g["question_id"]: g for g in map(json.loads, _lines(short / "arith" / "graded.jsonl"))}
    assert cut["arith-2"]["truncated"] and not cut["arith-2"]["correct"]
    assert json.loads((long / "results.json").read_text())["config"]["system_prompt"] is None


def test_several_benchmarks_are_pooled_overall(tmp_path: Path, arith_file: Path) -> None:
    results = evaluate(eval_config(tmp_path / "two", benchmarks=("gsm8k",), data=str(arith_file),
                                   question_field="q", answer_field="a", kind="number", limit=2, n=1,
                                   max_new_tokens=8, temperature=0))
    assert list(results["benchmarks"]) == ["gsm8k", "arith"]
    overall = results["overall"]["metrics"]
    assert results["overall"]["samples"] == 4 and overall["questions"] == 4
    per = [results["benchmarks"][b]["metrics"]["tokens:mean"] for b in ("gsm8k", "arith")]
    assert overall["tokens:mean"] == pytest.approx(sum(per) / 2)
    rows = summary_rows(results)
    assert [r[0] for r in rows] == ["gsm8k", "arith", "overall"]


def test_a_truncated_response_counts_only_with_a_boxed_answer() -> None:
    rows = [
        {"response": "Half-way: 40 + 2 = 42, so", "answer": "42", "kind": "number", "finish_reason": "length"},
        {"response": "40 + 2 = 42, so the answer is 42", "answer": "42", "kind": "number", "finish_reason": "stop"},
        {"response": "So \\boxed{42}. Let me check again, 40 +", "answer": "42", "kind": "number",
         "finish_reason": "length"},
        {"response": "<think>thinking about 42", "answer": "42", "kind": "number", "finish_reason": "length"},
    ]
    graded = grade_records(rows, processes=1, progress=False)  # one real worker process
    assert [(g["correct"], g["truncated"]) for g in graded] == [(False, True), (True, False), (True, True),
                                                                 (False, True)]
    assert graded[0]["reason"] == "truncated" and "response" not in graded[0]


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"benchmarks": ()}, "--benchmark"), ({"backend": "tgi"}, "^backend: 'tgi' is not one of"),
     ({"kind": "letter"}, "^kind: 'letter' is not one of"), ({"limit": 0}, "^limit: must be >= 1, got 0"),
     ({"data": "/nonexistent.jsonl"}, "^data: /nonexistent.jsonl: no such file"),
     ({"baseline": "/nonexistent"}, "^baseline: .*results.json")],
)
def test_config_errors_name_the_field(kw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EvalConfig(**{"benchmarks": ("gsm8k",), **kw})
