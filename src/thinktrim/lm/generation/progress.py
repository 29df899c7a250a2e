"""A progress bar for generation that moves while a batch is decoded, in tokens and tokens/s.

Its total is the token budget of the samples still to generate (samples × max_new_tokens). Tokens are added as a
backend reports them (`stream`'s `on_tokens`: every decoding step with transformers, every completion with vLLM
and servers), and a sample that stops before its budget takes the unused rest off the total. So the count is
the tokens generated, the rate is tokens/s, the ETA is an upper bound that tightens, and the bar ends full.
"""

from __future__ import annotations

from typing import Any

from thinktrim.lm.generation.types import Completion


class GenerationProgress:
    """`tokens(k)` as tokens come, `finished(completion)` once per sample; a context manager closing the bar."""

    def __init__(self, samples: int, max_new_tokens: int, desc: str = "generate", **tqdm_kwargs: Any) -> None:
        from tqdm.auto import tqdm

        self.samples, self.max_new_tokens, self.done = samples, max_new_tokens, 0
        self.bar = tqdm(total=samples * max_new_tokens, desc=desc, unit="tok", dynamic_ncols=True,
                        postfix={"samples": f"0/{samples}"}, **tqdm_kwargs)

    def tokens(self, count: int) -> None:
        self.bar.update(count)

    def finished(self, completion: Completion) -> None:
        self.done += 1
        self.bar.total -= max(0, self.max_new_tokens - completion.tokens)
        self.bar.set_postfix(samples=f"{self.done}/{self.samples}")  # refreshes the bar with its new total

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> GenerationProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
