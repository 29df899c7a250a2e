"""`make demo`: its eval part runs the bundled `arith` set in settings that differ, and it ends by saying what
happened (refine per ratio, the runs compared, the report and what to look at) from the real outputs."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def test_make_demo_runs_arith_in_settings_that_differ_then_sums_up(tmp_path: Path) -> None:
    # under `make test` the outer make's MAKEFLAGS/MAKELEVEL would add "Entering directory" lines
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    proc = subprocess.run(["make", "--no-print-directory", "-n", "demo", f"DEMO_OUT={tmp_path}"], cwd=ROOT,
                          capture_output=True, text=True, check=True, env=env)
    commands = proc.stdout.replace("\\\n", " ").splitlines()  # continued lines joined
    lines = [shlex.split(x) for x in commands if x.strip() and not x.lstrip().startswith("#")]
    evals = [a for a in lines if a[0].endswith("/thinktrim") and a[1] == "eval"]
    assert len(evals) >= 3
    assert all(option(a, "--benchmark") == "arith" and option(a, "--limit") is None for a in evals)
    settings = [(option(a, "--temperature"), option(a, "--max-new-tokens"), option(a, "-n")) for a in evals]
    assert len(set(settings)) == len(settings)
    assert any(t == "0" for t, _, _ in settings) and any(t not in (None, "0") for t, _, _ in settings)
    assert len({m for t, m, _ in settings if t == "0"}) >= 2  # greedy at two token budgets
    runs = [option(a, "-o") for a in evals]
    report = next(a for a in lines if a[0].endswith("/thinktrim") and a[1] == "report")
    assert report[3:3 + len(runs)] == runs  # the first eval run is the report's AES baseline too
    assert lines[-1][1:3] == ["-m", "thinktrim.demo"] and lines[-1][-len(runs):] == runs


@pytest.mark.slow
def test_demo_summary_reads_the_real_outputs(refine_dir: Path, eval_dirs: list[Path], demo_report: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "thinktrim.demo", str(refine_dir), str(demo_report),
                           *map(str, eval_dirs)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    stats = json.loads((refine_dir / "stats.json").read_text())
    assert f"refine: {stats['chains']} chains read, {stats['status'].get('scored', 0)} scored by PIR" in out
    for tag, r in stats["ratios"].items():
        assert (f"ratio {r['ratio']:g} ({tag}): {sum(r['units_removed'].values())} functional units removed, "
                f"thinking tokens {r['thinking_tokens_before']:,} → {r['thinking_tokens_after']:,} "
                f"(−{100 * r['token_reduction']:.1f} %)") in out
    compare = subprocess.run([sys.executable, "-m", "thinktrim.cli", "eval", "compare", *map(str, eval_dirs)],
                             capture_output=True, text=True, timeout=120)
    assert compare.returncode == 0 and compare.stdout.strip() in out  # `thinktrim eval compare`'s own table
    assert f"report: {demo_report.resolve()}" in out and "ratio slider" in out
    assert out.index("refine:") < out.index("thinktrim eval compare") < out.index("report:")


def test_demo_summary_names_a_missing_folder(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "thinktrim.demo", str(tmp_path / "nope"), "r.html", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "nope" in proc.stderr and len(proc.stderr.splitlines()) == 1
