"""Refine's read phase over a 100K-row dataset: a `datasets` save_to_disk folder against the same rows as JSONL.

The read phase is what `thinktrim refine` does before scoring (`pipeline.run_ids`, then `iter_input` again while
scoring): every record read, its layout detected and checked, split at </think>, its id taken and checked for
duplicates (for a dataset whose id column is found distinct beforehand, `hf.unique_id_column`, no table of ids is
kept). Each measurement runs in a fresh process (`--child`) that reads every record once through
`thinktrim.data.formats.read_records` and reports its wall time and peak RSS (VmHWM, which counts the Arrow pages
memory-mapped and touched).
`--baseline` also measures processes that read only the first record of each, so the fixed cost of opening
the input (the modules it loads, its first batch) is told apart from the cost of the pass.

    .venv/bin/python bench/datasets_read.py                  # 100,000 rows, 3 runs each, in /tmp
    .venv/bin/python bench/datasets_read.py --rows 20000 --runs 1
    .venv/bin/python bench/datasets_read.py --rows 20000 --chars 20000   # whole traces (7 KB a record)
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"


def build(folder: Path, rows: int, chars: int) -> tuple[Path, Path]:
    """`rows` records (the sample's traces, thinking cut to `chars`, each with its own id) as JSONL and as a
    save_to_disk folder made from that JSONL by `datasets`."""
    import datasets

    jsonl, dataset = folder / f"traces-{rows}.jsonl", folder / f"traces-{rows}_ds"
    if jsonl.exists() and dataset.exists():
        return jsonl, dataset
    folder.mkdir(parents=True, exist_ok=True)
    base = [json.loads(x) for x in SAMPLE.read_text(encoding="utf-8").splitlines() if x.strip()]
    for r in base:
        thinking, answer = r["response"].split("</think>", 1)
        r["response"] = thinking[:chars] + "</think>" + answer
    with jsonl.open("w", encoding="utf-8") as f:
        for i in range(rows):
            f.write(json.dumps({**base[i % len(base)], "id": f"t{i}"}, ensure_ascii=False) + "\n")
    datasets.Dataset.from_json(str(jsonl), cache_dir=str(folder / "build-cache")).save_to_disk(str(dataset))
    return jsonl, dataset


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM). Not ru_maxrss: Linux carries that over from the parent across
    fork and exec, so a child of the process that built the 100K rows would report the builder's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(source: str, read: bool) -> None:
    """Read every record once; print seconds, peak RSS (MiB) and the count as JSON."""
    import datasets  # noqa: F401  (both sides pay for the same imports)

    from thinktrim.data.formats import SourceRecord, read_records

    start = time.perf_counter()
    if read:
        n = sum(isinstance(r, SourceRecord) for r in read_records(source))
    else:  # what opening the input costs: the file's first line, or the dataset's first record batch
        n = 0
        next(read_records(source))
    seconds = time.perf_counter() - start
    peak = peak_rss_mib()
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "records": n}))


def measure(source: Path, runs: int, read: bool = True) -> dict[str, float]:
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, __file__, "--child", str(source), *([] if read else ["--no-read"])],
                             check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"seconds": statistics.median(r["seconds"] for r in results),
            "peak_mib": statistics.median(r["peak_mib"] for r in results), "records": results[0]["records"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--chars", type=int, default=1500, help="thinking characters kept per trace")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--folder", type=Path, default=Path("/tmp/thinktrim-datasets-read"))
    ap.add_argument("--baseline", action="store_true", help="also a process that imports and reads nothing")
    ap.add_argument("--child")
    ap.add_argument("--no-read", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(args.child, not args.no_read)
        return
    jsonl, dataset = build(args.folder, args.rows, args.chars)
    size = jsonl.stat().st_size / 2**20
    rows = {"JSONL file": measure(jsonl, args.runs), "datasets folder": measure(dataset, args.runs)}
    if args.baseline:
        rows["JSONL file, first record only"] = measure(jsonl, args.runs, read=False)
        rows["datasets folder, first record only"] = measure(dataset, args.runs, read=False)
    print(f"{args.rows:,} records, JSONL {size:.0f} MiB; median of {args.runs} runs, each in a fresh process\n")
    print("| input | records | read time (s) | peak RSS (MiB) |")
    print("|---|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['records']:,} | {r['seconds']:.2f} | {r['peak_mib']:.0f} |")
    j, d = rows["JSONL file"], rows["datasets folder"]
    print(f"\ndatasets / JSONL: time {d['seconds'] / j['seconds']:.2f}×, peak RSS {d['peak_mib'] / j['peak_mib']:.2f}×")


if __name__ == "__main__":
    main()
