"""Exact and near-duplicate removal on real problems with known edits."""

import re
from collections import Counter

import pytest

from thinktrim.curate.base import StepContext
from thinktrim.curate.dedup import ExactDedup, NearDedup
from thinktrim.curate.records import Chain, Problem
from thinktrim.curate.text import is_number, numbers_key, text_hash, tokens
from thinktrim.data.benchmarks import load_benchmark

from .conftest import change_word, relatex, respace


def problem(text: str, order: int, chains: int = 0) -> Problem:
    p = Problem(key=text_hash(text), question=text, tokens=tokens(text), order=order)
    p.chains = [Chain(source=None, pool=0, order=order * 10 + i) for i in range(chains)]  # type: ignore[arg-type]
    return p


def insert_word(text: str) -> str:
    return re.sub(r"\bthe\b", "the given", text, count=1)


def delete_word(text: str) -> str:
    words = text.split(" ")
    middle = next(i for i in range(len(words) // 2, len(words))
                  if words[i].isalpha() and not is_number(tokens(words[i])[0]))
    return " ".join(words[:middle] + words[middle + 1 :])


def change_number(text: str) -> str:
    """The last number of the problem's text (not of its [asy] drawing code), plus one."""
    m = list(re.finditer(r"\d+", text.split("[asy]")[0]))[-1]
    return text[: m.start()] + str(int(m.group()) + 1) + text[m.end() :]


def real_problems(n: int) -> list[str]:
    """`n` MATH-500 problems of 30+ tokens with a number and a 'the' (so every edit applies)."""
    return [it.question for it in load_benchmark("math500")
            if len(tokens(it.question)) >= 30 and re.search(r"\d", it.question.split("[asy]")[0])
            and re.search(r"\bthe\b", it.question)][:n]


def run(step, problems):
    ctx = StepContext(progress=False)
    kept = list(step(problems, ctx))
    return kept, ctx


@pytest.mark.parametrize("without_numbers", [False, True])
def test_near_duplicates_with_known_edits_are_clustered_and_nothing_else(without_numbers: bool) -> None:
    """With numbers most problems are alone in their number group (compared pair by pair); without them all
    150 share one group, which goes through the LSH index."""
    base = real_problems(120)
    if without_numbers:
        base = [re.sub(r"\d", "", t) for t in base]
    edits = [change_word, insert_word, delete_word]
    pool = [problem(t, i) for i, t in enumerate(base)]
    planted = {}
    for i, t in enumerate(base[:30]):
        edited = edits[i % 3](t)
        assert edited != t
        planted[len(pool)] = i
        pool.append(problem(edited, len(pool)))
    kept, ctx = run(NearDedup(), pool)
    dropped = {p.order for p in ctx.dropped}
    assert dropped == set(planted)  # every edited copy goes, no original does
    for order, original in planted.items():
        p = pool[order]
        assert p.cluster["near"]["kept"] == pool[original].key and p.cluster["near"]["similarity"] >= 0.7
        assert pool[original].cluster["near"]["kept"] == pool[original].key
    assert ctx.stats["dedup-near"].dropped == {"near duplicate": 30}
    assert len(kept) == 120


def test_same_template_with_other_numbers_is_not_clustered() -> None:
    base = real_problems(40)
    pool = [problem(t, i) for i, t in enumerate(base)] + [problem(change_number(t), 40 + i) for i, t in enumerate(base)]
    step = NearDedup()
    sigs = step.signatures(pool)
    similar = sum(sigs[i].jaccard(sigs[40 + i]) >= step.threshold for i in range(40))
    assert similar >= 30  # by text alone most pairs would be near-duplicates: the numbers keep them apart
    kept, ctx = run(step, pool)
    assert len(kept) == 80 and not ctx.dropped
    keys = Counter(numbers_key(p.tokens) for p in pool)
    unique = sum(keys[numbers_key(p.tokens)] == 1 for p in pool)
    assert ctx.stats["dedup-near"].events["problems whose numbers no other problem has (not compared)"] == unique
    template = "A train travels {a} km in {b} hours and then {c} km in {d} hours. What is its average speed in km/h?"
    trains = [problem(template.format(a=a, b=b, c=c, d=d), i)
              for i, (a, b, c, d) in enumerate([(60, 2, 30, 1), (90, 3, 30, 1), (60, 2, 45, 1), (120, 2, 30, 2)])]
    assert len(run(NearDedup(), trains)[0]) == 4


def test_exact_duplicates_merge_into_the_problem_with_most_chains() -> None:
    text = real_problems(1)[0]
    pool = [problem(text, 0, chains=1), problem(relatex(respace(text)).upper(), 1, chains=2),
            problem("Something else entirely, 42.", 2, chains=1)]
    kept, ctx = run(ExactDedup(), pool)
    assert [p.order for p in kept] == [1, 2]
    assert len(kept[0].chains) == 3 and kept[0].cluster["exact"] == {"id": f"exact-{pool[1].key}",
                                                                     "kept": pool[1].key, "size": 2}
    assert pool[0].status == "dropped" and pool[0].reason == "exact duplicate"
    assert pool[0].cluster["exact"]["kept"] == pool[1].key
    assert ctx.stats["dedup-exact"].events["chains merged into the kept problem"] == 1
