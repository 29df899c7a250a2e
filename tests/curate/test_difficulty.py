"""The difficulty filter on the embedded model: exactly the solve-count band is kept, a kill -9 loses nothing,
and an eval run's graded samples are reused instead of sampling again."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from thinktrim.curate.config import CurateConfig
from thinktrim.curate.pipeline import curate
from thinktrim.curate.text import text_hash

from .conftest import read_jsonl, write_jsonl

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "thinktrim.cli", "curate"]
# At temperature 0.3 the embedded model solves these 0 to 4 times out of 4 (2+3: 3, 100/4: 4, 9+8: 1, …);
# 3+3 has a wrong gold answer on purpose, so it is never solved.
ARITH = [("What is 2+3?", "5"), ("What is 10 minus 4?", "6"), ("What is 100 divided by 4?", "25"),
         ("What is 9+8?", "17"), ("What is 3+3?", "7"), ("What is 7 times 6?", "42")]
SAMPLING = ["--max-new-tokens", "24", "--temperature", "0.3", "--system-prompt", "", "--device", "cpu",
            "--grade-processes", "0", "--batch-size", "4"]


def solved_in(graded: Path) -> dict[str, int]:
    """Problem key → correct samples, counted from eval's graded.jsonl."""
    counts: Counter[str] = Counter()
    for g in read_jsonl(graded):
        counts[g["question_id"].removeprefix("problems-")] += g["correct"]
    return dict(counts)


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory) -> tuple[Path, Path]:
    """Stage 2 (4 samples, keep 1-3 solved) killed with SIGKILL after its first samples, then rerun."""
    root = tmp_path_factory.mktemp("difficulty")
    pool = write_jsonl(root / "arith.jsonl", [{"question": q, "answer": a} for q, a in ARITH])
    out = root / "out"
    cmd = [*CLI, str(pool), "-o", str(out), "--stage2-model", "embedded", "--stage2-samples", "4",
           "--stage2-min-solved", "1", "--stage2-max-solved", "3", *SAMPLING]
    samples = out / "difficulty" / "stage2" / "problems" / "samples.jsonl"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not (samples.exists() and samples.read_text(encoding="utf-8").count("\n") >= 4):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = samples.read_text(encoding="utf-8").count("\n")
    assert 4 <= before < 24 and not (out / "audit.jsonl").exists()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return pool, out


def test_kept_problems_are_exactly_those_solved_within_the_band(resumed_run) -> None:
    out = resumed_run[1]
    stage = out / "difficulty" / "stage2"
    keys = [r["key"] for r in read_jsonl(stage / "problems" / "samples.jsonl")]
    assert len(keys) == len(set(keys)) == 24  # nothing lost, nothing duplicated
    solved = solved_in(stage / "problems" / "graded.jsonl")
    expected = {k for k, n in solved.items() if 1 <= n <= 3}
    audit = {a["key"]: a for a in read_jsonl(out / "audit.jsonl")}
    assert {k for k, a in audit.items() if a["status"] == "kept"} == expected
    assert 0 < len(expected) < len(ARITH)  # the band cuts on at least one side
    for key, a in audit.items():
        assert a["difficulty"]["stage2"]["solved"] == solved[key] and a["difficulty"]["stage2"]["samples"] == 4
        if a["status"] == "dropped":
            assert a["reason"] == ("solved too often" if solved[key] > 3 else "solved too rarely")
    assert solved[text_hash("What is 3+3?")] == 0
    kept_questions = {r["question"] for r in read_jsonl(out / "curated.jsonl")}
    assert kept_questions == {a["question"] for a in audit.values() if a["status"] == "kept"}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["steps"]["difficulty-stage2"]["events"]["samples resumed from disk"] >= 4


def test_an_eval_run_is_reused_for_both_stages_without_sampling(resumed_run, tmp_path: Path) -> None:
    pool, out = resumed_run
    run = out / "difficulty" / "stage2"
    extra = write_jsonl(tmp_path / "extra.jsonl", [{"question": "What is 1+1?", "answer": "2"}])
    cfg = CurateConfig(pools=(str(pool), str(extra)), output_dir=str(tmp_path / "reuse"), stage1_run=str(run),
                       stage1_samples=4, stage1_max_solved=2, stage2_run=str(run), stage2_samples=4)
    stats = curate(cfg, progress=False)
    solved = solved_in(run / "problems" / "graded.jsonl")
    audit = {a["key"]: a for a in read_jsonl(tmp_path / "reuse" / "audit.jsonl")}
    assert {k for k, a in audit.items() if a["status"] == "kept"} == {k for k, n in solved.items() if 1 <= n <= 2}
    assert audit[text_hash("What is 1+1?")]["reason"] == "not in the given eval run (and no model to sample)"
    assert all(a["difficulty"]["stage1"]["from"] == str(run) for k, a in audit.items() if k in solved)
    assert not (tmp_path / "reuse" / "difficulty").exists()  # nothing sampled
    assert stats["steps"]["difficulty-stage1"]["events"]["problems reused from the given run"] == len(ARITH)
