import pytest

from thinktrim.data.trace import Step, StepKind, Trace
from thinktrim.refine.annotate import annotate_steps
from thinktrim.refine.answer_mentions import FinalValue, final_value, mention_spans
from thinktrim.refine.classify import (
    ClassifyConfig,
    MarkerLexicon,
    assign_units,
    classify_by_markers,
    link_to_progressive,
    unit_spans,
)

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
    hit = LEXICON.match(text, "marker")  # Table 4 reading; the default reading of weak openers is tested below
    assert (hit[0] if hit else StepKind.PROGRESSIVE) is kind


def test_units_links_and_protection() -> None:
    thinking = (
        "Let x be the number. We need x + 2 = 5.\n\n"
        "So x = 3.\n\n"
        "Wait, let me check: 3 + 2 = 5. Yes.\n\n"
        "Wait, also 5 - 2 = 3. Consistent.\n\n"
        "Alternatively, subtract 2 from both sides to get x = 3.\n\n"
        "Now the area is 3 * 3 = 9.\n\n"
        "Hmm, that's wrong, I meant the perimeter 4 * 3.\n\n"
        "Wait, double-check the final answer once more. Four times three. Yes. Good.\n\n"
        "So the perimeter is 12."
    )
    steps = annotate_steps(thinking, "12")
    texts = [s.text(thinking) for s in steps]
    kinds = [s.kind for s in steps]
    assert "".join(texts) == thinking
    assert steps[0].protected and steps[0].unit is None
    assert texts[0] == "Let x be the number. We need x + 2 = 5.\n\nSo x = 3."  # 3 sentences, one step
    assert texts[1].startswith("\n\nWait")  # the white space between two steps opens the later one
    assert kinds[1] is kinds[2] is StepKind.VERIFICATION and steps[1].unit == steps[2].unit  # one unit
    assert kinds[3] is StepKind.MULTI_METHOD and steps[3].unit != steps[2].unit
    assert steps[1].link == steps[3].link == 0
    err = texts.index("\n\nHmm, that's wrong, I meant the perimeter 4 * 3.")
    last_progressive = max(i for i in range(err) if kinds[i] is StepKind.PROGRESSIVE)
    assert kinds[err] is StepKind.ERROR_CORRECTION and steps[err].link == last_progressive
    assert steps[err].unit is not None
    # a verification that says "final answer" but does not state it is prunable (today's code protected it)
    check = texts.index("\n\nWait, double-check the final answer once more. Four times three. Yes. Good.")
    assert kinds[check] is StepKind.VERIFICATION and not steps[check].protected and steps[check].unit is not None
    # the step stating the final value is protected: never a unit, never pruned
    assert steps[-1].protected and steps[-1].unit is None
    spans = unit_spans(steps)
    assert len(spans) == len({s.unit for s in steps if s.unit is not None})
    assert all(thinking[a:b].strip() for a, b in spans)


def test_every_step_stating_the_answer_is_protected() -> None:
    """Every step that states the final value is protected (functional ones included), not only the one with
    its last occurrence; a step naming 12 does not state 2."""
    thinking = (
        "We need the number of pairs. Count them one by one.\n\n"
        "Wait, let me check: there are 2 pairs, since 4 / 2 = 2.\n\n"
        "Alternatively, pairing gives 12 / 6 = 2 as well.\n\n"
        "Wait, is it 12? No, 12 counts items, not pairs.\n\n"
        "Let me verify once more: yes, exactly 2 pairs."
    )
    paper = ClassifyConfig(weak_markers="marker")  # "Wait" marks a verification, as in the paper's Table 4
    steps = annotate_steps(thinking, "2", classify_config=paper)
    texts = [s.text(thinking).strip() for s in steps]
    protected = {t.split(",")[0].split(":")[0] for t, s in zip(texts, steps) if s.protected}
    assert protected == {"We need the number of pairs. Count them one by one.", "Wait", "Alternatively",
                         "Let me verify once more"}
    assert [s.kind for s in steps if s.protected and s.kind.is_functional] == [
        StepKind.VERIFICATION, StepKind.MULTI_METHOD, StepKind.VERIFICATION]
    assert [s.unit is not None for s in steps] == [False, False, False, True, False]
    assert not annotate_steps(thinking, None, classify_config=paper)[1].protected  # no final value: first step only


@pytest.mark.parametrize(
    ("text", "value", "states"),
    [
        ("so the answer is 2.", "2", True),
        ("we get 12 apples", "2", False),
        ("a ratio of 2.5", "2", False),
        ("x_2 = 7", "2", False),
        ("x = -2 here", "2", False),
        ("since 2^3 = 8", "2", False),
        ("half is \\frac{1}{2}", "2", False),
        ("half is \\frac{1}{2}", "1", False),
        ("and \\sqrt{2} is irrational", "2", False),
        ("so $x = 2$.", "2", True),
        ("thus \\boxed{2}", "2", True),
        ("(2)", "2", True),
        ("about 12,000 people", "12000", True),
        ("about 12{,}000 people", "12000", True),
        ("about 112000 people", "12000", False),
        ("x=5 then", "x = 5", True),
        ("we get \\dfrac{1}{2}", "\\frac{1}{2}", True),
        ("we get 1/2 of it", "\\frac{1}{2}", True),
        ("we get \\frac{1}{2}", "1/2", True),
        ("we get \\frac{1}{2}", "$\\frac{1}{2}$", True),
        ("we get 3/2 of it", "1/2", False),
        ("an angle of 30^\\circ", "30", True),
        ("the day is Monday", "\\text{Monday}", True),
        ("x = -3 or x = 2", "-3", True),
        ("so (C) is right", "C", True),
        ("so option C is right", "C", True),
        ("the answer is **C**", "C", True),
        ("Carbon has 6 protons", "C", False),
        ("C atoms bond", "C", False),
        ("A rectangle has four sides", "A", False),
    ],
)
def test_final_value_mentions(text: str, value: str, states: bool) -> None:
    assert bool(mention_spans(text, value)) is states


@pytest.mark.parametrize(
    ("answer", "meta", "expected"),
    [
        ("The answer is $\\boxed{7}$.", {"answer_field": "8"}, FinalValue("7", "boxed")),
        ("The answer is 7.", {"answer_field": "8"}, FinalValue("8", "answer-field")),
        ("", {"answer_field": "$\\frac{1}{2}$"}, FinalValue("$\\frac{1}{2}$", "answer-field")),
        ("The answer is 7.", {}, None),
    ],
)
def test_final_value_is_the_last_box_else_the_answer_field(answer, meta, expected) -> None:
    assert final_value(Trace("t", "q", "thinking", answer, meta=meta)) == expected


def test_user_lexicon_overrides_one_kind(tmp_path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text("verification:\n  opening: [hmm let me see]\n  anywhere: []\n")
    lex = MarkerLexicon.load(f)
    assert lex.match("Hmm let me see, 2+2=4.")[0] is StepKind.VERIFICATION
    assert lex.match("Wait, 2+2=4.") is None  # "wait" was only in the default verification list
    assert lex.match("Alternatively, count.")[0] is StepKind.MULTI_METHOD  # other kinds keep defaults
    bad = tmp_path / "bad.yaml"
    bad.write_text("checking:\n  opening: [x]\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: unknown kind 'checking'"):
        MarkerLexicon.load(bad)


@pytest.mark.parametrize(
    ("text", "content", "marker"),
    [
        # a weak opener takes the kind of what the step says ...
        ("Wait, that gives 12, which matches the first result.", StepKind.VERIFICATION, StepKind.VERIFICATION),
        ("Wait, I made a mistake: 3 * 4 is 12.", StepKind.ERROR_CORRECTION, StepKind.ERROR_CORRECTION),
        ("Wait, let me check the sum.", StepKind.VERIFICATION, StepKind.VERIFICATION),
        ("But wait, alternatively we can count pairs.", StepKind.MULTI_METHOD, StepKind.VERIFICATION),
        ("Wait, is t given? The problem says one year. So t = 1, and that is correct.",
         StepKind.VERIFICATION, StepKind.VERIFICATION),
        # ... and alone it decides nothing, unless asked to (the paper's Table 4 reading)
        ("Wait, but I need the yearly rate r. Let r be the rate.", StepKind.PROGRESSIVE, StepKind.VERIFICATION),
        ("Hold on, maybe t is two years.", StepKind.PROGRESSIVE, StepKind.VERIFICATION),
        # "anywhere" phrases show what an unmarked step does
        ("Yes, that's correct.", StepKind.VERIFICATION, StepKind.VERIFICATION),
        ("So I'm confident the answer is 18.", StepKind.VERIFICATION, StepKind.VERIFICATION),
        ("Hold on, that's not what the problem asks.", StepKind.ERROR_CORRECTION, StepKind.ERROR_CORRECTION),
    ],
)
def test_weak_markers_take_the_kind_the_step_shows(text: str, content: StepKind, marker: StepKind) -> None:
    for weak, kind in (("content", content), ("marker", marker)):
        hit = LEXICON.match(text, weak)
        assert (hit[0] if hit else StepKind.PROGRESSIVE) is kind, (weak, text)


def test_a_step_redoing_earlier_arithmetic_is_a_verification() -> None:
    thinking = "Area: 24 * 18 = 432.\n\nThe volume is 432 cm^3.\n\nOnce more, 24 * 18 = 432.\n\nThen 432 + 8 = 440.\n\n"
    steps = [Step(0, 22), Step(22, 47), Step(47, 74), Step(74, len(thinking))]
    assert "".join(s.text(thinking) for s in steps) == thinking
    kinds = [s.kind for s in classify_by_markers(thinking, steps, LEXICON)]
    assert kinds == [StepKind.PROGRESSIVE, StepKind.PROGRESSIVE, StepKind.VERIFICATION, StepKind.PROGRESSIVE]
    off = classify_by_markers(thinking, steps, LEXICON, ClassifyConfig(repeated_computation=False))
    assert all(s.kind is StepKind.PROGRESSIVE for s in off)
    with pytest.raises(ValueError, match="weak_markers: 'maybe'"):
        ClassifyConfig(weak_markers="maybe")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # a negative verdict on earlier work, a first-person admission, a value replacing another
        ("Therefore, my approach is flawed.", StepKind.ERROR_CORRECTION),
        ("So that count was off by one.", StepKind.ERROR_CORRECTION),
        ("I forgot the factor of 2 in the area.", StepKind.ERROR_CORRECTION),
        ("So H(0.8) = 0.08, not 0.94.", StepKind.ERROR_CORRECTION),
        # a retracting opener, unless the step shows a check
        ("Actually sin(0.2π) = 0.5878.", StepKind.ERROR_CORRECTION),
        ("Not quite: the radius is 5.", StepKind.ERROR_CORRECTION),
        ("Actually, let me check the sum again.", StepKind.VERIFICATION),
        # asked, not asserted, is no refutation; nor is a verdict on a choice, or a hedge
        ("Is that approach wrong?", StepKind.PROGRESSIVE),
        ("Option D is wrong because x > 3.", StepKind.PROGRESSIVE),
        ("I'm not sure this approach works.", StepKind.PROGRESSIVE),
        ("So x = 4, not y.", StepKind.PROGRESSIVE),
    ],
)
def test_a_step_rejecting_or_repairing_earlier_work_is_error_correction(text: str, kind: StepKind) -> None:
    (step,) = classify_by_markers(text, [Step(0, len(text))], LEXICON)
    assert step.kind is kind, step.marker


def test_the_refutation_rule_can_be_turned_off() -> None:
    text = "Therefore, my approach is flawed."
    (on,) = classify_by_markers(text, [Step(0, len(text))], LEXICON)
    (off,) = classify_by_markers(text, [Step(0, len(text))], LEXICON, ClassifyConfig(refutations=False))
    assert on.kind is StepKind.ERROR_CORRECTION and on.marker == "(refutation: my approach is flawed)"
    assert off.kind is StepKind.PROGRESSIVE


CORRECTED = (
    "Let the side be s = 3. We need the perimeter of the square and then its area. Each side has length s. "
    "There are four sides.\n\n"
    "The perimeter is 4 * 3 = 13.\n\n"
    "Let me check: 13 / 4 is not 3.\n\n"
    "Hmm, wait, that's wrong: 4 * 3 = 12, not 13.\n\n"
    "So the perimeter is 12. Then the area is 3 * 3 = 9."
)


def test_a_correction_is_its_own_step_and_takes_the_attempt_it_abandons_into_its_unit() -> None:
    steps = annotate_steps(CORRECTED, "9")
    texts = [s.text(CORRECTED) for s in steps]
    assert "".join(texts) == CORRECTED
    wrong = texts.index("\n\nThe perimeter is 4 * 3 = 13.")
    check, fix = wrong + 1, wrong + 2
    assert texts[check] == "\n\nLet me check: 13 / 4 is not 3."
    assert texts[fix] == "\n\nHmm, wait, that's wrong: 4 * 3 = 12, not 13."  # it ends where the repair goes on
    assert [s.kind for s in steps[wrong : fix + 2]] == [StepKind.PROGRESSIVE, StepKind.VERIFICATION,
                                                         StepKind.ERROR_CORRECTION, StepKind.PROGRESSIVE]
    assert steps[fix].link == wrong
    # the wrong result, its check and its correction are one unit, scored and removed together
    assert steps[wrong].unit == steps[check].unit == steps[fix].unit is not None
    assert unit_spans(steps)[steps[fix].unit] == (steps[wrong].start, steps[fix].end)
    assert steps[fix + 1].unit is None


def test_a_correction_of_a_protected_step_is_kept() -> None:
    """The first step (or one stating the answer) always stays, so must the correction of what it says."""
    s = [Step(0, 10, protected=True), Step(10, 20, StepKind.ERROR_CORRECTION), Step(20, 30),
         Step(30, 40, StepKind.ERROR_CORRECTION)]
    steps = assign_units(link_to_progressive(s))
    assert [x.unit for x in steps] == [None, None, 0, 0]


def test_a_correction_linked_further_back_keeps_the_reasoning_in_between() -> None:
    """A judge may link a correction to an earlier progressive step than the nearest: the steps in between
    are not an abandoned attempt, so nothing is taken with it, and the correction stays."""
    s = [Step(0, 10, protected=True), Step(10, 20), Step(20, 30), Step(30, 40, StepKind.ERROR_CORRECTION, link=1)]
    steps = assign_units(link_to_progressive(s))
    assert steps[3].link == 1 and [x.unit for x in steps] == [None, None, None, None]
