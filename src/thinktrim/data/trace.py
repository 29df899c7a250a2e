"""The plain data model every stage shares: a reasoning trace and the steps of its thinking."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class StepKind(str, Enum):
    """The four kinds of reasoning step of PIR (docs/methods.md §1)."""

    PROGRESSIVE = "progressive"
    VERIFICATION = "verification"
    MULTI_METHOD = "multi_method"
    ERROR_CORRECTION = "error_correction"

    @property
    def is_functional(self) -> bool:
        return self is not StepKind.PROGRESSIVE


FUNCTIONAL_KINDS: tuple[StepKind, ...] = (
    StepKind.VERIFICATION,
    StepKind.MULTI_METHOD,
    StepKind.ERROR_CORRECTION,
)


@dataclass
class Trace:
    """One (question, thinking, response) triplet.

    `thinking` is the reasoning chain; `response` is the text written after it (it holds the final answer; the
    gold answer, when the source has one, is `meta["answer_field"]`). `thinking_closed` is False when the source
    never closed its thinking (no `</think>`), in which case `response` is empty and the chain cannot be scored.
    `meta` carries whatever the source record had besides.
    """

    id: str
    question: str
    thinking: str
    response: str
    thinking_closed: bool = True
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def answer(self) -> str:
        """Deprecated spelling of `response` (removed in the next release): `answer` elsewhere is the gold answer."""
        warnings.warn("Trace.answer is deprecated: use Trace.response (the text after the thinking)",
                      DeprecationWarning, stacklevel=2)
        return self.response


@dataclass
class Step:
    """A span `[start, end)` of a trace's thinking.

    `link` is the index of the progressive step a functional step checks or corrects; `unit` numbers the
    functional unit the step belongs to (adjacent functional steps with the same link share one unit and one
    score); `pir` is that unit's score, None for progressive and unscored steps.
    """

    start: int
    end: int
    kind: StepKind = StepKind.PROGRESSIVE
    link: int | None = None
    unit: int | None = None
    pir: float | None = None
    protected: bool = False
    marker: str | None = None

    def text(self, thinking: str) -> str:
        return thinking[self.start : self.end]

    def to_dict(self, thinking: str) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "kind": self.kind.value,
            "link": self.link,
            "unit": self.unit,
            "pir": self.pir,
            "protected": self.protected,
            "marker": self.marker,
            "text": self.text(thinking),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        return cls(
            start=d["start"],
            end=d["end"],
            kind=StepKind(d["kind"]),
            link=d.get("link"),
            unit=d.get("unit"),
            pir=d.get("pir"),
            protected=d.get("protected", False),
            marker=d.get("marker"),
        )


def join_steps(thinking: str, steps: list[Step]) -> str:
    """Concatenate the given steps' original text: the only way refined chains are built."""
    return "".join(thinking[s.start : s.end] for s in steps)
