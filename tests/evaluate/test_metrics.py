"""Metrics against the papers' reference numbers and brute-force definitions."""

import itertools
import math

import pytest

from thinktrim.evaluate.metrics import (
    SampleResult,
    aes,
    answer_classes,
    describe_metric,
    efficiency,
    maj_at_k,
    metric_definitions,
    pass_at_k,
    summarize,
)


def test_aes_reference_value():
    # O1-Pruner: Marco-o1 on MATH, 1156 → 657 tokens and 73.8 → 77.5 % gives AES 0.58
    assert round(aes(0.775, 657, 0.738, 1156), 2) == 0.58
    assert round(aes(77.5, 657, 73.8, 1156), 2) == 0.58  # scale-free in accuracy


def test_aes_penalises_accuracy_loss_with_gamma():
    # ΔLen = 0.5, ΔAcc = -0.1 → 0.5 - 5 * 0.1 = 0.0; a gain of the same size gives 0.5 + 3 * 0.1
    assert aes(0.72, 500, 0.8, 1000) == pytest.approx(0.0, abs=1e-12)
    assert aes(0.88, 500, 0.8, 1000) == pytest.approx(0.8)
    assert aes(0.8, 1000, 0.8, 1000) == 0.0
    with pytest.raises(ValueError, match="base_tokens"):
        aes(0.5, 10, 0.5, 0)


def test_efficiency_reference_value():
    # the paper prints 4.53e-5 for 56.7 % at 12,497 tokens (0.567 / 12497 = 4.537e-5)
    assert efficiency(0.567, 12497) == pytest.approx(4.53e-5, rel=2e-3)
    with pytest.raises(ValueError, match="mean_tokens=0"):
        efficiency(0.5, 0)


def brute_pass_at_k(outcomes: tuple[bool, ...], k: int) -> float:
    subsets = list(itertools.combinations(outcomes, k))
    return sum(any(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 8))
def test_pass_at_k_matches_enumeration(n):
    for c in range(n + 1):
        outcomes = (True,) * c + (False,) * (n - c)
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_pass_at_k(outcomes, k)), (n, c, k)


def test_pass_at_k_edge_cases():
    assert pass_at_k(16, 4, 1) == pytest.approx(0.25)  # pass@1 is the mean accuracy
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)
    assert 0.0 <= pass_at_k(10_000, 3, 5_000) <= 1.0  # no overflow for large n
    for bad in [(4, 5, 1), (4, -1, 1), (4, 2, 0), (4, 2, 5)]:
        with pytest.raises(ValueError, match="pass_at_k"):
            pass_at_k(*bad)


def test_maj_at_k_votes_and_ties():
    # the correct answers "0.5" and "\\frac12" vote together (3) against "2" (2)
    answers = ["2", "0.5", "2", "\\frac12", "\\frac{1}{2}"]
    correct = [False, True, False, True, True]
    assert maj_at_k(answers, correct, 5) == 1.0
    assert maj_at_k(answers, correct, 3) == 0.0  # "2" twice vs one correct
    # two correct answers written differently are one class, and lose to three identical wrong ones
    assert maj_at_k(["0.5", "2", "\\frac{1}{2}", "2", "2"], [True, False, True, False, False], 5) == 0.0
    # tie 1-1: the class voted first wins
    assert maj_at_k(["7", "5"], [False, True], 2) == 0.0
    assert maj_at_k(["5", "7"], [True, False], 2) == 1.0
    # wrong answers group by normalised text: "1,600" and "1600" are one class
    assert maj_at_k(["1,600", "1600", "12"], [False, False, True], 3) == 0.0
    # samples without an answer do not vote, and no answer never wins
    assert maj_at_k([None, None, "12"], [False, False, True], 3) == 1.0
    assert maj_at_k([None, None, None, "7"], [False, False, False, False], 4) == 0.0
    assert maj_at_k([None, None], [False, False], 2) == 0.0
    with pytest.raises(ValueError, match="k=3"):
        maj_at_k(["1"], [True], 3)


@pytest.mark.parametrize(
    ("answers", "correct", "kind"),
    [
        # gold 3: the wrong "0.5" and "1/2" are the same answer and outvote the right one; the old rule split
        # wrong answers by text, saw a three-way tie and let the correct one (voted first) win
        (["3", "0.5", "1/2"], [True, False, False], "expression"),
        (["3", "3", "\\frac{1}{2}", "0.5", "0.5"], [True, True, False, False, False], "expression"),
        (["C", "(B)", "B"], [True, False, False], "choice"),
    ],
)
def test_maj_at_k_pools_equivalent_wrong_answers(answers, correct, kind):
    assert maj_at_k(answers, correct, len(answers), kind) == 0.0


def test_answer_classes_pool_by_answer_and_keep_first_vote_order():
    classes = answer_classes(["7", "1/2", None, "0.5", "3", "7.0", "\\dfrac{1}{2}"],
                             [False, True, False, True, False, False, True])
    assert classes == [([0, 5], False), ([1, 3, 6], True), ([4], False)]


def sample(q: str, i: int, ok: bool, tokens: int, truncated: bool = False, answer: str | None = "1") -> SampleResult:
    return SampleResult(q, i, ok, tokens, truncated, answer if not truncated else None)


def test_summarize_keys_and_values():
    # q1: 3 of 4 right; q2: 1 of 4 right (the last one truncated)
    samples = [
        sample("q1", 0, True, 100, answer="5"),
        sample("q1", 1, True, 200, answer="5"),
        sample("q1", 2, False, 300, answer="6"),
        sample("q1", 3, True, 400, answer="5"),
        sample("q2", 0, False, 500, answer="9"),
        sample("q2", 1, True, 600, answer="3"),
        sample("q2", 2, False, 700, answer="9"),
        sample("q2", 3, False, 800, truncated=True),
    ]
    m = summarize(samples, ks=(1, 2, 4, 8))
    assert set(m) == {
        "questions", "samples", "acc:avg@n=4",
        "pass@k:k=1&n=4", "maj@k:k=1&n=4", "pass@k:k=2&n=4", "maj@k:k=2&n=4", "pass@k:k=4&n=4", "maj@k:k=4&n=4",
        "tokens:mean", "truncated:rate", "no_answer:rate", "eff:acc/tokens",
        *(f"acc:length_q{q}" for q in range(1, 5)), *(f"tokens:length_q{q}_max" for q in range(1, 5)),
    }  # fmt: skip
    assert m["questions"] == 2 and m["samples"] == 8
    assert m["acc:avg@n=4"] == pytest.approx(0.5)
    assert m["pass@k:k=1&n=4"] == pytest.approx(0.5)
    assert m["pass@k:k=2&n=4"] == pytest.approx((1.0 + (1 - math.comb(3, 2) / math.comb(4, 2))) / 2)
    assert m["pass@k:k=4&n=4"] == 1.0
    assert m["maj@k:k=4&n=4"] == pytest.approx(0.5)  # q1 majority "5" right, q2 majority "9" wrong
    assert m["tokens:mean"] == 450
    assert m["truncated:rate"] == pytest.approx(1 / 8)
    assert m["no_answer:rate"] == pytest.approx(1 / 8)
    assert m["eff:acc/tokens"] == pytest.approx(0.5 / 450)
    # by length: [100, 200] both right; [300, 400] 1/2; [500, 600] 1/2; [700, 800] none
    assert [m[f"acc:length_q{q}"] for q in range(1, 5)] == [1.0, 0.5, 0.5, 0.0]
    assert [m[f"tokens:length_q{q}_max"] for q in range(1, 5)] == [200, 400, 600, 800]


def test_summarize_weighs_questions_equally_and_names_uneven_n():
    samples = [sample("a", i, True, 10) for i in range(4)] + [sample("b", 0, False, 10)]
    m = summarize(samples, ks=(1, 2))
    assert m["acc:avg@n=1..4"] == pytest.approx(0.5)  # not 4/5
    assert "pass@k:k=2&n=1..4" not in m  # k above the smallest n is not reported
    with pytest.raises(ValueError, match="no samples"):
        summarize([])


def test_every_reported_metric_has_a_definition():
    samples = [sample("a", i, i % 2 == 0, 10 * i) for i in range(8)]
    for key in summarize(samples, ks=(1, 4, 8)):
        assert describe_metric(key)
    assert "Chen" in metric_definitions()["pass@k"]
    assert describe_metric("aes").startswith("accuracy-efficiency")
    with pytest.raises(KeyError, match="no definition"):
        describe_metric("bleu")
