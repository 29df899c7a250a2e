"""The over-long policy and the length figures a run reports, as pure functions over tokenized examples.

An example is (input_ids, labels) with labels -100 where no loss is taken (the prompt). Examples longer than
`max_length` are never cut silently: `skip` drops them, `truncate` keeps their first `max_length` tokens (LIMO's
recipe does this through LLaMA-Factory's `cutoff_len`, which loses the answer and the end-of-turn token), and
`error` stops at the first one, naming it. Every outcome is counted.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from thinktrim.errors import UserError

OVERLONG_POLICIES = ("skip", "truncate", "error")
IGNORE = -100


@dataclass
class LengthReport:
    """What the policy did, and the sizes of what is left."""

    policy: str
    max_length: int
    examples_in: int = 0
    skipped: int = 0
    truncated: int = 0
    no_target_left: int = 0  # truncated so far that no completion token is left: dropped
    tokens: list[int] = field(default_factory=list)  # per kept example
    target_tokens: list[int] = field(default_factory=list)  # tokens trained on, per kept example

    def summary(self) -> dict[str, Any]:
        t, c = self.tokens, self.target_tokens
        return {
            "policy": self.policy, "max_length": self.max_length, "examples_in": self.examples_in,
            "examples": len(t), "skipped_overlong": self.skipped, "truncated": self.truncated,
            "dropped_no_completion_left": self.no_target_left,
            "tokens_total": sum(t), "tokens_per_example": {
                "mean": statistics.fmean(t) if t else 0.0, "median": statistics.median(t) if t else 0,
                "max": max(t, default=0)},
            "completion_tokens_per_example": statistics.fmean(c) if c else 0.0,
            "completion_share": sum(c) / sum(t) if t else 0.0,
        }


class OverlongError(UserError):
    """An example longer than max_length under `--overlong error`."""


def apply_overlong(
    examples: Sequence[tuple[list[int], list[int]]],
    locations: Sequence[str],
    max_length: int,
    policy: str,
) -> tuple[list[int], list[tuple[list[int], list[int]]], LengthReport]:
    """(indices kept, the kept examples — truncated where the policy says, their report)."""
    if policy not in OVERLONG_POLICIES:
        raise UserError(f"overlong: {policy!r} is not one of {', '.join(OVERLONG_POLICIES)}")
    report = LengthReport(policy, max_length, examples_in=len(examples))
    kept: list[int] = []
    out: list[tuple[list[int], list[int]]] = []
    for i, (ids, labels) in enumerate(examples):
        if len(ids) > max_length:
            if policy == "error":
                raise OverlongError(
                    f"{locations[i]}: {len(ids):,} tokens, longer than --max-length {max_length:,} (use --overlong "
                    "skip or truncate, or a larger --max-length)")
            if policy == "skip":
                report.skipped += 1
                continue
            ids, labels = ids[:max_length], labels[:max_length]
            if all(label == IGNORE for label in labels):
                report.no_target_left += 1
                continue
            report.truncated += 1
        kept.append(i)
        out.append((ids, labels))
        report.tokens.append(len(ids))
        report.target_tokens.append(sum(label != IGNORE for label in labels))
    return kept, out, report


def padding_share(real_tokens: int, padded_tokens: int) -> float:
    """Share of the tensor positions the model computed that were padding."""
    return 1 - real_tokens / padded_tokens if padded_tokens else 0.0
