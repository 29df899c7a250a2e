"""The Ray executor on a real local Ray runtime with 2 CPU workers, this process being the driver: refine and
eval give what one process gives (eval's sampled completions too), each worker holds one model with the
threads it was given, and a worker that cannot load its model fails the run once, with its own error."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import pytest

from thinktrim.evaluate.config import EvalConfig
from thinktrim.evaluate.run import evaluate
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.pipeline import score_all
from thinktrim.refine.run import refine

from .conftest import REFINE, same_outputs

pytestmark = pytest.mark.slow
ON_RAY = {"threads": 1, "parallel": {"executor": "ray", "num_workers": 2}}  # one torch thread per worker


def test_refine_on_two_workers_equals_one_process(tmp_path: Path, chains: Path, tiny_model_dir: Path, local_ray,
                                                  one_thread) -> None:
    from thinktrim.executor.refine import RayScoring

    base = {"input": str(chains), **REFINE, "model": str(tiny_model_dir)}
    single = RefineConfig.from_mapping({**base, "output_dir": str(tmp_path / "single")})
    with one_thread():
        refine(single)
    cfg = RefineConfig.from_mapping({**base, "output_dir": str(tmp_path / "ray"), **ON_RAY})
    scoring = RayScoring(cfg)
    refine(cfg, scoring)
    same_outputs(tmp_path / "single", tmp_path / "ray")
    hosts = scoring.workers.hosts
    assert [h["threads"] for h in hosts] == [1, 1] and len({h["pid"] for h in hosts} - {os.getpid()}) == 2
    assert scoring.workers.actors == []  # released when scoring ended


def eval_config(out: Path, model: Path, **settings) -> EvalConfig:
    return EvalConfig.from_mapping({"benchmarks": ["gsm8k"], "limit": 3, "model": str(model), "device": "cpu",
                                    "output_dir": str(out), "grade_processes": 0, "n": 3, "max_new_tokens": 8,
                                    "temperature": 0.7, "batch_size": 2, **settings})


def samples(out: Path) -> list[tuple]:
    rows = [json.loads(x) for x in (out / "gsm8k" / "samples.jsonl").read_text().splitlines()]
    return sorted((r["key"], r["response"], r["tokens"], r["finish_reason"]) for r in rows)


def test_eval_on_two_workers_equals_one_process_sampled_too(tmp_path: Path, tiny_model_dir: Path, local_ray,
                                                            one_thread) -> None:
    """The workers decode the batches one process would (same rows, same seeds), so even sampled completions
    are the same."""
    from thinktrim.executor.generation import RayGenerator

    with one_thread():
        single = evaluate(eval_config(tmp_path / "single", tiny_model_dir))
    config = eval_config(tmp_path / "ray", tiny_model_dir, **ON_RAY)
    on_ray = evaluate(config, lambda: RayGenerator(config))
    assert samples(tmp_path / "single") == samples(tmp_path / "ray") and len(samples(tmp_path / "ray")) == 9
    assert len({s[1] for s in samples(tmp_path / "ray")}) > 3  # sampled: the completions differ
    assert on_ray["benchmarks"] == single["benchmarks"] and on_ray["generation"]["generated"] == 9


def test_a_worker_that_cannot_load_fails_once_with_its_own_error(tmp_path: Path, chains: Path, local_ray) -> None:
    from thinktrim.executor.refine import RayScoring

    cfg = RefineConfig.from_mapping({"input": str(chains), "output_dir": str(tmp_path / "out"), **REFINE,
                                     "model": str(tmp_path / "no-model"), **ON_RAY})
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"^--model: .*no-model: no such folder"):
        score_all(cfg, scoring=RayScoring(cfg))
    assert time.monotonic() - start < 60  # not restarted over and over
    assert not (tmp_path / "out").exists()  # the workers load before anything is written


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed: nothing is missing")
def test_vllm_engines_without_vllm_say_how_to_install(tmp_path: Path, tiny_model_dir: Path, local_ray) -> None:
    from thinktrim.executor.generation import RayGenerator

    config = EvalConfig.from_mapping({"benchmarks": ["gsm8k"], "backend": "vllm", "model": str(tiny_model_dir),
                                      "output_dir": str(tmp_path), "executor": "ray", "num_workers": 1})
    with pytest.raises(ImportError, match=r"pip install 'thinktrim\[vllm\]'"):
        RayGenerator(config)
