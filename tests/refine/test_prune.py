import itertools
import json
import math
from fractions import Fraction
from pathlib import Path

import pytest

from thinktrim.data.trace import Step, StepKind
from thinktrim.refine.annotate import annotate_steps
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.outputs import write_outputs
from thinktrim.refine.prune import kept_steps, n_to_remove, refined_thinking, units_to_remove
from thinktrim.refine.verify import check_refined, removable_subsequence

V, M, P = StepKind.VERIFICATION, StepKind.MULTI_METHOD, StepKind.PROGRESSIVE


def chain(spec):
    """spec: list of (kind, unit, pir) → steps of 10 chars each."""
    return [Step(10 * i, 10 * i + 10, k, unit=u, pir=p) for i, (k, u, p) in enumerate(spec)]


A = chain([(P, None, None), (V, 0, 0.5), (V, 0, 0.5), (P, None, None), (V, 1, -0.2), (M, 2, 0.1), (V, 3, 0.0),
           (M, 4, 0.9)])
B = chain([(P, None, None), (V, 0, 0.3), (V, 1, 0.05), (M, 2, 1.0)])


@pytest.mark.parametrize(("ratio", "n", "k"), [(0.2, 3, 1), (0.2, 2, 0), (0.5, 3, 2), (0.5, 1, 1), (0.8, 5, 4),
                                                (1.0, 4, 4), (0.3, 0, 0)])
def test_count_rounds_half_up(ratio: float, n: int, k: int) -> None:
    assert n_to_remove(ratio, n) == k


# r·n exactly k + 1/2, which half up makes k + 1. In floating point the second group lands just below the half
# (0.29 · 50 = 14.499999999999998) and removed k; these are all such pairs of 2-decimal ratios and n <= 200.
HALF_WAY_EXACT_IN_FLOAT = [(0.7, 15, 11), (0.5, 1, 1), (0.1, 5, 1), (0.3, 5, 2), (0.15, 10, 2), (0.05, 30, 2)]
HALF_WAY_BELOW_IN_FLOAT = [(0.29, 50, 15), (0.35, 90, 32), (0.35, 170, 60), (0.41, 150, 62), (0.57, 50, 29),
                           (0.57, 150, 86), (0.58, 25, 15), (0.69, 150, 104), (0.7, 45, 32), (0.7, 85, 60),
                           (0.7, 165, 116), (0.7, 175, 123), (0.82, 75, 62)]


@pytest.mark.parametrize(("ratio", "n", "k"), HALF_WAY_EXACT_IN_FLOAT + HALF_WAY_BELOW_IN_FLOAT)
def test_half_way_counts_round_up_exactly(ratio: float, n: int, k: int) -> None:
    assert Fraction(str(ratio)) * n == k - Fraction(1, 2)
    assert n_to_remove(ratio, n) == k


def test_only_the_half_way_counts_differ_from_floating_point() -> None:
    """Every 2-decimal ratio and n up to 200: the count is floating point's floor(r·n + 0.5) except where r·n
    is exactly k + 1/2, and there it is k + 1."""
    differ = []
    for i in range(101):
        ratio = i / 100
        for n in range(201):
            exact = Fraction(i, 100) * n
            expected = exact + Fraction(1, 2) if exact.denominator == 2 else math.floor(ratio * n + 0.5)
            assert n_to_remove(ratio, n) == expected, (ratio, n)
            if expected != math.floor(ratio * n + 0.5):
                differ.append((ratio, n))
    assert differ == [(r, n) for r, n, _ in HALF_WAY_BELOW_IN_FLOAT]


def test_per_chain_removes_lowest_of_each_type() -> None:
    got = units_to_remove({"a": A, "b": B}, 0.5, "chain")
    # a: verification units 0 (0.5), 1 (-0.2), 3 (0.0) → remove 2 lowest: 1, 3; multi 2 (0.1), 4 (0.9) → 2
    assert got["a"] == {1, 3, 2}
    # b: verification 0 (0.3), 1 (0.05) → 1; multi one unit → round(0.5) = 1 → 2
    assert got["b"] == {1, 2}


def test_dataset_scope_ranks_across_chains() -> None:
    got = units_to_remove({"a": A, "b": B}, 0.2, "dataset")
    # verification units across chains: -0.2, 0.0, 0.05, 0.3, 0.5 → round(1.0) = 1 removed: a/1
    # multi: 0.1, 0.9, 1.0 → round(0.6) = 1 removed: a/2
    assert got == {"a": {1, 2}}


def test_refined_thinking_is_original_spans() -> None:
    text = "".join(chr(65 + i) * 10 for i in range(len(A)))
    out = refined_thinking(text, A, {0, 3})
    assert out == text[:10] + text[30:60] + text[70:]
    removable = [s.unit is not None for s in A]
    assert removable_subsequence(out, [s.text(text) for s in A], removable)
    assert not removable_subsequence(text[10:], [s.text(text) for s in A], removable)  # first step dropped


def test_bad_ratio() -> None:
    with pytest.raises(ValueError, match="ratio"):
        units_to_remove({"a": A}, 1.5)


@pytest.mark.parametrize("scope", ["chain", "dataset"])
def test_refined_files_are_the_originals_minus_the_lowest_pir_units(
    tmp_path: Path, sample_records: list[dict], scope: str, pruned_exactly, annotate_with_drawn_pirs
) -> None:
    """The write phase on six real traces, annotated as refine does, with PIRs drawn from a few values (ties
    within and across chains): at each ratio each chain is its steps minus exactly the units recomputed from
    the annotations."""
    data = tmp_path / "traces.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sample_records), encoding="utf-8")
    out = tmp_path / "out"
    cfg = RefineConfig(input=str(data), output_dir=str(out), ratios=(0.2, 0.3, 0.5), scope=scope)
    annotate_with_drawn_pirs(cfg)
    stats = write_outputs(cfg)
    pruned_exactly(out, stats)
    assert 0 < stats["ratios"]["r0.2"]["token_reduction"] < stats["ratios"]["r0.5"]["token_reduction"]
    assert check_refined(out) == []


def test_a_wrong_result_never_outlives_its_removed_correction() -> None:
    """Every choice of units to remove, on a chain with corrections: where a correction is removed, the wrong
    result it corrects is removed with it; where that result must stay (it is the first step or states the
    answer), the correction stays too."""
    thinking = (
        "Let the side be s = 3 and the height h = 5. The area of the base is 3 * 3 = 10.\n\n"
        "Wait, that's wrong: 3 * 3 = 9, not 10.\n\n"
        "So the base is 9. The perimeter of the base is 4 * 3 = 13.\n\n"
        "Let me check: 13 / 4 is not 3.\n\n"
        "Hmm, wait, that's wrong: 4 * 3 = 12, not 13.\n\n"
        "So the perimeter is 12. The side area is 12 * 5 = 61.\n\n"
        "Actually 12 * 5 = 60, not 61.\n\n"
        "So the total area is 9 + 60 = 69."
    )
    wrongs = {"= 10.": "not 10.", "= 13.": "not 13.", "= 61.": "not 61."}
    steps = annotate_steps(thinking, "69")
    fixes = [s for s in steps if s.kind is StepKind.ERROR_CORRECTION]
    assert len(fixes) == 3
    assert fixes[0].unit is None  # it corrects the first step, which always stays
    assert fixes[1].unit is not None and fixes[2].unit is not None
    units = sorted({s.unit for s in steps if s.unit is not None})
    for r in range(len(units) + 1):
        for removed in map(set, itertools.combinations(units, r)):
            out = refined_thinking(thinking, steps, removed)
            for wrong, fix in wrongs.items():
                assert wrong not in out or fix in out, (removed, wrong)
            kept = kept_steps(steps, removed)
            assert all(steps[f.link] not in kept for f in fixes if f not in kept)


def test_an_error_correction_unit_is_ranked_as_one() -> None:
    """Its abandoned attempt opens the unit, but the unit is ranked with the error corrections."""
    E = StepKind.ERROR_CORRECTION
    steps = chain([(P, None, None), (P, 0, -1.0), (E, 0, -1.0), (V, 1, 0.5), (P, None, None), (E, 2, 0.2)])
    # corrections 0 (-1.0) and 2 (0.2): the lower goes; the check is alone in its kind: round(0.5) = 1 goes.
    # Ranked as a progressive unit, 0 would go alone in that group and 2 alone in its own: {0, 1, 2}.
    assert units_to_remove({"a": steps}, 0.5) == {"a": {0, 1}}
