"""What a run shows while it trains: a progress bar with loss and tokens/s, and the token counts behind it.

`TokenCount` adds up the real and the padded tokens of every batch the trainer trains on (so the padding share
is measured, not estimated; counted at the training step, since the data loader reads one batch ahead);
`ProgressBar` replaces transformers' own bar.
"""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback


class TokenCount:
    """Real tokens (attention mask) and tensor positions (padding included) of the batches trained on."""

    def __init__(self) -> None:
        self.real_tokens = 0
        self.padded_tokens = 0

    def add(self, batch: dict[str, Any]) -> None:
        mask = batch.get("attention_mask")
        positions = batch["input_ids"].numel()
        self.real_tokens += int(mask.sum()) if mask is not None else positions
        self.padded_tokens += positions


class TokenCounting:
    """Mixin for a transformers Trainer subclass (listed first): `token_count` adds up the batches trained on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token_count = TokenCount()
        self._log_mark: tuple[int, float] | None = None  # (tokens, time) at the last loss log

    def training_step(self, model: Any, inputs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if self._log_mark is None:  # the first window starts at the first batch, not at model loading
            self._log_mark = (self.token_count.real_tokens, time.perf_counter())
        self.token_count.add(inputs)
        return super().training_step(model, inputs, *args, **kwargs)  # type: ignore[misc]

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        """Add `tokens_per_second` (real tokens of all processes since the last loss log, over its seconds) to
        each loss log, so the per-step log kept in the checkpoints and train.json has the throughput too."""
        if "loss" in logs and self._log_mark is not None:
            tokens, since = self._log_mark
            now = time.perf_counter()
            (done,) = summed_over_processes(self, self.token_count.real_tokens - tokens)
            logs = {**logs, "tokens_per_second": done / (now - since) if now > since else None}
            self._log_mark = (self.token_count.real_tokens, now)
        super().log(logs, *args, **kwargs)  # type: ignore[misc]


def summed_over_processes(trainer: Any, *counts: int) -> list[int]:
    """Counts of every process added up (each process counts the batches it trained on); a collective call, so
    every process must make it at the same point (the Trainer logs on all of them)."""
    import torch

    total = trainer.accelerator.reduce(torch.tensor(counts, device=trainer.args.device), reduction="sum")
    return [int(x) for x in total.tolist()]


class ProgressBar(TrainerCallback):
    """A tqdm bar of optimizer steps (rate, ETA) with the last loss and tokens/s; timing for the summary."""

    def __init__(self, counter: TokenCount) -> None:
        self.counter = counter
        self.bar: Any = None
        self.loss: float | None = None
        self.start_tokens = 0
        self.start_time = 0.0
        self.seconds = 0.0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.start_tokens, self.start_time = self.counter.real_tokens, time.perf_counter()
        if state.is_world_process_zero:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="train", unit="step",
                            dynamic_ncols=True)

    def _elapsed(self) -> tuple[int, float]:
        return self.counter.real_tokens - self.start_tokens, time.perf_counter() - self.start_time

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None,
               **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.loss = float(logs["loss"])
            self._show(state)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._show(state)

    def _show(self, state: Any) -> None:
        if self.bar is None:
            return
        tokens, seconds = self._elapsed()
        postfix = {"tok/s": f"{tokens / seconds:,.0f}" if seconds > 0 else "–"}
        if self.loss is not None:
            postfix = {"loss": f"{self.loss:.4f}", **postfix}
        delta = state.global_step - self.bar.n
        self.bar.set_postfix(postfix, refresh=delta == 0)
        if delta:
            self.bar.update(delta)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.seconds = self._elapsed()[1]
        if self.bar is not None:
            self.bar.close()
            self.bar = None
