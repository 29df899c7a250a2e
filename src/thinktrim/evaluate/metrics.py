"""Per-question metrics and their aggregation over a benchmark; every reported name carries its definition.

Harnesses disagree on what "accuracy" means when n > 1 samples are drawn per question, so each key says
which one it is (`acc:avg@n=8`, `pass@k:k=4&n=8`, `maj@k:k=8&n=8`), and `metric_definitions()` spells
each one out for tables and `results.json`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from thinktrim.answers import as_number, normalize_answer
from thinktrim.evaluate.extract import ANSWER_SOURCES
from thinktrim.evaluate.grade import is_equivalent


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): P(at least one of k draws without replacement is correct)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    # 1 - C(n-c, k) / C(n, k), as a product so large n does not overflow floats
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def _text_groups(answers: Sequence[str | None], correct: Sequence[bool]) -> list[tuple[list[int], bool]]:
    """Samples with the same normalised answer, in first-vote order: [(indices, any of them correct)]."""
    if len(answers) != len(correct):
        raise ValueError(f"maj@k: {len(answers)} answers but {len(correct)} verdicts")
    by_text: dict[str, list[int]] = {}
    for i, answer in enumerate(answers):
        if answer is not None:
            by_text.setdefault(normalize_answer(answer), []).append(i)
    return [(members, any(correct[i] for i in members)) for members in by_text.values()]


@lru_cache(maxsize=65536)
def _same_answer(a: str, b: str, kind: str, timeout_s: float) -> bool:
    """math-verify equivalence of two extracted answers; cached, since the per-benchmark and the pooled
    summaries vote over the same questions."""

    if as_number(a) is not None and as_number(b) is not None:
        return False  # equal plain numbers already share a normalised text
    return is_equivalent(a, b, kind, timeout_s)  # type: ignore[arg-type]


def answer_classes(answers: Sequence[str | None], correct: Sequence[bool], kind: str = "expression",
                   timeout_s: float = 5.0) -> list[tuple[list[int], bool]]:
    """Group samples whose extracted answers are equivalent: [(sample indices, class is correct)], in the
    order of each class's first vote. Samples without an answer belong to no class.

    Equal normalised text groups first (cheap); then classes merge when math-verify finds their first answers
    equivalent (`0.5` and `\\frac12`, right or wrong alike). Two correct classes are both equal to the gold, so
    they merge without a check; a correct and a wrong class never merge. A class is correct when any of its
    samples was graded correct.
    """
    classes: list[tuple[list[int], bool]] = []
    for members, ok in _text_groups(answers, correct):
        for c_members, c_ok in classes:
            first, new = str(answers[c_members[0]]), str(answers[members[0]])
            if ok == c_ok and (ok or _same_answer(first, new, kind, timeout_s)):
                c_members.extend(members)
                break
        else:
            classes.append((members, ok))
    for c_members, _ in classes:
        c_members.sort()
    return sorted(classes, key=lambda c: c[0][0])


def maj_at_k(answers: Sequence[str | None], correct: Sequence[bool], k: int, kind: str = "expression") -> float:
    """1.0 if the largest class of equivalent answers among the first k samples is correct, else 0.0.

    Votes go to answers, not verdicts: equivalent answers pool whether right or wrong (`answer_classes`).
    Samples without an answer do not vote and no answer never wins (all unanswered: 0.0). A tie between
    classes goes to the class whose first vote came earliest (lowest sample index): deterministic, and blind
    to which class is correct.
    """
    if len(answers) != len(correct):
        raise ValueError(f"maj_at_k: {len(answers)} answers but {len(correct)} verdicts")
    if not 1 <= k <= len(answers):
        raise ValueError(f"maj_at_k needs 1 <= k <= {len(answers)} samples, got k={k}")
    groups = _text_groups(answers[:k], correct[:k])
    right = sorted(i for members, ok in groups if ok for i in members)  # all correct answers: one class
    if not right:
        return 0.0
    wrong = [members for members, ok in groups if not ok]
    # Merging can only grow wrong classes, so math-verify is needed only when these bounds leave it open.
    if len(right) > sum(len(m) for m in wrong):
        return 1.0
    if any((len(m), -m[0]) >= (len(right), -right[0]) for m in wrong):
        return 0.0
    classes = answer_classes(answers[:k], correct[:k], kind)
    best = max(len(members) for members, _ in classes)
    winner = next(ok for members, ok in classes if len(members) == best)  # classes are in first-vote order
    return 1.0 if winner else 0.0


def answer_sources(samples: Sequence[SampleResult]) -> dict[str, int]:
    """How many answers came from each source (`AnswerSource`), and how many samples had none."""

    counts = dict.fromkeys((*ANSWER_SOURCES, "none"), 0)
    for s in samples:
        counts[s.source or "none"] = counts.get(s.source or "none", 0) + 1
    return counts


def efficiency(acc: float, mean_tokens: float) -> float:
    """EFF = ACC / TOK: accuracy (a fraction) per mean output token, e.g. 0.567 / 12,497 = 4.53e-5."""
    if mean_tokens <= 0:
        raise ValueError(f"mean_tokens={mean_tokens} must be > 0")
    return acc / mean_tokens


def aes(
    acc: float,
    tokens: float,
    base_acc: float,
    base_tokens: float,
    alpha: float = 1.0,
    beta: float = 3.0,
    gamma: float = 5.0,
) -> float:
    """Accuracy-efficiency score against a base model (O1-Pruner, docs/methods.md §3).

    Relative length saving plus relative accuracy change, where a loss weighs γ and a gain β.
    Accuracies may be fractions or percentages, as long as both use the same scale.
    """
    if base_tokens <= 0 or base_acc <= 0:
        raise ValueError(f"aes needs base_tokens > 0 and base_acc > 0, got {base_tokens}, {base_acc}")
    d_len = (base_tokens - tokens) / base_tokens
    d_acc = (acc - base_acc) / base_acc
    return alpha * d_len + (beta * abs(d_acc) if d_acc >= 0 else -gamma * abs(d_acc))


@dataclass
class SampleResult:
    """One graded sample: the unit every metric is computed from."""

    question_id: str
    sample: int
    correct: bool
    tokens: int
    truncated: bool
    extracted: str | None
    kind: str = "expression"
    source: str | None = None  # where `extracted` came from (an AnswerSource), None when nothing was found


def _n_label(counts: Sequence[int]) -> str:
    lo, hi = min(counts), max(counts)
    return str(lo) if lo == hi else f"{lo}..{hi}"


def summarize(samples: Sequence[SampleResult], ks: Sequence[int] = (1,)) -> dict[str, float]:
    """Corpus metrics over graded samples (one benchmark, or several pooled).

    Accuracy is averaged per question first, so questions weigh the same whatever their sample count.
    pass@k and maj@k are reported for each k not above the smallest per-question sample count.
    """
    if not samples:
        raise ValueError("summarize: no samples")
    by_q: dict[str, list[SampleResult]] = defaultdict(list)
    for s in samples:
        by_q[s.question_id].append(s)
    groups = [sorted(g, key=lambda s: s.sample) for g in by_q.values()]
    counts = [len(g) for g in groups]
    n = _n_label(counts)
    acc = sum(sum(s.correct for s in g) / len(g) for g in groups) / len(groups)
    tokens = sum(s.tokens for s in samples) / len(samples)
    out: dict[str, float] = {
        "questions": float(len(groups)),
        "samples": float(len(samples)),
        f"acc:avg@n={n}": acc,
    }
    for k in sorted(set(ks)):
        if k < 1 or k > min(counts):
            continue
        pk = [pass_at_k(len(g), sum(s.correct for s in g), k) for g in groups]
        mk = [maj_at_k([s.extracted for s in g], [s.correct for s in g], k, g[0].kind) for g in groups]
        out[f"pass@k:k={k}&n={n}"] = sum(pk) / len(pk)
        out[f"maj@k:k={k}&n={n}"] = sum(mk) / len(mk)
    out["tokens:mean"] = tokens
    out["truncated:rate"] = sum(s.truncated for s in samples) / len(samples)
    out["no_answer:rate"] = sum(s.extracted is None for s in samples) / len(samples)
    out["eff:acc/tokens"] = efficiency(acc, tokens) if tokens > 0 else 0.0
    out.update(_length_quartiles(samples))
    return out


def _length_quartiles(samples: Sequence[SampleResult]) -> dict[str, float]:
    """Accuracy of samples in each output-length quartile, by rank (q1 = shortest quarter).

    Long outputs are often the failures (overthinking, loops), and this shows it.
    Ranks rather than token cut-offs, so ties cannot empty a quartile; with < 4 samples some are absent.
    """
    ranked = sorted(samples, key=lambda s: s.tokens)
    out: dict[str, float] = {}
    for q in range(4):
        part = ranked[q * len(ranked) // 4 : (q + 1) * len(ranked) // 4]
        if part:
            out[f"acc:length_q{q + 1}"] = sum(s.correct for s in part) / len(part)
            out[f"tokens:length_q{q + 1}_max"] = float(part[-1].tokens)
    return out


_DEFINITIONS = {
    "questions": "number of distinct questions graded",
    "samples": "number of graded samples (questions × samples per question)",
    "acc:avg@n": "mean accuracy over the n samples of each question, averaged over questions "
    "(avg@n; what the papers call pass@1 when n > 1)",
    "pass@k": "unbiased pass@k (Chen et al. 2021) from n samples per question: probability that at least "
    "one of k samples drawn without replacement is correct, averaged over questions",
    "maj@k": "majority vote over the first k samples: answers that are equivalent (math-verify), right or "
    "wrong, pool their votes; correct if the largest class is correct; samples without an answer do not vote "
    "(none at all counts wrong); a tie goes to the class whose first vote came earliest",
    "tokens:mean": "mean output tokens per sample (thinking and answer, counted with the model's tokenizer)",
    "truncated:rate": "fraction of samples that hit the max-new-tokens limit",
    "no_answer:rate": "fraction of samples in which no final answer was found (counted wrong)",
    "eff:acc/tokens": "EFF = acc:avg@n / tokens:mean (accuracy per output token)",
    "acc:length_q": "accuracy of the samples in one output-length quartile by rank (q1 = shortest quarter)",
    "tokens:length_q": "largest output length (tokens) within that length quartile",
    "aes": "accuracy-efficiency score vs a base run (O1-Pruner): ΔLen = (TOK_base − TOK)/TOK_base, "
    "ΔAcc = (ACC − ACC_base)/ACC_base; AES = ΔLen + 3·ΔAcc if ΔAcc ≥ 0 else ΔLen − 5·|ΔAcc| (the paper's "
    "formula; its Table 2 weighs a loss like a gain); in `overall`, of the pooled figures (all questions together)",
    "aes_benchmark_mean": "mean of the per-benchmark AES against the base run, what O1-Pruner's AVERAGE column "
    "reports (not the AES of the pooled figures, `aes` in `overall`)",
}


def metric_definitions() -> dict[str, str]:
    """Definition of each metric family, keyed by the name prefix used in `summarize` keys."""
    return dict(_DEFINITIONS)


def describe_metric(key: str) -> str:
    """The definition for a concrete key such as `pass@k:k=4&n=8` or `acc:length_q2`."""
    for prefix in sorted(_DEFINITIONS, key=len, reverse=True):
        if key == prefix or key.startswith(prefix):
            return _DEFINITIONS[prefix]
    raise KeyError(f"no definition for metric {key!r}; known: {', '.join(_DEFINITIONS)}")
