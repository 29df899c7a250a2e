"""Selection: the best chains of each problem, then the top N problems by their best chain.

Chains rank by quality (highest first), then by input order; wrong chains are never chosen. Problems rank by
their best chain's quality, ties broken by the problem key (a hash of the question text), so the choice is the
same whatever order the pools are given in. Problems without chains rank after those with chains.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from thinktrim.curate.base import StepContext
from thinktrim.curate.records import Chain, Problem
from thinktrim.errors import UserError


def ranked_chains(problem: Problem) -> list[Chain]:
    usable = [c for c in problem.chains if c.verdict != "wrong"]
    return sorted(usable, key=lambda c: (-(c.quality.total if c.quality else 0.0), c.order))


def problem_rank_key(problem: Problem) -> tuple[int, float, str]:
    """Problems with a chosen chain first, by its quality (highest first), then by key."""
    if not problem.selected:
        return (1, 0.0, problem.key)
    quality = problem.selected[0].quality
    return (0, -(quality.total if quality else 0.0), problem.key)


@dataclass
class Select:
    top: int | None = None
    per_problem: int = 1
    name: str = "select"

    def __post_init__(self) -> None:
        if self.top is not None and self.top < 1:
            raise UserError(f"top: must be >= 1, got {self.top}")
        if self.per_problem < 1:
            raise UserError(f"per_problem: must be >= 1, got {self.per_problem}")

    def __call__(self, problems: Iterable[Problem], ctx: StepContext) -> Iterator[Problem]:
        items = list(problems)
        for p in items:
            chains = ranked_chains(p)
            p.selected = chains[: self.per_problem]
            if len(chains) > self.per_problem:
                ctx.count(self.name, "chains not chosen (below --per-problem)", len(chains) - self.per_problem)
        items.sort(key=problem_rank_key)
        for rank, p in enumerate(items, 1):
            p.rank = rank
            if self.top is not None and rank > self.top:
                ctx.drop(p, self.name, f"below the top {self.top}")
            else:
                yield p
