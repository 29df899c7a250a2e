"""TrainingArguments from our settings, for any TRL trainer's config class (SFTConfig here, others later).

Every value TRL or transformers would otherwise pick on its own that matters here is set explicitly: TRL turns
bf16 and gradient checkpointing on by default, which is wrong on a CPU.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from thinktrim.errors import UserError
from thinktrim.train.config import OptimSettings
from thinktrim.train.model import Placement

CHECKPOINTS = "checkpoints"


def world_size() -> int:
    """Processes training together (set by `accelerate launch` / torchrun; 1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def accumulation_steps(optim: OptimSettings, processes: int) -> int:
    """Gradient accumulation that makes up the global batch from per-device batches on `processes` devices."""
    per_step = optim.per_device_batch_size * processes
    assert optim.global_batch_size is not None
    if optim.global_batch_size % per_step:
        raise UserError(f"global_batch_size: {optim.global_batch_size} is not a multiple of per-device batch "
                        f"{optim.per_device_batch_size} x {processes} process(es)")
    return optim.global_batch_size // per_step


def training_arguments(args_class: type, optim: OptimSettings, where: Placement, output_dir: str | Path,
                       **extra: Any) -> Any:
    """An instance of `args_class` (a TrainingArguments subclass) writing checkpoints to OUT/checkpoints."""
    return args_class(
        output_dir=str(Path(output_dir) / CHECKPOINTS),
        per_device_train_batch_size=optim.per_device_batch_size,
        gradient_accumulation_steps=accumulation_steps(optim, world_size()),
        learning_rate=optim.learning_rate,
        lr_scheduler_type=optim.lr_scheduler,
        warmup_steps=optim.warmup_ratio,  # a float in [0, 1) is a share of the steps
        num_train_epochs=optim.epochs,
        max_steps=optim.max_steps or -1,
        weight_decay=optim.weight_decay,
        adam_beta2=optim.adam_beta2,
        max_grad_norm=optim.max_grad_norm,
        use_cpu=where.use_cpu,
        bf16=where.bf16_autocast,
        **{_checkpointing_field(args_class): where.gradient_checkpointing},
        save_strategy=optim.save_strategy,
        save_steps=optim.save_steps,
        save_total_limit=optim.save_total_limit,
        logging_steps=optim.logging_steps,
        seed=optim.seed,
        data_seed=optim.seed,
        report_to="none",
        dataloader_num_workers=0,
        **extra,
    )


def _checkpointing_field(args_class: type) -> str:
    """transformers 5 renamed gradient_checkpointing to activation_checkpointing (the old name warns)."""
    names = {f.name for f in dataclasses.fields(args_class)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
