"""Choose which functional units to remove at a given ratio (PIR's Algorithm 1), per chain or dataset-wide.

Pure functions over annotated steps. Progressive steps are kept, except the attempt an error correction abandons,
which is removed with it (classify.assign_units); for each functional kind separately,
the `ratio` of that kind's scored units with the lowest PIR are removed. The count is `round(ratio * n)`
(half up, exactly: the ratio is the fraction its decimal string states), ties broken by position so results
are deterministic.

The ranking runs over a `UnitTable`: the scored units of many chains in parallel arrays (about 25 bytes a
unit), so a dataset of any size is ranked without holding its steps.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from thinktrim.data.trace import Step, StepKind, join_steps
from thinktrim.errors import UserError

Scope = Literal["chain", "dataset"]
_KINDS = tuple(StepKind)


@dataclass(frozen=True)
class Unit:
    """A scored functional unit: which trace, which unit number, its kind, PIR and starting offset."""

    trace_id: str
    unit: int
    kind: StepKind
    pir: float
    start: int


def scored_units(trace_id: str, steps: list[Step]) -> list[Unit]:
    """One Unit per scored unit, of its functional steps' kind (an error correction's unit opens with the
    progressive attempt it abandons, classify.assign_units) and starting where its first step starts."""
    seen: dict[int, Unit] = {}
    for s in steps:
        if s.unit is None or s.pir is None:
            continue
        u = seen.get(s.unit)
        if u is None:
            seen[s.unit] = Unit(trace_id, s.unit, s.kind, s.pir, s.start)
        elif not u.kind.is_functional and s.kind.is_functional:
            seen[s.unit] = Unit(trace_id, s.unit, s.kind, u.pir, u.start)
    return list(seen.values())


def n_to_remove(ratio: float, n: int) -> int:
    """round(ratio · n), half up, in exact arithmetic on the ratio as written: in floating point 0.29 · 50 is
    14.499999999999998, which would round down although 0.29 · 50 = 14.5."""
    return min(n, math.floor(Fraction(str(ratio)) * n + Fraction(1, 2)))


class UnitTable:
    """The scored units of many chains, one row each: chain number, unit number, kind, PIR, starting offset.

    Chains are numbered in the order they are added; `removed_at` ranks once per group and marks, for each
    ratio, the rows to remove.
    """

    def __init__(self) -> None:
        self.trace_ids: list[str] = []
        self.chain, self.unit, self.start = array("l"), array("l"), array("q")
        self.kind, self.pir = array("b"), array("d")
        self._first = array("q", [0])  # chain c's rows are first[c]:first[c + 1]

    def add(self, trace_id: str, steps: list[Step]) -> int:
        """Add a chain's scored units; returns its chain number."""
        c = len(self.trace_ids)
        self.trace_ids.append(trace_id)
        for u in scored_units(trace_id, steps):
            self.chain.append(c)
            self.unit.append(u.unit)
            self.kind.append(_KINDS.index(u.kind))
            self.pir.append(u.pir)
            self.start.append(u.start)
        self._first.append(len(self.unit))
        return c

    def rows_of(self, chain: int) -> range:
        return range(self._first[chain], self._first[chain + 1])

    def _groups(self, scope: Scope) -> Iterable[list[int]]:
        """The rows ranked together: one chain's units of one kind, or one kind's units across chains."""
        chains = [range(len(self.unit))] if scope == "dataset" else map(self.rows_of, range(len(self.trace_ids)))
        for rows in chains:
            by_kind: dict[int, list[int]] = defaultdict(list)
            for j in rows:
                by_kind[self.kind[j]].append(j)
            yield from by_kind.values()

    def removed_at(self, ratios: Sequence[float], scope: Scope = "chain") -> dict[float, bytearray]:
        """For each ratio, a mask over the rows: 1 where the unit is removed (the lowest PIR first, ties by
        trace id and position)."""
        for ratio in ratios:
            if not 0.0 <= ratio <= 1.0:
                raise UserError(f"ratio must be within [0, 1], got {ratio}")
        masks = {r: bytearray(len(self.unit)) for r in ratios}
        for rows in self._groups(scope):
            rows.sort(key=lambda j: (self.pir[j], self.trace_ids[self.chain[j]], self.start[j]))
            for r, mask in masks.items():
                for j in rows[: n_to_remove(r, len(rows))]:
                    mask[j] = 1
        return masks

    def units_removed(self, chain: int, mask: bytearray) -> set[int]:
        """The unit numbers of `chain` that `mask` removes."""
        return {self.unit[j] for j in self.rows_of(chain) if mask[j]}


def units_to_remove(
    steps_by_trace: Mapping[str, list[Step]], ratio: float, scope: Scope = "chain"
) -> dict[str, set[int]]:
    """Unit numbers to remove in each trace at `ratio` (traces with none removed are left out)."""
    table = UnitTable()
    for trace_id, steps in steps_by_trace.items():
        table.add(trace_id, steps)
    mask = table.removed_at([ratio], scope)[ratio]
    removed = {t: table.units_removed(c, mask) for c, t in enumerate(table.trace_ids)}
    return {t: units for t, units in removed.items() if units}


def kept_steps(steps: list[Step], removed_units: set[int]) -> list[Step]:
    return [s for s in steps if s.unit is None or s.unit not in removed_units]


def refined_thinking(thinking: str, steps: list[Step], removed_units: set[int]) -> str:
    """The refined chain: the kept steps' original text, concatenated, nothing else."""
    return join_steps(thinking, kept_steps(steps, removed_units))
