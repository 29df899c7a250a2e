"""Normalised problem tokens: what must compare equal, and what must not."""

import pytest

from thinktrim.curate.text import exact_key, ngrams, numbers, tokens


@pytest.mark.parametrize(("a", "b"), [
    ("Find $x^{2}+1$ if $x = 1{,}600$.", "find  \\(x^2 + 1\\) if x=1,600"),
    ("What is $\\dfrac{1}{2}\\left(3\\right)$?", "What is $\\frac12$ (3)?".replace("12", "{1}{2}")),
    ("The angle is $90^\\circ$.", "The angle is 90°."),
    ("Compute $3 \\cdot 4$, then $007$.", "COMPUTE 3 × 4, then 7."),
    ("A triangle.[asy]draw((0,0)--(1,1));[/asy] Find its area.", "A triangle. Find its area."),
    ("It costs $\\$2.50$ a day.", "It costs $2.5 a day."),
])
def test_equal_after_normalisation(a: str, b: str) -> None:
    assert exact_key(tokens(a)) == exact_key(tokens(b))


@pytest.mark.parametrize(("a", "b"), [
    ("Find $x+1$.", "Find $x-1$."),  # operators count
    ("A train goes 60 km in 2 hours.", "A train goes 60 km in 3 hours."),  # numbers count
    ("Compute 1, 2.", "Compute 12."),
])
def test_different_problems_stay_different(a: str, b: str) -> None:
    assert exact_key(tokens(a)) != exact_key(tokens(b))


def test_numbers_are_a_multiset_and_words_of_any_script_are_kept() -> None:
    assert numbers(tokens("Add 3 and 3.0 and 1,000 and 0.50")) == {"3": 2, "1000": 1, "0.5": 1}
    assert tokens("Ein Zug fährt 3 km.") == ("ein", "zug", "fährt", "3", "km")
    assert ngrams(("a", "b"), 5) == {("a", "b")} and len(ngrams(tuple("abcdef"), 5)) == 2
