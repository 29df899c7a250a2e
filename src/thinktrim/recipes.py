"""Fine-tuning recipes: the published settings of LIMO, s1 (docs/methods.md §2) and O1-Pruner (§3), and small CPU
ones, in one place.

`thinktrim train sft --recipe NAME` (and `train o1-pruner fit`) fills every setting the user did not give from
here, and `thinktrim refine` writes the LIMO recipe as a LLaMA-Factory YAML beside its `dataset_info.json`
(`llamafactory_sft`), so the two never disagree. This module is a leaf: it imports nothing else of thinktrim.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from thinktrim.errors import UserError


@dataclass(frozen=True)
class Recipe:
    """One recipe's optimisation settings. Learning rates are for full fine-tuning (see `LORA_LR_SCALE`)."""

    description: str
    learning_rate: float
    lr_scheduler: str
    warmup_ratio: float
    epochs: float
    weight_decay: float
    adam_beta2: float
    max_length: int
    global_batch_size: int
    per_device_batch_size: int
    save_total_limit: int | None  # None keeps every checkpoint
    accelerate: str | None  # the shipped accelerate config the authors' setup corresponds to on many GPUs
    max_grad_norm: float = 1.0  # gradient clipping: transformers', TRL's and LLaMA-Factory's default
    last_layers: int | None = None  # train only the last N transformer layers (None: all)

    def settings(self) -> dict[str, Any]:
        """The values that fill a training config (everything but the description and launcher)."""
        return {k: v for k, v in asdict(self).items() if k not in ("description", "accelerate")}


RECIPES: dict[str, Recipe] = {
    # LIMO's released LLaMA-Factory recipe: Qwen2.5-32B-Instruct, full fine-tuning, ZeRO-3, 4 nodes x 8 GPUs with
    # one sequence each (global batch 32), bf16, no packing, a checkpoint per epoch (epoch 9 of 15 was released).
    "limo": Recipe(
        description="LIMO (arXiv 2502.03387): lr 5e-6 cosine, no warm-up, 15 epochs, cutoff 16,384, global batch 32",
        learning_rate=5e-6, lr_scheduler="cosine", warmup_ratio=0.0, epochs=15, weight_decay=0.0, adam_beta2=0.999,
        max_length=16384, global_batch_size=32, per_device_batch_size=1, save_total_limit=None, accelerate="zero3",
    ),
    # s1 (LIMOPro trains S1-32B-P with it): TRL SFT on FSDP, 16 GPUs with one sequence each.
    "s1": Recipe(
        description="s1 (arXiv 2501.19393): lr 1e-5 cosine, warm-up 5 %, 5 epochs, wd 1e-4, beta2 0.95, block 32,768",
        learning_rate=1e-5, lr_scheduler="cosine", warmup_ratio=0.05, epochs=5, weight_decay=1e-4, adam_beta2=0.95,
        max_length=32768, global_batch_size=16, per_device_batch_size=1, save_total_limit=2, accelerate="fsdp",
    ),
    # For trying the loop on a laptop with the embedded 135M model: LIMO's shape, fewer epochs, a short cutoff.
    "cpu": Recipe(
        description="small CPU run: lr 1e-5 cosine, warm-up 5 %, 3 epochs, cutoff 2,048, global batch 4",
        learning_rate=1e-5, lr_scheduler="cosine", warmup_ratio=0.05, epochs=3, weight_decay=0.0, adam_beta2=0.999,
        max_length=2048, global_batch_size=4, per_device_batch_size=1, save_total_limit=1, accelerate=None,
    ),
    # O1-Pruner's released LLaMA-Factory configs (its `wsft` stage): one sequence per device, accumulation 8
    # (Marco-o1) or 4 (QwQ), written here for one node of 8 GPUs as LIMO's is; bf16, no packing. The authors ran
    # Marco-o1 with the Adam-mini optimizer; AdamW here.
    "o1-pruner-7b": Recipe(
        description="O1-Pruner (arXiv 2501.12570) Marco-o1-7B: full, lr 2e-7 cosine, warm-up 10 %, 1 epoch, cutoff "
                    "3,072, grad norm 10, global batch 64",
        learning_rate=2e-7, lr_scheduler="cosine", warmup_ratio=0.1, epochs=1, weight_decay=0.0, adam_beta2=0.999,
        max_length=3072, global_batch_size=64, per_device_batch_size=1, save_total_limit=1, accelerate="zero3",
        max_grad_norm=10.0,
    ),
    "o1-pruner-32b": Recipe(
        description="O1-Pruner QwQ-32B: last 48 layers, lr 2e-6 cosine, warm-up 10 %, 1 epoch, cutoff 4,096, grad "
                    "norm 10, global batch 32",
        learning_rate=2e-6, lr_scheduler="cosine", warmup_ratio=0.1, epochs=1, weight_decay=0.0, adam_beta2=0.999,
        max_length=4096, global_batch_size=32, per_device_batch_size=1, save_total_limit=1, accelerate="zero3",
        max_grad_norm=10.0, last_layers=48,
    ),
    # O1-Pruner's shape for the embedded 135M model on a laptop: a rate that moves a small model in tens of steps.
    "o1-pruner-cpu": Recipe(
        description="small CPU O1-Pruner run: lr 1e-5 cosine, warm-up 10 %, 1 epoch, cutoff 1,024, grad norm 10, "
                    "global batch 4",
        learning_rate=1e-5, lr_scheduler="cosine", warmup_ratio=0.1, epochs=1, weight_decay=0.0, adam_beta2=0.999,
        max_length=1024, global_batch_size=4, per_device_batch_size=1, save_total_limit=1, accelerate=None,
        max_grad_norm=10.0,
    ),
}

# LoRA learns best at about ten times the full fine-tuning learning rate (Schulman et al., "LoRA Without
# Regret", 2025); a recipe's rate is used times this with --lora unless a rate is given.
LORA_LR_SCALE = 10.0

# What LLaMA-Factory needs beyond the recipe to train LIMO's way (its own names).
LIMO_BASE_MODEL = "Qwen/Qwen2.5-32B-Instruct"
LLAMAFACTORY_GPUS = 8  # gradient accumulation is written for one node of 8 GPUs

# LLaMA-Factory's `template:` for the model families thinktrim is used with, as its model list assigns them
# (first match on the model's name, case-insensitive). The reasoning models' templates (deepseekr1, qwen3) keep the
# thinking in the trained assistant turn; QwQ-32B is ChatML, which LLaMA-Factory names `qwen`, and trains on the
# turn as written. Vision, audio and omni variants have templates of their own and are left out.
LLAMAFACTORY_TEMPLATES: tuple[tuple[str, str], ...] = (
    (r"deepseek-r1", "deepseekr1"),  # DeepSeek-R1, -Zero, -Distill-Qwen/Llama-*, -0528-Qwen3-8B
    (r"qwq", "qwen"),
    (r"qwen3-(next-)?[\d.]+b.*instruct", "qwen3_nothink"),  # Qwen3-*-Instruct-2507: no thinking
    (r"qwen3-(next-)?[\d.]+b", "qwen3"),  # Qwen3 (hybrid, thinking by default), Qwen3-*-Thinking-2507
    (r"qwen2(\.5)?-(math-|coder-)?[\d.]+b", "qwen"),
    (r"smollm2-", "smollm2"),
    (r"llama-3(\.\d)?-[\d.]+b(?!.*vision)", "llama3"),
)


def llamafactory_template(model: str) -> str | None:
    """LLaMA-Factory's template for `model` (a hub id or a folder named after one), None for a family not listed."""
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    return next((template for pattern, template in LLAMAFACTORY_TEMPLATES if re.search(pattern, name)), None)


def llamafactory_model(model: str) -> str:
    """The model refine's LLaMA-Factory recipe trains: the scoring model when LLaMA-Factory's template for its
    family is known (chains refined with an R1-Distill model are trained into it, in its own template), else
    LIMO's base model (the embedded model, a folder of unknown family)."""
    return model if llamafactory_template(model) else LIMO_BASE_MODEL


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise UserError(f"recipe: {name!r} is not one of {', '.join(RECIPES)}") from None


def llamafactory_sft(dataset: str, dataset_dir: str, output_dir: str, deepspeed: str,
                     recipe: str = "limo", model: str = LIMO_BASE_MODEL) -> dict[str, Any]:
    """A LLaMA-Factory `llamafactory-cli train` config for `recipe` on one dataset of a `dataset_info.json`,
    training `model` in LLaMA-Factory's template for its family (`llamafactory_template`).

    Loss on the response only is LLaMA-Factory's default (`train_on_prompt: false`). Note that its
    `cutoff_len` truncates longer examples (LIMO's recipe does so), cutting the answer and end-of-turn token.
    """
    r = get_recipe(recipe)
    template = llamafactory_template(model)
    if template is None:
        raise UserError(f"model: no LLaMA-Factory template known for {model!r} (known families: DeepSeek-R1, QwQ, "
                        "Qwen2/2.5/3, SmolLM2, Llama 3)")
    per_step = r.per_device_batch_size * LLAMAFACTORY_GPUS
    return {
        "model_name_or_path": model,
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "full",
        "deepspeed": deepspeed,
        "dataset": dataset,
        "dataset_dir": dataset_dir,
        "template": template,
        "cutoff_len": r.max_length,
        "train_on_prompt": False,
        "packing": False,
        "output_dir": output_dir,
        "logging_steps": 1,
        "save_strategy": "epoch",
        "per_device_train_batch_size": r.per_device_batch_size,
        "gradient_accumulation_steps": max(1, r.global_batch_size // per_step),
        "learning_rate": r.learning_rate,
        "num_train_epochs": float(r.epochs),
        "lr_scheduler_type": r.lr_scheduler,
        "warmup_ratio": r.warmup_ratio,
        "weight_decay": r.weight_decay,
        "adam_beta2": r.adam_beta2,
        "bf16": True,
        "report_to": "none",
    }


def deepspeed_zero3() -> dict[str, Any]:
    """A DeepSpeed ZeRO-3 config for the HF Trainer ("auto" values are filled from the training arguments)."""
    return {
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "zero_allow_untested_optimizer": True,
        "bf16": {"enabled": "auto"},
        "zero_optimization": {
            "stage": 3,
            "overlap_comm": True,
            "contiguous_gradients": True,
            "reduce_bucket_size": "auto",
            "stage3_prefetch_bucket_size": "auto",
            "stage3_param_persistence_threshold": "auto",
            "stage3_gather_16bit_weights_on_model_save": True,
        },
    }
