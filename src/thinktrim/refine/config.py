"""Every setting of `thinktrim refine`, in one dataclass: the CLI and YAML configs are built from it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from thinktrim.config import Config
from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
from thinktrim.data.layouts import check_layout
from thinktrim.data.paths import safe_file_name
from thinktrim.data.run_folder import force_field
from thinktrim.lm.load import Dtype, check_device_name
from thinktrim.lm.parallel import WORKER_THREADS_HELP, ParallelConfig
from thinktrim.lm.threads import threads_field
from thinktrim.refine.judge import JudgeScope
from thinktrim.refine.segment import SegmentConfig

WeakMarkers = Literal["content", "marker"]
# Lowest allowed values of integer settings.
_AT_LEAST = {"max_batch_tokens": 1, "max_context": 1, "target_sentences": 1, "max_sentences": 1, "judge_retries": 0,
             "judge_concurrency": 1, "limit": 1}


@dataclass(frozen=True)
class ClassifyConfig:
    """How marker phrases and what a step does decide its mode (help: the RefineConfig fields of these names)."""

    weak_markers: WeakMarkers = "content"
    repeated_computation: bool = True

    def __post_init__(self) -> None:
        if self.weak_markers not in ("content", "marker"):
            raise ValueError(f"weak_markers: {self.weak_markers!r} is not one of content, marker")


def _segment_help(name: str) -> str:
    return next(f.metadata["help"] for f in fields(SegmentConfig) if f.name == name)


@dataclass
class RefineConfig(Config):
    """PIR refinement of a long chain-of-thought dataset (docs/methods.md §1)."""

    input: str = field(default="", metadata={"help": "Dataset to refine (JSONL, JSON or Parquet).",
                                           "argument": True})
    output_dir: str = field(default="out", metadata={"help": "Folder for annotations, refined data and stats.",
                                                     "short": "-o"})
    force: bool = force_field()
    ratios: tuple[float, ...] = field(
        default=(0.2, 0.3, 0.5),
        metadata={"help": "Pruning ratios; one refined dataset per ratio, all from one scoring pass."},
    )
    scope: Literal["chain", "dataset"] = field(
        default="chain",
        metadata={"help": "Prune the lowest-PIR units per chain (paper's Algorithm 1) or dataset-wide."},
    )
    answer_target: Literal["auto", "response", "answer-field", "boxed"] = field(
        default="auto",
        metadata={
            "help": "What PIR scores: the response after the thinking, the short answer field, or the final "
            "boxed expression; auto = response when present, else the answer field."
        },
    )
    model: str = field(
        default="embedded",
        metadata={"help": "Scoring model: `embedded` (SmolLM2-135M), a local model folder, or a hub id (from the local "
                  "Hugging Face cache; downloaded only where the hub can be reached)."},
    )
    scorer: Literal["engine", "naive"] = field(
        default="engine", metadata={"help": "engine (prefix-cached, exact) or naive (reference)."})
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda, cuda:1 …"})
    dtype: Dtype = field(default="auto", metadata={"help": "auto (fp32 on CPU, bf16 on GPU), float32, bfloat16."})
    threads: int | None = threads_field(WORKER_THREADS_HELP)
    max_batch_tokens: int = field(default=16384, metadata={"help": "Bound on tokens scored in one batch."})
    max_context: int | None = field(
        default=None, metadata={"help": "Longest sequence to score (default: the model's context length)."}
    )
    overlong: Literal["skip", "error"] = field(
        default="skip", metadata={"help": "Chains longer than the context: skip (with reason) or error."}
    )
    system_prompt: str | None = field(
        default=DEFAULT_SYSTEM_PROMPT, metadata={"help": "System prompt of the scoring context."}
    )
    layout: str = field(
        default="auto",
        metadata={
            "help": "Input layout: auto (detected), limo, s1k, messages, sharegpt, alpaca, response, or the "
            "fields yourself: 'question=KEY,response=KEY' (thinking and answer in one text, split at </think>) "
            "or 'question=KEY,thinking=KEY,response=KEY' (thinking in its own field); optional answer=KEY "
            "(reference answer) and id=KEY; nested fields as a.b.0."
        },
    )
    file_format: Literal["auto", "jsonl", "json", "parquet"] = field(
        default="auto", metadata={"help": "Input file format (by extension by default).", "flag": "--format"})
    on_error: Literal["raise", "skip"] = field(
        default="raise", metadata={"help": "Malformed records: raise (stop, naming file/line/field) or skip."}
    )
    whole_response_as_thinking: bool = field(
        default=False,
        metadata={"help": "Treat a response that never closes its thinking as all thinking."},
    )
    target_sentences: int = field(default=4, metadata={"help": "Sentences per step (segmentation target)."})
    max_sentences: int = field(default=8, metadata={"help": "Hard cap of sentences per step."})
    markers: str | None = field(default=None, metadata={"help": "YAML marker lexicon overriding the defaults."})
    weak_markers: WeakMarkers = field(
        default=ClassifyConfig.weak_markers,
        metadata={
            "help": "A step opened only by a weak marker (Wait, Hold on): content = the mode its sentences show "
            "(a check, a verdict, a refutation), else progressive; marker = the mode the lexicon lists the phrase "
            "under (the paper's Table 4 reading: Wait = verification)."
        },
    )
    repeated_computation: bool = field(
        default=ClassifyConfig.repeated_computation,
        metadata={"help": "A step with no marker whose every computation (a op b = c) appears earlier in the "
                  "chain is a verification."},
    )
    split_on_evidence: bool = field(
        default=SegmentConfig.split_on_evidence, metadata={"help": _segment_help("split_on_evidence")}
    )
    end_at_progress: bool = field(
        default=SegmentConfig.end_at_progress, metadata={"help": _segment_help("end_at_progress")}
    )
    judge_url: str | None = field(
        default=None, metadata={"help": "OpenAI-compatible endpoint of an LLM judge of step modes."}
    )
    judge_model: str | None = field(default=None, metadata={"help": "Model name sent to the judge endpoint."})
    judge_scope: JudgeScope = field(
        default="unmarked",
        metadata={
            "help": "Steps the judge labels: unmarked (those no marker decided) or all (every step but the "
            "first; stats.json then reports how often judge and markers agree)."
        },
    )
    judge_prompt: str | None = field(
        default=None,
        metadata={
            "help": "Text file with the judge's instructions (default: the shipped judge_prompt.txt); it must "
            'ask for JSON {"mode": ..., "checks_step": ...}.'
        },
    )
    judge_timeout: float = field(default=60.0, metadata={"help": "Seconds per judge request."})
    judge_retries: int = field(default=3, metadata={"help": "Retries per judge request."})
    judge_concurrency: int = field(default=4, metadata={"help": "Parallel judge requests."})
    limit: int | None = field(default=None, metadata={"help": "Refine only the first N records."})
    name: str | None = field(default=None, metadata={"help": "Dataset name for the LLaMA-Factory entry."})
    parallel: ParallelConfig = field(default_factory=ParallelConfig, metadata={
        "help": "Shards and Ray workers (thinktrim.lm.parallel)."})

    def __post_init__(self) -> None:
        self.check_types()
        self.ratios = tuple(sorted(set(self.ratios)))
        if not self.ratios or any(not 0 < r <= 1 for r in self.ratios):  # NaN fails the comparison too
            raise ValueError(f"ratios: each must be in (0, 1], got {','.join(map(str, self.ratios))}")
        for key, low in _AT_LEAST.items():
            value = getattr(self, key)
            if value is not None and value < low:
                raise ValueError(f"{key}: must be >= {low}, got {value}")
        if not (self.judge_timeout > 0 and math.isfinite(self.judge_timeout)):
            raise ValueError(f"judge_timeout: must be a positive number of seconds, got {self.judge_timeout}")
        for key in ("input", "output_dir", "model"):
            if not getattr(self, key).strip():
                raise ValueError(f"{key}: must not be empty")
        try:
            check_layout(self.layout)
        except ValueError as e:
            message = str(e).removeprefix(f"layout {self.layout!r}: ").removeprefix(f"layout={self.layout!r}: ")
            raise ValueError(f"layout: {message}") from None
        try:
            check_device_name(self.device)
        except ValueError as e:
            raise ValueError(f"device: {e}") from None
        if self.judge_url is not None and not self.judge_url.startswith(("http://", "https://")):
            raise ValueError(f"judge_url: expected an http:// or https:// URL, got {self.judge_url!r}")
        if self.judge_url and not self.judge_model:
            raise ValueError("judge_model: required with judge_url")

    @property
    def segment_config(self) -> SegmentConfig:
        return SegmentConfig(
            target_sentences=self.target_sentences,
            max_sentences=max(self.max_sentences, self.target_sentences),
            split_on_evidence=self.split_on_evidence,
            end_at_progress=self.end_at_progress,
        )

    @property
    def classify_config(self) -> ClassifyConfig:
        return ClassifyConfig(self.weak_markers, self.repeated_computation)

    @property
    def dataset_name(self) -> str:
        """--name, else the input's stem, as a safe file name: it names files of the output folder."""
        return safe_file_name(self.name or Path(self.input).stem, "dataset")


def help_of(name: str) -> str:
    """The help text of a RefineConfig field, so CLI options and YAML share one description."""
    return RefineConfig.help_of(name)


@dataclass
class RefineMergeConfig(Config):
    """Merge the shards of a `thinktrim refine --shard i/N` run into the outputs one process would have written."""

    output_dir: str = field(default="", metadata={
        "help": "The --output-dir the shards were run with (it holds shards/i-of-N/).", "argument": True})
    ratios: tuple[float, ...] | None = field(default=None, metadata={
        "help": RefineConfig.help_of("ratios") + " Default: the shards' own."})
    scope: Literal["chain", "dataset"] | None = field(default=None, metadata={
        "help": RefineConfig.help_of("scope") + " Default: the shards' own."})
    name: str | None = field(default=None, metadata={
        "help": RefineConfig.help_of("name") + " Default: the shards' own."})
