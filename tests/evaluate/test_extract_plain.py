"""Extraction on plain responses (no thinking tags) of reasoning models: three classes of flaw found on other
models' outputs (issue 21 §6), each as a table of our own examples, with the cases that must stay as they were.

- an answer stated in words after an answer phrase is the answer (number words are numbers); a verdict on an
  answer ("the answer is correct") or a hedge is not, and a number earlier in the text never beats it;
- a dollar amount in prose (`$350 for the rest`) is money, not an unclosed `$…$`: the response is finished;
- a response that stops inside an open `(` or `[` is cut off: no number of it is the answer.
"""

import pytest

from thinktrim.evaluate.extract import Extraction, ends_mid_expression, find_answer


@pytest.mark.parametrize(("text", "kind", "expected"), [
    # the answer in words, after numbers that used to win as the last number
    ("Turning 90 degrees twice from 3 starting points, so the final answer is north-west.", "expression",
     "north-west"),
    ("f(-x) = -f(x) for all x, so the answer is odd.", "expression", "odd"),
    ("Neither f(-x) = f(x) nor f(-x) = -f(x) holds at x = 2. Final answer: neither", "expression", "neither"),
    ("**Final Answer:** Evelyn, since her 4.5 miles in 1.25 hours is the fastest.", "expression", "Evelyn"),
    ("**Answer**: Yes, pull the lever: 5 lives are saved for 1.", "expression", "Yes"),
    ("The 3 suspects are cleared, so the answer is the butler.", "expression", "butler"),
    ("The answer is an ellipse.", "expression", "ellipse"),
    ("Both 2 and 3 fail, so the answer is: no solution.", "expression", "no solution"),
    ("The answer is $\\text{ellipse}$.", "expression", "ellipse"),  # marked up as before
    # number words are numbers, in any kind
    ("There are 6 ways for each of 2 colours, so the answer is twelve.", "number", "12"),
    ("After 3 days nothing is left: the answer is zero.", "number", "0"),
    ("So the final answer is forty-two", "number", "42"),
    ("Summing 100 and 5, the final answer is one hundred and five.", "number", "105"),
    ("Counting 1, 2, 3: the answer is Three.", "expression", "3"),
])
def test_an_answer_stated_in_words_is_the_answer(text: str, kind: str, expected: str) -> None:
    assert find_answer(text, kind) == Extraction(expected, "phrase")


@pytest.mark.parametrize(("text", "kind", "expected"), [
    # verdicts on an answer, hedges and sentences are no answer: what came before stays
    ("So the answer is correct. The greater integer is indeed 18.", "number", Extraction("18", "last_number")),
    ("The answer is 18. Checking: yes, the answer is correct.", "number", Extraction("18", "phrase")),
    ("The answer is 18. The answer is definitely right.", "number", Extraction("18", "phrase")),
    ("With 7 points the answer is not obvious yet.\nAdding 2 gives 9", "number", Extraction("9", "last_number")),
    ("So the answer is probably wrong.\nTry again: 4 + 5 = 9", "number", Extraction("9", "last_number")),
    ("Maybe the answer is the number of ways to pick the pairs, which we count next. So 12", "number",
     Extraction("12", "last_number")),
    ("The answer is the same as before.\nIt is 14", "number", Extraction("14", "last_number")),
    ("Final answer: as computed above.\n\nThat is 5", "number", Extraction("5", "last_number")),
    ("The answer is x.", "expression", Extraction("x", "phrase")),
    ("The answer is that the man simply rows across with the sheep.", "expression", Extraction(None, None)),
    ("\\boxed{7}. I think the answer is seven.", "number", Extraction("7", "boxed")),  # a box still wins
    # an answer stated in a sentence after the last number: that number is not the answer
    ("Staying wins 2/3 of the time.\n\n**Answer:** Stay with your original door.", "expression",
     Extraction(None, None)),
    ("Switching wins with 1/3.\n\n**Final Answer:** You should keep the computer you picked.", "number",
     Extraction(None, None)),
    ("After 3 steps x = 5.\n\n**Final Answer:** The value of x is five here.", "number",
     Extraction("5", "last_number")),  # the sentence states a number: the numbers stay
])
def test_verdicts_hedges_and_sentences_are_not_word_answers(text: str, kind: str, expected: Extraction) -> None:
    assert find_answer(text, kind) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Rent is 650 of the 1,000. That leaves $350 for the rest.", "350"),
    ("He had $40, spent 15 and kept the remaining 25", "25"),
    ("Tickets cost $7.50 each; 4 of them cost 30", "30"),
    ("A $5 bill and three quarters make 5.75", "5.75"),
    ("At $20/hour for 8 hours she earns 160", "160"),
    ("The house is worth $1.5 million, that is 1500000", "1500000"),
    ("Each pays ($12) and the change is 3", "3"),
    ("They split $90 three ways: 30", "30"),
    ("Eggs are $2 each. She makes $224 a day at the market", "224"),
    ("She sells 9 eggs at $2 per egg, so 2 * 9 = $<<2*9=18>>18 per day\nA: 18", "18"),  # GSM8K calculator notes
    ("His profit was 975-130,000 = $<<975-130000=-129025>>-129025\nA: -129025", "-129025"),
])
def test_a_dollar_amount_in_prose_is_money_not_math(text: str, expected: str) -> None:
    assert find_answer(text, "number") == Extraction(expected, "last_number")


@pytest.mark.parametrize(("text", "kind"), [
    ("We get x = 2(3/4", "number"),
    ("so the area is \\pi(r^2 + 4", "expression"),
    ("The roots are [1, 2", "expression"),
    ("Then the total is f(3, 4", "number"),
    ("Compute 5 * (2 + (3 * 4) - 1", "number"),
    ("The final answer is 2(3/4", "expression"),  # an answer phrase followed by a cut-off expression
    ("Final answer: [0, 1", "expression"),
])
def test_a_response_cut_off_inside_a_bracket_has_no_answer(text: str, kind: str) -> None:
    assert find_answer(text, kind) == Extraction(None, None)


@pytest.mark.parametrize(("text", "cut"), [
    # money in prose: finished
    ("That leaves $350 for the rest.", False), ("He had $40, so 25 remain", False), ("costs $5 and $6", False),
    ("$x$ costs $5.", False), ("Pay $5 + $3 = $8 in all", False), ("side $3 cm$ long", False),
    ("That leaves $350 for the rest, so", False),
    # math that opens with a number, or display math: cut off
    ("so $3 + 4", True), ("so $a = 3", True), ("That leaves $350 for the rest, so $x = 35", True),
    ("$$\nx = 2", True), ("$$x = 2$$ and $$y", True), ("$$x = 2$$", False),
    # brackets: an open ( or [ on the last line is a cut; intervals and list markers are not
    ("= 2(3/4", True), ("values [1, 2", True), ("x \\in \\left(0, 5", True), ("(a) first, (b) 2(3", True),
    ("x in (3, 4]", False), ("[0, 1) is the interval", False), ("1) first 2) second: 5", False),
    ("(see above) so 7", False), ("Note (this is long\nSo the answer: 7", False),
])
def test_ends_mid_expression_money_display_math_and_brackets(text: str, cut: bool) -> None:
    assert ends_mid_expression(text) is cut
