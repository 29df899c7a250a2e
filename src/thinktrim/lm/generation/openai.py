"""Generation through any OpenAI-compatible server (vLLM serve, llama.cpp, SGLang, hosted APIs).

One `/v1/chat/completions` request per sample (with `n=1`: many servers ignore or reject `n`), sent from a
thread pool of `concurrency` workers; each completion is yielded as soon as its response arrives. Timeouts and
retries (transport errors, 408/429/5xx, with exponential backoff) are `thinktrim.lm.openai_http.post_chat`'s,
shared with the refinement judge; other errors fail at once with the server's message.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from thinktrim.errors import UserError
from thinktrim.lm.generation.types import Completion, GenerationConfig, GeneratorBase, Job, TokenCallback
from thinktrim.lm.openai_http import ServerError, chat_url, first_choice, post_chat


class OpenAIGenerator(GeneratorBase):
    """Client for `{base_url}/chat/completions`; `base_url` may be given with or without the `/v1` suffix.

    The API key is read from the environment variable `api_key_env`. Completion tokens come from the
    response's `usage`; when a server leaves it out they are counted with `tokenizer` (a name for
    `thinktrim.lm.load.load_tokenizer`), which is then required.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        concurrency: int = 8,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 600.0,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        tokenizer: str | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        import httpx

        if concurrency < 1:
            raise UserError(f"--concurrency: got {concurrency!r}, expected an integer >= 1")
        if max_retries < 0:
            raise UserError(f"max_retries: got {max_retries!r}, expected an integer >= 0")
        if not base_url.startswith(("http://", "https://")):
            raise UserError(f"--base-url: {base_url!r} is not an http(s) URL")
        self.base_url = base_url
        self.url = chat_url(base_url)
        self.model = model
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.api_key = os.environ.get(api_key_env)
        self.extra_body = dict(extra_body or {})
        self._tokenizer_name = tokenizer
        self._tokenizer: Any = None
        self._tokenizer_lock = threading.Lock()
        self.client = httpx.Client(limits=httpx.Limits(max_connections=concurrency,
                                                       max_keepalive_connections=concurrency))

    def body(self, messages: list[dict[str, str]], sample: int, config: GenerationConfig) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "messages": messages, "max_tokens": config.max_new_tokens,
            "temperature": config.temperature, "top_p": config.top_p, "n": 1,
        }
        if config.seed is not None:  # a distinct seed per sample, or seeded servers repeat one answer n times
            body["seed"] = config.seed + sample
        if config.stop:
            body["stop"] = list(config.stop)
        body.update(self.extra_body)
        return body

    def stream(self, jobs: Sequence[Job], config: GenerationConfig,
               on_tokens: TokenCallback | None = None) -> Iterator[tuple[int, int, Completion]]:
        work = iter([(j, s) for j, job in enumerate(jobs) for s in job.samples])
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="openai") as pool:
            pending: dict[Future[Completion], tuple[int, int]] = {}

            def submit_next() -> None:
                item = next(work, None)
                if item is not None:
                    j, s = item
                    pending[pool.submit(self.complete, self.body(jobs[j].chat(), s, config))] = item

            # Keep only `concurrency` requests queued so an error stops the run promptly.
            for _ in range(self.concurrency):
                submit_next()
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        j, s = pending.pop(fut)
                        completion = fut.result()
                        submit_next()
                        if on_tokens is not None:
                            on_tokens(completion.tokens)
                        yield j, s, completion
            finally:
                for fut in pending:
                    fut.cancel()

    def complete(self, body: dict[str, Any]) -> Completion:
        """One request (with post_chat's retries); returns its single completion."""
        data = post_chat(self.client, self.base_url, body, timeout_s=self.timeout_s, retries=self.max_retries,
                         backoff_s=self.backoff_s, api_key=self.api_key)
        return self._parse(data)

    def _parse(self, data: dict[str, Any]) -> Completion:
        text, choice = first_choice(data, self.url)
        reason = "length" if choice.get("finish_reason") == "length" else "stop"
        usage = data.get("usage") or {}
        tokens = usage.get("completion_tokens")
        if not isinstance(tokens, int):
            tokens = self._count(text)
        return Completion(text=text, tokens=tokens, finish_reason=reason)

    def _count(self, text: str) -> int:
        if self._tokenizer_name is None:
            raise ServerError(f"{self.url} reports no usage.completion_tokens; pass --tokenizer to count them")
        with self._tokenizer_lock:
            if self._tokenizer is None:
                from thinktrim.lm.load import load_tokenizer

                self._tokenizer = load_tokenizer(self._tokenizer_name, "--tokenizer")
            return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def close(self) -> None:
        self.client.close()
