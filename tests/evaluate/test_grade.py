"""Grading: the hard-pair table, timeouts, and parallel grading from any thread, with a worker killed mid-run."""

import json
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from thinktrim.evaluate.grade import Grade, grade_many, grade_response, is_equivalent
from thinktrim.evaluate.records import grade_records, grading_counts

PAIRS = Path(__file__).with_name("grading_pairs.jsonl")
SLOW = "\\boxed{10^{10^{10}}}"  # sympy evaluates this for minutes: only a timeout ends it


def load_pairs() -> list[dict]:
    return [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_grading_pairs_agree_with_expected_verdicts():
    pairs = load_pairs()
    assert len(pairs) >= 200
    assert sum(not p["expected"] for p in pairs) >= 100, "the table must test rejections, not only matches"
    grades = grade_many([(p["response"], p["gold"], p["kind"]) for p in pairs], processes=2, progress=False)
    wrong = [
        f"  gold={p['gold']!r} extracted={g.extracted!r} expected={p['expected']} got={g.correct} "
        f"({g.reason}; {p['note']})"
        for p, g in zip(pairs, grades)
        if g.correct != p["expected"]
    ]
    agreement = 1 - len(wrong) / len(pairs)
    assert agreement >= 0.99, f"agreement {agreement:.3f} < 0.99; disagreements:\n" + "\n".join(wrong)


def test_grading_pair_golds_are_real_benchmark_answers():
    from thinktrim.data.benchmarks import load_benchmark

    answers = {
        "math500": {i.answer for i in load_benchmark("math500")},
        "olymmath": {i.answer for b in ("olymmath-easy", "olymmath-hard") for i in load_benchmark(b)},
        "choice": set("ABCD"),
    }
    for name in ("gsm8k", "aime24", "aime25", "amc23"):
        answers[name] = {i.answer for i in load_benchmark(name)}
    for p in load_pairs():
        assert p["gold"] in answers[p["source"]], p
        assert set(p) == {"gold", "response", "kind", "expected", "note", "source"}


THOUGHT_ANCHORS = PAIRS.parents[3] / "shared" / "data" / "traces" / "thought_anchors"


@pytest.mark.skipif(not THOUGHT_ANCHORS.is_dir(), reason="../shared/data/traces/thought_anchors not present")
def test_real_r1_distill_traces_match_their_correctness_labels():
    """40 MATH solutions by DeepSeek-R1-Distill models (thinking, a lone </think>, then the answer), half of
    them labelled wrong by their authors; our verdicts must match every label."""
    items, labels = [], []
    for path in sorted(THOUGHT_ANCHORS.glob("*/*/problem_*/base_solution.json")):
        solution = json.loads(path.read_text(encoding="utf-8"))
        problem = json.loads(path.with_name("problem.json").read_text(encoding="utf-8"))
        items.append((solution["solution"], problem["gt_answer"], "expression"))
        labels.append(solution["is_correct"])
    assert len(items) == 40 and sum(labels) == 20
    grades = grade_many(items, processes=2, progress=False)
    assert [g.correct for g in grades] == labels


@pytest.mark.parametrize(
    ("gold", "pred", "kind", "expected"),
    [
        ("0.5", "\\frac12", "expression", True),
        ("\\frac{1}{3}", "0.33", "expression", False),
        ("1600", "1,600", "number", True),
        ("x=5", "5", "expression", True),
        ("(3,4]", "(3,4)", "expression", False),
        ("C", "(C)", "choice", True),
        ("C", "\\text{C}", "choice", True),
        ("C", "B", "choice", False),
        ("C", "Carbon", "choice", False),
    ],
)
def test_is_equivalent(gold, pred, kind, expected):
    assert is_equivalent(gold, pred, kind) is expected


def test_timeouts_are_ours_and_count_as_wrong():
    start = time.perf_counter()
    assert is_equivalent("5", "10^{10^{10}}", timeout_s=0.5) is False
    assert grade_response(SLOW, "5", "expression", timeout_s=0.5) == Grade(False, "10^{10^{10}}", "timeout", "boxed")
    assert time.perf_counter() - start < 10
    # our alarm is removed afterwards: nothing fires later
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_grade_response_reasons():
    assert grade_response("<think>it is 5</think> I give up.", "5", "number") == Grade(False, None, "no_answer")
    assert grade_response("\\boxed{5}", "5", "number") == Grade(True, "5", "ok", "boxed")
    assert grade_response("Answer: Carbon", "C", "choice").reason == "no_answer"
    assert grade_response("So 2 + 3 = 5", "5", "number", truncated=True) == Grade(False, None, "truncated")


ITEMS = [
    ("The answer is \\boxed{\\frac12}", "0.5", "expression"),
    (SLOW, "5", "expression"),
    ("Answer: C", "C", "choice"),
    ("<think>x</think> In total 1,600 dollars", "1600", "number"),
    ("so \\boxed{(3,4)}", "(3,4]", "expression"),
]
EXPECTED = [Grade(True, "\\frac12", "ok", "boxed"), Grade(False, "10^{10^{10}}", "timeout", "boxed"),
            Grade(True, "C", "ok", "phrase"), Grade(True, "1,600", "ok", "last_number"),
            Grade(False, "(3,4)", "ok", "boxed")]  # fmt: skip


def test_grade_many_in_process_and_in_workers_agree_and_keep_order():
    assert grade_many(ITEMS, processes=0, timeout_s=0.5, progress=False) == EXPECTED
    assert grade_many(ITEMS * 3, processes=2, timeout_s=0.5, progress=False) == EXPECTED * 3
    assert grade_many([], processes=2, progress=False) == []


def test_grade_many_from_a_non_main_thread():
    """math-verify's own signal timeouts would raise here; ours run in the workers' main threads."""
    out: dict[str, object] = {}

    def work() -> None:
        try:
            out["grades"] = grade_many(ITEMS, processes=2, timeout_s=1.0, progress=False)
        except BaseException as e:  # reported to the main thread below
            out["error"] = e

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=120)
    assert "error" not in out, out.get("error")
    assert out["grades"] == EXPECTED


def grading_under_deadline(pid: int) -> bool:
    """True while the worker has our SIGALRM handler installed, i.e. is inside an item's deadline (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signal.SIGALRM - 1)))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to see when a worker is grading")
def test_grade_many_survives_a_killed_worker():
    """A worker that dies mid-item (OOM killer, segfault) costs that item only; the rest is regraded."""
    items = [(SLOW, "5", "expression")] * 16 + ITEMS * 4  # 2 s of timeouts per worker: time to kill mid-item
    expected = [Grade(False, "10^{10^{10}}", "timeout", "boxed")] * 16 + EXPECTED * 4
    out: dict[str, list[Grade]] = {}
    thread = threading.Thread(target=lambda: out.setdefault("grades", grade_many(items, 2, 0.25, progress=False)))
    thread.start()
    deadline = time.monotonic() + 60
    victim = None
    while victim is None and time.monotonic() < deadline:
        for p in multiprocessing.active_children():
            try:
                if p.name == "thinktrim-grader" and grading_under_deadline(p.pid):
                    victim = p
            except (OSError, StopIteration):  # not started or already gone
                pass
        time.sleep(0.005)
    assert victim is not None, "no grading worker ever started an item"
    os.kill(victim.pid, signal.SIGKILL)
    thread.join(timeout=120)
    grades = out["grades"]
    crashed = [i for i, g in enumerate(grades) if g.reason == "worker_crash"]
    assert len(crashed) == 1, crashed
    kept = [i for i in range(len(items)) if i not in crashed]
    assert [grades[i] for i in kept] == [expected[i] for i in kept]
    assert not [p for p in multiprocessing.active_children() if p.name == "thinktrim-grader"]


def test_grade_many_validates_arguments():
    with pytest.raises(ValueError, match="kind='letter'"):
        grade_many([("x", "1", "letter")], progress=False)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="processes=-1"):
        grade_many(ITEMS, processes=-1, progress=False)
    with pytest.raises(ValueError, match="timeout_s=0"):
        grade_many(ITEMS, timeout_s=0, progress=False)


def test_grading_counts_by_reason_and_error() -> None:
    huge = "1" * 5000  # longer than Python converts to an int by default: the comparison raises
    graded = grade_records([{"response": "\\boxed{2}", "answer": "2"}, {"response": "\\boxed{2}", "answer": huge},
                            {"response": "\\boxed{3}", "answer": huge}, {"response": "none", "answer": "2"}],
                           processes=0, progress=False)
    counts = grading_counts(graded)
    assert counts["graded_by_reason"] == {"error": 2, "no_answer": 1, "ok": 1}
    ((error, n),) = counts["grading_errors"].items()
    assert n == 2 and error.startswith("ValueError: Exceeds the limit (4300 digits)") and len(error) <= 200
