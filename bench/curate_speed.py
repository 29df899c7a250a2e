"""Curation speed: wall time and peak memory of each `thinktrim curate` step on synthetic pools of 10K and 100K
problems, side by side, so linear growth shows.

Targets (issue 12), on a 2-core machine: decontaminating 100,000 problems against every bundled benchmark
< 60 s; near-duplicate removal over 100,000 problems < 3 min; quality scoring of 100,000 chains < 60 s.

The pool is built from templates of math word problems with names, objects, places and numbers drawn at random
(so problems of one template differ in words and numbers), each with a ~250-word chain that mixes the rubric's
keywords. Planted in it: 1 % near-duplicates (one word changed), 0.5 % exact duplicates (spacing and case
changed) and one lightly edited bundled benchmark problem per 1,000; the bench reports how many of each the steps
drop. Each size runs in its own process; peak memory is the process's RSS (sampled every 5 ms) during the step,
pool included. Near-duplicate removal compares only problems that share all their numbers; the row
"dedup-near, no numbers" times the worst case, the same pool with its numbers removed, where every problem
goes through one LSH index (templated problems make many candidate pairs there).

    flock /tmp/thinktrim-bench.lock .venv/bin/python bench/curate_speed.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NAMES = (
    "Ava", "Ben", "Chloe", "Dmitri", "Elena", "Farah", "Gustavo", "Hana", "Ivan", "Jade", "Kenji", "Lena", "Mateo",
    "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe",
    "Aditya", "Bianca", "Carlos", "Dalia", "Emeka", "Fiona", "Goran", "Hugo", "Ines", "Jonas", "Kira", "Luca",
    "Maya", "Nils", "Olga", "Pavel", "Rina", "Sofia", "Tomas", "Uma", "Viktor", "Willa", "Yara", "Zane"
)
OBJECTS = (
    "apple", "marble", "coin", "stamp", "card", "pencil", "sticker", "shell", "button", "ribbon", "cookie", "book",
    "ticket", "badge", "crystal", "feather", "token", "puzzle", "candle", "lantern", "kite", "rock", "acorn",
    "pebble", "bead"
)
PLACES = (
    "market", "library", "harbor", "museum", "garden", "station", "bakery", "school", "stadium", "farm", "castle",
    "bridge", "village", "island", "theater"
)
VEHICLES = ["train", "bus", "ferry", "truck", "cyclist", "runner", "boat", "tram", "scooter", "glider"]
COLORS = ["red", "blue", "green", "yellow", "purple", "orange", "white", "black"]
OPENINGS = ("", "Consider the following problem. ", "Answer carefully. ", "Here is a puzzle. ", "Solve this. ")
TEMPLATES = (
    "{n1} has {a} {o1}s. {n2} gives {n1} {b} more {o1}s, and then {n1} trades {c} of them at the {p1} for {o2}s. "
    "How many {o1}s does {n1} have now?",
    "A {v} travels {a} km in {b} hours, then {c} km in {d} hours on the way to the {p1}. What is its average speed "
    "in km per hour over the whole trip?",
    "Find the sum of all positive integers $n$ less than {a} such that $n^2 + {b}n + {c}$ is divisible by {d}.",
    "In triangle $ABC$, $AB = {a}$, $BC = {b}$ and $CA = {c}$. Point $D$ lies on $BC$ with $BD = {d}$. "
    "{n1} wants the value of $AD^2$ for a model of the {p1}. Find it.",
    "A bag at the {p1} holds {a} {c1} {o1}s, {b} {c2} {o1}s and {c} {c3} {o1}s. {n1} draws {d} of them without "
    "replacement. What is the probability that all of them are {c2}?",
    "Let $f(x) = {a}x^2 + {b}x + {c}$. {n1} computes $f({d}) - f({e})$ on the board of the {p1}. What is the result?",
    "How many {k}-digit positive integers have digits that sum to {s} and are divisible by {d}? {n1} and {n2} "
    "count them by hand.",
    "{n1} walks {a} meters from home to the {p1} at {b} meters per minute and comes back at {c} meters per minute "
    "carrying {d} {o1}s. How many minutes does the round trip take?",
    "A rectangular {o1} box is {a} cm long and {b} cm wide. {n1} makes its perimeter {c} cm longer while the width "
    "stays the same. By how many square centimeters does its area grow?",
    "The sequence $a_1, a_2, \\dots$ satisfies $a_1 = {a}$, $a_2 = {b}$ and $a_{{n+2}} = {c}a_{{n+1}} - a_n$. "
    "Find the remainder when $a_{{{d}}}$ is divided by {e}.",
    "{n1} and {n2} share {a} {o1}s in the ratio {b}:{c}. After {n2} gives {d} {o1}s to {n3} at the {p1}, how many "
    "{o1}s does {n2} have left?",
    "A {v} leaves the {p1} at {a} km per hour. {b} minutes later a second {v} follows at {c} km per hour. After how "
    "many minutes does the second one catch up with the first?",
)
CHAIN_SENTENCES = (
    "First, I write down what is given: the numbers {a} and {b}.", "Since the total is fixed, the rest follows.",
    "Therefore the next quantity is {a} plus {b}, which is {s}.", "Let me check this against the original numbers.",
    "Perhaps there is a shorter way to see it.", "I might also try small cases to see the pattern.",
    "Thus the intermediate result is {s}.", "Wait, I should verify the second step again.",
    "Alternatively, I could set up an equation with one unknown.", "Because each step keeps the sum, the order "
    "does not matter.", "Hence the value we need is {s} minus {b}.", "Maybe I made a slip, so let me recompute.",
    "So the answer should be close to {s}.", "This means the count is consistent with the constraint.",
    "Multiplying out gives {a} times {b} which equals {p}.", "Now I simplify the expression term by term.",
)


def word_change(text: str, rng: random.Random) -> str:
    """One word replaced (not a number), as a near-duplicate would differ."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 3]
    i = rng.choice(candidates)
    words[i] = "different" if words[i] != "different" else "other"
    return " ".join(words)


def make_problem(rng: random.Random) -> str:
    names = rng.sample(NAMES, 3)
    objs, places, colors = rng.sample(OBJECTS, 2), rng.sample(PLACES, 1), rng.sample(COLORS, 3)
    slots = {"n1": names[0], "n2": names[1], "n3": names[2], "o1": objs[0], "o2": objs[1], "p1": places[0],
             "v": rng.choice(VEHICLES), "c1": colors[0], "c2": colors[1], "c3": colors[2],
             "k": rng.randint(2, 6), "s": rng.randint(5, 40)}
    slots.update({x: rng.randint(2, 999) for x in "abcde"})
    return rng.choice(OPENINGS) + rng.choice(TEMPLATES).format(**slots)


def make_chain(rng: random.Random, words: int) -> str:
    out: list[str] = []
    while sum(len(s.split()) for s in out) < words:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        out.append(rng.choice(CHAIN_SENTENCES).format(a=a, b=b, s=a + b, p=a * b))
    return " ".join(out)


def build_pool(path: Path, n: int, chain_words: int, seed: int = 0) -> dict[str, list[str]]:
    """Write `n` pool records (response layout); returns the ids of each planted kind."""
    from thinktrim.data.benchmarks import load_benchmark

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "curate"))
    from conftest import lightly_edited  # the same light edits the tests plant

    rng = random.Random(seed)
    bench = [it for name in ("aime24", "aime25", "amc23", "math500", "gsm8k", "olymmath-easy", "olymmath-hard")
             for it in load_benchmark(name) if len(it.question.split()) >= 30]
    rng.shuffle(bench)
    planted: dict[str, list[str]] = {"near": [], "exact": [], "benchmark": []}
    questions: list[str] = []
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            roll = rng.random()
            if i % 1000 == 999 and len(planted["benchmark"]) < len(bench):
                q, answer = lightly_edited(bench[len(planted["benchmark"])].question), "1"
                planted["benchmark"].append(f"p{i}")
            elif questions and roll < 0.01:
                q, answer = word_change(rng.choice(questions), rng), "1"
                planted["near"].append(f"p{i}")
            elif questions and roll < 0.015:
                q, answer = "  " + rng.choice(questions).upper().replace(" ", "   ") + " ", "1"
                planted["exact"].append(f"p{i}")
            else:
                q, answer = make_problem(rng), str(rng.randint(1, 999))
                questions.append(q)
            response = f"<think>\n{make_chain(rng, chain_words)}\n</think>\n\nThe answer is $\\boxed{{{answer}}}$."
            f.write(json.dumps({"id": f"p{i}", "question": q, "response": response, "answer": answer}) + "\n")
    return planted


WORST = "dedup-near, no numbers"


class PeakRSS:
    """The highest resident set size seen while a block runs (sampled every 5 ms from /proc/self/status)."""

    def __init__(self) -> None:
        self.peak = self.start = self._rss()

    @staticmethod
    def _rss() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def run_one(pool: Path) -> dict[str, dict]:
    """Every cheap step of the pipeline, one after another, each timed and measured on its own."""
    from thinktrim.curate.base import StepContext
    from thinktrim.curate.decontaminate import ContaminationIndex, Decontaminate, load_references
    from thinktrim.curate.dedup import ExactDedup, NearDedup
    from thinktrim.curate.quality import Quality, Rubric, rubric_scorer
    from thinktrim.curate.read import read_pools
    from thinktrim.curate.records import Problem
    from thinktrim.curate.select import Select
    from thinktrim.curate.text import is_number

    ctx = StepContext(progress=False)
    results: dict[str, dict] = {}

    def measure(name: str, fn):
        with PeakRSS() as mem:
            start = time.perf_counter()
            out = fn()
            seconds = time.perf_counter() - start
        results[name] = {"seconds": round(seconds, 2), "peak_mb": round(mem.peak), "start_mb": round(mem.start)}
        return out

    problems = measure("read", lambda: list(read_pools([str(pool)], ctx)))
    results["read"]["out"] = len(problems)
    steps = [("dedup-exact", lambda: ExactDedup()), ("dedup-near", lambda: NearDedup()),
             ("decontaminate", lambda: Decontaminate(ContaminationIndex(load_references(["all"], []), 5))),
             ("quality", lambda: Quality(rubric_scorer(Rubric.load()))), ("select", lambda: Select(top=800))]
    for name, make in steps:
        n_in = len(problems)
        if name == "dedup-near":  # the worst case first: no numbers to group by, every problem in one LSH index
            bare = [Problem(p.key, p.question, tuple(t for t in p.tokens if not is_number(t)), p.order)
                    for p in problems]
            measure(WORST, lambda bare=bare: list(NearDedup()(bare, StepContext(progress=False))))
            results[WORST].update({"in": n_in, "out": sum(p.status == "kept" for p in bare)})
        problems = measure(name, lambda make=make, problems=problems: list(make()(problems, ctx)))
        results[name].update({"in": n_in, "out": len(problems), "dropped": dict(ctx.step(name).dropped),
                              "dropped_ids": [p.records[0].trace.id for p in ctx.dropped if p.step == name]})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="Pool sizes, comma-separated.")
    parser.add_argument("--chain-words", type=int, default=250, help="Words per synthetic chain.")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one pool file, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(Path(args.one))))
        return
    from thinktrim.table import print_table

    sizes = [int(s) for s in args.sizes.split(",")]
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    runs, planted = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            pool = Path(tmp) / f"pool_{n}.jsonl"
            planted[n] = build_pool(pool, n, args.chain_words)
            proc = subprocess.run([sys.executable, __file__, "--one", str(pool)], capture_output=True, text=True)
            if proc.returncode:
                sys.exit(proc.stderr[-3000:])
            runs[n] = json.loads(proc.stdout.strip().splitlines()[-1])
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    targets = {"decontaminate": 60, "dedup-near": 180, WORST: 180, "quality": 60}
    big, small = max(sizes), min(sizes)
    rows = []
    for step in runs[big]:
        row = [step] + [runs[n][step]["seconds"] for n in sizes]
        base = runs[small][step]["seconds"]
        row.append(f"{runs[big][step]['seconds'] / base:.1f}×" if base >= 0.05 else "–")
        row += [runs[n][step]["peak_mb"] for n in sizes]
        target = targets.get(step)
        row.append(f"< {target} s: {'yes' if runs[big][step]['seconds'] < target else 'NO'}" if target else "–")
        rows.append(row)
    print_table(f"curate steps on synthetic pools ({', '.join(f'{n:,}' for n in sizes)} problems)",
                ["step", *[f"{n:,} s" for n in sizes], f"time {big // small}× pool", *[f"{n:,} peak MB" for n in sizes],
                 "target (largest pool)"], rows,
                caption=f"load average before {' '.join(load_before)}, after {' '.join(load_after)} (2 cores)")
    rows = []
    for n in sizes:
        row = [f"{n:,}"]
        for step, kind in (("dedup-exact", "exact"), ("dedup-near", "near"), ("decontaminate", "benchmark")):
            dropped = set(runs[n][step].pop("dropped_ids"))
            row += [len(planted[n][kind]), len(dropped), len(dropped & set(planted[n][kind]))]
        rows.append(row)
    print_table("what the steps dropped: planted, dropped, dropped that were planted",
                ["pool", "exact planted", "dropped", "of them planted", "near planted", "dropped", "of them planted",
                 "benchmark planted", "dropped", "of them planted"], rows)
    for n in sizes:
        for step in runs[n].values():
            step.pop("dropped_ids", None)
        planted[n] = {k: len(v) for k, v in planted[n].items()}
    print(json.dumps({"sizes": sizes, "runs": runs, "planted": planted, "load": [load_before, load_after]}))


if __name__ == "__main__":
    main()
