"""Every setting of `thinktrim refine`, in one dataclass: the CLI and YAML configs are built from it."""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
from thinktrim.data.layouts import check_layout
from thinktrim.lm.load import DTYPES, check_device_name
from thinktrim.refine.judge import JUDGE_SCOPES
from thinktrim.refine.segment import SegmentConfig

_CHOICES = {
    "scorer": ("engine", "naive"),
    "overlong": ("skip", "error"),
    "scope": ("chain", "dataset"),
    "answer_target": ("auto", "response", "answer-field", "boxed"),
    "on_error": ("raise", "skip"),
    "file_format": ("auto", "jsonl", "json", "parquet"),
    "dtype": ("auto", *DTYPES),
    "weak_markers": ("content", "marker"),
    "judge_scope": JUDGE_SCOPES,
}
# Lowest allowed values of integer settings.
_AT_LEAST = {"max_batch_tokens": 1, "max_context": 1, "target_sentences": 1, "max_sentences": 1, "judge_retries": 0,
             "judge_concurrency": 1, "limit": 1}


class SettingError(ValueError):
    """A bad value of one setting. `setting` names the field, `source` the YAML file it came from (if any), so
    the command line can name the option or the file and key."""

    def __init__(self, setting: str, message: str, source: str | None = None) -> None:
        self.setting, self.message, self.source = setting, message, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{setting}: {message}")


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content; ValueError naming the file (and line) when it cannot be read or parsed."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, expected a YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text (byte {e.start}): expected a YAML file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ValueError(f"{path}{line}: invalid YAML ({problem})") from None


def parse_ratios(value: Any) -> tuple[float, ...]:
    """Ratios from `0.2,0.3`, a number, or a list of numbers: sorted, without repeats, each in (0, 1]."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    ratios = []
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        try:
            if isinstance(item, bool):
                raise TypeError
            ratios.append(float(item))
        except (TypeError, ValueError):
            raise SettingError("ratios", f"expected numbers like 0.2,0.3,0.5, got {value!r}") from None
    if not ratios or any(not 0 < r <= 1 for r in ratios):  # NaN fails the comparison too
        raise SettingError("ratios", f"each must be in (0, 1], got {value!r}")
    return tuple(sorted(set(ratios)))


def _typed(name: str, value: Any, hint: Any) -> Any:
    """`value` checked against a field's type hint (ints pass as floats), for values from YAML or Python."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is tuple:
        return parse_ratios(value)
    label = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[hint]
    ok = isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise SettingError(name, f"expected {label}, got {value!r}")
    return value


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
        default="embedded",
        metadata={"help": "Scoring model: `embedded` (SmolLM2-135M), a local model folder, or a hub id already in the "
                  "local Hugging Face cache (nothing is downloaded)."},
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
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            setattr(self, f.name, _typed(f.name, getattr(self, f.name), hints[f.name]))
        for key, allowed in _CHOICES.items():
            value = getattr(self, key)
            if value not in allowed:
                raise SettingError(key, f"{value!r} is not one of {', '.join(allowed)}")
        for key, low in _AT_LEAST.items():
            value = getattr(self, key)
            if value is not None and value < low:
                raise SettingError(key, f"must be >= {low}, got {value}")
        if not (self.judge_timeout > 0 and math.isfinite(self.judge_timeout)):
            raise SettingError("judge_timeout", f"must be a positive number of seconds, got {self.judge_timeout}")
        for key in ("input", "output_dir", "model"):
            if not getattr(self, key).strip():
                raise SettingError(key, "must not be empty")
        try:
            check_layout(self.layout)
        except ValueError as e:
            message = str(e).removeprefix(f"layout {self.layout!r}: ").removeprefix(f"layout={self.layout!r}: ")
            raise SettingError("layout", message) from None
        try:
            check_device_name(self.device)
        except ValueError as e:
            raise SettingError("device", str(e)) from None
        if self.judge_url is not None and not self.judge_url.startswith(("http://", "https://")):
            raise SettingError("judge_url", f"expected an http:// or https:// URL, got {self.judge_url!r}")
        if self.judge_url and not self.judge_model:
            raise SettingError("judge_model", "required with judge_url")

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
        """Settings from a YAML mapping (the field names as keys), `overrides` winning; errors name the file."""
        data = read_yaml(path)
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of settings (name: value), got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            valid = ", ".join(sorted(known))
            raise ValueError(f"{path}: unknown settings {sorted(map(str, unknown))} (valid: {valid})")
        try:
            return cls(**{**data, **overrides})
        except SettingError as e:
            if e.setting in data and e.setting not in overrides:
                raise SettingError(e.setting, e.message, str(path)) from None
            raise


def help_of(name: str) -> str:
    """The help text of a RefineConfig field, so CLI options and YAML share one description."""
    return next(f.metadata["help"] for f in fields(RefineConfig) if f.name == name)
