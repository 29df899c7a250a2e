"""Find the final answer in a model response: pure string functions, no sympy, safe to call anywhere.

Conventions (docs/methods.md §4), in order, each answer tagged with where it came from (`AnswerSource`):
  boxed        the last brace-matched `\\boxed{}` after the thinking;
  phrase       else an "the answer is …" / "final answer: …" phrase there, if what follows is complete math
               or a short answer in words ("north-west"; "twelve" is 12), not a verdict ("… is correct");
  thinking     else the last box of a closed thinking block (its write-up was cut off or states nothing);
  last_number  else the last number after the thinking, if the response looks finished (`ends_mid_expression`)
               and states no answer in words after that number.
A number written while thinking never counts. A response known to be cut off (finish reason "length")
counts only with a box. Multiple choice looks for a letter in the box, after "Answer:", in bold, as "(C)",
or opening the last line. Harnesses differ on the last two sources, so `ExtractionPolicy` switches them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, get_args

from thinktrim.answers import AnswerKind, check_kind, clean_answer, last_boxed, split_reasoning

AnswerSource = Literal["boxed", "phrase", "thinking", "last_number"]
ANSWER_SOURCES: tuple[str, ...] = get_args(AnswerSource)
DEFAULT_LETTERS = "ABCD"


@dataclass(frozen=True)
class ExtractionPolicy:
    """The fallbacks harnesses disagree on; both on by default, as most math harnesses do."""

    fallback_last_number: bool = field(default=True, metadata={
        "help": "With no box or answer phrase, take the last number of a finished response (one that did not "
                "hit the token limit and does not end mid-expression)."})
    answer_from_thinking: bool = field(default=True, metadata={
        "help": "With no answer after the thinking, take the last box of the closed thinking block (a write-up "
                "that was cut off or states nothing)."})


class Extraction(NamedTuple):
    """A final answer and where it came from; both None when nothing was found."""

    answer: str | None
    source: AnswerSource | None


# "The answer is 5", "Final answer: 5", "**Final Answer**\n\n$5$", "Answer: 5" ("answer" alone needs is/:/=)
_PHRASE = re.compile(
    r"final\s+answer(?:\s*\*\*)?[ \t]*(?:is\s*:?|:|=|(?=\n))(?:\s*\*\*)?"
    r"|(?:the\s+answer|\banswer)(?:\s*\*\*)?\s*(?:is\s*:?|:|=)(?:\s*\*\*)?",
    re.I,
)
_MATH_BLOCK = re.compile(r"\$\$(.*?)\$\$|\\\[(.*?)\\\]|\\\((.*?)\\\)|\$((?:\\.|[^\\$\n])*?)\$", re.S)
_NUMBER = re.compile(r"-?\d+/\d+(?![\d/])|-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|-?\d*\.?\d+")


def _answer_after(region: str) -> tuple[str, bool]:
    """The answer that follows a phrase, and whether it was marked up as math: a math block or a box, else
    the rest of the sentence (or of the next line)."""
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
    return clean_answer(inner if inner is not None else tail), bool(m) or inner is not None


def _is_prose(candidate: str) -> bool:
    """ "the answer is the number of intersections in one period, …" names no answer: more than four plain
    words (LaTeX commands and \\text{} contents aside) is a sentence, not a final answer."""
    bare = re.sub(r"\\[a-zA-Z]+(?:\{[^{}]*\})?", " ", candidate)
    return len(re.findall(r"(?<![A-Za-z])[A-Za-z]{2,}(?![A-Za-z])", bare)) > 4


# A digit, a LaTeX command, an operator or bracket, or a minus that is not a hyphen inside a word.
_MATH_MARK = re.compile(r"\d|\\[a-zA-Z]|[=+*/^_<>()\[\]{}|√π∞≤≥×÷±]|(?<![A-Za-z])-|-(?![A-Za-z])")


def _is_mathematical(candidate: str) -> bool:
    """What an answer phrase may return as math: math, or one letter (an option or a variable). Words are
    answers only as `_word_answer` takes them: "the answer is correct" is a verdict, not an answer."""
    return bool(_MATH_MARK.search(candidate)) or bool(re.fullmatch(r"[A-Za-z]", candidate))


# First words of what follows "the answer is" that make it a verdict on an answer ("correct", "the same"), a
# hedge ("probably …", "not …") or the start of a sentence ("that …", "in the form …"), never an answer.
_NOT_WORD_ANSWERS = frozenset({
    "correct", "incorrect", "right", "wrong", "valid", "invalid", "consistent", "inconsistent", "confirmed",
    "verified", "plausible", "reasonable", "acceptable", "fine", "ok", "okay", "good", "sound", "same", "different",
    "unique", "indeed", "not", "probably", "likely", "definitely", "certainly", "clearly", "obviously", "surely",
    "still", "also", "therefore", "thus", "hence", "then", "so", "as", "below", "above", "following", "this", "that",
    "these", "those", "here", "there", "simply", "just", "actually", "in", "at", "on", "of", "for", "to", "by",
    "with", "from", "into", "given", "determined", "found", "obtained", "computed", "calculated", "straightforward",
    "clear", "obvious", "boxed", "shown", "stated", "written", "expressed", "either", "what", "which", "how",
    "where", "when", "why", "because", "since", "it", "its", "we", "i", "you", "they", "he", "she", "my", "our",
    "your", "their", "more", "less", "much", "very", "unclear", "undetermined", "missing", "wait", "hmm",
    "answer", "answers", "final", "solution", "explanation", "reasoning", "conclusion", "step", "steps",
})  # fmt: skip
_PRONOUNS = frozenset({"it", "its", "we", "i", "you", "they", "he", "she", "my", "our", "your", "their"})
_WORD = r"[^\W\d_]+(?:['’-][^\W\d_]+)*"
_WORD_ANSWER = re.compile(rf"{_WORD}(?:\s+{_WORD}){{0,2}}")  # up to three words: "no real solutions"
_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORDS = {**{w: i for i, w in enumerate(_UNITS)}, **{w: 10 * i for i, w in enumerate(_TENS, 2)}}


def _number_in_words(words: str) -> str | None:
    """ "twelve" → "12", "forty-two" → "42", "one hundred and five" → "105"; None unless all are number words."""
    total = current = 0
    parts = [w for w in re.split(r"[\s-]+", words.lower()) if w and w != "and"]
    for w in parts:
        if w in _NUMBER_WORDS:
            current += _NUMBER_WORDS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        elif w in ("thousand", "million"):
            total, current = total + (current or 1) * (1000 if w == "thousand" else 10**6), 0
        else:
            return None
    return str(total + current) if parts else None


def _word_answer(candidate: str) -> str | None:
    """An answer in words after an answer phrase: up to three words up to a comma, colon or dash, an article
    dropped ("north-west", "odd", "Evelyn", "the butler", "no solution"; number words as the number). None for
    a verdict, a hedge, a heading ("**Answer:**") or a sentence (`_NOT_WORD_ANSWERS` opens it, or it is
    longer)."""
    words = re.split(r"[,;:]|\s[-–—]\s", candidate, maxsplit=1)[0].strip(" *\"'“”")
    words = re.sub(r"^(?:a|an|the)\s+", "", words, flags=re.I)
    number = _number_in_words(words)
    if number is not None:
        return number
    if not _WORD_ANSWER.fullmatch(words) or words.split()[0].lower() in _NOT_WORD_ANSWERS:
        return None
    return words


def _answered_in_words(text: str) -> bool:
    """An answer phrase after the last number states its answer in words, a sentence `_word_answer` does not take
    ("**Answer:** Stay with your original door."): the response answered, so no earlier number is its answer.
    A verdict or a hedge ("the answer is correct") states nothing; a number in words keeps the numbers."""
    last = max((m.end() for m in _NUMBER.finditer(text)), default=-1)
    for m in _PHRASE.finditer(text, last + 1):
        stated = _answer_after(text[m.end() : m.end() + 2000])[0].strip(" *\"'“”")
        words = re.sub(r"^(?:a|an|the)\s+", "", stated, flags=re.I).split()
        opens_a_statement = bool(words) and words[0].lower() not in _NOT_WORD_ANSWERS - _PRONOUNS
        numberless = not _MATH_MARK.search(stated) and not any(w.lower().strip(".,;:!?") in _NUMBER_WORDS
                                                               for w in words)
        if opens_a_statement and numberless:
            return True
    return False


def _phrase_answer(text: str) -> str | None:
    """The answer after the last answer phrase that is followed by one: math that does not stop mid-expression
    ("The final answer is 2(3/4" was cut off), or an answer in words (`_word_answer`)."""
    found = None
    for m in _PHRASE.finditer(text):
        candidate, marked_up = _answer_after(text[m.end() : m.end() + 2000])
        if not candidate:
            continue
        if not _is_prose(candidate) and (marked_up or _is_mathematical(candidate)):
            if not ends_mid_expression(candidate):
                found = candidate
        elif (words := _word_answer(candidate)) is not None:
            found = words
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


# An operator, an opening bracket or a comma at the very end: the text stops in the middle of an expression.
_OPEN_END = re.compile(
    r"(?:[=+\-*/^_(\[{,<>]|\\(?:cdot|times|div|pm|frac|dfrac|tfrac|sqrt|left|leq?|geq?|neq|approx))\s*$"
)


# A dollar sign that may be money: an amount followed by a word, punctuation, `/unit`, or the end of a line.
_MONEY = re.compile(
    r"\$-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
    r"(?=[ \t]+[^\W\d_]|[.,;:!?)\]](?:\s|$)|[/-][^\W\d_]|[ \t]*(?:\n|$))"
)
_CALCULATOR = re.compile(r"<<[^<>\n]*>>")  # GSM8K's calculator notes: "$<<2*9=18>>18" is "$18"


def _inside_dollars(s: str) -> bool:
    """Whether `s` (escapes blanked) ends inside `$…$` or `$$…$$`. A dollar amount in prose ("That leaves $350
    for the rest.") is money, not an opening delimiter; it may still open math when the next `$` of its line
    follows after at most one word (`$3 cm$`). Cut off only if no reading of the money signs closes every span."""
    if s.count("$$") % 2:
        return True
    s = s.replace("$$", "  ")
    dollars = [m.start() for m in re.finditer(r"\$", s)]
    states = {False}  # inside math or not, over the readings still possible
    for k, i in enumerate(dollars):
        money = _MONEY.match(s, i) is not None
        nxt = dollars[k + 1] if k + 1 < len(dollars) else -1
        short = nxt > 0 and "\n" not in s[i:nxt] and len(re.findall(r"[^\W\d_]{2,}", s[i:nxt])) <= 1
        after: set[bool] = set()
        for inside in states:
            if inside:
                after.add(False)  # a `$` inside math closes it
            else:
                after |= ({False, True} if short else {False}) if money else {True}
        states = after
    return False not in states


def _open_bracket(line: str) -> bool:
    """Whether a line (escapes blanked) leaves a `(` or `[` open; the two close each other, since intervals mix
    them (`(3, 4]`), and a closing one with nothing open (a list marker `1)`) is skipped."""
    depth = 0
    for ch in line:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
    return depth > 0


def ends_mid_expression(text: str) -> bool:
    """True for a response cut off inside math: an operator or opening bracket at the end, an unclosed
    `$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]` or `{…}`, or a `(` or `[` its last line leaves open (`= 2(3/4`). Its last
    number is a partial result, not an answer. A dollar amount in prose is money, not math (`_inside_dollars`)."""
    s = _CALCULATOR.sub("", text).rstrip()
    if not s:
        return False
    unescaped = re.sub(r"\\(?:[^\W\d_]+|.)", " ", s)  # `\$`, `\{`, `\(` and commands are not delimiters
    return bool(
        _OPEN_END.search(s)
        or _inside_dollars(unescaped)
        or s.count("\\[") > s.count("\\]")
        or s.count("\\(") > s.count("\\)")
        or unescaped.count("{") > unescaped.count("}")
        or _open_bracket(unescaped.rsplit("\n", 1)[-1])
    )


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


def _choice_answer(final: str, thinking: str | None, letters: str, policy: ExtractionPolicy,
                   truncated: bool) -> Extraction:
    box = last_boxed(final)
    if box is not None and (letter := choice_letter(box, letters)):
        return Extraction(letter, "boxed")
    cls = f"[{re.escape(letters)}]"
    stated = (  # patterns that state the choice
        rf"answer\s*(?:\*\*)?\s*(?:is|:)?\s*(?:\*\*)?\s*(?:option\s*|choice\s*)?[(\[*\s]*({cls})\b(?![-'])",
        rf"(?:correct|best)\s+(?:option|choice|answer)\s+is\s*[(\[*\s]*({cls})\b",
        rf"\*\*\s*\(?({cls})\)?[.):]?\s*\*\*",
        rf"^\W*\(?({cls})\)?\W*$",
    )
    last_line = final.rstrip().rsplit("\n", 1)[-1]
    for pattern, text, source in (*((p, final, "phrase") for p in stated),
                                  (rf"^\W*\(?({cls})[).:](?:\s|\*|$)", last_line, "phrase"),  # "**B) All …**"
                                  (rf"\(({cls})\)", final, "last_number")):  # the last "(C)" mentioned
        if truncated or (source == "last_number" and not policy.fallback_last_number):
            break
        hits = re.findall(pattern, text, flags=re.I if pattern.startswith("answer") else re.M)
        hits = [h.upper() for h in hits if h in letters]  # lowercase letters are words ("a"), not options
        if hits:
            return Extraction(hits[-1], source)  # type: ignore[arg-type]
    if policy.answer_from_thinking and thinking is not None:
        box = last_boxed(thinking)
        if box is not None and (letter := choice_letter(box, letters)):
            return Extraction(letter, "thinking")
    return Extraction(None, None)


def find_answer(
    text: str,
    kind: AnswerKind,
    letters: str = DEFAULT_LETTERS,
    policy: ExtractionPolicy = ExtractionPolicy(),
    truncated: bool = False,
) -> Extraction:
    """The final answer of a response and its source (see the module docstring for the order).

    `truncated`: the response is known to have hit the token limit; then only a box counts (after the
    thinking, or in a closed thinking block when the policy allows), since a phrase or a number of an
    unfinished text may be half a derivation.
    """
    check_kind(kind)
    final, thinking = split_reasoning(text)
    if kind == "choice":
        return _choice_answer(final, thinking, letters, policy, truncated)
    found: tuple[str | None, AnswerSource] = (clean_answer(last_boxed(final) or ""), "boxed")
    if not found[0] and not truncated:
        found = (_phrase_answer(final), "phrase")
    if not found[0] and policy.answer_from_thinking and thinking is not None:
        found = (clean_answer(last_boxed(thinking) or ""), "thinking")
    if found[0]:
        return Extraction(_drop_unit(found[0]) if kind == "number" else found[0], found[1])
    finished = not truncated and not ends_mid_expression(final)
    if policy.fallback_last_number and finished and not _answered_in_words(final):
        number = _last_number(final)
        if number is not None:
            return Extraction(number, "last_number")
    return Extraction(None, None)


def extract_answer(text: str, kind: AnswerKind, letters: str = DEFAULT_LETTERS,
                   policy: ExtractionPolicy = ExtractionPolicy(), truncated: bool = False) -> str | None:
    """The final answer of a response (reasoning already stripped, or not: tags are handled), or None."""
    return find_answer(text, kind, letters, policy, truncated).answer


