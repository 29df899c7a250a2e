"""Shared cores: a small eval and a small refine, alone and next to a competing CPU-bound torch process, under
the old defaults and the new ones.

    .venv/bin/python bench/shared_cores.py            # the full run (about 10-15 minutes on a quiet 2-core machine)
    .venv/bin/python bench/shared_cores.py --quick    # smoke test: tiny jobs
    .venv/bin/python bench/shared_cores.py --alone-only --repeats 5 --variants old,new   # the cost alone, only
    flock /tmp/thinktrim-bench.lock .venv/bin/python bench/shared_cores.py   # where other jobs share the machine

The jobs: `thinktrim eval --benchmark gsm8k --limit 4 -n 2 --max-new-tokens 96` and `thinktrim refine` of the
first bundled sample chain (~2,000 tokens) at one ratio; --quick: 1 question × 1 sample of 16 tokens, and that
chain's thinking cut to ~1,800 characters (~1,000 tokens, one functional unit). Each run is a fresh `thinktrim`
process with a fresh output folder, in an environment without OMP_WAIT_POLICY and OMP_NUM_THREADS (as a new
user's shell), and must have scored its chain or written its results:

- **old**: the behaviour before issue 15. torch is imported before thinktrim's CLI module, so the OpenMP
  runtime starts without a wait policy: idle threads spin (GNU OpenMP: 300,000 spins) before they sleep.
- **passive**: the old launch with OMP_WAIT_POLICY=PASSIVE alone (no spinning at all; the first fix tried).
- **new**: `python -m thinktrim.cli` as shipped: OMP_WAIT_POLICY=PASSIVE with GOMP_SPINCOUNT=3000 (a spin of a
  few microseconds before sleeping), torch's own thread count.
- **new-1thread**: the same with `--threads 1` (whether fewer threads would be a better default).

The competitor is another user's torch job: a loop of 512×512 matmuls in its own process with torch's defaults
(its threads spin). The bench starts it, waits until it runs, starts the job, and stops it when the job ends. Its
own speed next to the job (matmuls/s against its speed alone) shows whether a job got faster by starving it.

Figures: wall seconds of the whole command (start-up, model load, generation or scoring, writing), the slowdown
next to the competitor (÷ the same variant's time alone), and the load average (1 min) before and after each run.
A run that passes `--cap` × its variant's time alone is stopped and shown as "≥". Targets (issue 15): next to one
competitor ≤ 2.5× the time alone, and the new defaults' time alone within 5 % of the old defaults'.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "thinktrim" / "data" / "samples" / "thought_anchors_sample.jsonl"
CLI = ["-m", "thinktrim.cli"]
# The CLI's wait-policy line runs too late to matter when torch is already imported.
OLD_CLI = ["-c", "import sys, torch; from thinktrim.cli import main; main(sys.argv[1:])"]
# name: (launcher, extra options, environment added to a clean shell's)
VARIANTS = {"old": (OLD_CLI, [], {}), "passive": (OLD_CLI, [], {"OMP_WAIT_POLICY": "PASSIVE"}),
            "new": (CLI, [], {}), "new-1thread": (CLI, ["--threads", "1"], {})}
COMPETITOR = """
import signal, sys, time, torch
a, b = torch.randn(512, 512), torch.randn(512, 512)
count, start = 0, None
def stop(*_):
    print(f"{count} {time.perf_counter() - start:.3f}", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
(a @ b).sum()
print("ready", flush=True)
start = time.perf_counter()
while True:
    a = torch.tanh(a @ b) * 0.5
    count += 1
"""


@dataclass
class Run:
    seconds: float
    capped: bool
    load_before: float
    load_after: float
    competitor_rate: float | None = None  # matmuls/s of the competitor during the run


def clean_env() -> dict[str, str]:
    """The environment of a user who set nothing: no OpenMP settings, this checkout's package first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "KMP_", "MKL_NUM"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    return env


def loadavg() -> str:
    """The 1, 5 and 15-minute load averages (Linux), as /proc/loadavg gives them."""
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "nan nan nan"


def load1() -> float:
    return float(loadavg().split()[0])


def short_chain(work: Path, chars: int = 1800) -> Path:
    """The first bundled chain with its thinking cut after the sentence that passes `chars` (for --quick)."""
    record = json.loads(SAMPLE.read_text(encoding="utf-8").splitlines()[0])
    thinking, answer = record["response"].split("</think>", 1)
    cut = thinking.find(". ", chars)
    record["response"] = thinking[:cut + 1 if cut >= 0 else None] + "\n</think>" + answer
    path = work / "short_chain.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return path


def job_args(job: str, quick: bool, out: Path) -> list[str]:
    if job == "eval":
        size = ["--limit", "1", "-n", "1", "--max-new-tokens", "16"] if quick else \
            ["--limit", "4", "-n", "2", "--max-new-tokens", "96"]
        return ["eval", "--benchmark", "gsm8k", *size, "--device", "cpu", "-o", str(out)]
    chains = short_chain(out.parent) if quick else SAMPLE  # one chain of ~1,000 or ~2,000 tokens
    return ["refine", str(chains), "--limit", "1", "--ratios", "0.5", "--device", "cpu", "-o", str(out)]


class Competitor:
    """The other torch job: started (and running) on enter, stopped on exit; `rate` is its matmuls/s."""

    def __init__(self) -> None:
        self.rate: float | None = None

    def __enter__(self) -> Competitor:
        self.proc = subprocess.Popen([sys.executable, "-c", COMPETITOR], env=clean_env(), stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the competing process did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        count, seconds = out.split()
        self.rate = int(count) / float(seconds)


def competitor_alone(seconds: float) -> float:
    with Competitor() as c:
        time.sleep(seconds)
    assert c.rate is not None
    return c.rate


def run_job(job: str, variant: str, quick: bool, cap_s: float | None, work: Path, competitor: bool) -> Run:
    launcher, extra, variant_env = VARIANTS[variant]
    out = Path(tempfile.mkdtemp(dir=work, prefix=f"{job}-{variant}-"))
    cmd = [sys.executable, *launcher, *job_args(job, quick, out), *extra]
    load_before = load1()
    c = Competitor() if competitor else None
    if c is not None:
        c.__enter__()
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env={**clean_env(), **variant_env}, capture_output=True, text=True, timeout=cap_s)
        seconds, capped = time.perf_counter() - start, False
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
        check_output(job, out)
    except subprocess.TimeoutExpired:
        seconds, capped = time.perf_counter() - start, True
    finally:
        if c is not None:
            c.__exit__()
        shutil.rmtree(out, ignore_errors=True)
    return Run(seconds, capped, load_before, load1(), c.rate if c is not None else None)


def check_output(job: str, out: Path) -> None:
    """A run that did no work would time nothing: eval must write results, refine must score its chain."""
    if job == "eval":
        done = (out / "results.json").is_file()
    else:
        annotations = (out / "annotations.jsonl").read_text(encoding="utf-8").splitlines()
        done = any(json.loads(line).get("status") == "scored" for line in annotations if line.strip())
    if not done:
        raise RuntimeError(f"{job} in {out} finished without doing its work (no results, or no chain scored)")


def seconds_cell(run: Run) -> str:
    return f"{'≥ ' if run.capped else ''}{run.seconds:.1f}"


def alone_cell(runs: list[Run]) -> str:
    """The median seconds, and the range when there are several runs."""
    times = sorted(r.seconds for r in runs)
    spread = f" ({times[0]:.1f}–{times[-1]:.1f})" if len(times) > 1 else ""
    return f"{statistics.median(times):.1f}{spread}"


def load_cell(runs: list[Run]) -> str:
    return "; ".join(f"{r.load_before:.2f} → {r.load_after:.2f}" for r in runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny jobs (a smoke test, a few minutes)")
    parser.add_argument("--jobs", default="eval,refine", help="eval, refine or both (comma-separated)")
    parser.add_argument("--variants", default=None,
                        help=f"of {', '.join(VARIANTS)} (default: all; --quick: old,new)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs alone per variant, taken in turn (the median is compared: the 5 %% target)")
    parser.add_argument("--alone-only", action="store_true", help="no runs next to the competitor")
    parser.add_argument("--cap", type=float, default=10.0,
                        help="stop a run next to the competitor after this many times its time alone")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    args = parser.parse_args(argv)
    jobs = [j.strip() for j in args.jobs.split(",") if j.strip()]
    variants = [v.strip() for v in (args.variants or ("old,new" if args.quick else ",".join(VARIANTS))).split(",")]
    for name in [*jobs, *variants]:
        if name not in (*VARIANTS, "eval", "refine"):
            parser.error(f"unknown job or variant {name!r}")
    if args.repeats < 1:
        parser.error("--repeats: must be >= 1")

    from thinktrim.table import markdown_table, print_table

    print(f"{os.cpu_count()} CPUs; load average before: {loadavg()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="thinktrim-shared-cores-"))
    try:
        # One untimed run first: the embedded model's conversion and the OS file cache are not what is measured.
        run_job(jobs[0], "new", True, None, work, competitor=False)
        alone_rate = None if args.alone_only else competitor_alone(5.0 if args.quick else 15.0)
        if alone_rate is not None:
            print(f"competitor alone: {alone_rate:.1f} matmuls/s", flush=True)
        rows, medians, slowdowns = [], {}, {}
        for job in jobs:
            alone: dict[str, list[Run]] = {v: [] for v in variants}
            for _ in range(args.repeats):  # in turn, so a change of load hits every variant alike
                for variant in variants:
                    run = run_job(job, variant, args.quick, None, work, competitor=False)
                    alone[variant].append(run)
                    print(f"{job} {variant} alone: {run.seconds:.1f} s (load {run.load_before:.2f} → "
                          f"{run.load_after:.2f})", flush=True)
            for variant in variants:
                medians[job, variant] = quiet = statistics.median(r.seconds for r in alone[variant])
                row = [job, variant, alone_cell(alone[variant])]
                if args.alone_only:
                    rows.append([*row, "–", "–", "–", load_cell(alone[variant]), "–"])
                    continue
                busy = run_job(job, variant, args.quick, args.cap * quiet, work, competitor=True)
                print(f"{job} {variant} next to the competitor: {seconds_cell(busy)} s (load "
                      f"{busy.load_before:.2f} → {busy.load_after:.2f})", flush=True)
                slowdowns[job, variant] = (busy.seconds / quiet, busy.capped)
                share = busy.competitor_rate / alone_rate if busy.competitor_rate and alone_rate else None
                rows.append([*row, seconds_cell(busy), f"{'≥ ' if busy.capped else ''}{busy.seconds / quiet:.2f}×",
                             f"{share:.0%}" if share is not None else "–", load_cell(alone[variant]),
                             load_cell([busy])])
        columns = ["job", "defaults", "alone s", "next to competitor s", "slowdown", "competitor speed",
                   "load alone", "load next to"]
        caption = ("alone s: the median (and range) of --repeats runs; slowdown: next to the competitor ÷ alone; "
                   "competitor speed: its matmuls/s next to the job ÷ alone; load: 1-minute load average before "
                   "→ after each run (the bench's own processes included)")
        print_table("Shared cores: wall time alone and next to a CPU-bound torch process", columns, rows, caption)
        targets = []
        for job in jobs:
            for variant in (v for v in variants if v != "old"):
                if (job, variant) in slowdowns:
                    ratio, capped = slowdowns[job, variant]
                    targets.append([f"{job} {variant}: next to one competitor ≤ 2.5× alone", f"{ratio:.2f}×",
                                    "yes" if ratio <= 2.5 and not capped else "no"])
                if "old" in variants:
                    change = medians[job, variant] / medians[job, "old"] - 1
                    targets.append([f"{job} {variant}: alone within 5 % of old", f"{change:+.1%}",
                                    "yes" if change <= 0.05 else "no"])
        print_table("Targets", ["target", "measured", "met"], targets)
        if args.markdown:
            print(markdown_table(columns, rows))
            print(markdown_table(["target", "measured", "met"], targets))
        print(f"load average after: {loadavg()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
