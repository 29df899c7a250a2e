"""PIR from answer likelihoods: build the scoring task for a trace's units and put the scores on its steps.

PIR(unit) = mean answer NLL without the unit − mean answer NLL with it = log(PPL(R \\ u) / PPL(R)).
High: removing the unit makes the answer less likely (important). Negative: the answer is likelier without it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from thinktrim.data.trace import Step, Trace
from thinktrim.lm.scoring.types import ScoringResult, ScoringTask
from thinktrim.refine.classify import unit_spans

AnswerTarget = Literal["auto", "response", "answer-field", "boxed"]


def answer_text(trace: Trace, target: AnswerTarget) -> tuple[str, str]:
    """(the text whose likelihood PIR measures, the target actually used). Empty text: nothing to score.

    `auto` takes the response after the thinking when there is one, else the short answer field.
    """
    if target in ("auto", "response") and trace.response.strip():
        return trace.response, "response"
    if target == "boxed":
        from thinktrim.answers import last_boxed

        value = last_boxed(trace.response)
        return (f"\\boxed{{{value}}}" if value else ""), "boxed"
    field = trace.meta.get("answer_field")
    if target in ("auto", "answer-field") and field is not None and str(field).strip():
        return str(field), "answer-field"
    return "", "response" if target == "auto" else target


def scoring_task(trace: Trace, steps: list[Step], answer: str, system_prompt: str | None) -> ScoringTask:
    return ScoringTask(
        question=trace.question,
        thinking=trace.thinking,
        answer=answer,
        removals=tuple(unit_spans(steps)),
        system_prompt=system_prompt,
    )


def apply_scores(steps: list[Step], result: ScoringResult) -> list[Step]:
    """Put each unit's PIR on all of its steps (unit i ↔ variant i, as `unit_spans` orders them)."""
    pir = [v - result.full_nll for v in result.variant_nlls]
    return [replace(s, pir=pir[s.unit]) if s.unit is not None else s for s in steps]
