"""Where the thinking ends in a model response or a solution: think markers (`<think>…</think>`,
`<|begin_of_thought|>…<|end_of_thought|>`) and LIMO's closing "Final Answer" paragraph. Pure string functions,
shared by the record layouts (`layouts.py`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from thinktrim.answers import THINK_TAGS, think_spans

# LIMO-style closing part: a line that starts (after markdown decoration) with "Final Answer".
_FINAL_ANSWER = re.compile(r"(?im)^[ \t>#*_]*final answer\b")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) to exclude outer whitespace, with exactly str.strip()'s notion of whitespace."""
    part = text[start:end]
    lead = len(part) - len(part.lstrip())
    if lead == len(part):
        return start, start
    return start + lead, end - (len(part) - len(part.rstrip()))


@dataclass(frozen=True)
class _Split:
    thinking: tuple[int, int]
    answer: tuple[int, int]
    closed: bool
    marker: str


def split_spans(text: str) -> _Split | None:
    """Spans of thinking and answer in a response with think markers; None when it has no marker at all.

    Unlike evaluation's `split_reasoning`, which takes every block out, a record has one thinking to keep and
    refine in place: it ends at the first closing marker (the first block's, or a lone one: the opening marker
    is optional, QwQ omits it) and the rest is the answer, or the solution block inside it where the family has
    one. One family per response: where both appear the Sky-T1/Bespoke one wins, as it always has here.
    """
    for tags in reversed(THINK_TAGS):
        sp = think_spans(text, tags)
        if sp.blocks and (not sp.lone_closes or sp.blocks[0][0] < sp.lone_closes[0]):
            start, end = sp.blocks[0]
        elif sp.lone_closes:
            start, end = 0, sp.lone_closes[0]
        elif sp.unclosed is not None:
            thinking = strip_span(text, sp.unclosed + len(tags.open), len(text))
            return _Split(thinking, (len(text), len(text)), False, "unclosed")
        else:
            continue
        a_start, a_end = end + len(tags.close), len(text)
        if tags.solution_open is not None and (s := text.find(tags.solution_open, a_start)) >= 0:
            a_start = s + len(tags.solution_open)
            e = text.find(tags.solution_close, a_start) if tags.solution_close else -1
            a_end = e if e >= 0 else len(text)
        return _Split(strip_span(text, start, end), strip_span(text, a_start, a_end), True, tags.close)
    return None


def split_thinking(response: str) -> tuple[str, str, bool]:
    """(thinking, answer, closed) of a model response.

    Understands `<think>…</think>answer` (opening optional, as QwQ writes it) and
    `<|begin_of_thought|>…<|end_of_thought|>` with an optional `<|begin_of_solution|>…<|end_of_solution|>`
    answer. A response that never closes its thinking (or has no marker at all) is all thinking:
    `(thinking, "", False)`. Both parts are stripped of outer whitespace.
    """
    sp = split_spans(response)
    if sp is None:
        a, b = strip_span(response, 0, len(response))
        return response[a:b], "", False
    return response[slice(*sp.thinking)], response[slice(*sp.answer)], sp.closed


def final_answer_start(text: str) -> tuple[int, str] | None:
    """Where a LIMO solution's closing part starts: its last "Final Answer" line, else the paragraph with
    the last `\\boxed{`. None when there is none, or when it would leave no thinking before it."""
    heads = list(_FINAL_ANSWER.finditer(text))
    if heads:
        start, how = heads[-1].start(), "final-answer"
    else:
        box = text.rfind("\\boxed")
        if box < 0:
            return None
        breaks = list(_PARAGRAPH_BREAK.finditer(text, 0, box))
        start, how = (breaks[-1].end() if breaks else 0), "boxed-paragraph"
    return (start, how) if text[:start].strip() else None
