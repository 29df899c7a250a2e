"""`thinktrim refine --executor ray` on a real two-node Ray cluster on loopback (`ray start --head` plus a second
`ray start --address`), the embedded model on each node: the outputs equal the single-process run's, a worker
killed with kill -9 mid-run costs nothing (its chains are retried on the restarted worker, none is stored
twice), and a driver killed with kill -9 resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REFINE, Cluster, same_outputs

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "thinktrim.cli"]
CHAINS = 4


def refine_on(cluster: Cluster, chains: Path, out: Path) -> subprocess.Popen:
    args = ["refine", chains, "-o", out, "--ratios", "0.5", "--scope", REFINE["scope"], "--answer-target",
            REFINE["answer_target"], "--device", "cpu", "--executor", "ray", "--ray-address", cluster.address,
            "--num-workers", "2", "--threads", "1"]
    return subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stored(out: Path) -> list[str]:
    path = out / "annotations.jsonl"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def wait_for_first_chain(proc: subprocess.Popen, out: Path) -> int:
    deadline = time.monotonic() + 300
    while not (n := len(stored(out))):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no chain scored in 300 s"
        time.sleep(0.05)
    return n


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(tmp_path: Path, chains: Path, reference: Path,
                                                               ray_cluster: Cluster) -> None:
    out = tmp_path / "out"
    proc = refine_on(ray_cluster, chains, out)
    done_at_kill = wait_for_first_chain(proc, out)
    workers = ray_cluster.worker_pids()
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)  # a worker with a chain in flight: each holds one or two
    restarted = set()
    while proc.poll() is None:
        restarted |= set(ray_cluster.worker_pids()) - set(workers)
        time.sleep(0.1)
    _, err = proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert done_at_kill < CHAINS and restarted, (done_at_kill, restarted)  # killed mid-run, and restarted
    assert "on 2 node(s)" in err  # one worker on each node of the cluster
    lines = stored(out)
    assert len(lines) == CHAINS and len(set(lines)) == CHAINS
    same_outputs(reference, out)


def test_a_killed_driver_resumes(tmp_path: Path, chains: Path, reference: Path, ray_cluster: Cluster) -> None:
    out = tmp_path / "out"
    proc = refine_on(ray_cluster, chains, out)
    wait_for_first_chain(proc, out)
    proc.kill()  # SIGKILL: no cleanup in the driver; Ray ends the workers it owned
    proc.communicate()
    before = stored(out)
    assert 0 < len(before) < CHAINS
    deadline = time.monotonic() + 120
    while ray_cluster.worker_pids() and time.monotonic() < deadline:  # the dead driver's workers go away
        time.sleep(0.2)
    again = refine_on(ray_cluster, chains, out)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-3000:]
    after = stored(out)
    assert after[: len(before)] == before and len(after) == CHAINS == len(set(after))
    same_outputs(reference, out)


def test_eval_on_the_cluster_equals_one_process(tmp_path: Path, tiny_model_dir: Path, ray_cluster: Cluster,
                                                one_thread) -> None:
    """`thinktrim eval --executor ray` across both nodes: the same samples (sampled ones too) and results as one
    process."""
    from thinktrim.evaluate.config import EvalConfig
    from thinktrim.evaluate.run import evaluate

    settings = {"benchmarks": ["gsm8k"], "limit": 3, "n": 2, "max_new_tokens": 8, "temperature": 0.7,
                "batch_size": 2, "model": str(tiny_model_dir), "device": "cpu", "grade_processes": 0}
    with one_thread():
        single = evaluate(EvalConfig.from_mapping({**settings, "output_dir": str(tmp_path / "single")}))
    args = ["-b", "gsm8k", *(f"--{k.replace('_', '-')}={v}" for k, v in settings.items() if k != "benchmarks"),
            "-o", tmp_path / "ray", "--executor", "ray", "--ray-address", ray_cluster.address, "--num-workers", "2"]
    proc = subprocess.run([*CLI, "eval", *map(str, args)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on 2 node(s)" in proc.stderr

    def samples(out: Path) -> list[tuple]:
        rows = [json.loads(x) for x in (out / "gsm8k" / "samples.jsonl").read_text().splitlines()]
        return sorted((r["key"], r["response"], r["tokens"]) for r in rows)

    assert samples(tmp_path / "ray") == samples(tmp_path / "single") and len(samples(tmp_path / "single")) == 6
    assert json.loads((tmp_path / "ray" / "results.json").read_text())["benchmarks"] == single["benchmarks"]
