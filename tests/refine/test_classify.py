import pytest

from thinktrim.data.trace import StepKind
from thinktrim.refine.annotate import annotate_steps
from thinktrim.refine.classify import MarkerLexicon, unit_spans

LEXICON = MarkerLexicon.load()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Wait, let me recompute 3 * 4.", StepKind.VERIFICATION),
        ("Hmm, but wait. Is 12 right?", StepKind.VERIFICATION),
        ("Let me check: 12 / 4 = 3, yes.", StepKind.VERIFICATION),
        ("Double-check the sum.", StepKind.VERIFICATION),
        ("Alternatively, use the quadratic formula.", StepKind.MULTI_METHOD),
        ("Another way to see it: symmetry.", StepKind.MULTI_METHOD),
        ("We can also verify this by substitution.", StepKind.MULTI_METHOD),
        ("Wait, no, that's wrong: 3 * 4 is 12.", StepKind.ERROR_CORRECTION),
        ("That's impossible because x > 0.", StepKind.ERROR_CORRECTION),
        ("I made a mistake in the sign.", StepKind.ERROR_CORRECTION),
        ("So x = 4 and y = 2.", StepKind.PROGRESSIVE),
        ("First, expand the square.", StepKind.PROGRESSIVE),
        ("Waiting for the tide is not a marker.", StepKind.PROGRESSIVE),
    ],
)
def test_marker_lexicon(text: str, kind: StepKind) -> None:
    hit = LEXICON.match(text)
    assert (hit[0] if hit else StepKind.PROGRESSIVE) is kind


def test_units_links_and_protection() -> None:
    thinking = (
        "Let x be the number. We need x + 2 = 5.\n\n"
        "So x = 3.\n\n"
        "Wait, let me check: 3 + 2 = 5. Yes.\n\n"
        "Wait, also 5 - 2 = 3. Fine.\n\n"
        "Alternatively, subtract 2 from both sides to get x = 3.\n\n"
        "Now the area is 3 * 3 = 9.\n\n"
        "Hmm, that's wrong, I meant the perimeter 12.\n\n"
        "Wait, double-check 4 * 3 = 12. Yes. The perimeter is 12. Good.\n\n"
        "So the final answer is 12.\n\n"
    )
    steps = annotate_steps(thinking, "The answer is \\boxed{12}.")
    texts = [s.text(thinking) for s in steps]
    kinds = [s.kind for s in steps]
    assert "".join(texts) == thinking
    assert steps[0].protected and steps[0].unit is None
    assert texts[0] == "Let x be the number. We need x + 2 = 5.\n\nSo x = 3.\n\n"  # 3 sentences, one step
    assert kinds[1] is kinds[2] is StepKind.VERIFICATION and steps[1].unit == steps[2].unit  # one unit
    assert kinds[3] is StepKind.MULTI_METHOD and steps[3].unit != steps[2].unit
    assert steps[1].link == steps[3].link == 0
    err = texts.index("Hmm, that's wrong, I meant the perimeter 12.\n\n")
    last_progressive = max(i for i in range(err) if kinds[i] is StepKind.PROGRESSIVE)
    assert kinds[err] is StepKind.ERROR_CORRECTION and steps[err].link == last_progressive
    assert steps[err].unit is not None
    check = texts.index("Wait, double-check 4 * 3 = 12. Yes. The perimeter is 12. Good.\n\n")
    assert kinds[check] is StepKind.VERIFICATION and not steps[check].protected and steps[check].unit is not None
    # the step stating the final answer (a "final answer" phrase, a \boxed, or the last mention of the boxed
    # value) is protected: never a unit, never pruned
    assert steps[-1].protected and steps[-1].unit is None
    steps = annotate_steps(thinking.replace("So the final answer is 12.", "Done: 12."), "\\boxed{12}")
    assert steps[-1].protected
    spans = unit_spans(steps)
    assert len(spans) == len({s.unit for s in steps if s.unit is not None})
    assert all(thinking[a:b].strip() for a, b in spans)


def test_user_lexicon_overrides_one_mode(tmp_path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text("verification:\n  opening: [hmm let me see]\n  anywhere: []\n")
    lex = MarkerLexicon.load(f)
    assert lex.match("Hmm let me see, 2+2=4.")[0] is StepKind.VERIFICATION
    assert lex.match("Wait, 2+2=4.") is None  # "wait" was only in the default verification list
    assert lex.match("Alternatively, count.")[0] is StepKind.MULTI_METHOD  # other modes keep defaults
    bad = tmp_path / "bad.yaml"
    bad.write_text("progress:\n  opening: [x]\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: unknown mode 'progress'"):
        MarkerLexicon.load(bad)
