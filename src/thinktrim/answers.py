"""The answer vocabulary every layer shares: answer kinds, reasoning delimiters, the last box, normal forms.

A leaf of pure string functions (no sympy, nothing else of thinktrim): the data readers, refine's answer
protection and evaluation's extraction and grading all build on it, so none of them has to import another.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal, get_args

AnswerKind = Literal["number", "expression", "choice"]
ANSWER_KINDS: tuple[str, ...] = get_args(AnswerKind)
# (open, close) pairs of reasoning delimiters used by R1-style and Sky-T1/Bespoke-style models.
_THINK_TAGS = (("<think>", "</think>"), ("<|begin_of_thought|>", "<|end_of_thought|>"))
_BOX_CMDS = ("\\boxed", "\\fbox")


def check_kind(kind: str) -> AnswerKind:
    if kind not in ANSWER_KINDS:
        raise ValueError(f"kind={kind!r} is not an answer kind; expected one of {', '.join(ANSWER_KINDS)}")
    return kind  # type: ignore[return-value]


def split_reasoning(text: str) -> tuple[str, str | None]:
    """(final section, closed thinking) of a response; the thinking is None when it never closed.

    Closed blocks are removed from the final section; a lone closing tag (QwQ-style templates put the opening
    tag in the prompt) makes everything before it thinking; an opening tag that never closes means the model
    was cut off while still thinking, so everything from it on is dropped: it has not given a final answer.
    """
    thinking: list[str] = []
    for open_tag, close_tag in _THINK_TAGS:
        if open_tag not in text and close_tag not in text:
            continue
        block = re.compile(re.escape(open_tag) + "(.*?)" + re.escape(close_tag), re.S)
        thinking += block.findall(text)
        text = block.sub("", text)
        close = text.rfind(close_tag)
        if close >= 0:
            thinking.append(text[:close])
            text = text[close + len(close_tag) :]
        open_ = text.find(open_tag)
        if open_ >= 0:
            text = text[:open_]
    for tag in ("<|begin_of_solution|>", "<|end_of_solution|>"):
        text = text.replace(tag, "")
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
