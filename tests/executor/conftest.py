"""Fixtures for shards and the Ray executor: real chains, a tiny model folder, the single-process reference run,
and Ray runtimes isolated from anything else on the machine (their own temp folder, auth token, no RAY_ADDRESS).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ..conftest import stop_process

SAMPLE = Path(__file__).parents[2] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"
RAY = [sys.executable, "-c", "from ray.scripts.scripts import main; main()"]  # the `ray` CLI of this interpreter
# Settings every refine run of these tests shares with the reference run (the short boxed answer keeps the
# embedded model's scoring at a few seconds a chain).
REFINE = {"ratios": (0.5,), "scope": "dataset", "answer_target": "boxed", "device": "cpu"}


def cut(record: dict, max_chars: int) -> dict:
    """The record with its thinking cut at the last paragraph break before `max_chars`, answer kept, and the
    cut in its id."""
    thinking, answer = record["response"].split("</think>", 1)
    at = [m.end() for m in re.finditer(r"\n\n", thinking) if m.end() <= max_chars][-1]
    return {**record, "id": f"{record['id']}@{max_chars}", "response": thinking[:at] + "</think>" + answer}


@pytest.fixture(scope="session")
def chains(tmp_path_factory) -> Path:
    """Four real R1 traces (two problems, each cut at two lengths), each with one functional unit to score."""
    records = [json.loads(x) for x in SAMPLE.read_text(encoding="utf-8").splitlines() if x.strip()]
    path = tmp_path_factory.mktemp("chains") / "chains.jsonl"
    path.write_text("".join(json.dumps(cut(records[i], n)) + "\n" for i in (1, 3) for n in (1600, 1900)),
                    encoding="utf-8")
    return path


def sorted_lines(path: Path) -> list[dict]:
    """The records of a JSONL file, sorted by id (a Ray run appends them in the order workers finish)."""
    return sorted((json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()),
                  key=lambda r: r["id"])


def same_outputs(a: Path, b: Path) -> None:
    """Two refine folders hold the same run: annotations (by id), refined and LLaMA-Factory files, stats.json
    (the LLaMA-Factory recipes name their own folder: compared with it written as OUT)."""
    assert sorted_lines(a / "annotations.jsonl") == sorted_lines(b / "annotations.jsonl")
    names = sorted(p.relative_to(a).as_posix() for p in [*a.glob("refined_*"), *(a / "llamafactory").iterdir()])
    assert names
    for name in [*names, "stats.json"]:
        assert _with_folder_as_out(a, name) == _with_folder_as_out(b, name), name


def _with_folder_as_out(folder: Path, name: str) -> bytes:
    return (folder / name).read_bytes().replace(str(folder.resolve()).encode(), b"OUT")


@pytest.fixture(scope="session")
def embedded_scorer():
    from thinktrim.lm.scoring.factory import make_scorer

    return make_scorer("engine", device="cpu")


@pytest.fixture(scope="session")
def one_thread():
    """Run a block with one torch thread, as each Ray worker of these tests does (--threads 1)."""
    import torch

    @contextlib.contextmanager
    def pinned():
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    return pinned


@pytest.fixture(scope="session")
def reference(tmp_path_factory, chains, embedded_scorer, one_thread) -> Path:
    """`chains` refined by one process on the embedded model (one thread): what every other layout must equal."""
    from thinktrim.refine.config import RefineConfig
    from thinktrim.refine.pipeline import LocalScoring, Refiner
    from thinktrim.refine.run import refine

    out = tmp_path_factory.mktemp("reference") / "out"
    cfg = RefineConfig(input=str(chains), output_dir=str(out), **REFINE)
    with one_thread():
        stats = refine(cfg, LocalScoring(Refiner(cfg, scorer=embedded_scorer))).stats
    assert stats["status"] == {"scored": 4} and sum(stats["ratios"]["r0.5"]["units_removed"].values()) >= 2
    return out


@pytest.fixture(scope="module")
def ray_env():
    """Environment for the Ray runtimes of one test module, set before Ray is imported: their own short temp
    folder (unix socket paths must be short), no RAY_ADDRESS to follow, and token authentication off (loopback
    only; on, Ray would read or write a token in ~/.ray). Children (CLI runs, `ray start`) inherit it."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed (`make setup` installs thinktrim[ray])")
    root = tempfile.mkdtemp(prefix="tt-ray-", dir="/tmp")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("RAY_ADDRESS", raising=False)
        mp.setenv("RAY_TMPDIR", root)
        mp.setenv("RAY_AUTH_MODE", "disabled")
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        mp.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parents[2] / "src"),
                                                 *filter(None, [os.environ.get("PYTHONPATH")])]))
        yield root
    shutil.rmtree(root, ignore_errors=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A Ray cluster of `ray start` nodes on loopback, each node a blocking `ray start` process in a session of
    its own: terminating it drains and stops that node's processes (what `ray stop` does, but for this cluster
    only: `ray stop` would stop every Ray of the machine), and whatever is left of its session is killed."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[subprocess.Popen] = []

    def add_node(self, cpus: int = 1) -> None:
        head = not self.nodes
        args = ["--head", f"--port={self.port}", "--include-dashboard=false"] if head else [f"--address={self.address}"]
        log = self.root / f"node{len(self.nodes)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([*RAY, "start", "--block", *args, "--node-ip-address=127.0.0.1",
                                     f"--num-cpus={cpus}", "--num-gpus=0", f"--temp-dir={self.root}",
                                     "--object-store-memory=100000000", "--disable-usage-stats"],
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.nodes.append(proc)
        deadline = time.monotonic() + 120
        while b"Ray runtime started" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"ray start failed:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)

    def worker_pids(self, name: str = "ThinktrimWorker") -> list[int]:
        """Processes of this cluster's Ray workers running actor class `name` (found by their title and by a
        raylet of this cluster among their parents)."""
        raylets = {p for p in _pids() if "raylet" in _cmdline(p) and str(self.root) in _cmdline(p)}
        return [p for p in _pids() if _cmdline(p).startswith(f"ray::{name}") and _parent(p) in raylets]

    def stop(self) -> None:
        for proc in reversed(self.nodes):  # workers first, then the head
            stop_process(proc, 60)
            with contextlib.suppress(ProcessLookupError):  # nothing of the node outlives the test
                os.killpg(proc.pid, signal.SIGKILL)
        self.nodes = []


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


@pytest.fixture(scope="module")
def ray_cluster(ray_env):
    """A two-node Ray cluster on loopback (one CPU each), started and stopped with the test module."""
    cluster = Cluster(ray_env)
    try:
        cluster.add_node()
        cluster.add_node()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def local_ray(ray_env):
    """A local Ray runtime with 2 CPUs in this process, for the in-process executor tests."""
    import ray

    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False,
             logging_level="warning", object_store_memory=100_000_000)
    try:
        yield ray
    finally:
        ray.shutdown()
