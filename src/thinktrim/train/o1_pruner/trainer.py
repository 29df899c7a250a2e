"""The offline PPO-clip trainer: a stock transformers `Trainer` whose `compute_loss` is O1-Pruner's (`loss.py`).

Everything else is the Trainer's own: optimizer, schedule, gradient accumulation (the loss is a per-batch mean,
so `loss_is_scaled_for_ga = False` lets the Trainer divide it by the accumulation steps, as the released
LLaMA-Factory trainer's loss was), clipping, checkpoints, DDP/DeepSpeed/FSDP. The reference log-probs come with
each batch (`ref_logp`, computed once beforehand, `reference.py`) or, with a resident reference, are computed
here each step: for LoRA the policy with its adapters switched off is the base, so no second copy is held.
`prediction_step` returns the same per-row statistic the loss uses, so `Trainer.predict` computes the stored
reference pass with the very code (and the same distributed set-up) that training uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import Trainer

from thinktrim.train.o1_pruner.loss import completion_mean_logps, ppo_clip_loss
from thinktrim.train.progress import TokenCounting


@dataclass
class RewardCollator:
    """Right-pads a batch of tokenized rows; carries the completion mask, advantages and reference log-probs."""

    pad_id: int

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        completion = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.tensor(r["input_ids"])
            attention[i, :n] = 1
            completion[i, :n] = torch.tensor(r["completion_mask"])
        batch = {"input_ids": ids, "attention_mask": attention, "completion_mask": completion,
                 "advantage": torch.tensor([float(r["advantage"]) for r in rows])}
        if "ref_logp" in rows[0]:
            batch["ref_logp"] = torch.tensor([float(r["ref_logp"]) for r in rows])
        return batch


def prepare_reference(trainer: Any, model: Any) -> Any:
    """A frozen reference placed as the trained model is (sharded alike under ZeRO-3 or FSDP), as TRL does."""
    if trainer.is_deepspeed_enabled:
        from trl.models.utils import prepare_deepspeed

        return prepare_deepspeed(model, trainer.accelerator)
    if trainer.is_fsdp_enabled:
        from trl.models.utils import prepare_fsdp

        return prepare_fsdp(model, trainer.accelerator)
    return trainer.accelerator.prepare_model(model, evaluation_mode=True).eval()


class O1PrunerTrainer(TokenCounting, Trainer):
    """O1-Pruner's PPO-clip loss in a stock `Trainer` (see the module docstring); counts the tokens it trains on."""

    loss_is_scaled_for_ga = False

    def __init__(self, *args: Any, epsilon: float, resident: bool = False, ref_model: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epsilon, self.resident = epsilon, resident
        self.ref_model = prepare_reference(self, ref_model) if ref_model is not None else None
        self.clip_counts = [0, 0, 0.0]  # rows, rows clipped, sum of ratios, since the last log

    def completion_logps(self, model: Any, inputs: dict[str, Any]) -> Any:
        logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                       use_cache=False).logits
        return completion_mean_logps(logits, inputs["input_ids"], inputs["completion_mask"])

    def reference_logps(self, model: Any, inputs: dict[str, Any]) -> Any:
        if not self.resident:
            return inputs["ref_logp"]
        with torch.no_grad():
            if self.ref_model is not None:
                return self.completion_logps(self.ref_model, inputs)
            with self.accelerator.unwrap_model(model).disable_adapter():  # LoRA: the base itself
                return self.completion_logps(model, inputs)

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        logps = self.completion_logps(model, inputs)
        ref = self.reference_logps(model, inputs).to(logps.dtype)
        result = ppo_clip_loss(logps, ref, inputs["advantage"].to(logps.dtype), self.epsilon)
        self.clip_counts[0] += len(logps)
        self.clip_counts[1] += int(result.clipped.sum())
        self.clip_counts[2] += float(result.ratio.sum())
        return (result.loss, {"ratio": result.ratio}) if return_outputs else result.loss

    def prediction_step(self, model: Any, inputs: dict[str, Any], prediction_loss_only: bool,
                        ignore_keys: list[str] | None = None) -> tuple[None, Any, None]:
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            return None, self.completion_logps(model, inputs)[:, None], None

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        rows, clipped, ratios = self.clip_counts
        if rows and "loss" in logs:  # the ratio's mean and the share of rows the clip cut off
            logs = {**logs, "ratio": ratios / rows, "clipped": clipped / rows}
            self.clip_counts = [0, 0, 0.0]
        super().log(logs, start_time)
