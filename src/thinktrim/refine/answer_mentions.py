"""Where a chain states its final answer: the steps PIR never prunes (docs/methods.md §1).

The final value is the response's last `\\boxed{}`, else the record's short answer field, whatever PIR scores.
It is looked for in the thinking as written, with LaTeX spacing normalised (`x = 5` ~ `x=5`, `\\,` ignored,
`\\dfrac` ~ `\\frac`, `\\frac{1}{2}` ~ `1/2`, `12{,}000` ~ `12000`) and only where it stands as a whole
number or expression: `2` is not stated by `12`, `2.5`, `x_2`, `-2`, `2^3`, `\\frac{1}{2}` or `\\sqrt{2}`.
A one-letter value (a choice) counts only in a choice context: `(C)`, `option C`, `answer is C`, `**C**`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from thinktrim.data.trace import Trace

MAX_VALUE_CHARS = 200  # longer "answers" (a whole solution in an answer field) are not a value to look for

_WRAPPERS = ("boxed", "fbox", "text", "textbf", "textrm", "mathrm", "mathbf", "mbox", "displaystyle")
_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_LATEX_SPACE = re.compile(r"\\[,;:! ]|~|\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\s+")
# What may sit between two pieces of a value in the text: white space and LaTeX spacing.
_GAP = r"(?:\s|\\[,;:! ]|~|\\left(?![a-zA-Z])|\\right(?![a-zA-Z]))*"
_ATOM = re.compile(r"\\[dt]?frac(?![a-zA-Z])|\\[a-zA-Z]+|\\.|[A-Za-z0-9]+|\S")
_FRACTION = re.compile(r"(-?)\\frac\{(\w+)\}\{(\w+)\}")
_SLASH = re.compile(r"(-?)(\w+)/(\w+)")
_ARGUMENT_OF = re.compile(r"(?:\\([a-zA-Z]+)|([\^_}\]]))\s*$")
_CHOICE_BEFORE = re.compile(r"(?:option|choice|answer(?:\s+is)?|answer\s*:)[\s:*($]*$", re.I)


@dataclass(frozen=True)
class FinalValue:
    """The final answer value of a chain and where it came from (`boxed` or `answer-field`)."""

    text: str
    source: str


def final_value(trace: Trace) -> FinalValue | None:
    """The response's last boxed expression, else the answer field; None when neither gives a value."""
    from thinktrim.answers import last_boxed

    boxed = last_boxed(trace.response) if trace.response else None
    if boxed and normalise_value(boxed):
        return FinalValue(boxed, "boxed")
    field = trace.meta.get("answer_field")
    if field is not None and normalise_value(str(field)):
        return FinalValue(str(field).strip(), "answer-field")
    return None


def _unwrap(value: str) -> str:
    """Drop math delimiters and whole-value wrappers like `\\boxed{…}` or `\\text{…}` (repeatedly)."""
    while True:
        before = value
        value = value.strip().rstrip(".").strip()
        for left, right in _DELIMITERS:
            if len(value) > len(left) + len(right) and value.startswith(left) and value.endswith(right):
                value = value[len(left) : -len(right)].strip()
                break
        m = re.fullmatch(r"\\(\w+)\s*\{(.*)\}", value, re.S)
        if m and m.group(1) in _WRAPPERS and _balanced(m.group(2)):
            value = m.group(2)
        if value == before:
            return value


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text.replace("\\{", "").replace("\\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def normalise_value(value: str) -> str:
    """The value as looked for: unwrapped, LaTeX spacing folded into single spaces, `\\dfrac` as `\\frac`."""
    value = _unwrap(value)
    value = re.sub(r"\\[dt]frac(?![a-zA-Z])", r"\\frac", value)
    value = _LATEX_SPACE.sub(" ", value).strip()
    return value if len(value) <= MAX_VALUE_CHARS else ""


def _spellings(value: str) -> list[str]:
    """The value and its common other spellings: a simple fraction both ways, an integer with separators."""
    out = [value]
    if m := _FRACTION.fullmatch(value):
        out.append(f"{m.group(1)}{m.group(2)}/{m.group(3)}")
    elif m := _SLASH.fullmatch(value):
        out.append(f"{m.group(1)}\\frac{{{m.group(2)}}}{{{m.group(3)}}}")
    return out


def _atom_pattern(atom: str) -> str:
    if re.fullmatch(r"\\[dt]?frac", atom):
        return r"\\[dt]?frac(?![a-zA-Z])"
    if re.fullmatch(r"\\[a-zA-Z]+", atom):
        return re.escape(atom) + r"(?![a-zA-Z])"
    if atom in "-−":
        return "[-−]"
    if re.fullmatch(r"\d{4,}", atom):  # 12000 ~ 12,000 ~ 12{,}000 ~ 12\,000
        head = len(atom) % 3 or 3
        groups = [atom[:head]] + [atom[i : i + 3] for i in range(head, len(atom), 3)]
        return r"(?:,|\{,\}|\\,|\s)?".join(groups)
    return re.escape(atom)


def value_regex(value: str) -> re.Pattern[str] | None:
    """A regex for every spelling of `value`; None when there is nothing to look for."""
    value = normalise_value(value)
    if not value:
        return None
    alternatives = [_GAP.join(_atom_pattern(a) for a in _ATOM.findall(v)) for v in _spellings(value)]
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


def _argument_brace(text: str, brace: int) -> bool:
    """Whether the `{` at `brace` opens an argument that makes its content part of a bigger expression
    (`\\frac{…}`, `\\sqrt{…}`, `x^{…}`, the second `{…}` of a fraction), not a wrapper like `\\boxed{…}`."""
    m = _ARGUMENT_OF.search(text, max(0, brace - 40), brace)
    return bool(m) and m.group(1) not in _WRAPPERS


def _standalone(text: str, start: int, end: int, value: str) -> bool:
    """Whether text[start:end] (a match of `value`) stands as a whole, not as a piece of a longer number or
    expression."""
    first, last = text[start], text[end - 1]
    before, after = text[start - 1] if start else "", text[end] if end < len(text) else ""
    after2 = text[end + 1] if end + 1 < len(text) else ""
    if before:
        if (first.isalnum() or first == "\\") and (before.isalnum() or before in "_^\\"):
            return False
        if first.isdigit() and (before in "-−/" or (before in ".," and start > 1 and text[start - 2].isdigit())):
            return False
        if before == "{" and _argument_brace(text, start - 1):
            return False
    if after:
        if last.isalnum() and (after.isalnum() or after == "_"):
            return False
        if last.isdigit() and after in ".," and after2.isdigit():
            return False
        if after in "/_!'" or (after == "^" and not text.startswith(("^\\circ", "^{\\circ}"), end)):
            return False
    if len(value) == 1 and value.isalpha():  # a choice letter: only where it is named as one
        enclosed = (before, after) in (("(", ")"), ("[", "]"), ("{", "}"), ("*", "*"), ("$", "$"))
        return enclosed or bool(_CHOICE_BEFORE.search(text, max(0, start - 20), start))
    return True


def mention_spans(text: str, value: str) -> list[tuple[int, int]]:
    """`[start, end)` spans of `text` that state `value` (see the module docstring for what counts)."""
    pattern = value_regex(value)
    if pattern is None:
        return []
    norm = normalise_value(value)
    return [m.span() for m in pattern.finditer(text) if m.end() > m.start() and _standalone(text, *m.span(), norm)]
