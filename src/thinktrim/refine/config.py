"""Every setting of `thinktrim refine`, in one dataclass: the CLI and YAML configs are built from it.

The settings of the steps it drives are their own configs, nested here and flat on the command line:
`inputs` (how the file is read), `segment`, `classify`, `judge` (its settings are `--judge-*`) and `parallel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from thinktrim.config import Config, like
from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
from thinktrim.data.inputs import InputConfig
from thinktrim.data.paths import safe_file_name
from thinktrim.data.run_folder import force_field
from thinktrim.lm.load import Precision, check_device_name, precision_field
from thinktrim.lm.parallel import WORKER_THREADS_HELP, ParallelConfig
from thinktrim.lm.threads import threads_field
from thinktrim.refine.classify import ClassifyConfig
from thinktrim.refine.judge import JudgeConfig
from thinktrim.refine.segment import SegmentConfig


def _check_ratios(ratios: tuple[float, ...]) -> None:
    if not ratios:
        raise ValueError("give at least one ratio")


@dataclass
class RefineConfig(Config):
    """PIR refinement of a long chain-of-thought dataset (docs/methods.md §1)."""

    input: str = field(default="", metadata={
        "argument": True, "nonempty": True, "help": "Dataset to refine (JSONL, JSON or Parquet)."})
    output_dir: str = field(default="out", metadata={
        "short": "-o", "nonempty": True, "help": "Folder for annotations, refined data and stats."})
    force: bool = force_field()
    ratios: tuple[float, ...] = field(default=(0.2, 0.3, 0.5), metadata={
        "above": 0, "max": 1, "check": _check_ratios,
        "help": "Pruning ratios; one refined dataset per ratio, all from one scoring pass."})
    scope: Literal["chain", "dataset"] = field(default="chain", metadata={
        "help": "Prune the lowest-PIR units per chain (paper's Algorithm 1) or dataset-wide."})
    answer_target: Literal["auto", "response", "answer-field", "boxed"] = field(default="auto", metadata={
        "help": "What PIR scores: the response after the thinking, the short answer field, or the final boxed "
                "expression; auto = response when present, else the answer field."})
    model: str = field(default="embedded", metadata={
        "nonempty": True,
        "help": "Scoring model: `embedded` (SmolLM2-135M), a local model folder, or a hub id (from the local "
                "Hugging Face cache; downloaded only where the hub can be reached)."})
    scorer: Literal["engine", "naive"] = field(default="engine", metadata={
        "help": "engine (prefix-cached, exact) or naive (reference)."})
    device: str = field(default="auto", metadata={"check": check_device_name, "help": "auto, cpu, cuda, cuda:1 …"})
    precision: Precision = precision_field("auto (fp32 on CPU, bf16 on GPU), fp32 or bf16.")  # noqa: RUF009
    threads: int | None = threads_field(WORKER_THREADS_HELP)
    max_batch_tokens: int = field(default=16384, metadata={"min": 1, "help": "Bound on tokens scored in one batch."})
    max_context: int | None = field(default=None, metadata={
        "min": 1, "help": "Longest sequence to score (default: the model's context length)."})
    overlong: Literal["skip", "error"] = field(default="skip", metadata={
        "help": "Chains longer than the context: skip (with reason) or error."})
    system_prompt: str | None = field(default=DEFAULT_SYSTEM_PROMPT, metadata={
        "help": "System prompt of the scoring context."})
    whole_response_as_thinking: bool = field(default=False, metadata={
        "help": "Treat a response that never closes its thinking as all thinking."})
    markers: str | None = field(default=None, metadata={
        "path": "file", "help": "YAML marker lexicon overriding the defaults."})
    limit: int | None = field(default=None, metadata={"min": 1, "help": "Refine only the first N records."})
    output_format: Literal["auto", "jsonl", "json", "parquet", "datasets"] = field(default="auto", metadata={
        "help": "Format of the refined files: auto = the input's (Parquet under the input's features for a "
                "datasets folder or hub id), or jsonl, json, parquet, or datasets (a save_to_disk folder "
                "refined_r<ratio>/, under the input's features)."})
    name: str | None = field(default=None, metadata={"help": "Dataset name for the LLaMA-Factory entry."})
    inputs: InputConfig = field(default_factory=InputConfig, metadata={"help": "How the input is read."})
    segment: SegmentConfig = field(default_factory=SegmentConfig, metadata={"help": "How big steps are."})
    classify: ClassifyConfig = field(default_factory=ClassifyConfig, metadata={"help": "How steps get a kind."})
    judge: JudgeConfig | None = field(default=None, metadata={
        "prefix": "judge_", "help": "An optional LLM judge of step kinds (--judge-url, --judge-model …)."})
    parallel: ParallelConfig = field(default_factory=ParallelConfig, metadata={
        "help": "Shards and Ray workers (thinktrim.lm.parallel)."})

    def check(self) -> None:
        self.ratios = tuple(sorted(set(self.ratios)))

    @property
    def dataset_name(self) -> str:
        """--name, else the input's stem, as a safe file name: it names files of the output folder."""
        return safe_file_name(self.name or Path(self.input).stem, "dataset")


@dataclass
class RefineMergeConfig(Config):
    """Merge the shards of a `thinktrim refine --shard i/N` run into the outputs one process would have written."""

    output_dir: str = field(default="", metadata={
        "help": "The --output-dir the shards were run with (it holds shards/i-of-N/).", "argument": True})
    ratios: tuple[float, ...] | None = like(RefineConfig, "ratios", default=None,
                                            more_help="Default: the shards' own.")
    scope: Literal["chain", "dataset"] | None = like(RefineConfig, "scope", default=None,
                                                     more_help="Default: the shards' own.")
    name: str | None = like(RefineConfig, "name", default=None, more_help="Default: the shards' own.")
