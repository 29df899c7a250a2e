"""`eval` on Ray: a `GeneratorBase` whose work runs on Ray workers that each hold one model, so the evaluation
loop (`generate_missing`: resumable store, progress, grading) is the same as in one process.

- transformers: the driver tokenizes the prompts and cuts the very batches `HFGenerator` would decode in one
  process (`plan_batches`: rows by prompt length, batch b seeded with seed + b); each batch goes to a free worker.
  The completions therefore equal the single-process run's, sampled ones included (same torch build, same
  threads).
- vllm: data parallelism, one engine per worker; each takes chunks of whole jobs (a job's n samples stay one
  vLLM request, seeded by its first sample index). `--gpus-per-worker k > 1` gives each engine k GPUs of its
  own placement group: tensor parallelism inside, data parallelism across.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from thinktrim.errors import UserError
from thinktrim.evaluate.config import EvalConfig
from thinktrim.executor.ray_workers import RayWorkers, resolved
from thinktrim.lm.generation.factory import make_generator
from thinktrim.lm.generation.hf import chat_prompt_ids, plan_batches
from thinktrim.lm.generation.types import Completion, GenerationConfig, GeneratorBase, Job, TokenCallback
from thinktrim.lm.generation.vllm import DEFAULT_BATCH_SIZE as VLLM_BATCH_SIZE

BatchTask = tuple[tuple[tuple[int, int], ...], list[list[int]], GenerationConfig, "int | None"]
ChunkTask = tuple[int, list[Job], GenerationConfig]


class HFBatchWorker:
    """A transformers model loaded once; decodes one planned batch per call."""

    def __init__(self, model: str, dtype: str, device: str) -> None:
        self.generator = make_generator("transformers", model, device=device, dtype=dtype)

    def __call__(self, task: BatchTask) -> tuple[tuple[tuple[int, int], ...], list[Completion]]:
        rows, prompts, config, seed = task
        return rows, self.generator.generate_batch(prompts, config, seed)  # type: ignore[attr-defined]


class VLLMChunkWorker:
    """A vLLM engine loaded once (over `tensor_parallel` GPUs when > 1); generates one chunk of jobs per call."""

    def __init__(self, model: str, dtype: str, tensor_parallel: int, device: str) -> None:
        extra = {"tensor_parallel_size": tensor_parallel} if tensor_parallel > 1 else {}
        self.generator = make_generator("vllm", model, dtype=dtype, **extra)

    def __call__(self, task: ChunkTask) -> list[tuple[int, int, Completion]]:
        start, jobs, config = task
        return [(start + j, s, c) for j, s, c in self.generator.stream(jobs, config)]


def vllm_chunks(jobs: Sequence[Job], config: GenerationConfig, workers: int) -> list[ChunkTask]:
    """Jobs cut into chunks for the engines: `batch_size` jobs (default 256) at most, and small enough that
    every engine gets work."""
    if not jobs:
        return []
    size = min(config.batch_size or VLLM_BATCH_SIZE, -(-len(jobs) // workers))
    return [(start, list(jobs[start:start + size]), config) for start in range(0, len(jobs), size)]


class RayGenerator(GeneratorBase):
    """Generation on Ray workers (`--executor ray`) for the transformers and vllm backends."""

    def __init__(self, config: EvalConfig) -> None:
        if config.backend not in ("transformers", "vllm"):
            raise UserError(f"--executor ray: runs the transformers and vllm backends; --backend {config.backend} "
                            "already spreads requests over its server (--concurrency)")
        self.config = config
        model = resolved(config.model) or config.model
        if config.backend == "transformers":
            make: Any = partial(HFBatchWorker, model, config.precision)
        else:
            tensor_parallel = int(config.parallel.gpus_per_worker or 1)
            make = partial(VLLMChunkWorker, model, config.precision, tensor_parallel)
        self.workers = RayWorkers(config.parallel, config.threads, make, config.device,
                                  multi_gpu_engine=config.backend == "vllm")
        self.workers.__enter__()

    def stream(self, jobs: Sequence[Job], config: GenerationConfig,
               on_tokens: TokenCallback | None = None) -> Iterator[tuple[int, int, Completion]]:
        """The completions as workers finish them; `on_tokens` hears of each completion's tokens when it arrives
        (a worker's decoding steps stay on the worker)."""
        for j, s, completion in self._stream(jobs, config):
            if on_tokens is not None:
                on_tokens(completion.tokens)
            yield j, s, completion

    def _stream(self, jobs: Sequence[Job], config: GenerationConfig) -> Iterator[tuple[int, int, Completion]]:
        if self.config.backend == "vllm":
            workers = self.workers.plan.workers if self.workers.plan else 1
            for triples in self.workers.map(vllm_chunks(jobs, config, workers)):
                yield from triples
            return
        from thinktrim.lm.load import load_tokenizer

        tokenizer = load_tokenizer(self.config.model)
        prompts = [chat_prompt_ids(tokenizer, job.chat()) for job in jobs]
        tasks = ((b.rows, [prompts[j] for j, _ in b.rows], config, b.seed) for b in plan_batches(prompts, jobs, config))
        for rows, completions in self.workers.map(tasks):
            for (j, s), completion in zip(rows, completions):
                yield j, s, completion

    def close(self) -> None:
        self.workers.__exit__(None, None, None)
