"""What the Ray executor decides before it starts anything: the workers' layout on a cluster's resources, the
chunks vLLM engines get, and the settings it refuses. No Ray runtime, no model."""

from __future__ import annotations

import pytest

from thinktrim.executor.ray_workers import WorkerPlan, plan_workers
from thinktrim.lm.generation.types import GenerationConfig, Job
from thinktrim.lm.parallel import ParallelConfig


def plan(settings: dict, *args):
    """plan_workers for `settings`: ParallelConfig fields, and the command's `threads`."""
    settings = dict(settings)
    threads = settings.pop("threads", None)
    return plan_workers(ParallelConfig(executor="ray", **settings), threads, *args)


@pytest.mark.parametrize(("settings", "cpus", "gpus", "device", "engine", "expected"), [
    ({}, 2, 0, "auto", False, WorkerPlan(2, 1, 0.0, 0, "cpu")),  # one worker per core
    ({"threads": 2}, 8, 0, "cpu", False, WorkerPlan(4, 2, 0.0, 0, "cpu")),  # --threads per worker
    ({"num_workers": 3}, 16, 0, "auto", False, WorkerPlan(3, 5, 0.0, 0, "cpu")),  # cores ÷ workers
    ({}, 16, 8, "auto", False, WorkerPlan(8, 2, 1.0, 0, "cuda")),  # one worker per GPU
    ({"gpus_per_worker": 0.5}, 16, 2, "cuda", False, WorkerPlan(4, 4, 0.5, 0, "cuda")),  # two per GPU
    ({}, 16, 8, "cpu", False, WorkerPlan(16, 1, 0.0, 0, "cpu")),  # --device cpu leaves the GPUs alone
    ({"gpus_per_worker": 2}, 16, 8, "auto", True, WorkerPlan(4, 4, 2.0, 2, "cuda")),  # vLLM TP 2 × DP 4
    ({"gpus_per_worker": 4, "num_workers": 1}, 8, 8, "auto", True, WorkerPlan(1, 8, 4.0, 4, "cuda")),
])
def test_layouts(settings, cpus, gpus, device, engine, expected) -> None:
    assert plan(settings, cpus, gpus, device, engine) == expected


@pytest.mark.parametrize(("settings", "cpus", "gpus", "device", "engine", "message"), [
    ({"num_workers": 3}, 2, 0, "auto", False, "--num-workers 3: × 1 CPU(s) each needs 3 CPUs; the Ray cluster has 2"),
    ({"num_workers": 4}, 16, 2, "auto", False, "--num-workers 4: × 1 GPU(s) each needs 4 GPUs"),
    ({}, 16, 0, "cuda:1", False, "--device cuda:1: names one GPU"),
    ({}, 16, 0, "cuda", False, "--device cuda: the workers hold no GPU"),
    ({"gpus_per_worker": 1}, 16, 4, "cpu", False, "--gpus-per-worker 1: GPUs for workers told --device cpu"),
    ({"gpus_per_worker": 2}, 16, 4, "auto", False, "a transformers worker uses one GPU"),
    ({"gpus_per_worker": 1.5}, 16, 4, "auto", True, "a tensor-parallel size, a whole number"),
    ({"threads": 4}, 2, 0, "auto", False, "cannot hold one worker of 4 CPU(s)"),
    ({"gpus_per_worker": 2, "num_workers": 2}, 2, 4, "auto", True, "needs 4 CPUs"),  # one CPU per TP rank
])
def test_layouts_that_do_not_fit_are_named(settings, cpus, gpus, device, engine, message) -> None:
    with pytest.raises(ValueError, match=r"^--") as e:
        plan(settings, cpus, gpus, device, engine)
    assert message in str(e.value)


def test_vllm_chunks_keep_jobs_whole_and_every_engine_busy() -> None:
    from thinktrim.executor.generation import vllm_chunks

    jobs = [Job([{"role": "user", "content": f"q{i}"}], (0, 1, 2)) for i in range(10)]
    chunks = vllm_chunks(jobs, GenerationConfig(n=3), workers=4)
    assert [(start, len(chunk)) for start, chunk, _ in chunks] == [(0, 3), (3, 3), (6, 3), (9, 1)]
    assert [j for _, chunk, _ in chunks for j in chunk] == jobs  # each job (its n samples) in one chunk
    assert [len(c) for _, c, _ in vllm_chunks(jobs, GenerationConfig(batch_size=2), workers=1)] == [2] * 5
    assert vllm_chunks([], GenerationConfig(), workers=2) == []


def test_the_openai_backend_is_not_sent_to_ray(tmp_path) -> None:
    from thinktrim.evaluate.config import EvalConfig
    from thinktrim.executor.generation import RayGenerator

    config = EvalConfig(benchmarks=("gsm8k",), backend="openai", base_url="http://127.0.0.1:9/v1",
                        output_dir=str(tmp_path), parallel=ParallelConfig(executor="ray"))
    with pytest.raises(ValueError, match="--backend openai already spreads requests"):
        RayGenerator(config)


def test_longest_first_reorders_within_windows_and_loses_nothing() -> None:
    from thinktrim.data.trace import Trace
    from thinktrim.executor.refine import longest_first

    lengths = [3, 9, 1, 7, 5, 2, 8]
    traces = [Trace(id=str(i), question="q", thinking="x" * n, response="a") for i, n in enumerate(lengths)]
    out = [len(t.thinking) for t in longest_first(iter(traces), window=3)]
    assert out == [9, 3, 1, 7, 5, 2, 8]  # windows [3, 9, 1], [7, 5, 2], [8]
    assert sorted(t.id for t in longest_first(traces, window=100)) == sorted(t.id for t in traces)
