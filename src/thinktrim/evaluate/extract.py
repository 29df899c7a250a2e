"""Find the final answer in a model response: pure string functions, no sympy, safe to call anywhere.

Conventions (METHODS.md §4): reasoning is dropped first, so a number written while thinking never counts;
then the last brace-matched `\\boxed{}`, then an "the answer is …" / "final answer: …" phrase, then the last
number. Multiple choice looks for a letter in the box, after "Answer:", in bold, or as "(C)".
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal, get_args

AnswerKind = Literal["number", "expression", "choice"]
ANSWER_KINDS: tuple[str, ...] = get_args(AnswerKind)
DEFAULT_LETTERS = "ABCD"

# (open, close) pairs of reasoning delimiters used by R1-style and Sky-T1/Bespoke-style models.
_THINK_TAGS = (("<think>", "</think>"), ("<|begin_of_thought|>", "<|end_of_thought|>"))
_BOX_CMDS = ("\\boxed", "\\fbox")


def check_kind(kind: str) -> AnswerKind:
    if kind not in ANSWER_KINDS:
        raise ValueError(f"kind={kind!r} is not an answer kind; expected one of {', '.join(ANSWER_KINDS)}")
    return kind  # type: ignore[return-value]


def strip_reasoning(text: str) -> str:
    """Drop thinking so only the final answer section is searched.

    Closed blocks are removed; a lone closing tag (QwQ-style templates put the opening tag in the prompt)
    drops everything before it; an opening tag that never closes means the model was cut off while still
    thinking, so everything from it on is dropped: it has not given a final answer.
    """
    for open_tag, close_tag in _THINK_TAGS:
        if open_tag not in text and close_tag not in text:
            continue
        text = re.sub(re.escape(open_tag) + ".*?" + re.escape(close_tag), "", text, flags=re.S)
        close = text.rfind(close_tag)
        if close >= 0:
            text = text[close + len(close_tag) :]
        open_ = text.find(open_tag)
        if open_ >= 0:
            text = text[:open_]
    for tag in ("<|begin_of_solution|>", "<|end_of_solution|>"):
        text = text.replace(tag, "")
    return text.strip()


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


# "The answer is 5", "Final answer: 5", "**Final Answer**\n\n$5$", "Answer: 5" ("answer" alone needs is/:/=)
_PHRASE = re.compile(
    r"final\s+answer(?:\s*\*\*)?[ \t]*(?:is\s*:?|:|=|(?=\n))(?:\s*\*\*)?"
    r"|(?:the\s+answer|\banswer)(?:\s*\*\*)?\s*(?:is\s*:?|:|=)(?:\s*\*\*)?",
    re.I,
)
_MATH_BLOCK = re.compile(r"\$\$(.*?)\$\$|\\\[(.*?)\\\]|\\\((.*?)\\\)|\$((?:\\.|[^\\$\n])*?)\$", re.S)
_NUMBER = re.compile(r"-?\d+/\d+(?![\d/])|-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|-?\d*\.?\d+")


def _clean(answer: str) -> str:
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


def _answer_after(region: str) -> str:
    """The answer that follows a phrase: a math block, else the rest of the sentence (or the next line)."""
    region = region.lstrip(" \t")
    if region.startswith("\n"):
        region = region.lstrip()
    m = _MATH_BLOCK.match(region)
    if m:
        tail = next(g for g in m.groups() if g is not None)
    else:
        tail = region.split("\n", 1)[0]
        # the sentence ends at a period followed by a space (a decimal point is not followed by one)
        tail = re.split(r"\.(?:\s|$)", tail, maxsplit=1)[0]
    inner = last_boxed(tail)
    return _clean(inner if inner is not None else tail)


def _is_prose(candidate: str) -> bool:
    """ "the answer is the number of intersections in one period, …" names no answer: more than four plain
    words (LaTeX commands and \\text{} contents aside) is a sentence, not a final answer."""
    bare = re.sub(r"\\[a-zA-Z]+(?:\{[^{}]*\})?", " ", candidate)
    return len(re.findall(r"(?<![A-Za-z])[A-Za-z]{2,}(?![A-Za-z])", bare)) > 4


def _phrase_answer(text: str) -> str | None:
    found = None
    for m in _PHRASE.finditer(text):
        candidate = _answer_after(text[m.end() : m.end() + 2000])
        if candidate and not _is_prose(candidate):
            found = candidate
    return found


_NUMBER_WITH_UNIT = re.compile(
    r"(?:\\?\$)?\s*(-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+)\s*"
    r"(?:\\(?:text|mbox|mathrm)\{\s*[A-Za-z][A-Za-z .]*\}|[A-Za-z][A-Za-z .]*)"
)


def _drop_unit(answer: str) -> str:
    """ "27 miles" / "18 \\text{ dollars}" / "\\$18" → the number, for answers known to be numbers."""
    m = _NUMBER_WITH_UNIT.fullmatch(answer.strip())
    return m.group(1) if m else answer


def _last_number(text: str) -> str | None:
    numbers = _NUMBER.findall(text)
    return numbers[-1] if numbers else None


def choice_letter(text: str, letters: str = DEFAULT_LETTERS) -> str | None:
    """The option letter a short answer names: "C", "(C)", "\\text{C}", "C. 10 eV", "Option C"; else None."""
    s = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\{([^{}]*)\}", r"\1", text).strip().strip("*$ ")
    s = re.sub(r"^(?:option|choice)\s+", "", s, flags=re.I)
    m = re.match(r"^[(\[]?([A-Za-z])[)\]]?(?:$|[\s.:)\-,]\s*)", s)
    if m and m.group(1).upper() in letters:
        # a single lowercase word like "a" is only accepted when it is the whole answer
        if m.group(1).islower() and len(s.strip("()[]. ")) > 1:
            return None
        return m.group(1).upper()
    return None


def _choice_answer(text: str, letters: str) -> str | None:
    box = last_boxed(text)
    if box is not None and (letter := choice_letter(box, letters)):
        return letter
    cls = f"[{re.escape(letters)}]"
    patterns = (
        rf"answer\s*(?:\*\*)?\s*(?:is|:)?\s*(?:\*\*)?\s*(?:option\s*|choice\s*)?[(\[*\s]*({cls})\b(?![-'])",
        rf"(?:correct|best)\s+(?:option|choice|answer)\s+is\s*[(\[*\s]*({cls})\b",
        rf"\*\*\s*\(?({cls})\)?[.):]?\s*\*\*",
        rf"^\W*\(?({cls})\)?\W*$",
        rf"\(({cls})\)",
    )
    for pattern in patterns:
        hits = re.findall(pattern, text, flags=re.I if pattern.startswith("answer") else 0)
        hits = [h.upper() for h in hits if h in letters]  # lowercase letters are words ("a"), not options
        if hits:
            return hits[-1]
    return None


def extract_answer(text: str, kind: AnswerKind, letters: str = DEFAULT_LETTERS) -> str | None:
    """The final answer of a response (reasoning already stripped, or not: tags are handled), or None."""
    check_kind(kind)
    text = strip_reasoning(text)
    if kind == "choice":
        return _choice_answer(text, letters)
    found = last_boxed(text)
    found = _clean(found) if found is not None else _phrase_answer(text)
    if found:
        return _drop_unit(found) if kind == "number" else found
    return _last_number(text)


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
    s = _clean(text)
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
