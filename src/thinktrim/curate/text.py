"""Problem text as comparable tokens: what exact dedup, near-dup shingles and contamination n-grams are made of.

Normalisation removes what does not change a problem: case, whitespace, LaTeX spacing and sizing commands
(`\\,`, `\\quad`, `\\left`, `\\displaystyle`), braces and `$` delimiters (`x^{2}` = `$x^2$`), thousands separators
(`1{,}600` = `1,\\!600` = `1,600` = `1600`), leading zeros, command spellings with one meaning (`\\dfrac` = `\\frac`),
and Asymptote diagrams (`[asy]…[/asy]`: drawing code, which some copies of a problem carry and others not).
Number words up to twenty, the tens, hundred, thousand, million and billion are numbers (`three` = `3`).
What is left is a sequence of tokens: words (any script), numbers, command names and operator symbols.
Operators stay (`x+1` and `x-1` are different problems) and so do numbers: `numbers()` is the multiset of a
problem's numbers, which dedup and decontamination compare on top of text overlap, so that two problems that
differ only in their numbers are never taken for one another.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

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
                           "≠": "neq", "’": "'", "‘": "'", "°": "^\\circ"})
_DIAGRAMS = re.compile(r"\[asy\].*?(?:\[/asy\]|$)", re.S | re.I)  # Asymptote code draws, it does not state
_DELIMITERS = re.compile(r"\\[()\[\]]")  # \( \) \[ \] delimit math like $
_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|,)(?:\\[,!;: ])?(?=\d{3}(?!\d))")  # 1,600 1{,}600 1,\!600
_TOKEN = re.compile(r"\\([^\W\d_]+)|(\d+(?:\.\d+)?)|([^\W\d_]+)|([-+*/=<>^_()\[\]|!%'])")


def _number(text: str) -> str:
    """`007` → `7`, `2.50` → `2.5`, `3.0` → `3`: one spelling per value."""
    whole, _, frac = text.partition(".")
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def tokens(text: str) -> tuple[str, ...]:
    """The normalised tokens of a problem text (see the module docstring)."""
    text = unicodedata.normalize("NFKC", _DIAGRAMS.sub(" ", text)).translate(_CHAR_MAP).lower()
    text = _THOUSANDS.sub("", _DELIMITERS.sub(" ", text))
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
