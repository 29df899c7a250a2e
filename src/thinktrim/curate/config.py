"""Every setting of `thinktrim curate`, in one dataclass: the CLI options and `--config curate.yaml` come from it.

Sampling settings shared with `thinktrim eval` take their default and help from `EvalConfig` and
`GenerationConfig`, so they are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from thinktrim.config import ConfigError, like
from thinktrim.data.inputs import InputConfig, check_source
from thinktrim.data.run_folder import force_field
from thinktrim.evaluate.config import ModelRunSettings
from thinktrim.evaluate.records import read_run_record
from thinktrim.lm.generation.types import GenerationConfig
from thinktrim.lm.load import check_model_name
from thinktrim.lm.threads import threads_field

# Settings passed through to eval's loop as they are.
EVAL_SETTINGS = ("backend", "device", "precision", "base_url", "concurrency", "tokenizer", "system_prompt",
                 "grade_processes", "threads")
GENERATION_SETTINGS = ("max_new_tokens", "temperature", "top_p", "seed", "batch_size")


@dataclass
class CurateConfig(ModelRunSettings):
    """Curate a reasoning dataset LIMO's way: dedup, decontaminate, filter by difficulty, score chains, select.

    Steps are documented in docs/methods.md §2 and the README's Curate section.
    """

    pools: tuple[str, ...] = field(default=(), metadata={
        "argument": True, "nonempty": True, "check": check_source,
        "help": "Pool files (JSONL, JSON or Parquet; or datasets folders, cached hub dataset ids) in any layout "
        "refine reads, or "
        "question + answer records without chains; several chains of one problem are grouped."})
    output_dir: str = field(default="curate-out", metadata={
        "short": "-o", "help": "Folder for the curated data, audit.jsonl, stats.json and the difficulty runs."})
    force: bool = force_field()
    inputs: InputConfig = field(default_factory=InputConfig, metadata={
        "help": "How the pools are read (the output keeps their format)."})

    exact_dedup: bool = field(default=True, metadata={
        "help": "Merge problems equal after normalisation (case, whitespace, LaTeX spacing)."})
    near_dedup: bool = field(default=True, metadata={"help": "Cluster near-duplicate problems (MinHash LSH)."})
    near_threshold: float = field(default=0.7, metadata={
        "above": 0, "max": 1,
        "help": "Near-duplicate Jaccard similarity of token shingles (numbers must also be equal)."})
    shingle_size: int = field(default=3, metadata={"min": 1, "help": "Tokens per shingle for near-duplicates."})
    num_perm: int = field(default=128, metadata={"min": 1, "help": "MinHash permutations (more: sharper, slower)."})

    decontaminate: bool = field(default=True, metadata={"help": "Drop problems that match a benchmark item."})
    benchmarks: tuple[str, ...] = field(default=("all",), metadata={
        "help": "Benchmarks to decontaminate against: all (every bundled test set) or names."})
    contamination_files: tuple[str, ...] = field(default=(), metadata={
        "help": "More test sets: files of questions (any layout), or NAME=PATH for a registered benchmark "
        "that is not bundled (gpqa-diamond=gpqa.jsonl)."})
    ngram_size: int = field(default=5, metadata={"min": 1, "help": "Tokens per n-gram for contamination overlap."})
    overlap_threshold: float = field(default=0.5, metadata={
        "above": 0, "max": 1, "help": "Share of a benchmark item's n-grams found in a problem that makes it a match."})

    verify_chains: bool = field(default=True, metadata={
        "help": "Grade each chain's answer against the gold answer; wrong chains are never selected."})
    answer_kind: Literal["number", "expression", "choice"] = field(default="expression", metadata={
        "help": "How answers are compared (chains and difficulty samples)."})

    stage1_model: str | None = field(default=None, metadata={
        "help": "Difficulty stage 1: the weaker model (paper: Qwen2.5-Math-7B); none skips the stage."})
    stage1_samples: int = field(default=4, metadata={"min": 1, "help": "Stage 1: samples per problem (paper: 4)."})
    stage1_max_solved: int = field(default=0, metadata={
        "min": 0, "help": "Stage 1 keeps problems solved at most this often (0: drop any problem it solves)."})
    stage1_run: str | None = field(default=None, metadata={
        "help": "Stage 1: an eval run folder whose graded samples are reused (matched by question text)."})
    stage2_model: str | None = field(default=None, metadata={
        "help": "Difficulty stage 2: the strong model (paper: R1-Distill-Qwen-32B); none skips the stage."})
    stage2_samples: int = field(default=32, metadata={"min": 1, "help": "Stage 2: samples per problem (paper: 32)."})
    stage2_min_solved: int = field(default=1, metadata={
        "min": 0, "help": "Stage 2 keeps problems solved at least this often."})
    stage2_max_solved: int = field(default=3, metadata={"help": "Stage 2 keeps problems solved at most this often."})
    stage2_run: str | None = field(default=None, metadata={
        "help": "Stage 2: an eval run folder whose graded samples are reused (matched by question text)."})
    threads: int | None = threads_field()  # eval's, less what it means with Ray workers (curate has none)
    max_new_tokens: int = like(GenerationConfig, "max_new_tokens")
    temperature: float = like(GenerationConfig, "temperature")
    top_p: float = like(GenerationConfig, "top_p")
    seed: int | None = like(GenerationConfig, "seed")
    batch_size: int | None = like(GenerationConfig, "batch_size")

    quality_keywords: str | None = field(default=None, metadata={
        "help": "YAML rubric overriding parts of quality_keywords.yaml (weights, keywords, saturation)."})
    quality_fn: str | None = field(default=None, metadata={
        "help": "Your own chain score instead of the rubric: module:function taking a Trace, returning a number."})
    per_problem: int = field(default=1, metadata={"min": 1, "help": "Chains kept per problem (the best ones)."})
    top: int | None = field(default=None, metadata={
        "min": 1, "help": "Keep the N best problems by chain quality (LIMO: 800); none keeps all."})

    def check(self) -> None:
        if self.stage2_min_solved > self.stage2_max_solved:
            raise ConfigError(f"must be at most --stage2-max-solved ({self.stage2_max_solved}), got "
                              f"{self.stage2_min_solved}", "stage2_min_solved")
        for name in ("stage1_run", "stage2_run"):
            run = getattr(self, name)
            if run is not None and read_run_record(Path(run)) is None:
                raise ConfigError(f"{run} is not an eval run folder (no run.json)", name)
        if self.backend != "openai":  # a stage model that cannot load fails here, not after the cheap steps
            for name in ("stage1_model", "stage2_model"):
                model = getattr(self, name)
                if model is not None:
                    try:
                        check_model_name(model, "")
                    except ValueError as e:
                        raise ConfigError(str(e), name) from None
        if self.system_prompt == "":
            self.system_prompt = None

    def eval_settings(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in EVAL_SETTINGS}

    def generation_settings(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in GENERATION_SETTINGS}
