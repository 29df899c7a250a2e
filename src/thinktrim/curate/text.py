"""Problem text as comparable tokens: what exact dedup, near-dup shingles and contamination n-grams are made of.

Normalisation removes what does not change a problem: case, whitespace, LaTeX spacing and sizing commands
(`\\,`, `\\quad`, `\\left`, `\\displaystyle`), braces and `$` delimiters (`x^{2}` = `$x^2$`), thousands separators
(`1{,}600` = `1,\\!600` = `1,600` = `1600`), leading zeros (`007` = `7`, `.5` = `0.5`), command spellings with one
meaning (`\\dfrac` = `\\frac`, `\\frac12` = `\\frac{1}{2}`), backslashes eaten as string escapes (a form feed +
`rac` is `\\frac`), and Asymptote diagrams (`[asy]…[/asy]`: drawing code, which some copies of a problem carry and
others not).
Number words up to twenty, the tens, hundred, thousand, million and billion are numbers (`three` = `3`).
What is left is a sequence of tokens: words (any script), numbers, command names and operator symbols.
Operators stay (`x+1` and `x-1` are different problems) and so do numbers: `numbers()` is the multiset of a
problem's numbers, which dedup and decontamination compare on top of text overlap, so that two problems that
differ only in their numbers are never taken for one another. Dedup compares them as written; decontamination by
exact value (`values()`: `\\frac{1}{2}` = `1/2` = `0.5` = `50\\%`), since a benchmark copy may rewrite notation.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

# Commands that only size, space or style what follows; dropped.
_NOISE = frozenset({
    "left", "right", "displaystyle", "textstyle", "scriptstyle", "quad", "qquad", "text", "textbf", "textit",
    "textrm", "mathrm", "mathbf", "mathit", "mbox", "hbox", "operatorname", "limits", "nolimits", "big", "bigl",
    "bigr", "bigg", "biggl", "biggr", "middle", "hspace", "vspace", "noindent", "phantom", "mathstrut",
})  # fmt: skip
# Spellings with one meaning.
_ALIASES = {"dfrac": "frac", "tfrac": "frac", "le": "leq", "ge": "geq", "leqslant": "leq", "geqslant": "geq",
            "ne": "neq", "lt": "<", "gt": ">", "cdot": "times", "ast": "*", "to": "rightarrow"}
# Number words are numbers: "three computers" and "four computers" are different problems, "3 computers" the same.
_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
_TENS = ("thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORDS = {**{w: str(i) for i, w in enumerate(_UNITS)}, **{w: str(10 * i) for i, w in enumerate(_TENS, 3)},
                 "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000"}
_CHAR_MAP = str.maketrans({"−": "-", "–": "-", "×": "times", "·": "times", "÷": "/", "≤": "leq", "≥": "geq",
                           "≠": "neq", "’": "'", "‘": "'", "°": "^\\circ", "⁄": "/",  # ½ is 1⁄2 after NFKC
                           # a backslash eaten as a string escape: form feed + "rac" was `\frac`, backspace + "inom"
                           # `\binom` (never text in a problem, and `\frac{1}{2}` must keep its value)
                           "\f": "\\f", "\b": "\\b", "\a": "\\a", "\v": "\\v"})
_DIAGRAMS = re.compile(r"\[asy\].*?(?:\[/asy\]|$)", re.S | re.I)  # Asymptote code draws, it does not state
_DELIMITERS = re.compile(r"\\[()\[\]]")  # \( \) \[ \] delimit math like $
_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|,)(?:\\[,!;: ])?(?=\d{3}(?!\d))")  # 1,600 1{,}600 1,\!600
# `\frac12` is `\frac{1}{2}`: an unbraced argument is one digit (`\frac{12}34` is 12/3, then 4)
_FRAC_ARGS = re.compile(r"\\[dt]?frac\s*(\d|\{[^{}]*\})\s*(\d|\{[^{}]*\})")
_TOKEN = re.compile(r"\\([^\W\d_]+)|(\d+(?:\.\d+)?|(?<![\w.])\.\d+)|([^\W\d_]+)|([-+*/=<>^_()\[\]|!%'])")


def _number(text: str) -> str:
    """`007` → `7`, `2.50` → `2.5`, `3.0` → `3`: one spelling per value."""
    whole, _, frac = text.partition(".")  # `.5` → `0.5`
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def _braced_frac(m: re.Match[str]) -> str:
    return "\\frac" + "".join(a if a.startswith("{") else f"{{{a}}}" for a in m.groups())


def tokens(text: str) -> tuple[str, ...]:
    """The normalised tokens of a problem text (see the module docstring)."""
    text = unicodedata.normalize("NFKC", _DIAGRAMS.sub(" ", text)).translate(_CHAR_MAP).lower()
    text = _FRAC_ARGS.sub(_braced_frac, _THOUSANDS.sub("", _DELIMITERS.sub(" ", text)))
    out: list[str] = []
    for command, number, word, symbol in _TOKEN.findall(text):
        if command:
            if command not in _NOISE:
                out.append(_ALIASES.get(command, command))
        elif number:
            out.append(_number(number))
        elif word:
            out.append(_NUMBER_WORDS.get(word, word))
        else:
            out.append(symbol)
    return tuple(out)


def is_number(token: str) -> bool:
    return token[0].isdigit()


def numbers(toks: Sequence[str]) -> Counter[str]:
    """The multiset of numbers among the tokens."""
    return Counter(t for t in toks if is_number(t))


def values(toks: Sequence[str]) -> Counter[Fraction]:
    """The multiset of numbers by value, exact: a fraction (`\\frac{1}{2}`, `\\dfrac12`, `1/2`, `½`), a decimal
    (`0.5`, `.5`) and a percent (`50%`, `50\\%`, `50 percent`) of one value are one number, so a copy that
    rewrites the notation keeps its numbers; `0.33` and `\\frac{1}{3}` stay two."""
    out: Counter[Fraction] = Counter()
    i, n = 0, len(toks)
    while i < n:
        if toks[i] == "frac" and i + 2 < n and is_number(toks[i + 1]) and _nonzero(toks[i + 2]):
            value, i = Fraction(toks[i + 1]) / Fraction(toks[i + 2]), i + 3
        elif is_number(toks[i]):
            value, i = Fraction(toks[i]), i + 1
            if i + 1 < n and toks[i] == "/" and _nonzero(toks[i + 1]):
                value, i = value / Fraction(toks[i + 1]), i + 2
        else:
            i += 1
            continue
        if i < n and toks[i] in ("%", "percent"):
            value, i = value / 100, i + 1
        elif tuple(toks[i : i + 2]) == ("per", "cent"):
            value, i = value / 100, i + 2
        out[value] += 1
    return out


def _nonzero(token: str) -> bool:
    return is_number(token) and Fraction(token) != 0


def numbers_key(toks: Sequence[str]) -> tuple[str, ...]:
    """The numbers as a sorted tuple: equal exactly when the two multisets are."""
    return tuple(sorted(t for t in toks if is_number(t)))


def exact_key(toks: Sequence[str]) -> str:
    """Two problems with the same key are the same problem written differently."""
    return " ".join(toks)


def text_hash(text: str) -> str:
    """A short stable id for a text (the same across runs, machines and input orders)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def ngrams(toks: Sequence[str], n: int) -> set[tuple[str, ...]]:
    """The distinct n-grams of a token sequence; one (the whole sequence) when it is shorter than n."""
    if len(toks) <= n:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def shingles(toks: Sequence[str], n: int) -> list[bytes]:
    """The n-token shingles as bytes, as MinHash takes them."""
    return [" ".join(g).encode("utf-8") for g in ngrams(toks, n)]
