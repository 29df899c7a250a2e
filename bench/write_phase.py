"""Write-phase time and peak memory of `thinktrim refine` at 10,000 and 100,000 chains, side by side.

Builds synthetic annotated chains of realistic size (about 30 steps and 3 KB of thinking each, a quarter of the
steps functional, scored) with the matching input file (question/response JSONL with `<think>` tags) and the
run.json the score phase would have written, then runs `write_outputs` (ratios 0.2, 0.3, 0.5: three refined
files, three LLaMA-Factory files, stats.json) alone in a fresh process per size and scope, which reports its
wall time and its peak RSS (the high-water mark of the whole process, the interpreter and pyarrow included).

    flock /tmp/thinktrim-bench.lock .venv/bin/python bench/write_phase.py            # 10K and 100K, both scopes
    .venv/bin/python bench/write_phase.py --sizes 2000 --scopes chain                 # a quick look

The data is built once under --work (default: a folder in the system temp dir) and reused; ~1.3 GB of input
and annotations for 100K chains, plus ~2 GB of outputs. Targets: peak RSS under 1 GB at every size, and time
linear in the number of chains (the last column: microseconds per chain, flat from 10K to 100K).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SENTENCES = [
    "We need the number of ordered pairs that satisfy both conditions at once.",
    "Substituting x = 3 into the second equation gives 2y + 9 = 17, so y = 4.",
    "The sum of the first n odd numbers is n squared, which we can use here.",
    "Then the area of the triangle is one half times the base times the height.",
    "Taking the equation modulo 7 leaves only the residues 1, 2 and 4 to check.",
    "So the probability is the favourable count over the total, 12 over 36.",
    "Multiplying both sides by the denominator clears every fraction at once.",
    "The discriminant b^2 - 4ac must be a perfect square for integer roots.",
]
OPENERS = {"verification": "Wait, let me check that.", "multi_method": "Alternatively, count it another way.",
           "error_correction": "Hmm, that was wrong; fix the sign."}
RATIOS = (0.2, 0.3, 0.5)


def chain(i: int, rng: random.Random, steps: int) -> tuple[dict, dict]:
    """(input record, annotation record) of synthetic chain i: its steps tile its thinking exactly."""
    from thinktrim.data.annotation import ChainAnnotation
    from thinktrim.data.trace import Step, StepKind

    texts, kinds = [], []
    for k in range(steps):
        kind = "progressive" if k == 0 or rng.random() < 0.75 else rng.choice(list(OPENERS))
        body = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 3)))
        text = (OPENERS[kind] + " " + body) if kind != "progressive" else body
        texts.append(text if k == 0 else rng.choice(("\n\n", " ")) + text)
        kinds.append(kind)
    thinking, at, unit, last_progressive = "".join(texts), 0, 0, 0
    step_list = []
    for k, (text, kind) in enumerate(zip(texts, kinds)):
        step = Step(at, at + len(text), StepKind(kind))
        if kind == "progressive":
            last_progressive = k
        else:
            step.link, step.unit, step.pir, step.marker = last_progressive, unit, rng.gauss(0.0, 0.05), "wait"
            unit += 1
        step_list.append(step)
        at += len(text)
    ann = ChainAnnotation(f"c{i}", thinking, step_list, [len(t) // 4 for t in texts], location=f"input.jsonl:{i + 1}",
                          answer_target="response", full_nll=1.0, answer_tokens=12, context_tokens=at // 4,
                          final_value="42", final_value_source="boxed")
    record = {"id": f"c{i}", "question": f"Question {i}: how many pairs are there?",
              "response": f"<think>\n{thinking}\n</think>\n\nThere are \\boxed{{42}} pairs."}
    return record, ann.to_record()


def build(folder: Path, n: int, steps: int = 30) -> Path:
    """Input, annotations.jsonl and run.json for n chains under folder (reused when complete)."""
    from thinktrim.data.store import file_fingerprint
    from thinktrim.refine.config import RefineConfig
    from thinktrim.refine.pipeline import write_run

    done = folder / "built"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(n)
    out = folder / "out"
    out.mkdir(exist_ok=True)
    with (folder / "input.jsonl").open("w", encoding="utf-8") as inp, \
            (out / "annotations.jsonl").open("w", encoding="utf-8") as ann:
        for i in range(n):
            record, annotation = chain(i, rng, steps)
            inp.write(json.dumps(record, ensure_ascii=False) + "\n")
            ann.write(json.dumps(annotation, ensure_ascii=False) + "\n")
    cfg = RefineConfig(input=str(folder / "input.jsonl"), output_dir=str(out), ratios=RATIOS)
    write_run(cfg, out, file_fingerprint(cfg.input), [f"c{i}" for i in range(n)])
    done.touch()
    return folder


def measure(folder: Path, scope: str) -> None:
    """Run the write phase once in this process; print its time and this process's peak RSS as JSON."""
    from thinktrim.refine.config import RefineConfig
    from thinktrim.refine.outputs import write_outputs

    cfg = RefineConfig(input=str(folder / "input.jsonl"), output_dir=str(folder / "out"), ratios=RATIOS, scope=scope)
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    stats = write_outputs(cfg)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "rss_before_mb": start_rss / 1024, "chains": stats["chains"],
                      "reduction": stats["ratios"]["r0.5"]["token_reduction"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="numbers of chains, comma-separated")
    parser.add_argument("--scopes", default="chain,dataset", help="pruning scopes to time")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "thinktrim-bench-write"),
                        help="where the synthetic data is built (and kept for reruns)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: run one measurement in this process
    parser.add_argument("--scope", default="chain", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(Path(args.measure), args.scope)
        return

    from thinktrim.table import print_table

    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        t0 = time.perf_counter()
        folder = build(Path(args.work) / f"n{n}", n)
        print(f"{n:,} chains ready in {time.perf_counter() - t0:.0f} s under {folder}", file=sys.stderr)
        sizes = [(folder / "input.jsonl").stat().st_size, (folder / "out" / "annotations.jsonl").stat().st_size]
        for scope in args.scopes.split(","):
            proc = subprocess.run([sys.executable, __file__, "--measure", str(folder), "--scope", scope],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(proc.stderr)
            m = json.loads(proc.stdout.strip().splitlines()[-1])
            assert m["chains"] == n
            rows.append([n, scope, sizes[0] / 2**20, sizes[1] / 2**20, m["seconds"], m["peak_rss_mb"],
                         m["rss_before_mb"], 1e6 * m["seconds"] / n])
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print_table("refine write phase (ratios 0.2, 0.3, 0.5; JSONL input)",
                ["chains", "scope", "input MB", "annotations MB", "seconds", "peak RSS MB", "RSS at start MB",
                 "µs / chain"], rows, caption=f"load average {' '.join(load)}")


if __name__ == "__main__":
    main()
