"""Refine past one process on this machine: throughput with 1 and 2 workers, local and on Ray, each worker with
one torch thread; Ray's overhead; and the time to merge 100,000 annotated chains from 10 shards.

Layouts (the embedded model, `--answer-target boxed`, real R1 traces from the shipped sample cut at several
lengths):
  local 1   one process (`--executor local`)
  local 2   two processes side by side, one shard each (`--shard 0/2`, `--shard 1/2`); the chains' ids are
            chosen so that the id hash splits the work evenly (the same lengths on each side), as it does on
            a large dataset, where the hash evens out
  ray 1/2   `--executor ray --num-workers K --threads 1` on a local Ray started for the run
Each layout loads its models first (timed: start-up, Ray's start included), then scores every chain (timed:
steady state, from the moment all workers are loaded to the last result); each process runs in a fresh
interpreter with OMP_NUM_THREADS=1. Beside wall time it counts the CPU seconds the scoring took in every
process of the layout (driver and workers, from /proc), which other jobs on the machine inflate far less than
wall time: equal CPU seconds a chain for 1 and 2 workers means 2 workers run twice as fast on free cores.
`--repeats R` runs the four layouts R times in turn and keeps each layout's fastest scoring. Targets: 2 workers >=
1.8x one worker; Ray 1 worker within 10 % of the local process. The merge part builds synthetic annotated chains
(bench/write_phase.py's generator), splits them into shards by id as `--shard` would, and times `refine-merge` in
a fresh process: the merge of the annotations, and the write phase after it.

    flock /tmp/thinktrim-bench.lock .venv/bin/python bench/scale.py            # 24 chains, 100,000 merged
    .venv/bin/python bench/scale.py --quick                                    # 6 chains, 2,000 merged
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SAMPLE = BENCH.parent / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"
SETTINGS = {"ratios": (0.5,), "answer_target": "boxed", "device": "cpu"}
LAYOUTS = (("local", 1), ("local", 2), ("ray", 1), ("ray", 2))


def make_chains(path: Path, n: int) -> Path:
    """n real traces: four R1 traces of the sample, each cut at growing lengths (one chain per cut). Each cut
    length's four chains get ids of one shard of 2, the lengths going to shards 0, 1, 1, 0, 0, 1, 1, 0 …, so
    both halves hold the same traces at nearly the same lengths."""
    from thinktrim.data.shards import shard_of

    records = [json.loads(x) for x in SAMPLE.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = []
    for k in range(n):
        record, limit = records[(0, 1, 3, 5)[k % 4]], 1600 + 100 * (k // 4)
        thinking, answer = record["response"].split("</think>", 1)
        at = [m.end() for m in re.finditer(r"\n\n", thinking) if m.end() <= limit][-1]
        half = (0, 1, 1, 0)[(k // 4) % 4]
        chain_id = next(i for t in range(100) if shard_of(i := f"{record['id']}@{limit}.{t}", 2) == half)
        rows.append({**record, "id": chain_id, "response": thinking[:at] + "</think>" + answer})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def config(chains: Path, out: Path, **parallel: object):
    from thinktrim.refine.config import RefineConfig

    return RefineConfig.from_mapping({"input": str(chains), "output_dir": str(out), **SETTINGS, "threads": 1,
                                      "parallel": parallel})


def traces_of(cfg) -> list:
    from thinktrim.data.formats import SourceRecord
    from thinktrim.refine.pipeline import iter_input

    shard = cfg.parallel.shard_spec
    return [i.trace for i in iter_input(cfg) if isinstance(i, SourceRecord) and (shard is None or
                                                                                shard.holds(i.trace.id))]


def measure_local(chains: Path, shard: str | None) -> None:
    """One process (of a shard): load, say so, wait for `go` on stdin, score; print the times as JSON."""
    from thinktrim.lm.threads import use_threads
    from thinktrim.refine.pipeline import LocalScoring, Refiner

    cfg = config(chains, Path(tempfile.mkdtemp()), shard=shard)
    use_threads(cfg.threads)
    start = time.time()
    scoring = LocalScoring(Refiner(cfg)).__enter__()
    loaded = time.time()
    traces = traces_of(cfg)
    print("ready", flush=True)
    sys.stdin.readline()
    go, cpu = time.time(), cpu_seconds([os.getpid()])
    records = list(scoring.map(iter(traces)))
    print(json.dumps({"start": start, "loaded": loaded, "go": go, "end": time.time(), "chains": len(records),
                      "cpu": cpu_seconds([os.getpid()]) - cpu}))


def measure_ray(chains: Path, workers: int) -> None:
    """Ray workers on a local Ray: start (Ray and the workers' models), then score; print the times as JSON."""
    from thinktrim.executor.refine import RayScoring

    cfg = config(chains, Path(tempfile.mkdtemp()), executor="ray", num_workers=workers, ray_address="local")
    traces = traces_of(cfg)
    start = time.time()
    with RayScoring(cfg) as scoring:
        pids = [os.getpid(), *(h["pid"] for h in scoring.workers.hosts)]  # the driver and its workers
        go, cpu = time.time(), cpu_seconds(pids)
        records = list(scoring.map(iter(traces)))
        end, cpu = time.time(), cpu_seconds(pids) - cpu
    print(json.dumps({"start": start, "loaded": go, "go": go, "end": end, "chains": len(records), "cpu": cpu}))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (all their threads)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def child(*args: str) -> subprocess.Popen:
    # one thread per process; no Ray usage stats, and no Ray token written to ~/.ray for a local bench
    env = {"RAY_AUTH_MODE": "disabled", **os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE",
           "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)


def last_json(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"a measurement failed (exit {proc.returncode}); rerun it alone to see why: {proc.args}")
    return json.loads(out.strip().splitlines()[-1])


def run_layout(kind: str, workers: int, chains: Path) -> dict:
    """Start-up and steady-state times of one layout."""
    if kind == "ray":
        times = [last_json(child("--measure-ray", str(chains), str(workers)))]
        times[0]["split"] = "streamed"  # to whichever worker is free
    else:
        shards = [None] if workers == 1 else [f"{i}/{workers}" for i in range(workers)]
        procs = [child("--measure-local", str(chains), *([s] if s else [])) for s in shards]
        for p in procs:  # all loaded: then all start scoring at once
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        times = [last_json(p) for p in procs]
    start, go, end = min(t["start"] for t in times), max(t["go"] for t in times), max(t["end"] for t in times)
    load = max(t["loaded"] for t in times) - start
    return {"layout": f"{kind} {workers}", "startup": load, "steady": end - go, "cpu": sum(t["cpu"] for t in times),
            "chains": sum(t["chains"] for t in times),
            "split": times[0].get("split") or "/".join(str(t["chains"]) for t in times)}


def build_shards(work: Path, n: int, count: int) -> Path:
    """n synthetic annotated chains (write_phase.py's), split into `count` shard folders as --shard would
    leave them; reused when complete."""
    sys.path.insert(0, str(BENCH))
    from write_phase import RATIOS, build

    from thinktrim.data.shards import Shard
    from thinktrim.data.store import file_fingerprint
    from thinktrim.refine.config import RefineConfig
    from thinktrim.refine.pipeline import write_run

    base = build(work / f"n{n}", n)
    out = work / f"n{n}-shards{count}"
    if (out / "built").exists():
        return out
    shards = [Shard(i, count) for i in range(count)]
    files = [(s.folder(out) / "annotations.jsonl") for s in shards]
    ids: list[list[str]] = [[] for _ in shards]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
    handles = [f.open("w", encoding="utf-8") for f in files]
    with (base / "out" / "annotations.jsonl").open(encoding="utf-8") as src:
        for line in src:
            chain_id = json.loads(line)["id"]
            i = next(k for k, s in enumerate(shards) if s.holds(chain_id))
            handles[i].write(line)
            ids[i].append(chain_id)
    for h in handles:
        h.close()
    fingerprint = file_fingerprint(base / "input.jsonl")
    for s, shard_ids in zip(shards, ids):
        cfg = RefineConfig.from_mapping({"input": str(base / "input.jsonl"), "output_dir": str(out),
                                         "ratios": RATIOS, "parallel": {"shard": str(s)}})
        write_run(cfg, s.folder(out), fingerprint, shard_ids)
    (out / "built").touch()
    return out


def measure_merge(folder: Path) -> None:
    """`refine-merge` once in this process, then its write phase alone again; print the times as JSON."""
    from thinktrim.refine.config import RefineMergeConfig
    from thinktrim.refine.outputs import write_outputs
    from thinktrim.refine.pipeline import read_run
    from thinktrim.refine.shards import config_of, merge_shards

    start = time.perf_counter()
    stats = merge_shards(RefineMergeConfig(output_dir=str(folder)))
    merged = time.perf_counter() - start
    cfg = config_of(read_run(folder), RefineMergeConfig(output_dir=str(folder)))
    start = time.perf_counter()
    write_outputs(cfg)
    write = time.perf_counter() - start
    print(json.dumps({"total": merged, "write": write, "chains": stats["chains"],
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def load_average(fields: int = 3) -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:fields])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", type=int, default=24, help="real chains scored per layout")
    parser.add_argument("--merge-chains", type=int, default=100_000, help="synthetic chains merged")
    parser.add_argument("--shards", type=int, default=10, help="shards they are split into")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of the four layouts (fastest kept)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 6 chains, 2,000 merged")
    parser.add_argument("--skip", choices=("refine", "merge"), help="leave one part out")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "thinktrim-bench-scale"),
                        help="where data is built (the synthetic shards are kept for reruns)")
    parser.add_argument("--measure-local", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--measure-ray", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--measure-merge", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_local:
        return measure_local(Path(args.measure_local[0]), (args.measure_local[1:] or [None])[0])
    if args.measure_ray:
        return measure_ray(Path(args.measure_ray[0]), int(args.measure_ray[1]))
    if args.measure_merge:
        return measure_merge(Path(args.measure_merge))
    if args.quick:
        args.chains, args.merge_chains = 6, 2000

    from thinktrim.table import print_table

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    loads = [load_average()]
    if args.skip != "refine":
        chains = make_chains(work / "chains.jsonl", args.chains)
        rows: dict[tuple[str, int], dict] = {}
        for _ in range(args.repeats):
            for kind, workers in LAYOUTS:
                before = load_average(1)
                r = {**run_layout(kind, workers, chains), "load": f"{before} → {load_average(1)}"}
                print(f"{r['layout']}: {r}", file=sys.stderr)
                if (kind, workers) not in rows or r["steady"] < rows[(kind, workers)]["steady"]:
                    rows[(kind, workers)] = r
        loads.append(load_average())
        print_table(f"refine throughput, {args.chains} chains, embedded model, 1 thread per worker"
                    + (f", fastest of {args.repeats}" if args.repeats > 1 else ""),
                    ["layout", "start-up s", "scoring s", "chains / s", "CPU s / chain", "chains per worker",
                     "load"],
                    [[r["layout"], f"{r['startup']:.1f}", f"{r['steady']:.1f}", f"{r['chains'] / r['steady']:.3f}",
                      f"{r['cpu'] / r['chains']:.2f}", r["split"], r["load"]] for r in rows.values()],
                    caption=f"load average {' → '.join(loads)}")

        def speed(layout: tuple[str, int]) -> float:
            return rows[layout]["chains"] / rows[layout]["steady"]

        def cpu(layout: tuple[str, int]) -> float:
            return rows[layout]["cpu"] / rows[layout]["chains"]

        one, two, ray1, ray2 = LAYOUTS
        print_table("ratios: wall-clock throughput, and CPU seconds a chain", ["ratio", "wall", "CPU", "target"], [
            ["local: 2 workers ÷ 1", f"{speed(two) / speed(one):.2f}×", f"{cpu(one) / cpu(two) * 2:.2f}×",
             ">= 1.8×"],
            ["ray: 2 workers ÷ 1", f"{speed(ray2) / speed(ray1):.2f}×", f"{cpu(ray1) / cpu(ray2) * 2:.2f}×",
             ">= 1.8×"],
            ["ray 1 worker against local 1: overhead", f"{100 * (speed(one) / speed(ray1) - 1):+.1f} %",
             f"{100 * (cpu(ray1) / cpu(one) - 1):+.1f} %", "<= 10 %"],
            ["ray 2 workers ÷ local 2", f"{speed(ray2) / speed(two):.2f}×", f"{cpu(two) / cpu(ray2):.2f}×", ""],
        ], caption="CPU column: what the wall ratio would be on free cores (2 workers: 2 × the CPU seconds a chain "
                   "of 1 ÷ those of 2; overhead: CPU seconds a chain, Ray ÷ local)")
    if args.skip != "merge":
        t0 = time.perf_counter()
        folder = build_shards(work, args.merge_chains, args.shards)
        print(f"{args.merge_chains:,} chains in {args.shards} shards ready in {time.perf_counter() - t0:.0f} s "
              f"under {folder}", file=sys.stderr)
        m = last_json(child("--measure-merge", str(folder)))
        assert m["chains"] == args.merge_chains
        loads.append(load_average())
        print_table(f"refine-merge of {args.merge_chains:,} annotated chains from {args.shards} shards "
                    "(ratios 0.2, 0.3, 0.5)",
                    ["chains", "shards", "merge s (annotations)", "write phase s", "total s", "peak RSS MB"],
                    [[f"{args.merge_chains:,}", args.shards, f"{m['total'] - m['write']:.1f}", f"{m['write']:.1f}",
                      f"{m['total']:.1f}", f"{m['peak_rss_mb']:.0f}"]],
                    caption=f"load average {' → '.join(loads)}")


if __name__ == "__main__":
    main()
