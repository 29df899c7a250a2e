"""Answer extraction: reasoning stripped, last complete box, answer phrases, last number, choice letters."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thinktrim.answers import as_number, last_boxed, normalize_answer, split_reasoning, strip_reasoning
from thinktrim.evaluate.extract import (
    Extraction,
    ExtractionPolicy,
    choice_letter,
    ends_mid_expression,
    extract_answer,
    find_answer,
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
        # an answer phrase returns math, or a short answer in words (test_extract_plain.py), never a verdict
        ("The answer is an ellipse.", "expression", "ellipse"),
        ("The answer is $\\text{ellipse}$.", "expression", "ellipse"),
        ("So the answer is correct. The greater integer is indeed 18.", "number", "18"),
        ("The answer is 18. Checking: yes, the answer is correct.", "number", "18"),
        ("The answer is x.", "expression", "x"),
    ],
)
def test_extract_answer_math(text, kind, expected):
    assert extract_answer(text, kind) == expected


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("so $\\boxed{4}$.", "number", Extraction("4", "boxed")),
        ("Final answer: $x=5$", "expression", Extraction("x=5", "phrase")),
        ("We get 12 apples.", "number", Extraction("12", "last_number")),
        ("Nothing here.", "number", Extraction(None, None)),
        # the write-up after the thinking was cut off: the thinking's last box is the answer
        ("<think>\nSo it is \\boxed{7}.\n</think>\n\nThe final answer is", "number", Extraction("7", "thinking")),
        ("So it is \\boxed{7}.\n</think>\n\n**Step 1.** We have $a = 2", "number", Extraction("7", "thinking")),
        # a box after the thinking wins over one inside it; a thinking that never closed gives nothing
        ("<think>\\boxed{7}</think> So \\boxed{8}", "number", Extraction("8", "boxed")),
        ("<think>\nmaybe \\boxed{7}, but let me check 3 +", "number", Extraction(None, None)),
        # cut off in the middle of an equation: its last number is a partial result, not an answer
        ("We have $x = \\frac{1}{2} + \\frac{1}{3}$ and so $y = 1/2 +", "expression", Extraction(None, None)),
        ("Then 2x = 1, so x = 1/2 and y =", "expression", Extraction(None, None)),
        ("so the total is \\(3 + 4", "number", Extraction(None, None)),
        ("Answer: C", "choice", Extraction("C", "phrase")),
        ("\\boxed{\\text{(B)}}", "choice", Extraction("B", "boxed")),
        ("Options (A) and (B) fail; so (C)", "choice", Extraction("C", "last_number")),
        ("The largest valid population is therefore:\n\n**B) All fourth-grade students at the school**", "choice",
         Extraction("B", "phrase")),
        ("<think>so \\boxed{D}</think>\n\nLet me write", "choice", Extraction("D", "thinking")),
    ],
)
def test_find_answer_names_its_source(text, kind, expected):
    assert find_answer(text, kind) == expected


def test_extraction_policy_switches_the_fallbacks_harnesses_differ_on():
    cut = "<think>\nSo \\boxed{7}.\n</think>\n\nThe answer is"
    assert find_answer(cut, "number", policy=ExtractionPolicy(answer_from_thinking=False)) == (None, None)
    plain = "In total 1,600 dollars"
    assert find_answer(plain, "number", policy=ExtractionPolicy(fallback_last_number=False)) == (None, None)
    assert find_answer("Options (A) and (B) fail; so (C)", "choice",
                       policy=ExtractionPolicy(fallback_last_number=False)) == (None, None)


def test_a_response_known_to_be_truncated_counts_only_with_a_box():
    assert find_answer("The answer is 5. Let me check: 5 + 1 = 6, so", "number", truncated=True) == (None, None)
    assert find_answer("So \\boxed{5}. Let me check 4 +", "number", truncated=True) == ("5", "boxed")
    assert find_answer("<think>so \\boxed{5}</think> The", "number", truncated=True) == ("5", "thinking")
    assert find_answer("Answer: C. Now let me", "choice", truncated=True) == (None, None)


@pytest.mark.parametrize(
    ("text", "cut"),
    [("x = 1/2 +", True), ("so $a = 3", True), ("\\frac{1}{", True), ("a \\cdot", True), ("values (1, 2,", True),
     ("x = 1/2.", False), ("#### 18", False), ("A: 18", False), ("costs \\$5 and \\$6", False), ("$x+1$", False),
     ("", False)],
)
def test_ends_mid_expression(text, cut):
    assert ends_mid_expression(text) is cut


def test_split_reasoning_keeps_the_closed_thinking():
    assert split_reasoning("<think>a \\boxed{1}</think> b") == ("b", "a \\boxed{1}")
    assert split_reasoning("a\n</think>\nb") == ("b", "a\n")
    assert split_reasoning("<think>cut off") == ("", None)
    assert split_reasoning("no tags") == ("no tags", None)


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
