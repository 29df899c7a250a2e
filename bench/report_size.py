"""Report size and open time for synthetic refine folders of 1,000 and 10,000 chains, side by side.

Each folder holds what `thinktrim refine` writes for the report (annotations.jsonl, run.json, stats.json; the
stats from refine's own `RunStats`). Chains are made of random words from the bundled sample traces, so
they compress like real text, with ~30 steps of ~250 characters (about the bundled R1 traces; `--steps` and
`--step-chars` for longer ones). Open time is measured in headless Chromium: navigation start → the page's
"ready" flag (summary charts drawn and the first chain shown), median of `--repeats` fresh loads.

    flock /tmp/thinktrim-bench.lock python bench/report_size.py            # 1K and 10K chains
    python bench/report_size.py --chains 1000 --steps 120                  # longer chains
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from thinktrim.data.annotation import ChainAnnotation
from thinktrim.data.store import write_json, write_jsonl
from thinktrim.data.trace import Step, StepKind
from thinktrim.refine.classify import assign_units, link_to_progressive
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.prune import units_to_remove
from thinktrim.refine.stats import RunStats
from thinktrim.report.browser import chromium, missing, open_report
from thinktrim.report.build import build_report
from thinktrim.report.config import ReportConfig

SAMPLE = Path(__file__).parents[1] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"
OPENERS = {StepKind.VERIFICATION: "Wait, let me check that. ", StepKind.MULTI_METHOD: "Alternatively, ",
           StepKind.ERROR_CORRECTION: "Hmm, that is wrong. "}
KIND_WEIGHTS = {StepKind.PROGRESSIVE: 0.62, StepKind.VERIFICATION: 0.2, StepKind.MULTI_METHOD: 0.09,
                StepKind.ERROR_CORRECTION: 0.09}


def vocabulary() -> list[str]:
    text = " ".join(json.loads(line)["response"] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line)
    return re.findall(r"[A-Za-z]+|\d+|[=+\-*/^()]", text)


def synthetic_chain(rng: random.Random, words: list[str], n_steps: int, step_chars: int) -> tuple[str, list[Step]]:
    kinds = list(KIND_WEIGHTS)
    thinking, steps = "", []
    for i in range(n_steps):
        kind = StepKind.PROGRESSIVE if i == 0 else rng.choices(kinds, weights=list(KIND_WEIGHTS.values()))[0]
        body = OPENERS.get(kind, "")
        while len(body) < step_chars * rng.uniform(0.5, 1.5):
            body += " ".join(rng.choices(words, k=rng.randint(8, 20))).capitalize() + ". "
        text = body.rstrip() + "\n\n"
        steps.append(Step(len(thinking), len(thinking) + len(text), kind, protected=i == 0))
        thinking += text
    steps = assign_units(link_to_progressive(steps))
    pir = {u: rng.gauss(0.01, 0.03) for u in {s.unit for s in steps if s.unit is not None}}
    return thinking, [Step(s.start, s.end, s.kind, s.link, s.unit, pir.get(s.unit), s.protected) for s in steps]


def build_folder(out: Path, n: int, n_steps: int, step_chars: int, seed: int = 0) -> None:
    """A refine output folder of `n` scored synthetic chains (no refined files: the report does not read them)."""
    rng, words = random.Random(seed), vocabulary()
    cfg = RefineConfig(input=str(out / "input.jsonl"), output_dir=str(out), ratios=(0.2, 0.3, 0.5))
    anns = []
    for i in range(n):
        thinking, steps = synthetic_chain(rng, words, max(2, round(n_steps * rng.uniform(0.5, 1.5))), step_chars)
        anns.append(ChainAnnotation(f"chain-{i:05d}", thinking, steps, [(s.end - s.start) // 4 for s in steps],
                                    location=f"input.jsonl:{i + 1}", answer_target="response"))
    write_jsonl(out / "annotations.jsonl", (a.to_record() for a in anns))
    write_json(out / "run.json", {**cfg.to_dict(), "ratios": list(cfg.ratios)})
    removal = {r: units_to_remove({a.id: a.steps for a in anns}, r, cfg.scope) for r in cfg.ratios}
    stats = RunStats(cfg.ratios)
    for a in anns:
        stats.add(a, {r: removal[r].get(a.id, set()) for r in cfg.ratios})
    write_json(out / "stats.json", {**stats.to_dict(cfg), "files": {}})


def measure(n: int, args: argparse.Namespace, root: Path) -> dict[str, float]:
    folder = root / f"refine-{n}"
    t = time.perf_counter()
    build_folder(folder, n, args.steps, args.step_chars)
    made = time.perf_counter() - t
    t = time.perf_counter()
    done = build_report(ReportConfig(inputs=(str(folder),), output=str(root / f"report-{n}.html")))
    built = time.perf_counter() - t
    opens, switches = [], []
    for _ in range(args.repeats):
        with chromium() as driver:
            opens.append(open_report(driver, done["path"]))
            last = f"chain-{n - 1:05d}"  # the last chunk: a blob never decoded yet
            switches.append(driver.execute_script(
                "const t = performance.now(); "
                "return window.tt.showChain(arguments[0]).then(() => performance.now() - t)", last))
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            if errors:
                raise RuntimeError(f"console errors: {errors}")
    raw = (folder / "annotations.jsonl").stat().st_size
    return {"chains": n, "annotations_mb": raw / 1e6, "html_mb": done["bytes"] / 1e6, "folder_s": made,
            "build_s": built, "open_ms": statistics.median(opens), "open_max_ms": max(opens),
            "switch_ms": statistics.median(switches)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chains", default="1000,10000", help="Comma-separated chain counts.")
    p.add_argument("--steps", type=int, default=30, help="Mean steps per chain.")
    p.add_argument("--step-chars", type=int, default=250, help="Mean characters per step.")
    p.add_argument("--repeats", type=int, default=3, help="Fresh browser loads per report (median reported).")
    args = p.parse_args()
    if reason := missing():
        sys.exit(f"report_size: {reason}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="thinktrim-report-bench-") as tmp:
        for n in (int(c) for c in args.chains.split(",")):
            rows.append(measure(n, args, Path(tmp)))
            print(f"  {n} chains measured", file=sys.stderr)
    from thinktrim.table import print_table

    print_table(
        f"thinktrim report: size and open time (synthetic chains, ~{args.steps} steps × ~{args.step_chars} chars)",
        ["chains", "annotations MB", "report MB", "build s", "open ms (median)", "open ms (max)",
         "open a chain in the last chunk, ms"],
        [[r["chains"], f"{r['annotations_mb']:.1f}", f"{r['html_mb']:.1f}", f"{r['build_s']:.1f}",
          round(r["open_ms"]), round(r["open_max_ms"]), round(r["switch_ms"])] for r in rows],
        caption="open = navigation start → summary charts drawn and first chain shown, in headless Chromium "
                "(target < 3,000 ms at 10K chains); load average: " + Path("/proc/loadavg").read_text().split(" ")[0],
    )


if __name__ == "__main__":
    main()
