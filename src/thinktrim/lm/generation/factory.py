"""Pick a generation backend by name; its heavy imports (torch, vLLM, HTTP) happen only here."""

from __future__ import annotations

from typing import Any

from thinktrim.errors import UserError
from thinktrim.lm.generation.types import BACKENDS, GeneratorBase


def make_generator(
    backend: str = "transformers",
    model: str = "embedded",
    *,
    device: str = "auto",
    dtype: str = "auto",
    base_url: str | None = None,
    concurrency: int = 8,
    tokenizer: str | None = None,
    threads: int | None = None,
    **kwargs: Any,
) -> GeneratorBase:
    """Build a backend by name; heavy imports happen here, not at `import thinktrim`.

    `tokenizer` (openai only) counts completion tokens when the server reports no `usage`; `threads`
    (transformers only) is torch's CPU thread count (None: unchanged).
    Extra keyword arguments go to the backend's constructor (e.g. `max_model_len` for vLLM).
    """
    if backend == "transformers":
        from thinktrim.lm.generation.hf import HFGenerator

        return HFGenerator.from_pretrained(model, device=device, dtype=dtype, threads=threads, **kwargs)
    if backend == "vllm":
        from thinktrim.lm.generation.vllm import VLLMGenerator

        return VLLMGenerator.from_pretrained(model, dtype=dtype, **kwargs)
    if backend == "openai":
        from thinktrim.lm.generation.openai import OpenAIGenerator

        if not base_url:
            raise UserError("--base-url is required for the openai backend (e.g. http://127.0.0.1:8000/v1)")
        return OpenAIGenerator(base_url, model, concurrency=concurrency, tokenizer=tokenizer, **kwargs)
    raise UserError(f"--backend: unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
