"""The answer vocabulary every layer shares: answer kinds, thinking delimiters, the last box, normal forms.

A leaf of pure string functions (no sympy; of thinktrim only `errors`): the data readers, refine's answer
protection and evaluation's extraction and grading all build on it, so none of them has to import another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, get_args

from thinktrim.errors import UserError

AnswerKind = Literal["number", "expression", "choice"]
ANSWER_KINDS: tuple[str, ...] = get_args(AnswerKind)
_BOX_CMDS = ("\\boxed", "\\fbox")


@dataclass(frozen=True)
class ThinkTags:
    """One family of thinking delimiters; `solution_open`/`solution_close` wrap the answer where it has them."""

    open: str
    close: str
    solution_open: str | None = None
    solution_close: str | None = None


# The one table of thinking delimiters, for evaluation and data alike: R1-style, then Sky-T1/Bespoke-style.
THINK_TAGS: tuple[ThinkTags, ...] = (
    ThinkTags("<think>", "</think>"),
    ThinkTags("<|begin_of_thought|>", "<|end_of_thought|>", "<|begin_of_solution|>", "<|end_of_solution|>"),
)


@dataclass(frozen=True)
class ThinkSpans:
    """Where one family's thinking sits in a text; `blocks` are the contents of the closed `open…close` blocks,
    `lone_closes` where each closing tag with no opening before it starts (everything before one is thinking:
    QwQ-style templates put the opening tag in the prompt), `unclosed` where an opening tag that never closes
    starts (the model was cut off while thinking). All in text order; a text without the tags has none."""

    blocks: tuple[tuple[int, int], ...]
    lone_closes: tuple[int, ...]
    unclosed: int | None


def think_spans(text: str, tags: ThinkTags) -> ThinkSpans:
    """Read `text` left to right: an opening tag pairs with the first closing tag after it (an opening tag in
    between is part of the block), a closing tag outside any block is lone. The one scanner behind both
    evaluation's `split_reasoning` and data's `split_spans`."""
    blocks: list[tuple[int, int]] = []
    lone: list[int] = []
    pos = 0
    while True:
        o, c = text.find(tags.open, pos), text.find(tags.close, pos)
        if c >= 0 and (o < 0 or c < o):
            lone.append(c)
            pos = c + len(tags.close)
            continue
        if o < 0:
            return ThinkSpans(tuple(blocks), tuple(lone), None)
        start = o + len(tags.open)
        c = text.find(tags.close, start)
        if c < 0:
            return ThinkSpans(tuple(blocks), tuple(lone), o)
        blocks.append((start, c))
        pos = c + len(tags.close)


def check_kind(kind: str) -> AnswerKind:
    if kind not in ANSWER_KINDS:
        raise UserError(f"kind={kind!r} is not an answer kind; expected one of {', '.join(ANSWER_KINDS)}")
    return kind  # type: ignore[return-value]


def _outside(text: str, lo: int, hi: int, cuts: list[tuple[int, int]]) -> str:
    """text[lo:hi] with the cut spans that lie inside it taken out."""
    parts, pos = [], lo
    for a, b in cuts:
        if lo <= a and b <= hi:
            parts.append(text[pos:a])
            pos = b
    parts.append(text[pos:hi])
    return "".join(parts)


def split_reasoning(text: str) -> tuple[str, str | None]:
    """(final section, closed thinking) of a response; the thinking is None when it never closed.

    Closed blocks are removed from the final section; a lone closing tag (QwQ-style templates put the opening
    tag in the prompt) makes everything before it thinking; an opening tag that never closes means the model
    was cut off while still thinking, so everything from it on is dropped: it has not given a final answer.
    Each family of `THINK_TAGS` is taken out in turn, from what the ones before it left; solution tags go last.
    """
    thinking: list[str] = []
    for tags in THINK_TAGS:
        sp = think_spans(text, tags)
        thinking += [text[a:b] for a, b in sp.blocks]
        cuts = [(a - len(tags.open), b + len(tags.close)) for a, b in sp.blocks]
        lo, hi = 0, len(text) if sp.unclosed is None else sp.unclosed
        if sp.lone_closes:
            thinking.append(_outside(text, 0, sp.lone_closes[-1], cuts))
            lo = sp.lone_closes[-1] + len(tags.close)
        text = _outside(text, lo, hi, cuts)
    for tags in THINK_TAGS:
        for tag in (tags.solution_open, tags.solution_close):
            text = text.replace(tag, "") if tag else text
    return text.strip(), ("\n".join(thinking) if thinking else None)


def strip_reasoning(text: str) -> str:
    """Drop thinking so only the final answer section is searched (see `split_reasoning`)."""
    return split_reasoning(text)[0]


def _braced(text: str, start: int) -> str | None:
    """Content of the `{…}` group opening at `start`, honouring nesting and `\\{` escapes; None if unclosed."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
        i += 1
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last complete, non-empty `\\boxed{…}` / `\\fbox{…}` (also `\\boxed 5`); None if none."""
    starts = sorted(
        (m.start(), m.end()) for cmd in _BOX_CMDS for m in re.finditer(re.escape(cmd) + r"(?![a-zA-Z])", text)
    )
    for _, end in reversed(starts):
        rest = end
        while rest < len(text) and text[rest] in " \t":
            rest += 1
        if rest < len(text) and text[rest] == "{":
            content = _braced(text, rest)
        elif rest > end:  # `\boxed 5`: one bare token after a space
            m = re.match(r"[^\s$]+", text[rest:])
            content = m.group(0) if m else None
        else:
            content = None
        if content is not None and content.strip():
            return content.strip()
    return None


def clean_answer(answer: str) -> str:
    """Remove markup around an extracted answer: `$…$`, `\\(…\\)`, bold, trailing punctuation."""
    s = answer.strip()
    for _ in range(3):
        before = s
        s = s.strip().strip("*").strip()
        s = re.sub(r"^(?:\$\$|\$|\\\(|\\\[)(.*?)(?:\$\$|\$|\\\)|\\\])$", r"\1", s, flags=re.S)
        s = re.sub(r"^\\text\{([^{}]*)\}$", r"\1", s.strip())
        s = re.sub(r"[.,;:!]+$", "", s).strip()
        if s == before:
            break
    return s


_NUM_RE = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[-+]?\.\d+")


def as_number(text: str) -> Fraction | None:
    """Exact value of a plain decimal ("1,600", "27.0", "\\$18", "-.5"); None for anything else."""
    s = re.sub(r"\\[!,;: ]|\{,\}|\s|^\\?\$|\\\$", "", text.strip().strip("$"))
    if not _NUM_RE.fullmatch(s):
        return None
    return Fraction(s.replace(",", "").rstrip("."))


def normalize_answer(text: str) -> str:
    """A canonical string for grouping answers (maj@k) and a cheap exact-match pre-check before sympy.

    Only removes what never changes the value: delimiters, spacing commands, `\\left`/`\\right`, `\\dfrac`,
    degree marks, `\\text{}` wrappers, thousands separators, trailing zeros of plain numbers.
    """
    s = clean_answer(text)
    number = as_number(s)
    if number is not None:
        return str(number.numerator) if number.denominator == 1 else f"{float(number):.12g}"
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = re.sub(r"\^\{?\\circ\}?|°", "", s)
    s = re.sub(r"\\left|\\right|\\[!,;: ]|~", "", s)
    s = re.sub(r"\s+", "", s)
    if re.fullmatch(r"[A-Za-z ]+", s):
        s = s.lower()
    return s
