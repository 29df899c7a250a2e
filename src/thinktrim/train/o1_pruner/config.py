"""Settings of `thinktrim train o1-pruner sample | build | fit`: one dataclass per command.

Settings shared with `thinktrim eval` (sampling) and `train sft` (training) take their help, and their default
unless O1-Pruner's released code says otherwise, from those commands' configs (`thinktrim.config.like`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from thinktrim.answers import AnswerKind
from thinktrim.config import Config, ConfigError, like
from thinktrim.data.inputs import InputConfig, OnError, check_range
from thinktrim.data.run_folder import force_field
from thinktrim.evaluate.config import EvalConfig, ModelRunSettings
from thinktrim.evaluate.extract import ExtractionPolicy
from thinktrim.evaluate.records import read_run_record
from thinktrim.lm.generation.types import GenerationConfig
from thinktrim.lm.threads import threads_field
from thinktrim.train.config import ModelSettings, OptimSettings, TrainConfig
from thinktrim.train.o1_pruner.reward import CLIP_HIGH, CLIP_LOW, KEEP_PER_PROBLEM, LAMBDA

EVAL_SETTINGS = ("benchmarks", "data", "split", "subset", "question_field", "answer_field", "id_field", "kind", "path",
                 "limit", "start", "end",
                 "model", "backend", "device", "precision", "base_url", "concurrency", "tokenizer", "system_prompt",
                 "grade_processes", "extraction", "threads")
GENERATION_SETTINGS = ("n", "max_new_tokens", "temperature", "top_p", "seed", "stop", "batch_size")


@dataclass
class SampleConfig(ModelRunSettings):
    """Pre-sample: K graded samples per training problem from the reference model (the one about to be trained).

    An evaluation run (`thinktrim eval`'s loop and folder, resumable after a kill) with O1-Pruner's sampling
    settings, plus reference.jsonl: each problem's mean length L̄_ref and accuracy Ā_ref.
    """

    benchmarks: tuple[str, ...] = like(EvalConfig, "benchmarks")
    data: str | None = like(EvalConfig, "data", help="Training problems: JSONL, JSON or Parquet, a datasets "
                            "save_to_disk folder or a hub dataset id in the local cache (--split, --subset), with a "
                            "question and a gold answer (see --question-field/--answer-field; dotted paths reach "
                            "nested fields).")
    split: str | None = like(EvalConfig, "split")
    subset: str | None = like(EvalConfig, "subset")
    question_field: str = like(EvalConfig, "question_field")
    answer_field: str = like(EvalConfig, "answer_field")
    id_field: str | None = like(EvalConfig, "id_field")
    kind: AnswerKind = like(EvalConfig, "kind")  # noqa: RUF009 (like() returns a dataclasses.field)
    path: str | None = like(EvalConfig, "path")
    limit: int | None = like(EvalConfig, "limit")
    start: int = like(EvalConfig, "start")
    end: int | None = like(EvalConfig, "end")
    output_dir: str = field(default="o1-pruner-samples", metadata={
        "help": "Run folder (an eval run: run.json, <problems>/samples.jsonl, graded.jsonl, results.json) "
                "plus reference.jsonl.", "short": "-o"})
    force: bool = force_field()
    model: str = like(EvalConfig, "model")
    extraction: ExtractionPolicy = like(EvalConfig, "extraction")  # noqa: RUF009 (like() returns a dataclasses.field)
    threads: int | None = threads_field()
    n: int = like(GenerationConfig, "n", default=16, min=2, help="K: samples per problem (O1-Pruner: 16; at least "
                  "2, as each sample is compared with the model's mean over the K).")
    max_new_tokens: int = like(GenerationConfig, "max_new_tokens", default=8192)
    temperature: float = like(GenerationConfig, "temperature", default=0.5)
    top_p: float = like(GenerationConfig, "top_p", default=0.8)
    seed: int | None = like(GenerationConfig, "seed")
    stop: tuple[str, ...] = like(GenerationConfig, "stop")
    batch_size: int | None = like(GenerationConfig, "batch_size")

    def check(self) -> None:
        self.eval_config()  # eval's own checks (the settings have the same names)

    def eval_config(self) -> EvalConfig:
        return EvalConfig(**{k: getattr(self, k) for k in EVAL_SETTINGS}, output_dir=self.output_dir, force=self.force,
                          generation=GenerationConfig(**{k: getattr(self, k) for k in GENERATION_SETTINGS}))


@dataclass
class BuildConfig(Config):
    """Build the reward dataset from a graded sample run: R per sample, clipped, k kept per problem, z-scored."""

    run: str = field(default="", metadata={
        "argument": True, "nonempty": True,
        "help": "The sample run folder, or any `thinktrim eval` run with -n >= 2 (its samples "
                                  "and verdicts are read; nothing is generated)."})
    output_dir: str = field(default="o1-pruner-data", metadata={
        "short": "-o", "help": "Folder for o1_pruner.jsonl (the training set), problems.jsonl (per-problem "
                               "columns for GRPO) and build.json (settings and summary)."})
    force: bool = force_field()
    lam: float = field(default=LAMBDA, metadata={"flag": "--lambda", "help": "λ, the weight of the accuracy term."})
    clip_low: float = field(default=CLIP_LOW, metadata={"help": "R is clipped below at this value."})
    clip_high: float = field(default=CLIP_HIGH, metadata={"help": "R is clipped above at this value."})
    keep: int = field(default=KEEP_PER_PROBLEM, metadata={
        "min": 1, "help": "Samples kept per problem (drawn at random, the same on every run for a given --seed)."})
    seed: int = field(default=0, metadata={"help": "Seed of which samples are kept."})

    def check(self) -> None:
        if read_run_record(Path(self.run)) is None:
            raise ConfigError(f"{self.run} is not an eval run folder (no run.json)", "run")
        if self.clip_low >= self.clip_high:
            raise ConfigError(f"{self.clip_low} must be below --clip-high {self.clip_high}", "clip_low")


@dataclass
class O1OptimSettings(OptimSettings):
    """`OptimSettings` starting from O1-Pruner's small CPU recipe."""

    recipe: str = like(OptimSettings, "recipe", default="o1-pruner-cpu")


@dataclass
class FitConfig(Config):
    """Fine-tune with O1-Pruner's offline PPO-clip objective against the frozen reference (the starting model)."""

    data: tuple[str, ...] = field(default=(), metadata={
        "argument": True, "nonempty": True,
        "help": "The reward dataset `build` wrote (o1_pruner.jsonl), or rows of prompt + completion (or "
                "messages) with an advantage in JSONL, JSON or Parquet, a datasets save_to_disk folder or a hub "
                "dataset id in the local cache (--split, --subset); several are mixed."})
    output_dir: str = like(TrainConfig, "output_dir", default="o1-pruner-out")
    force: bool = force_field()
    advantage_field: str = field(default="advantage", metadata={
        "help": "Field holding each row's advantage (the released code's data call it `weight`)."})
    epsilon: float = field(default=0.2, metadata={
        "above": 0, "below": 1, "help": "PPO clip range ε: the ratio's effect is cut outside [1 − ε, 1 + ε]."})
    reference: Literal["precomputed", "resident"] = field(default="precomputed", metadata={
        "help": "precomputed: the reference's log-probs in one pass before training, stored in OUT (one model in "
                "memory); resident: a frozen reference beside the trained model, scored every step (LoRA: the base "
                "with the adapters switched off), for data that change on the fly."})
    on_error: OnError = like(InputConfig, "on_error")  # noqa: RUF009 (like() returns a dataclasses.field)
    split: str | None = like(InputConfig, "split")
    subset: str | None = like(InputConfig, "subset")
    start: int = like(InputConfig, "start", more_help="Counted in each file on its own.")
    end: int | None = like(InputConfig, "end")
    overlong: Literal["skip", "truncate", "error"] = like(TrainConfig, "overlong", default="truncate", more_help=(
        "O1-Pruner truncates, as its released code does: skipped samples are the longest, with the lowest "
        "rewards, and the trained advantages would no longer average zero."))
    limit: int | None = like(TrainConfig, "limit")
    resume: bool = like(TrainConfig, "resume")
    accelerate_config: str | None = like(TrainConfig, "accelerate_config")
    model_settings: ModelSettings = like(TrainConfig, "model_settings")  # noqa: RUF009 (like() returns a dataclasses.field)
    optim: O1OptimSettings = field(default_factory=O1OptimSettings, metadata={"help": "Optimisation settings."})

    def check(self) -> None:
        check_range(self.start, self.end)
        self.optim.fill_learning_rate(self.model_settings.lora)
