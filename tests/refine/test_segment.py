import json
from itertools import pairwise
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from thinktrim.refine.classify import MarkerLexicon
from thinktrim.refine.segment import SegmentConfig, segment

SAMPLE = Path(__file__).parents[2] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"
LEXICON = MarkerLexicon.load()

_words = st.sampled_from(
    ["Wait,", "wait", "Alternatively", "Let me check", "x = 3.", "So", "the", "answer", "is", "\\[a\n\nb\\]",
     "$$x$$", "1.5", "e.g.", "!", "?", ".", "\n", "\n\n", " ", "  ", "**Final Answer**", "Hmm,", "é", "\t", "But",
     "correct.", "Therefore", "Now", "That's wrong.", "Hold on,", "2 * 3 = 6"]
)
texts = st.lists(_words, max_size=80).map(" ".join) | st.text(max_size=400)


@settings(max_examples=400, deadline=None)
@given(texts, st.integers(1, 6), st.integers(0, 6), st.booleans(), st.booleans())
def test_segmentation_is_lossless(text: str, target: int, extra: int, evidence: bool, progress: bool) -> None:
    config = SegmentConfig(target_sentences=target, max_sentences=target + extra, split_on_evidence=evidence,
                           end_at_progress=progress)
    steps = segment(text, config, LEXICON.split_regex(), LEXICON.evidence_regex(), LEXICON.progress_regex())
    assert "".join(text[s.start : s.end] for s in steps) == text
    assert all(s.end > s.start for s in steps)
    assert all(a.end == b.start for a, b in pairwise(steps))
    # the white space between steps opens the later step: no step ends in white space, so leaving steps
    # out never leaves white space at the edges of a stripped thinking
    stripped = len(text.rstrip())
    assert all(not text[s.end - 1].isspace() for s in steps if s.end <= stripped)
    assert all(not text[s.start : s.end].isspace() for s in steps[1:])


def test_real_chain_steps_have_a_few_sentences_and_markers_open_steps() -> None:
    rec = json.loads(SAMPLE.read_text().split("\n")[0])
    thinking = rec["response"].split("</think>")[0]
    steps = segment(thinking, SegmentConfig(), LEXICON.split_regex())
    assert "".join(s.text(thinking) for s in steps) == thinking
    assert 5 < len(steps) < len(thinking) / 60
    rx = LEXICON.split_regex()
    # every "Wait"/"Alternatively" sentence after a blank line opens a step (the blank line included)
    for i in range(1, len(thinking)):
        if thinking[i - 2 : i] == "\n\n" and rx.match(thinking[i:]):
            gap = len(thinking[:i]) - len(thinking[:i].rstrip())
            assert any(s.start == i - gap for s in steps), thinking[i : i + 40]


def test_display_math_is_never_split() -> None:
    text = "We compute.\n\n\\[\nx = 1.\n\ny = 2.\n\\]\n\nWait, check. Done."
    steps = segment(text, SegmentConfig(target_sentences=1, max_sentences=1), LEXICON.split_regex())
    for s in steps:
        chunk = s.text(text)
        assert chunk.count("\\[") == chunk.count("\\]")


def test_config_is_validated() -> None:
    import pytest

    with pytest.raises(ValueError, match="max_sentences"):
        SegmentConfig(target_sentences=4, max_sentences=2)


def _split(text: str, **settings) -> list[str]:
    steps = segment(text, SegmentConfig(**settings), LEXICON.split_regex(), LEXICON.evidence_regex(),
                    LEXICON.progress_regex())
    return [s.text(text) for s in steps]


def test_a_check_ends_where_progress_resumes() -> None:
    text = ("We need 24 * 18. That is 432. Let me check: 432 / 24 = 18. Yes, that matches. "
            "So the height is 18. Now the area is 24 * 2 = 48.")
    steps = _split(text)
    assert steps[1] == " Let me check: 432 / 24 = 18. Yes, that matches."  # the verdict stays with its check
    assert steps[2].startswith(" So the height is 18.")  # forward progress opens the next step
    assert _split(text, end_at_progress=False)[1].startswith(" Let me check") and len(_split(
        text, end_at_progress=False)) == 2


def test_a_verdict_opens_its_own_step_out_of_forward_reasoning() -> None:
    text = "Expand the square. We get x^2 + 2x + 1. That is consistent with the first line. Then x = 1."
    assert _split(text) == ["Expand the square. We get x^2 + 2x + 1.", " That is consistent with the first line.",
                            " Then x = 1."]
    assert len(_split(text, split_on_evidence=False)) == 1
