"""O1-Pruner's length-harmonizing reward (docs/methods.md §3) as pure functions, and the same reward for TRL's GRPO.

For a problem x the reference model's K samples give L̄_ref(x) (mean length in tokens) and Ā_ref(x) (share
correct); a sample y of length L(y) and correctness A(x, y) earns

    R(x, y) = L̄_ref(x) / L(y) − 1 + λ·(A(x, y) − Ā_ref(x))

shorter than the model's average is rewarded, and so is being right where the model usually is not. The
released code clips R to [−2, 4], keeps 2 samples per problem and z-scores R over the whole dataset (population
standard deviation) to get the advantage. A problem whose samples are all right (or all wrong) still teaches
length: its accuracy term is 0 and only L̄/L − 1 is left.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from thinktrim.errors import UserError

LAMBDA = 2.0  # accuracy weight λ; the paper's ablation (0, 1, 2, 5) found 2 best
CLIP_LOW, CLIP_HIGH = -2.0, 4.0  # the released code's bounds on R
KEEP_PER_PROBLEM = 2  # samples per problem that enter the training set


@dataclass(frozen=True)
class ReferenceStats:
    """What the reference model does on one problem: how many samples, their mean length and accuracy."""

    samples: int
    mean_length: float  # L̄_ref, tokens
    accuracy: float  # Ā_ref, in [0, 1]

    @property
    def all_correct(self) -> bool:
        return self.accuracy == 1.0

    @property
    def all_wrong(self) -> bool:
        return self.accuracy == 0.0


def reference_stats(lengths: Sequence[int], correct: Sequence[bool]) -> ReferenceStats:
    if not lengths or len(lengths) != len(correct):
        raise ValueError(f"reference_stats: need as many lengths as verdicts (>= 1), got {len(lengths)} and "
                         f"{len(correct)}")
    return ReferenceStats(len(lengths), statistics.fmean(lengths), statistics.fmean(map(float, correct)))


def length_harmonizing_reward(length: int, correct: bool, ref_mean_length: float, ref_accuracy: float,
                              lam: float = LAMBDA) -> float:
    """R(x, y), unclipped. An empty response (length 0) counts as one token, so R stays finite (then clipped)."""
    return ref_mean_length / max(length, 1) - 1.0 + lam * (float(correct) - ref_accuracy)


def clip_reward(reward: float, low: float = CLIP_LOW, high: float = CLIP_HIGH) -> float:
    return min(max(reward, low), high)


def kept_samples(problem_id: str, samples: int, keep: int, seed: int = 0) -> list[int]:
    """Which of a problem's sample indices enter the training set: `keep` drawn at random (all when fewer), the
    same on every run and machine (a string seed is hashed with SHA-512, not Python's salted hash)."""
    rng = random.Random(f"{seed}:{problem_id}")
    return sorted(rng.sample(range(samples), min(keep, samples)))


def z_scores(values: Sequence[float]) -> list[float]:
    """(v − mean) / std over all values, population std as numpy's default; all zeros when the values are equal."""
    if not values:
        return []
    mean = statistics.fmean(values)
    std = statistics.pstdev(values, mean)
    return [(v - mean) / std if std > 0 else 0.0 for v in values]


def distribution(values: Sequence[float]) -> dict[str, float]:
    """Mean, std and quartiles, for the build summary."""
    if not values:
        return {}
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [values[0]] * 3
    return {"mean": statistics.fmean(values), "std": statistics.pstdev(values), "min": min(values), "q1": q1,
            "median": median, "q3": q3, "max": max(values)}


def completion_text(completion: Any) -> str:
    """A completion as TRL passes it: a string, or a conversation whose last message holds the text."""
    if isinstance(completion, str):
        return completion
    return str(completion[-1]["content"])


class LengthHarmonizingReward:
    """R(x, y) as a TRL reward function, for on-policy training with `GRPOTrainer`.

    TRL calls it with `prompts`, `completions`, `completion_ids` and every dataset column as keyword lists; it
    reads the gold `answer` and its `kind` (graded with thinktrim's grader, as `eval` grades) and the problem's
    `ref_mean_length` and `ref_accuracy` (the columns of `build`'s problems.jsonl). L(y) is the number of
    completion tokens. Rewards are clipped but not z-scored: GRPO normalises them within each group itself.
    A class instance, not a closure, so that it pickles (TRL and accelerate may ship it to other processes).
    """

    __name__ = "length_harmonizing_reward"  # TRL logs each reward under its function's name

    def __init__(self, lam: float = LAMBDA, low: float = CLIP_LOW, high: float = CLIP_HIGH,
                 grade_timeout_s: float = 5.0) -> None:
        if low >= high:
            raise UserError(f"clip: low {low} must be below high {high}")
        self.lam, self.low, self.high, self.grade_timeout_s = lam, low, high, grade_timeout_s

    def __call__(self, prompts: list[Any], completions: list[Any], completion_ids: list[list[int]],
                 answer: list[str], ref_mean_length: list[float], ref_accuracy: list[float],
                 kind: list[str] | None = None, **kwargs: Any) -> list[float]:
        from thinktrim.evaluate.grade import grade_many

        kinds = kind or ["expression"] * len(completions)
        grades = grade_many([(completion_text(c), str(a), k) for c, a, k in zip(completions, answer, kinds)],
                            processes=0, timeout_s=self.grade_timeout_s, progress=False)
        return [clip_reward(length_harmonizing_reward(len(ids), g.correct, length, accuracy, self.lam), self.low,
                            self.high)
                for ids, g, length, accuracy in zip(completion_ids, grades, ref_mean_length, ref_accuracy)]


def get_length_harmonizing_reward(lam: float = LAMBDA, low: float = CLIP_LOW,
                                  high: float = CLIP_HIGH) -> LengthHarmonizingReward:
    """O1-Pruner's reward for `GRPOTrainer(reward_funcs=get_length_harmonizing_reward(), …)`."""
    return LengthHarmonizingReward(lam, low, high)
