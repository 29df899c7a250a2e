"""Settings of `thinktrim train`: the model (LoRA or full, device, precision), the optimisation (recipe-filled)
and the `train sft` command's own config. O1-Pruner's commands (`o1_pruner/config.py`) reuse the first two.

A recipe (`thinktrim.recipes`) fills every optimisation setting left unset (None): options given on the command
line or in `--config` YAML win over the recipe, and no value is written both here and there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from thinktrim.config import Config
from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
from thinktrim.data.layouts import check_layout
from thinktrim.data.run_folder import force_field
from thinktrim.lm.threads import threads_field
from thinktrim.recipes import LORA_LR_SCALE, RECIPES, get_recipe

_FROM_RECIPE = " (default: the recipe's)"
# transformers' schedules that need no settings beyond the warm-up (checked here, before any model loads;
# the others, e.g. cosine_with_min_lr, need scheduler arguments this command does not take)
LrScheduler = Literal["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                      "inverse_sqrt"]


@dataclass
class ModelSettings(Config):
    """Which model is trained, how (LoRA or all weights) and where."""

    model: str = field(default="embedded", metadata={"help": "Base model: `embedded` (SmolLM2-135M), a hub id or a "
                                                             "local folder."})
    lora: bool = field(default=False, metadata={"help": "Train LoRA adapters (peft) instead of all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA path."})
    lora_targets: str = field(default="all-linear", metadata={"help": "Modules that get adapters: all-linear or "
                                                                      "comma-separated names (q_proj,v_proj)."})
    merge_lora: bool = field(default=True, metadata={"help": "Save the base with the adapter merged in (the adapter "
                                                             "is kept in OUT/adapter either way)."})
    device: str = field(default="auto", metadata={"help": "auto (GPU when there is one), cpu or cuda (all visible "
                                                          "GPUs; choose with CUDA_VISIBLE_DEVICES)."})
    precision: Literal["auto", "fp32", "bf16"] = field(
        default="auto", metadata={"help": "auto: fp32 on CPU; on GPU bf16 autocast (LoRA: bf16 base weights)."})
    gradient_checkpointing: bool | None = field(
        default=None, metadata={"help": "Recompute activations in the backward pass (default: on GPU only)."})
    threads: int | None = threads_field()

    def __post_init__(self) -> None:
        if self.lora_r < 1 or self.lora_alpha < 1:
            raise ValueError(f"lora_r, lora_alpha: must be >= 1, got {self.lora_r}, {self.lora_alpha}")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"lora_dropout: must be in [0, 1), got {self.lora_dropout}")


@dataclass
class OptimSettings(Config):
    """The optimisation schedule: a named recipe plus any setting given explicitly."""

    recipe: str = field(default="cpu", metadata={"help": "Preset: " + "; ".join(
        f"{name} = {r.description}" for name, r in RECIPES.items()) + "."})
    learning_rate: float | None = field(default=None, metadata={
        "help": f"Peak learning rate (default: the recipe's, x{LORA_LR_SCALE:g} with --lora)."})
    lr_scheduler: LrScheduler | None = field(default=None, metadata={
        "help": "Learning-rate schedule: " + ", ".join(get_args(LrScheduler)) + _FROM_RECIPE})
    warmup_ratio: float | None = field(default=None, metadata={"help": "Share of steps warming up" + _FROM_RECIPE})
    epochs: float | None = field(default=None, metadata={"help": "Passes over the data" + _FROM_RECIPE})
    max_steps: int | None = field(default=None, metadata={"help": "Stop after this many optimizer steps (overrides "
                                                                  "epochs)."})
    weight_decay: float | None = field(default=None, metadata={"help": "AdamW weight decay" + _FROM_RECIPE})
    adam_beta2: float | None = field(default=None, metadata={"help": "AdamW beta2" + _FROM_RECIPE})
    max_length: int | None = field(default=None, metadata={"help": "Longest training sequence in tokens (see "
                                                                   "--overlong)" + _FROM_RECIPE})
    global_batch_size: int | None = field(default=None, metadata={
        "help": "Sequences per optimizer step over all devices (gradient accumulation makes up the rest)"
                + _FROM_RECIPE})
    per_device_batch_size: int | None = field(default=None, metadata={"help": "Sequences per forward pass"
                                                                              + _FROM_RECIPE})
    max_grad_norm: float | None = field(default=None, metadata={"help": "Gradient clipping norm" + _FROM_RECIPE})
    last_layers: int | None = field(default=None, metadata={
        "help": "Train only the last N transformer layers, the rest frozen (default: the recipe's, else all; with "
                "--lora: adapters on those layers only)."})
    save_total_limit: int | None = field(default=None, metadata={"help": "Checkpoints kept (the recipe's; 0 keeps "
                                                                         "all)."})
    save_strategy: Literal["epoch", "steps", "no"] = field(default="epoch", metadata={
        "help": "Checkpoint every epoch, every --save-steps steps, or never (no resume then)."})
    save_steps: int = field(default=50, metadata={"help": "Steps between checkpoints with --save-strategy steps."})
    logging_steps: int = field(default=1, metadata={"help": "Steps between loss logs."})
    seed: int = field(default=0, metadata={"help": "Seed of the data order, dropout and adapter initialisation."})

    def __post_init__(self) -> None:
        for name, value in get_recipe(self.recipe).settings().items():
            if getattr(self, name) is None and name != "learning_rate":  # that one waits for `fill_learning_rate`
                setattr(self, name, value)
        if self.save_total_limit == 0:
            self.save_total_limit = None
        if self.lr_scheduler not in get_args(LrScheduler):  # from Python or a recipe (the CLI checks the type)
            raise ValueError(f"lr_scheduler: {self.lr_scheduler!r} is not one of {', '.join(get_args(LrScheduler))}")
        for name in ("max_length", "global_batch_size", "per_device_batch_size", "save_steps", "logging_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.last_layers is not None and self.last_layers < 1:
            raise ValueError(f"last_layers: must be >= 1, got {self.last_layers}")
        if self.max_grad_norm <= 0:
            raise ValueError(f"max_grad_norm: must be > 0, got {self.max_grad_norm}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps: must be >= 1, got {self.max_steps}")
        if self.global_batch_size % self.per_device_batch_size:
            raise ValueError(f"global_batch_size: {self.global_batch_size} is not a multiple of "
                             f"per_device_batch_size {self.per_device_batch_size}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio: must be in [0, 1), got {self.warmup_ratio}")

    def fill_learning_rate(self, lora: bool) -> None:
        """Called by the command's config, which knows whether LoRA is on: the recipe's rate, scaled for LoRA."""
        if self.learning_rate is None:
            self.learning_rate = get_recipe(self.recipe).learning_rate * (LORA_LR_SCALE if lora else 1.0)
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate: must be > 0, got {self.learning_rate}")


@dataclass
class TrainConfig(Config):
    """Fine-tune a model on long chain-of-thought data with TRL (loss on the assistant turn only)."""

    data: tuple[str, ...] = field(default=(), metadata={
        "help": "Training files (JSONL, JSON or Parquet; refine's refined_r*.* or llamafactory/*.jsonl, LIMO, s1K, "
                "messages, ShareGPT, Alpaca …). Several are mixed.", "argument": True})
    output_dir: str = field(default="train-out", metadata={
        "help": "Output folder: the trained model (loads as --model OUT), adapter/, checkpoints/, train.json.",
        "short": "-o"})
    force: bool = force_field()
    layout: str = field(default="auto", metadata={"help": "Input layout (as in refine): auto, limo, s1k, messages, "
                                                          "sharegpt, alpaca, response or 'question=KEY,response=KEY'."})
    file_format: str = field(default="auto", metadata={"help": "Input file format (by extension by default).",
                                                       "flag": "--format"})
    on_error: Literal["raise", "skip"] = field(default="raise", metadata={
        "help": "Malformed records: raise (stop, naming file/line/field) or skip (OUT/rejects.jsonl)."})
    system_prompt: str | None = field(default=DEFAULT_SYSTEM_PROMPT, metadata={
        "help": "System prompt of every training conversation ('' for none)."})
    overlong: Literal["skip", "truncate", "error"] = field(default="skip", metadata={
        "help": "Examples longer than --max-length: skip (counted), truncate (keep the start, as LIMO's recipe "
                "does; the answer and end-of-turn are lost) or error."})
    limit: int | None = field(default=None, metadata={"help": "Train on the first N usable examples only."})
    resume: bool = field(default=True, metadata={
        "help": "Continue from the last complete checkpoint in OUT (--no-resume deletes old checkpoints)."})
    accelerate_config: str | None = field(default=None, metadata={
        "help": "Run under `accelerate launch` with zero3, fsdp, ddp (shipped configs) or a YAML file of yours."})
    model_settings: ModelSettings = field(default_factory=ModelSettings, metadata={"help": "Model settings."})
    optim: OptimSettings = field(default_factory=OptimSettings, metadata={"help": "Optimisation settings."})

    def __post_init__(self) -> None:
        if isinstance(self.data, str):
            self.data = (self.data,)
        check_layout(self.layout)
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit: must be >= 1, got {self.limit}")
        if self.system_prompt == "":
            self.system_prompt = None
        self.optim.fill_learning_rate(self.model_settings.lora)
