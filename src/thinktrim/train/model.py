"""Loading the model to train: where it runs, in which precision, and its LoRA adapters.

On CPU everything is fp32 (bf16 matmuls are slow there and drift) and gradient checkpointing is off by default
(memory is rarely the limit; it costs a third more compute). On a GPU, full fine-tuning keeps fp32 master weights
under bf16 autocast, and LoRA loads the frozen base in bf16 (only the adapters train, kept in fp32 by peft).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thinktrim.errors import UserError
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
        raise UserError(f"device: {settings.device!r} is not auto, cpu or cuda (pick GPUs with "
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


def _cannot_load(name: str, e: OSError) -> UserError:
    """transformers' OSError (several lines, a hub URL) as one line naming the model."""
    return UserError(f"model: cannot load {name!r}: {str(e).strip().splitlines()[0]}")


def load_tokenizer_for_training(name: str) -> Any:
    try:
        tokenizer = load_tokenizer(name)
    except OSError as e:
        raise _cannot_load(name, e) from None
    if getattr(tokenizer, "chat_template", None) is None:
        raise UserError(f"model: the tokenizer of {name!r} has no chat template; training data are chat "
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


def lora_config(settings: ModelSettings, layers: list[int] | None = None, layers_pattern: str | None = None) -> Any:
    """peft's LoraConfig for a causal LM from the settings (the lm_head is never adapted: TRL reads its weight);
    `layers`: adapt only these transformer layers (their stack is called `layers_pattern`)."""
    from peft import LoraConfig

    targets: str | list[str] = settings.lora_targets
    if targets != "all-linear":
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    where = {"layers_to_transform": layers, "layers_pattern": layers_pattern} if layers else {}
    return LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM", **where)


def decoder_layers(model: Any) -> tuple[str, int]:
    """(module path, count) of the model's stack of transformer layers: the ModuleList as long as the config's
    `num_hidden_layers` (`model.layers` in Llama and Qwen, `transformer.h` in GPT-2)."""
    import torch

    count = getattr(model.config, "num_hidden_layers", None)
    for name, module in model.named_modules():
        if name and isinstance(module, torch.nn.ModuleList) and len(module) == count:
            return name, count
    raise UserError(f"last_layers: cannot find the transformer layers of {type(model).__name__} (no module list of "
                    f"num_hidden_layers={count} blocks)")


def trainable_parts(model: Any, settings: ModelSettings, last_layers: int | None) -> Any:
    """Restrict training to the last `last_layers` layers (None: all) and return the LoRA config to apply (None
    for full fine-tuning). Without LoRA the other parameters are frozen, embeddings and head included, as
    LLaMA-Factory's `freeze` tuning (O1-Pruner's QwQ-32B recipe) does."""
    layers, stack = None, None
    if last_layers is not None:
        stack, total = decoder_layers(model)
        if last_layers > total:
            raise UserError(f"last_layers: {last_layers} is more than the model's {total} layers")
        layers = list(range(total - last_layers, total))
    if settings.lora:
        return lora_config(settings, layers, stack.rsplit(".", 1)[-1] if stack else None)
    if layers is not None:
        kept = tuple(f"{stack}.{i}." for i in layers)
        for name, parameter in model.named_parameters():
            parameter.requires_grad_(name.startswith(kept))
    return None
