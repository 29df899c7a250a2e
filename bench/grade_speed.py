"""Grading throughput: 10,000 model-like responses built from the bundled benchmark answers.

Target (issue 4): under 2 minutes on a 2-core machine. Every response has a verdict known by construction
(the right answer boxed or written out in another format, a wrong answer, the right answer only inside the
thinking, a response cut off while thinking), so the run also reports agreement with those verdicts.

    .venv/bin/python bench/grade_speed.py [--n 10000] [--processes N]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from thinktrim.data.benchmarks import load_benchmark
from thinktrim.evaluate.grade import grade_many
from thinktrim.table import print_table

BENCHMARKS = ("aime24", "aime25", "amc23", "math500", "gsm8k", "olymmath-easy", "olymmath-hard")
FILLER = (
    "Let me restate the problem to make sure I understand it. {q} I will set up the relations and solve "
    "them carefully, checking each of the {step} steps. Substituting the known values and simplifying term by term "
    "gives a cleaner expression. Wait, let me double-check the arithmetic in the second step: it is consistent."
)


def _alternative(answer: str, kind: str, i: int) -> str:
    """The same answer the way models often write it differently from the reference."""
    if kind == "number":
        value = int(answer) if answer.lstrip("-").isdigit() else None
        forms = [f"{value:,}", f"\\${answer}", f"{answer}.0", f"{answer} \\text{{ units}}"] if value else [answer]
        return forms[i % len(forms)]
    return answer.replace("\\frac", "\\dfrac") if i % 2 else f"{answer} "


def _wrong(answer: str, kind: str, j: int) -> str:
    """A wrong answer, different for each response so that no cached parse can serve it."""
    if kind == "number" and answer.lstrip("-").isdigit():
        return str(int(answer) + 1 + j)
    return f"{answer}+{1 + j}"


def build(n: int, streams: list[str]) -> tuple[list[tuple[str, str, str]], list[bool], list[str]]:
    """(response, gold, kind) triples, the expected verdicts, and each response's variant name."""
    items = {name: load_benchmark(name) for name in streams if name != "choice"}
    triples, expected, variants = [], [], []
    for i in range(n):
        stream = streams[i % len(streams)]
        j = i // len(streams)
        if stream == "choice":  # multiple choice without bundling GPQA: letters and GPQA-like answer text
            gold, kind, question = "ABCD"[j % 4], "choice", "Which option gives the energy difference?"
        else:
            pool = items[stream]
            item = pool[j % len(pool)]
            gold, kind, question = item.answer, item.kind, item.question[:160]
        work = FILLER.format(q=question, step=1 + i % 7)
        wrong = "ABCD"[(j + 1) % 4] if kind == "choice" else _wrong(gold, kind, j)
        variant = ("boxed", "phrase", "wrong", "decoy", "cut_off")[(j + j // 30) % 5]  # 30: shortest set
        if variant == "boxed":
            text, ok = f"<think>\n{work}\n</think>\n\nTherefore, the final answer is $\\boxed{{{gold}}}$.", True
        elif variant == "phrase":
            alt = f"({gold})" if kind == "choice" else _alternative(gold, kind, j)
            text, ok = f"{work}\n\nPutting it together, the answer is ${alt}$.", True
            if kind == "choice":
                text = f"{work}\n\nThe correct option is {alt}."
        elif variant == "wrong":
            text, ok = f"<think>\n{work}\n</think>\n\n{work}\n\n**Final Answer**\n\\[\n\\boxed{{{wrong}}}\n\\]", False
        elif variant == "decoy":
            text = (
                f"<think>\n{work} So maybe the answer is {gold}. No, I dropped a case.\n</think>\n\n\\boxed{{{wrong}}}"
            )
            ok = False
        else:
            text, ok = f"<think>\n{work} Therefore the value is {gold}, and next I need to check", False
        triples.append((text, gold, kind))
        expected.append(ok)
        variants.append(variant)
    return triples, expected, variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="responses to grade")
    parser.add_argument("--processes", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument(
        "--sets", default=",".join([*BENCHMARKS, "choice"]), help="comma-separated benchmarks (and `choice`) to mix"
    )
    args = parser.parse_args()

    triples, expected, variants = build(args.n, args.sets.split(","))
    start = time.perf_counter()
    grades = grade_many(triples, processes=args.processes)
    seconds = time.perf_counter() - start

    agree = [g.correct == e for g, e in zip(grades, expected)]
    kinds = Counter(k for _, _, k in triples)
    reasons = Counter(g.reason for g in grades)
    rows = [
        ["responses", len(triples)],
        ["distinct responses", len(set(triples))],
        ["distinct (gold, extracted answer) pairs", len({(g.extracted, t[1]) for g, t in zip(grades, triples)})],
        ["kinds", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))],
        ["mean response length (chars)", sum(len(t) for t, _, _ in triples) / len(triples)],
        ["seconds", seconds],
        ["responses/s", len(triples) / seconds],
        ["agreement with expected verdicts", sum(agree) / len(agree)],
        ["grade reasons", ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))],
        ["answer sources", ", ".join(f"{k} {v}" for k, v in Counter(g.source or "none" for g in grades).most_common())],
    ]
    print_table("grade_many throughput", ["figure", "value"], rows, caption="target: 10,000 in < 120 s")
    misses = Counter(v for v, ok in zip(variants, agree) if not ok)
    if misses:
        print("disagreements by variant:", dict(misses))
        for (_, gold, kind), g, ok in list(zip(triples, grades, agree))[:2000]:
            if not ok:
                print(f"  gold={gold!r} kind={kind} extracted={g.extracted!r} reason={g.reason}")


if __name__ == "__main__":
    main()
