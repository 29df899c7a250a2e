"""Counters by reason, in the style of datatrove's stats: whatever is dropped, falls back or fails is counted
under what happened to it, grouped by what is counted (`rejected_by_field`, `judge_failures_by_reason`, …).

One plain type for every command, so stats.json, results.json and the printed tables read the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping


class Counts:
    """Groups of counters: `counts.add("rejected_by_field", "question")`; `to_dict()` for JSON files."""

    def __init__(self, groups: Mapping[str, Mapping[str, int]] | None = None) -> None:
        self._groups: dict[str, Counter[str]] = {}
        if groups:
            self.update(groups)

    def add(self, group: str, reason: str, n: int = 1) -> None:
        """Count `n` more under `reason`; a group appears once something is counted in it."""
        if n:
            self._groups.setdefault(group, Counter())[reason] += n

    def add_all(self, group: str, reasons: Iterable[str]) -> None:
        for reason in reasons:
            self.add(group, reason)

    def update(self, other: Counts | Mapping[str, Mapping[str, int]]) -> None:
        """Add another set of counts (from another chain, shard or benchmark) to these."""
        for group, reasons in (other.to_dict() if isinstance(other, Counts) else other).items():
            for reason, n in reasons.items():
                self.add(group, reason, n)

    def group(self, group: str) -> dict[str, int]:
        """One group's counts, most frequent first ({} when nothing was counted in it)."""
        return dict(sorted(self._groups.get(group, Counter()).items(), key=lambda kv: (-kv[1], kv[0])))

    def total(self, group: str) -> int:
        return sum(self._groups.get(group, Counter()).values())

    def to_dict(self) -> dict[str, dict[str, int]]:
        """Every group with its counts, most frequent first; groups in the order they were first counted."""
        return {g: self.group(g) for g in self._groups}

    def __bool__(self) -> bool:
        return bool(self._groups)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Counts) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Counts({self.to_dict()!r})"
