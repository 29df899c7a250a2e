"""Decontamination: benchmark problems planted in real pools, lightly edited, are all found; clean ones are not."""

from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from thinktrim.curate.config import CurateConfig
from thinktrim.curate.decontaminate import ContaminationIndex, Reference, bundled_benchmarks, load_references
from thinktrim.curate.pipeline import curate
from thinktrim.curate.text import tokens, values
from thinktrim.data.benchmarks import load_benchmark

from .conftest import GPQA, chainless, planted_items, planted_records, read_jsonl, write_jsonl

NEW_BENCHMARKS = ["aime24", "aime25", "amc23", "olymmath-easy", "olymmath-hard"]


def flagged(out: Path) -> dict[str, list[dict]]:
    """Audit lines with a contamination hit: first record's id (or question) → hits."""
    return {a["records"][0]: a["contamination"] for a in read_jsonl(out / "audit.jsonl") if a["contamination"]}


def run_curate(pools: list[Path], out: Path, **kw) -> dict:
    cfg = CurateConfig(pools=tuple(map(str, pools)), output_dir=str(out), verify_chains=False, **kw)
    return curate(cfg, progress=False)


def test_planted_problems_are_found_in_a_pool_of_real_problems(tmp_path: Path, sample_records) -> None:
    """Committed data: the bundled chains plus MATH-500 and GSM8K as problems without chains (2,000 clean
    problems), against the five competition sets; two problems of each planted, spacing, LaTeX and a word
    changed."""
    items = planted_items(NEW_BENCHMARKS)
    pool = [write_jsonl(tmp_path / "chains.jsonl", sample_records + planted_records(items, sample_records[0])),
            write_jsonl(tmp_path / "math.jsonl", chainless(load_benchmark("math500") + load_benchmark("gsm8k")))]
    stats = run_curate(pool, tmp_path / "out", benchmarks=tuple(NEW_BENCHMARKS))
    hits = flagged(tmp_path / "out")
    first = len(sample_records) + 1  # planted records follow the sample's, one line each
    assert set(hits) == {f"{pool[0]}:{first + i}" for i in range(len(items))}
    for i, item in enumerate(items):
        best = hits[f"{pool[0]}:{first + i}"][0]
        assert (best["benchmark"], best["id"], best["question"]) == (NEW_BENCHMARKS[i // 2], item.id, item.question)
        assert 0.5 <= best["overlap"] <= 1
    assert stats["steps"]["decontaminate"]["dropped"] == {f"matches {b}": 2 for b in NEW_BENCHMARKS}
    assert stats["problems"] == len(sample_records) + len(items) + 500 + 1319


def test_every_bundled_problem_lightly_edited_is_matched_to_its_own_item() -> None:
    """All 1,549 bundled problems of 30+ words, each with spacing, LaTeX and one word changed."""
    from .conftest import lightly_edited

    index = ContaminationIndex(load_references(["all"], []))
    items = [it for b in bundled_benchmarks() for it in load_benchmark(b) if len(it.question.split()) >= 30]
    missed = [it.id for it in items if [h["id"] for h in index.matches(tokens(lightly_edited(it.question)), 0.5)][:1]
              != [it.id]]
    assert len(items) > 1500 and missed == []


def test_problems_differing_only_in_numbers_are_not_contamination() -> None:
    item = load_benchmark("amc23")[0]
    index = ContaminationIndex([Reference("amc23", item.id, item.question)])
    assert index.matches(tokens(item.question), 0.5)[0]["overlap"] == 1.0
    other = item.question.replace("45", "50")
    assert other != item.question and index.matches(tokens(other), 0.5) == []
    longer = "Read this first. " + item.question + " Give the answer in miles, for 3 cities."
    assert index.matches(tokens(longer), 0.5)[0]["id"] == item.id  # quoted inside a longer text, extra numbers


# A benchmark item with one number in it, copied into a pool with that number written another way.
MARBLES = ("A bag holds only red and blue marbles. Exactly {} of the marbles in the bag are red and the rest are "
           "blue. If Maria draws two marbles at random without replacement, what is the probability that both of "
           "the marbles she draws are the same colour? Express your answer as a common fraction.")


@pytest.mark.parametrize(("item", "copy"), [
    ("$\\frac{1}{2}$", "0.5"), ("$\\frac{1}{2}$", "$1/2$"), ("$\\dfrac{3}{4}$", "75\\%"), ("$\\tfrac14$", "25%"),
    ("$\\frac12$", "$\\frac{1}{2}$"), ("0.25", "$\\frac{1}{4}$"), ("2.50", "$\\dfrac{5}{2}$"), ("0.5", ".5"),
    ("½", "1/2"), ("$\\frac{3}{5}$", "60 percent"), ("40 per cent", "0.4"), ("$\\frac{6}{8}$", "$\\frac34$"),
    ("$\\frac{1}{8}$", "12.5%"), ("1,250", "$1{,}250$"), ("three", "3"),
    ("$\\frac{1}{2}$", "$\frac{1}{2}$"),  # `\\f` read as a form feed (a pool copy of AIME 2024 I #1 has it)
])
def test_a_number_rewritten_in_another_notation_is_still_contamination(item: str, copy: str) -> None:
    index = ContaminationIndex([Reference("test", "q1", MARBLES.format(item))])
    hits = index.matches(tokens(MARBLES.format(copy)), 0.5)
    assert [h["id"] for h in hits] == ["q1"]


@pytest.mark.parametrize(("item", "copy"), [
    ("$\\frac{1}{2}$", "0.52"), ("$\\frac{1}{3}$", "0.33"), ("$\\frac{1}{3}$", "0.333333333333"),
    ("$\\frac{2}{3}$", "$\\frac{3}{2}$"), ("3/4", "4/3"), ("$\\frac{12}{5}$", "$\\frac{1}{25}$"),
    ("$\\frac12$", "12"), ("$\\frac{1}{2}$", "1 or 2"), ("50\\%", "50"), ("0.5", "5"), ("$\\frac{1}{4}$", "0.4"),
    ("$\\frac{1}{8}$", "$\\frac{1}{8}\\%$"), ("$\\frac{2}{4}$", "$\\frac{2}{5}$"),
])
def test_a_different_value_is_not_contamination(item: str, copy: str) -> None:
    """The text overlaps enough (the item matches once its numbers are ignored); only the value differs."""
    question = MARBLES.format(item)
    assert ContaminationIndex([Reference("test", "q1", question, Counter())]).matches(
        tokens(MARBLES.format(copy)), 0.5)
    assert ContaminationIndex([Reference("test", "q1", question)]).matches(tokens(MARBLES.format(copy)), 0.5) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("$\\frac{1}{2} + \\dfrac{1}{2}$ and 0.5 and 50\\%", {Fraction(1, 2): 4}),
    ("$\\frac12$, $\\tfrac1{12}$ and $\\frac{12}34$", {Fraction(1, 2): 1, Fraction(1, 12): 1, Fraction(4): 2}),
    ("½ of ¾ is 3/8", {Fraction(1, 2): 1, Fraction(3, 4): 1, Fraction(3, 8): 1}),
    ("$\\frac{x+1}{2}$ over 1/0", {Fraction(1): 2, Fraction(2): 1, Fraction(0): 1}),  # no value, no fraction
    ("2.50 and .5 of 1,600 items, 7 percent", {Fraction(5, 2): 1, Fraction(1, 2): 1, Fraction(1600): 1,
                                                Fraction(7, 100): 1}),
])
def test_values_are_exact(text: str, expected: dict) -> None:
    assert values(tokens(text)) == expected


def test_references_cover_every_bundled_benchmark_and_named_files(tmp_path: Path) -> None:
    assert "gpqa-diamond" not in bundled_benchmarks() and {"aime24", "gsm8k", "math500"} <= set(bundled_benchmarks())
    refs = load_references(["all"], [str(write_jsonl(tmp_path / "mine.jsonl", [{"question": "What is 6*7?",
                                                                                 "answer": "42"}]))])
    assert {r.source for r in refs} == {*bundled_benchmarks(), "mine"}
    assert len(refs) == sum(len(load_benchmark(b)) for b in bundled_benchmarks()) + 1
    with pytest.raises(ValueError, match=r"--contamination-files no-such-bench=x\.jsonl: unknown benchmark .* valid"):
        load_references([], ["no-such-bench=x.jsonl"])


@pytest.mark.skipif(not GPQA.exists(), reason="../shared/data/benchmarks/gpqa_diamond is not present")
def test_shared_traces_against_every_benchmark(tmp_path: Path, shared_pool: list[Path], sample_records) -> None:
    """The real traces of ../shared (plus the AIME 2024 chains, which are AIME 2024 problems) against all
    bundled benchmarks and GPQA-Diamond from its path; two problems of each planted, lightly edited."""
    items = planted_items(bundled_benchmarks()) + planted_items(["gpqa-diamond"], path=str(GPQA))
    planted = write_jsonl(tmp_path / "planted.jsonl", planted_records(items, sample_records[0]))
    run_curate([*shared_pool, planted], tmp_path / "out", exact_dedup=False, near_dedup=False,
               contamination_files=(f"gpqa-diamond={GPQA}",))
    hits = flagged(tmp_path / "out")
    aime = {k: v for k, v in hits.items() if "aime2024" in k}
    assert len(aime) == 30 and all(v[0]["benchmark"] == "aime24" for v in aime.values())
    rest = {k: v for k, v in hits.items() if k not in aime}
    assert set(rest) == {f"{planted}:{i + 1}" for i in range(len(items))}
    for i, item in enumerate(items):
        assert rest[f"{planted}:{i + 1}"][0]["id"] == item.id
