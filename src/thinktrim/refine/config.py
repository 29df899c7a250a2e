"""Every setting of `thinktrim refine`, in one dataclass: the CLI and YAML configs are built from it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from thinktrim.data.layouts import check_layout
from thinktrim.lm.base import DEFAULT_SYSTEM_PROMPT
from thinktrim.refine.judge import JUDGE_SCOPES
from thinktrim.refine.segment import SegmentConfig

_CHOICES = {
    "scorer": ("engine", "naive"),
    "overlong": ("skip", "error"),
    "scope": ("chain", "dataset"),
    "answer_target": ("auto", "response", "answer-field", "boxed"),
    "on_error": ("raise", "skip"),
    "file_format": ("auto", "jsonl", "json", "parquet"),
    "weak_markers": ("content", "marker"),
    "judge_scope": JUDGE_SCOPES,
}


@dataclass(frozen=True)
class ClassifyConfig:
    """How marker phrases and what a step does decide its mode (help: the RefineConfig fields of these names)."""

    weak_markers: str = "content"
    repeated_computation: bool = True

    def __post_init__(self) -> None:
        if self.weak_markers not in _CHOICES["weak_markers"]:
            allowed = ", ".join(_CHOICES["weak_markers"])
            raise ValueError(f"weak_markers: {self.weak_markers!r} is not one of {allowed}")


def _segment_help(name: str) -> str:
    return next(f.metadata["help"] for f in fields(SegmentConfig) if f.name == name)


@dataclass
class RefineConfig:
    """PIR refinement of a long chain-of-thought dataset (METHODS.md §1)."""

    input: str = field(default="", metadata={"help": "Dataset to refine (JSONL, JSON or Parquet)."})
    output_dir: str = field(default="out", metadata={"help": "Folder for annotations, refined data and stats."})
    ratios: tuple[float, ...] = field(
        default=(0.2, 0.3, 0.5),
        metadata={"help": "Pruning ratios; one refined dataset per ratio, all from one scoring pass."},
    )
    scope: str = field(
        default="chain",
        metadata={"help": "Prune the lowest-PIR units per chain (paper's Algorithm 1) or dataset-wide."},
    )
    answer_target: str = field(
        default="auto",
        metadata={
            "help": "What PIR scores: the response after the thinking, the short answer field, or the final "
            "boxed expression; auto = response when present, else the answer field."
        },
    )
    model: str = field(
        default="embedded", metadata={"help": "Scoring model: `embedded` (SmolLM2-135M), a hub id or a folder."}
    )
    scorer: str = field(default="engine", metadata={"help": "engine (prefix-cached, exact) or naive (reference)."})
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda, cuda:1 …"})
    dtype: str = field(default="auto", metadata={"help": "auto (fp32 on CPU, bf16 on GPU), float32, bfloat16."})
    max_batch_tokens: int = field(default=16384, metadata={"help": "Bound on tokens scored in one batch."})
    max_context: int | None = field(
        default=None, metadata={"help": "Longest sequence to score (default: the model's context length)."}
    )
    overlong: str = field(
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
    file_format: str = field(default="auto", metadata={"help": "Input file format (by extension by default)."})
    on_error: str = field(
        default="raise", metadata={"help": "Malformed records: raise (stop, naming file/line/field) or skip."}
    )
    whole_response_as_thinking: bool = field(
        default=False,
        metadata={"help": "Treat a response that never closes its thinking as all thinking."},
    )
    target_sentences: int = field(default=4, metadata={"help": "Sentences per step (segmentation target)."})
    max_sentences: int = field(default=8, metadata={"help": "Hard cap of sentences per step."})
    markers: str | None = field(default=None, metadata={"help": "YAML marker lexicon overriding the defaults."})
    weak_markers: str = field(
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
    judge_scope: str = field(
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

    def __post_init__(self) -> None:
        for key, allowed in _CHOICES.items():
            value = getattr(self, key)
            if value not in allowed:
                raise ValueError(f"{key}: {value!r} is not one of {', '.join(allowed)}")
        check_layout(self.layout)
        self.ratios = tuple(sorted({float(r) for r in self.ratios}))
        if not self.ratios or any(not 0 < r <= 1 for r in self.ratios):
            raise ValueError(f"ratios: each must be in (0, 1], got {self.ratios}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit: must be >= 1, got {self.limit}")
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
        return self.name or Path(self.input).stem

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> RefineConfig:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
        return cls(**{**data, **overrides})


def help_of(name: str) -> str:
    """The help text of a RefineConfig field, so CLI options and YAML share one description."""
    return next(f.metadata["help"] for f in fields(RefineConfig) if f.name == name)
