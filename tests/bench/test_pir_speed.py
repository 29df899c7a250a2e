"""The PIR speed benchmark runs end to end (tiny random model, one short real chain) and reports its targets."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
TRACES = ROOT.parent / "shared" / "data" / "traces"


@pytest.mark.skipif(not TRACES.exists(), reason="../shared/data/traces is not beside the checkout")
def test_pir_speed_bench_runs_on_a_tiny_model():
    cmd = [sys.executable, str(ROOT / "bench" / "pir_speed.py"), "--model", "random:tiny", "--device", "cpu",
           "--sources", "qwq-misguided", "--long-tokens", "0", "--max-tokens", "800", "--min-units", "3",
           "--threads", "1"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "Minimum-work bound over all eligible chains" in out  # the survey
    assert "qwq-misguided/" in out and "PIR scoring time and memory" in out
    row = next(line for line in out.splitlines() if "max |ΔPIR| ≤ 1e-4" in line)
    assert "yes" in row, out
