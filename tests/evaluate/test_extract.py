"""Answer extraction: reasoning stripped, last complete box, answer phrases, last number, choice letters."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thinktrim.evaluate.extract import (
    as_number,
    choice_letter,
    extract_answer,
    last_boxed,
    normalize_answer,
    strip_reasoning,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>\nx = 3?\n</think>\n\nThe answer is 4.", "The answer is 4."),
        ("QwQ style thinking, 3 maybe\n</think>\n\nSo \\boxed{4}.", "So \\boxed{4}."),
        ("<think>\nstill thinking, 3 is likely but", ""),
        ("<think>a</think> one <think>b</think> two", "one  two"),
        ("<|begin_of_thought|>3<|end_of_thought|>\n<|begin_of_solution|>4<|end_of_solution|>", "4"),
        ("No reasoning tags at all: 5", "No reasoning tags at all: 5"),
    ],
)
def test_strip_reasoning(text, expected):
    assert strip_reasoning(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
        ("\\boxed{1} then \\boxed{2}", "2"),
        ("the set $\\boxed{\\{1, 2\\}}$", "\\{1, 2\\}"),
        ("\\fbox{7}", "7"),
        ("\\boxed 5 is it", "5"),
        ("\\boxed{3} and then a cut-off \\boxed{4", "3"),
        ("put it within \\boxed{} ... \\boxed{ 8 }", "8"),
        ("\\boxed{12} and an empty \\boxed{}", "12"),
        ("\\boxedx{3}", None),
        ("no box here", None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


@given(st.text(alphabet=st.characters(blacklist_characters="{}\\", blacklist_categories=("Cs",)), min_size=1))
def test_last_boxed_returns_any_brace_free_content(content):
    if content.strip():
        assert last_boxed(f"Reasoning. \\boxed{{1}} Final: \\boxed{{{content}}}") == content.strip()


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("<think>\n\\boxed{5}\n</think>\n\nThe answer is $\\boxed{\\dfrac{1}{2}}$.", "expression", "\\dfrac{1}{2}"),
        ("reasoning </think> Final answer: $\\frac{3}{4}$.", "expression", "\\frac{3}{4}"),
        ("<think> the answer is 42 but I am not done", "number", None),
        ("We get 12 apples and 1,600 dollars.", "number", "1,600"),
        ("The answer is 27 miles.", "number", "27"),
        ("The answer is $18 dollars.", "number", "18"),
        ("\\boxed{18 \\text{ dollars}}", "number", "18"),
        ("The answer is 3.5. Then we stop.", "number", "3.5"),
        ("**Final Answer**\n\n$$\n(3,4]\n$$", "expression", "(3,4]"),
        ("The final answer is:\n\n$x=5$", "expression", "x=5"),
        ("Final Answer: The final answer is $25$. I hope it is correct.", "number", "25"),
        ("The answer is \\(\\frac{1}{2}\\).", "expression", "\\frac{1}{2}"),
        ("Answer: \\[ (2,\\infty) \\]", "expression", "(2,\\infty)"),
        ("Final answer: $\\$18$", "number", "\\$18"),
        ("To answer this, note 3 + 4 = 7, so 7", "number", "7"),
        ("Nothing numeric here.", "expression", None),
        ("Halve it: 3/4 of the cake.", "number", "3/4"),
        ("It is -.5 in the end", "number", "-.5"),
        ("Maybe the answer is the number of ways to pick the pairs, which we count next. So 12", "number", "12"),
        ("The answer is an ellipse.", "expression", "an ellipse"),
    ],
)
def test_extract_answer_math(text, kind, expected):
    assert extract_answer(text, kind) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Answer: C", "C"),
        ("The answer is (B).", "B"),
        ("\\boxed{\\text{(D)}}", "D"),
        ("\\boxed{C. 10^-4 eV}", "C"),
        ("I think **A** is correct", "A"),
        ("C", "C"),
        ("Options (A) and (B) are wrong, so (C)", "C"),
        ("The correct option is D, clearly.", "D"),
        ("the answer is a prime number", None),
        ("\\boxed{a}", "A"),
        ("<think>Answer: A</think>\n\nAnswer: B", "B"),
        ("No letter anywhere.", None),
    ],
)
def test_extract_answer_choice(text, expected):
    assert extract_answer(text, "choice") == expected


def test_choice_letter_range_is_configurable():
    assert extract_answer("Answer: E", "choice") is None
    assert extract_answer("Answer: E", "choice", letters="ABCDE") == "E"
    assert choice_letter("(E)", letters="ABCDE") == "E"
    assert choice_letter("Option B") == "B"
    assert choice_letter("Boron") is None


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="kind='letter'"):
        extract_answer("x", "letter")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "value"),
    [("1,600", 1600), ("27.0", 27), ("\\$18", 18), ("10,\\!080", 10080), ("-.5", -0.5), ("070", 70)],
)
def test_as_number(text, value):
    assert as_number(text) == value


@pytest.mark.parametrize("text", ["1,2", "\\frac{1}{2}", "2^{10}", "12a", "1,60"])
def test_as_number_rejects_non_plain_numbers(text):
    assert as_number(text) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("\\dfrac{1}{2}", "\\frac{1}{2}"),
        ("\\text{Evelyn}", "evelyn"),
        ("90^\\circ", "90"),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"),
        ("1,600", "1600.00"),
    ],
)
def test_normalize_answer_merges_spellings(a, b):
    assert normalize_answer(a) == normalize_answer(b)


def test_normalize_answer_keeps_values_apart():
    assert normalize_answer("(3,4]") != normalize_answer("(3,4)")
    assert normalize_answer("X") != normalize_answer("x^2")
