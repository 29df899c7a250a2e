"""Settings of `thinktrim train`: the model (LoRA or full, device, precision), the optimisation (recipe-filled)
and the `train sft` command's own config. O1-Pruner's commands (`o1_pruner/config.py`) reuse the first two.

A recipe (`thinktrim.recipes`) fills every optimisation setting left unset (None): options given on the command
line or in `--config` YAML win over the recipe, and no value is written both here and there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from thinktrim.config import Config, ConfigError
from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
from thinktrim.data.inputs import InputConfig
from thinktrim.data.run_folder import force_field
from thinktrim.lm.load import PRECISION_SPELLINGS, check_device_name
from thinktrim.lm.threads import threads_field
from thinktrim.recipes import LORA_LR_SCALE, RECIPES, get_recipe
from thinktrim.train.launch import config_path

_FROM_RECIPE = " (default: the recipe's)"
# transformers' schedules that need no settings beyond the warm-up (checked here, before any model loads;
# the others, e.g. cosine_with_min_lr, need scheduler arguments this command does not take)
LrScheduler = Literal["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                      "inverse_sqrt"]


def _check_recipe(name: str) -> None:
    if name not in RECIPES:
        raise ValueError(f"{name!r} is not one of {', '.join(RECIPES)}")


@dataclass
class ModelSettings(Config):
    """Which model is trained, how (LoRA or all weights) and where."""

    model: str = field(default="embedded", metadata={"help": "Base model: `embedded` (SmolLM2-135M), a hub id or a "
                                                             "local folder."})
    lora: bool = field(default=False, metadata={"help": "Train LoRA adapters (peft) instead of all weights."})
    lora_r: int = field(default=16, metadata={"min": 1, "help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"min": 1, "help": "LoRA scaling alpha."})
    lora_dropout: float = field(default=0.05, metadata={"min": 0, "below": 1, "help": "Dropout on the LoRA path."})
    lora_targets: str = field(default="all-linear", metadata={"help": "Modules that get adapters: all-linear or "
                                                                      "comma-separated names (q_proj,v_proj)."})
    merge_lora: bool = field(default=True, metadata={"help": "Save the base with the adapter merged in (the adapter "
                                                             "is kept in OUT/adapter either way)."})
    device: str = field(default="auto", metadata={
        "check": check_device_name,
        "help": "auto (GPU when there is one), cpu or cuda (all visible GPUs; choose with CUDA_VISIBLE_DEVICES)."})
    precision: Literal["auto", "fp32", "bf16"] = field(
        default="auto", metadata={"spellings": PRECISION_SPELLINGS,
                                  "help": "auto: fp32 on CPU; on GPU bf16 autocast (LoRA: bf16 base weights)."})
    gradient_checkpointing: bool | None = field(
        default=None, metadata={"help": "Recompute activations in the backward pass (default: on GPU only)."})
    threads: int | None = threads_field()


@dataclass
class OptimSettings(Config):
    """The optimisation schedule: a named recipe plus any setting given explicitly."""

    recipe: str = field(default="cpu", metadata={"check": _check_recipe, "help": "Preset: " + "; ".join(
        f"{name} = {r.description}" for name, r in RECIPES.items()) + "."})
    learning_rate: float | None = field(default=None, metadata={
        "above": 0, "help": f"Peak learning rate (default: the recipe's, x{LORA_LR_SCALE:g} with --lora)."})
    lr_scheduler: LrScheduler | None = field(default=None, metadata={
        "help": "Learning-rate schedule: " + ", ".join(get_args(LrScheduler)) + _FROM_RECIPE})
    warmup_ratio: float | None = field(default=None, metadata={
        "min": 0, "below": 1, "help": "Share of steps warming up" + _FROM_RECIPE})
    epochs: float | None = field(default=None, metadata={"help": "Passes over the data" + _FROM_RECIPE})
    max_steps: int | None = field(default=None, metadata={
        "min": 1, "help": "Stop after this many optimizer steps (overrides epochs)."})
    weight_decay: float | None = field(default=None, metadata={"help": "AdamW weight decay" + _FROM_RECIPE})
    adam_beta2: float | None = field(default=None, metadata={"help": "AdamW beta2" + _FROM_RECIPE})
    max_length: int | None = field(default=None, metadata={"min": 1, "help": "Longest training sequence in tokens (see "
                                                                   "--overlong)" + _FROM_RECIPE})
    global_batch_size: int | None = field(default=None, metadata={
        "min": 1, "help": "Sequences per optimizer step over all devices (gradient accumulation makes up the rest)"
                + _FROM_RECIPE})
    per_device_batch_size: int | None = field(default=None, metadata={"min": 1, "help": "Sequences per forward pass"
                                                                              + _FROM_RECIPE})
    max_grad_norm: float | None = field(default=None, metadata={
        "above": 0, "help": "Gradient clipping norm" + _FROM_RECIPE})
    last_layers: int | None = field(default=None, metadata={
        "min": 1,
        "help": "Train only the last N transformer layers, the rest frozen (default: the recipe's, else all; with "
                "--lora: adapters on those layers only)."})
    save_total_limit: int | None = field(default=None, metadata={
        "min": 0, "help": "Checkpoints kept (the recipe's; 0 keeps all)."})
    save_strategy: Literal["epoch", "steps", "no"] = field(default="epoch", metadata={
        "help": "Checkpoint every epoch, every --save-steps steps, or never (no resume then)."})
    save_steps: int = field(default=50, metadata={
        "min": 1, "help": "Steps between checkpoints with --save-strategy steps."})
    logging_steps: int = field(default=1, metadata={"min": 1, "help": "Steps between loss logs."})
    seed: int = field(default=0, metadata={"help": "Seed of the data order, dropout and adapter initialisation."})

    def check(self) -> None:
        for name, value in get_recipe(self.recipe).settings().items():
            if getattr(self, name) is None and name != "learning_rate":  # that one waits for `fill_learning_rate`
                setattr(self, name, value)
        if self.save_total_limit == 0:
            self.save_total_limit = None
        if self.global_batch_size % self.per_device_batch_size:
            raise ConfigError(f"{self.global_batch_size} is not a multiple of per_device_batch_size "
                              f"{self.per_device_batch_size}", "global_batch_size")

    def fill_learning_rate(self, lora: bool) -> None:
        """Called by the command's config, which knows whether LoRA is on: the recipe's rate, scaled for LoRA."""
        if self.learning_rate is None:
            self.learning_rate = get_recipe(self.recipe).learning_rate * (LORA_LR_SCALE if lora else 1.0)
        if self.learning_rate <= 0:
            raise ConfigError(f"must be > 0, got {self.learning_rate}", "learning_rate")


@dataclass
class TrainConfig(Config):
    """Fine-tune a model on long chain-of-thought data with TRL (loss on the assistant turn only)."""

    data: tuple[str, ...] = field(default=(), metadata={
        "nonempty": True,
        "help": "Training files (JSONL, JSON or Parquet; refine's refined_r*.* or llamafactory/*.jsonl, LIMO, s1K, "
                "messages, ShareGPT, Alpaca …). Several are mixed.", "argument": True})
    output_dir: str = field(default="train-out", metadata={
        "help": "Output folder: the trained model (loads as --model OUT), adapter/, checkpoints/, train.json.",
        "short": "-o"})
    force: bool = force_field()
    system_prompt: str | None = field(default=DEFAULT_SYSTEM_PROMPT, metadata={
        "help": "System prompt of every training conversation ('' for none)."})
    overlong: Literal["skip", "truncate", "error"] = field(default="skip", metadata={
        "help": "Examples longer than --max-length: skip (counted), truncate (keep the start, as LIMO's recipe "
                "does; the answer and end-of-turn are lost) or error."})
    limit: int | None = field(default=None, metadata={"min": 1, "help": "Train on the first N usable examples only."})
    resume: bool = field(default=True, metadata={
        "help": "Continue from the last complete checkpoint in OUT (--no-resume deletes old checkpoints)."})
    accelerate_config: str | None = field(default=None, metadata={
        "check": config_path,
        "help": "Run under `accelerate launch` with zero3, fsdp, ddp (shipped configs) or a YAML file of yours."})
    inputs: InputConfig = field(default_factory=InputConfig, metadata={"help": "How the training files are read."})
    model_settings: ModelSettings = field(default_factory=ModelSettings, metadata={"help": "Model settings."})
    optim: OptimSettings = field(default_factory=OptimSettings, metadata={"help": "Optimisation settings."})

    def check(self) -> None:
        if self.system_prompt == "":
            self.system_prompt = None
        self.optim.fill_learning_rate(self.model_settings.lora)
