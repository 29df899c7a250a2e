"""The chain quality score on a hand-checked trio, counted by hand."""

from pathlib import Path

import pytest

from thinktrim.curate.quality import Rubric, count_words, load_quality_fn, quality_score

# Hand counts (words are runs of letters or digits):
# A: 39 words; verification: check, verify (2); exploration: Perhaps, might, Alternatively, maybe (4);
#    granularity: Since, Therefore, Thus (3).
A = ("Since x is even, x plus 1 is odd. Therefore the sum is odd. Let me check: 4 plus 1 is 5, which is odd. "
     "Perhaps we might also verify with 6. Alternatively, maybe try 8. Thus it holds.")
# B: 19 words; granularity: Therefore, because (2); nothing else ("so" is not a keyword).
B = "x is even so x plus 1 is odd. Therefore the sum is odd because adding 1 flips parity."
# C: 4 words, no keyword.
C = "The sum is odd."


def test_the_trio_ranks_as_expected_with_hand_counted_parts() -> None:
    a, b, c = (quality_score(t) for t in (A, B, C))
    assert a.total > b.total > c.total
    assert {k: v["count"] for k, v in a.parts.items()} == {"elaboration": 39, "verification": 2, "exploration": 4,
                                                           "granularity": 3}
    assert {k: v["count"] for k, v in b.parts.items()} == {"elaboration": 19, "verification": 0, "exploration": 0,
                                                           "granularity": 2}
    assert {k: v["count"] for k, v in c.parts.items()} == {"elaboration": 4, "verification": 0, "exploration": 0,
                                                           "granularity": 0}
    # default rubric: 8000 words for a full length score; every keyword part of A is saturated
    assert a.total == pytest.approx(0.30 * 39 / 8000 + 0.20 + 0.25 + 0.25)
    assert b.total == pytest.approx(0.30 * 19 / 8000 + 0.25)
    assert c.total == pytest.approx(0.30 * 4 / 8000)


def test_parts_below_saturation_follow_the_formula(tmp_path: Path) -> None:
    rubric_file = tmp_path / "rubric.yaml"
    rubric_file.write_text("elaboration: {weight: 0.3, full_words: 50}\n"
                           + "".join(f"{p}: {{weight: {w}, full_per_1000_words: 200, keywords: {k}}}\n"
                                     for p, w, k in [("verification", 0.2, "[check, verify]"),
                                                     ("exploration", 0.25, "[perhaps, might, alternatively, maybe]"),
                                                     ("granularity", 0.25, "[since, therefore, thus, because]")]),
                           encoding="utf-8")
    a = quality_score(A, Rubric.load(rubric_file))
    values = {k: v["value"] for k, v in a.parts.items()}
    assert values == pytest.approx({"elaboration": 39 / 50, "verification": 2000 / 39 / 200,
                                    "exploration": 4000 / 39 / 200, "granularity": 3000 / 39 / 200})
    assert a.total == pytest.approx(0.3 * 39 / 50 + 0.2 * 2000 / 39 / 200 + 0.25 * 4000 / 39 / 200
                                    + 0.25 * 3000 / 39 / 200)


def test_keywords_match_whole_words_and_phrases_once() -> None:
    text = "Checkpoint cheque. CHECK it; let's make\nsure. Let me check."
    score = quality_score(text)
    assert count_words(text) == 11  # Checkpoint cheque CHECK it let s make sure Let me check
    assert score.parts["verification"]["count"] == 3  # CHECK, "make sure" across a line break, check
    rubric = Rubric.from_mapping({"v": {"weight": 1, "full_per_1000_words": 1, "keywords": ["check", "let me check"]}},
                                 "inline")
    assert quality_score("Let me check. check", rubric).parts["v"]["count"] == 2  # the phrase once, not also "check"


def test_user_rubric_and_function_errors_name_the_source(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("verification: {weight: 0.2, keywords: [check]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.yaml: verification: full_per_1000_words must be a number > 0"):
        Rubric.load(bad)
    with pytest.raises(ValueError, match="expected module:function"):
        load_quality_fn("no_colon")
    with pytest.raises(ValueError, match="cannot load 'thinktrim:nope'"):
        load_quality_fn("thinktrim:nope")
