"""Loading the model to train: where it runs, in which precision, and its LoRA adapters.

On CPU everything is fp32 (bf16 matmuls are slow there and drift) and gradient checkpointing is off by default
(memory is rarely the limit; it costs a third more compute). On a GPU, full fine-tuning keeps fp32 master weights
under bf16 autocast, and LoRA loads the frozen base in bf16 (only the adapters train, kept in fp32 by peft).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thinktrim.lm.load import load_tokenizer, pick_device, resolve_model
from thinktrim.train.config import ModelSettings


@dataclass(frozen=True)
class Placement:
    """Where and how the model trains, derived once from the settings and the machine."""

    device: str  # "cpu" or "cuda"
    weights_dtype: str  # "float32" or "bfloat16"
    bf16_autocast: bool
    gradient_checkpointing: bool

    @property
    def use_cpu(self) -> bool:
        return self.device == "cpu"


def placement(settings: ModelSettings) -> Placement:
    if settings.device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device: {settings.device!r} is not auto, cpu or cuda (pick GPUs with "
                         "CUDA_VISIBLE_DEVICES)")
    kind = pick_device(settings.device)
    precision = settings.precision
    if precision == "auto":
        precision = "fp32" if kind == "cpu" else "bf16"
    bf16 = precision == "bf16"
    weights = "bfloat16" if bf16 and settings.lora and kind == "cuda" else "float32"
    checkpointing = settings.gradient_checkpointing
    if checkpointing is None:
        checkpointing = kind == "cuda"
    return Placement(kind, weights, bf16, checkpointing)


def _cannot_load(name: str, e: OSError) -> ValueError:
    """transformers' OSError (several lines, a hub URL) as one line naming the model."""
    return ValueError(f"model: cannot load {name!r}: {str(e).strip().splitlines()[0]}")


def load_tokenizer_for_training(name: str) -> Any:
    try:
        tokenizer = load_tokenizer(name)
    except OSError as e:
        raise _cannot_load(name, e) from None
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(f"model: the tokenizer of {name!r} has no chat template; training data are chat "
                         "conversations (use an instruct model or add a template)")
    return tokenizer


def load_base_model(name: str, where: Placement) -> Any:
    """The base causal LM on the CPU (the Trainer moves it, or shards it under DeepSpeed/FSDP)."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[where.weights_dtype]
    try:
        return AutoModelForCausalLM.from_pretrained(resolve_model(name), dtype=dtype)
    except OSError as e:
        raise _cannot_load(name, e) from None


def lora_config(settings: ModelSettings) -> Any:
    """peft's LoraConfig for a causal LM from the settings (the lm_head is never adapted: TRL reads its weight)."""
    from peft import LoraConfig

    targets: str | list[str] = settings.lora_targets
    if targets != "all-linear":
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    return LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM")
