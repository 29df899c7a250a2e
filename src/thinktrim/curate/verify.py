"""Check each chain's final answer against the problem's gold answer with eval's grader; wrong chains go.

A chain is graded on its answer part (the text after the thinking), or on its whole text when it never closes
its thinking (some layouts have no separator; the grader then takes the last boxed answer). A problem whose
chains are all wrong is dropped; chains of a problem without a gold answer stay, marked `unverified`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from thinktrim.curate.base import StepContext
from thinktrim.curate.records import Problem


@dataclass
class VerifyChains:
    kind: str = "expression"
    processes: int | None = None
    progress: bool = True
    name: str = "verify"

    def __call__(self, problems: Iterable[Problem], ctx: StepContext) -> Iterator[Problem]:
        from thinktrim.evaluate.grade import grade_many

        items = list(problems)
        todo = [(p, c) for p in items if p.gold is not None for c in p.chains]
        grades = grade_many([(c.source.trace.response or c.source.trace.thinking, p.gold, self.kind) for p, c in todo],
                            processes=self.processes, progress=self.progress and ctx.progress)
        for (_, chain), grade in zip(todo, grades):
            chain.verdict = "correct" if grade.correct else "wrong"
            ctx.count(self.name, f"chains {chain.verdict}")
        for p in items:
            if p.gold is None:
                for chain in p.chains:
                    chain.verdict = "unverified"
                ctx.count(self.name, "chains without a gold answer (kept unverified)", len(p.chains))
            if p.chains and all(c.verdict == "wrong" for c in p.chains):
                ctx.drop(p, self.name, "no chain reaches the gold answer")
            else:
                yield p
