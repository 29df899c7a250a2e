"""Where the thinking ends in a model response or a solution: think markers (`<think>…</think>`,
`<|begin_of_thought|>…<|end_of_thought|>`) and LIMO's closing "Final Answer" paragraph. Pure string functions,
shared by the record layouts (`layouts.py`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# (opening, closing, solution opening, solution closing); the opening marker is optional (QwQ omits it).
_MARKERS = (
    ("<|begin_of_thought|>", "<|end_of_thought|>", "<|begin_of_solution|>", "<|end_of_solution|>"),
    ("<think>", "</think>", None, None),
)
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
    """Spans of thinking and answer in a response with think markers; None when it has no marker at all."""
    for opening, closing, sol_open, sol_close in _MARKERS:
        o, c = text.find(opening), text.find(closing)
        if o < 0 and c < 0:
            continue
        start = 0
        if o >= 0 and (c < 0 or o < c):  # an opening after the closing is text, not a marker
            start = o + len(opening)
            c = text.find(closing, start)
        if c < 0:
            return _Split(strip_span(text, start, len(text)), (len(text), len(text)), False, "unclosed")
        a_start, a_end = c + len(closing), len(text)
        if sol_open is not None and (s := text.find(sol_open, a_start)) >= 0:
            a_start = s + len(sol_open)
            e = text.find(sol_close, a_start) if sol_close else -1
            a_end = e if e >= 0 else len(text)
        return _Split(strip_span(text, start, c), strip_span(text, a_start, a_end), True, closing)
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
