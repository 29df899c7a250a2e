"""What flows through the curation pipeline: problems, each with the chains read for it and its audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from thinktrim.data.formats import SourceRecord


@dataclass
class QualityScore:
    """A chain's quality: the weighted total and, per rubric part, its raw count and its score in [0, 1]."""

    total: float
    parts: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"total": round(self.total, 6), "parts": self.parts}


@dataclass
class Chain:
    """One reasoning chain (one input record) of a problem; `order` is its position in the input, all pools."""

    source: SourceRecord
    pool: int
    order: int
    quality: QualityScore | None = None
    verdict: str | None = None  # correct | wrong | unverified (set by the verify step)

    @property
    def location(self) -> str:
        return self.source.location


@dataclass
class Problem:
    """A problem and everything the steps learnt about it (see `audit()` for what audit.jsonl holds).

    `key` is a hash of the question text: stable across runs and input orders, so a resumed difficulty run
    finds its samples. `records` are every input record of the problem, `chains` those that carry a chain
    (a benchmark-like record has a question and an answer only).
    """

    key: str
    question: str
    tokens: tuple[str, ...]
    order: int
    records: list[SourceRecord] = field(default_factory=list)
    pools: list[int] = field(default_factory=list)
    chains: list[Chain] = field(default_factory=list)
    gold: str | None = None
    gold_field: str | None = None
    cluster: dict[str, Any] | None = None
    contamination: list[dict[str, Any]] = field(default_factory=list)
    difficulty: dict[str, dict[str, Any]] = field(default_factory=dict)
    selected: list[Chain] = field(default_factory=list)
    rank: int | None = None
    status: str = "kept"
    step: str | None = None
    reason: str | None = None

    def audit(self) -> dict[str, Any]:
        """The problem's line of audit.jsonl."""
        scored = [c for c in self.selected or self.chains if c.quality is not None]
        best = max(scored, key=lambda c: c.quality.total, default=None)
        return {
            "key": self.key,
            "question": self.question,
            "records": [r.location for r in self.records],
            "chains": len(self.chains),
            "gold": self.gold,
            "gold_field": self.gold_field,
            "cluster": self.cluster,
            "contamination": self.contamination,
            "difficulty": self.difficulty,
            "quality": None if best is None else {"chain": best.location, **best.quality.to_dict()},
            "chain_verdicts": {c.location: c.verdict for c in self.chains if c.verdict is not None} or None,
            "selected": [c.location for c in self.selected],
            "rank": self.rank,
            "status": self.status,
            "step": self.step,
            "reason": self.reason,
        }
