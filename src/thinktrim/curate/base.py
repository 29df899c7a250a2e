"""The shape every curation step shares: a generator over problems that drops with a reason.

A step is any callable `step(problems, ctx) -> Iterator[Problem]` with a `name`: it yields the problems it keeps
and hands the others to `ctx.drop(problem, step, reason)`, which marks them in their audit line and counts the
reason. Steps that need the whole pool (dedup, difficulty, select) read it all before yielding; the others
stream. `StepContext.timed` wraps a step's output so each step's own time is known even though they interleave.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from thinktrim.curate.records import Problem


@dataclass
class StepStats:
    """Counts of one step: problems in and out, drops by reason, other events, and its own seconds."""

    name: str
    seen: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"in": self.seen, "out": self.kept, "dropped": dict(self.dropped), "events": dict(self.events),
                "seconds": round(self.seconds, 3)}


class StepContext:
    """Shared by the steps of one run: where to write, the counters, and the problems dropped so far."""

    def __init__(self, output_dir: str | Path | None = None, progress: bool = True) -> None:
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.progress = progress
        self.stats: dict[str, StepStats] = {}
        self.dropped: list[Problem] = []
        self._inclusive: list[float] = []  # inclusive seconds of each timed step, in pipeline order

    def step(self, name: str) -> StepStats:
        return self.stats.setdefault(name, StepStats(name))

    def drop(self, problem: Problem, step: str, reason: str) -> None:
        problem.status, problem.step, problem.reason = "dropped", step, reason
        self.step(step).dropped[reason] += 1
        self.dropped.append(problem)

    def count(self, step: str, event: str, n: int = 1) -> None:
        """Count something that is not a drop (a fallback, a conflict, a reused sample)."""
        self.step(step).events[event] += n

    def timed(self, name: str, problems: Iterable[Problem]) -> Iterator[Problem]:
        """Yield from a step's output, recording problems out and the step's own time.

        A step's `next()` includes the time of every step upstream; its own time is its inclusive time minus
        the upstream step's. Steps are registered here, in pipeline order, before any of them runs.
        """
        stats = self.step(name)
        index = len(self._inclusive)
        self._inclusive.append(0.0)
        return self._timed(stats, index, iter(problems))

    def _timed(self, stats: StepStats, index: int, it: Iterator[Problem]) -> Iterator[Problem]:
        while True:
            start = time.perf_counter()
            try:
                problem = next(it)
            except StopIteration:
                self._account(stats, index, time.perf_counter() - start)
                return
            self._account(stats, index, time.perf_counter() - start)
            stats.kept += 1
            yield problem

    def _account(self, stats: StepStats, index: int, elapsed: float) -> None:
        self._inclusive[index] += elapsed
        upstream = self._inclusive[index - 1] if index > 0 else 0.0
        stats.seconds = self._inclusive[index] - upstream


def counted(name: str, problems: Iterable[Problem], ctx: StepContext) -> Iterator[Problem]:
    """Count the problems a step receives (its `in`)."""
    stats = ctx.step(name)
    for p in problems:
        stats.seen += 1
        yield p


class Step(Protocol):
    name: str

    def __call__(self, problems: Iterable[Problem], ctx: StepContext) -> Iterator[Problem]: ...


def run_steps(source: Iterable[Problem], steps: list[Step], ctx: StepContext,
              source_name: str = "read") -> Iterator[Problem]:
    """Chain the steps over the source; every step's in/out/time is recorded in `ctx`."""
    stream: Iterable[Problem] = ctx.timed(source_name, source)
    for step in steps:
        stream = ctx.timed(step.name, step(counted(step.name, stream, ctx), ctx))
    return iter(stream)

