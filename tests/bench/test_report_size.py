"""The report size benchmark runs end to end (100 synthetic chains, one browser load) and prints its table."""

import subprocess
import sys
from pathlib import Path

import pytest

from thinktrim.report.browser import missing

ROOT = Path(__file__).parents[2]


@pytest.mark.skipif(missing() is not None, reason=f"no headless Chromium: {missing()}")
def test_report_size_bench_runs_on_100_chains() -> None:
    cmd = [sys.executable, str(ROOT / "bench" / "report_size.py"), "--chains", "100", "--repeats", "1"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    row = next(line for line in run.stdout.splitlines() if line.strip("│ ").startswith("100 "))
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert float(cells[2]) > 0 and 0 < float(cells[4].replace(",", "")) < 3000, run.stdout
