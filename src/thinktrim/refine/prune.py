"""Choose which functional units to remove at a given ratio (PIR's Algorithm 1), per chain or dataset-wide.

Pure functions over annotated steps. Progressive steps are always kept; for each functional mode separately,
the `ratio` of that mode's scored units with the lowest PIR are removed. The count is `round(ratio * n)`
(half up), ties broken by position so results are deterministic.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from thinktrim.data.trace import Step, StepKind, join_steps

Scope = Literal["chain", "dataset"]


@dataclass(frozen=True)
class Unit:
    """A scored functional unit: which trace, which unit number, its mode, PIR and starting offset."""

    trace_id: str
    unit: int
    kind: StepKind
    pir: float
    start: int


def scored_units(trace_id: str, steps: list[Step]) -> list[Unit]:
    seen: dict[int, Unit] = {}
    for s in steps:
        if s.unit is not None and s.pir is not None and s.unit not in seen:
            seen[s.unit] = Unit(trace_id, s.unit, s.kind, s.pir, s.start)
    return list(seen.values())


def n_to_remove(ratio: float, n: int) -> int:
    return min(n, math.floor(ratio * n + 0.5))


def _lowest(units: list[Unit], ratio: float) -> list[Unit]:
    ranked = sorted(units, key=lambda u: (u.pir, u.trace_id, u.start))
    return ranked[: n_to_remove(ratio, len(ranked))]


def units_to_remove(
    steps_by_trace: Mapping[str, list[Step]], ratio: float, scope: Scope = "chain"
) -> dict[str, set[int]]:
    """Unit numbers to remove in each trace at `ratio`."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"ratio must be within [0, 1], got {ratio}")
    removed: dict[str, set[int]] = defaultdict(set)
    groups: dict[tuple[str, StepKind], list[Unit]] = defaultdict(list)
    for trace_id, steps in steps_by_trace.items():
        for u in scored_units(trace_id, steps):
            groups[(trace_id if scope == "chain" else "*", u.kind)].append(u)
    for units in groups.values():
        for u in _lowest(units, ratio):
            removed[u.trace_id].add(u.unit)
    return dict(removed)


def kept_steps(steps: list[Step], removed_units: set[int]) -> list[Step]:
    return [s for s in steps if s.unit is None or s.unit not in removed_units]


def refined_thinking(thinking: str, steps: list[Step], removed_units: set[int]) -> str:
    """The refined chain: the kept steps' original text, concatenated, nothing else."""
    return join_steps(thinking, kept_steps(steps, removed_units))
