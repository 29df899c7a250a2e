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
        "So the final answer is 12.\n\n"
        "Wait, double-check 4 * 3 = 12.\n\n"
    )
    steps = annotate_steps(thinking, "The answer is \\boxed{12}.")
    texts = [s.text(thinking) for s in steps]
    kinds = [s.kind for s in steps]
    assert "".join(texts) == thinking
    assert steps[0].protected and steps[0].unit is None
    assert kinds[2] is kinds[3] is StepKind.VERIFICATION and steps[2].unit == steps[3].unit  # one unit
    assert kinds[4] is StepKind.MULTI_METHOD and steps[4].unit != steps[3].unit
    assert steps[2].link == steps[4].link == 1
    err = texts.index("Hmm, that's wrong, I meant the perimeter 12.\n\n")
    assert kinds[err] is StepKind.ERROR_CORRECTION and steps[err].link == err - 1
    # the step stating the final answer and the last "12" holder are protected, never units
    final = texts.index("Wait, double-check 4 * 3 = 12.\n\n")
    assert steps[final].protected and steps[final].unit is None
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
    with pytest.raises(ValueError, match="bad.yaml: unknown mode 'progress'"):
        MarkerLexicon.load(bad)
