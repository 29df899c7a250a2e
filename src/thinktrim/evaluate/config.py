"""The settings of `thinktrim eval`, `eval grade` and `eval compare`: one dataclass each, from which the
command-line options and the `--config` YAML are built (`thinktrim.config`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from thinktrim.answers import AnswerKind
from thinktrim.config import Config, ConfigError, like
from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
from thinktrim.data.hf import source_key
from thinktrim.data.inputs import InputConfig, check_range, check_source
from thinktrim.data.paths import safe_file_name
from thinktrim.data.run_folder import force_field
from thinktrim.evaluate.extract import ExtractionPolicy
from thinktrim.evaluate.paper_table import TableFormat
from thinktrim.lm.generation.types import Backend, GenerationConfig
from thinktrim.lm.load import Precision, check_device_name, check_model_name, model_name_check, precision_field
from thinktrim.lm.parallel import WORKER_THREADS_HELP, ParallelConfig
from thinktrim.lm.threads import threads_field


def slug(name: str, fallback: str = "model") -> str:
    """A folder name for a model (its last path part) or a --data file's stem: letters, digits and `._-`, and
    one safe path component (`..` or `-x` from a hostile name must not become a path of its own)."""
    base = Path(name.rstrip("/")).name or name
    return safe_file_name(re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("_"), fallback)


def data_name(path: str) -> str:
    """The benchmark name of a --data file: its stem, as a folder name of the run."""
    return slug(Path(path).stem, "data")


@dataclass
class EvalConfig(Config):
    """Generate, grade and score: writes <output>/<benchmark>/samples.jsonl and <output>/results.json."""

    benchmarks: tuple[str, ...] = field(default=(), metadata={
        "help": "Benchmark(s): aime24, aime25, amc23, math500, gsm8k, olymmath-easy, olymmath-hard, gpqa-diamond "
                "(needs --path). Repeat or comma-separate.", "flag": "--benchmark", "short": "-b"})
    model: str = field(default="embedded", metadata={
        "help": "`embedded` (SmolLM2-135M), a local model folder, a hub id in the local cache, or the served "
                "model name for --backend openai."})
    backend: Backend = field(default="transformers", metadata={
        "help": "transformers, vllm (GPU; pip install 'thinktrim[vllm]') or openai (any OpenAI-compatible "
                "server, with --base-url)."})
    data: str | None = field(default=None, metadata={
        "check": check_source,
        "help": "A custom benchmark: JSONL, JSON or Parquet, a datasets save_to_disk folder or a hub dataset id in "
                "the local cache (see --question-field/--answer-field; dotted paths reach nested fields)."})
    split: str | None = like(InputConfig, "split", help="Split of a --data datasets folder or hub dataset "
                             "(default: its only one).")
    subset: str | None = like(InputConfig, "subset", help="Subset (configuration) of a --data hub dataset.")
    question_field: str = field(default="question", metadata={"help": "Question field of --data records."})
    answer_field: str = field(default="answer", metadata={"help": "Gold answer field of --data records."})
    id_field: str | None = field(default=None, metadata={"help": "Id field of --data records (default: line)."})
    kind: AnswerKind = field(default="expression", metadata={"help": "Answer kind of --data records."})
    path: str | None = field(default=None, metadata={
        "help": "Data file for a registry benchmark that ships none (gpqa-diamond)."})
    limit: int | None = field(default=None, metadata={
        "min": 1, "help": "Only the first N questions of each benchmark."})
    start: int = like(InputConfig, "start", help="First question of each benchmark, by 0-based index in its "
                      "file (with --end: a half-open range, before --limit).")
    end: int | None = like(InputConfig, "end", help="Questions of each benchmark up to this 0-based index, "
                           "excluded (default: to the end).")
    system_prompt: str | None = field(default=DEFAULT_SYSTEM_PROMPT, metadata={
        "help": "System prompt ('' for none)."})
    output_dir: str | None = field(default=None, metadata={
        "help": "Run folder (default eval-out/<model>).", "short": "-o", "old": ("--output",)})
    force: bool = force_field()
    device: str = field(default="auto", metadata={
        "check": check_device_name, "help": "transformers: auto, cpu, cuda, cuda:N or mps."})
    precision: Precision = precision_field()  # noqa: RUF009 (precision_field returns a dataclasses.field)
    threads: int | None = threads_field(WORKER_THREADS_HELP)
    base_url: str | None = field(default=None, metadata={
        "help": "openai: server URL, e.g. http://127.0.0.1:8000/v1."})
    concurrency: int = field(default=8, metadata={"min": 1, "help": "openai: requests in flight."})
    tokenizer: str | None = field(default=None, metadata={
        "check": model_name_check("tokenizer"),
        "help": "openai: tokenizer to count tokens when the server reports no usage."})
    baseline: str | None = field(default=None, metadata={"help": "A previous run folder: report AES against it."})
    grade_processes: int | None = field(default=None, metadata={
        "min": 0, "help": "Grading worker processes (default: all cores; 0: in this process)."})
    generation: GenerationConfig = field(default_factory=GenerationConfig, metadata={
        "help": "Sampling settings shared by all backends."})
    extraction: ExtractionPolicy = field(default_factory=ExtractionPolicy, metadata={
        "help": "Where an answer may come from besides a box."})
    parallel: ParallelConfig = field(default_factory=ParallelConfig, metadata={
        "help": "Shards and Ray workers (thinktrim.lm.parallel)."})

    def check(self) -> None:
        if not self.benchmarks and not self.data:
            raise ConfigError("give --benchmark NAME (repeatable) or --data FILE.jsonl", "benchmarks")
        if self.backend != "openai":
            try:
                check_model_name(self.model, "")
            except ValueError as e:
                raise ConfigError(str(e), "model") from None
        # run.json records them: absolute, the run folder can be read from anywhere (build, report)
        if self.data is not None:
            self.data = source_key(self.data)  # a hub id stays as it is
        check_range(self.start, self.end)
        if self.path is not None and Path(self.path).is_file():
            self.path = str(Path(self.path).resolve())
        if self.baseline is not None and not (Path(self.baseline) / "results.json").is_file():
            raise ConfigError(f"{self.baseline}/results.json not found (run it first)", "baseline")
        if self.system_prompt == "":
            self.system_prompt = None
        if self.output_dir is None:
            self.output_dir = str(Path("eval-out") / slug(self.model))
        if Path(self.output_dir).exists() and not Path(self.output_dir).is_dir():
            raise ConfigError(f"{self.output_dir} is a file; the output is a run folder", "output_dir")


@dataclass
class ModelRunSettings(Config):
    """How eval's loop runs a model, for the commands that run it for their own ends (curate's difficulty stages,
    `train o1-pruner sample`): the fields, defaults and help of `EvalConfig`'s, declared once. Those configs
    inherit it, so the fields come first in their options."""

    backend: Backend = like(EvalConfig, "backend")  # noqa: RUF009 (like() returns a dataclasses.field)
    device: str = like(EvalConfig, "device")
    precision: Precision = like(EvalConfig, "precision")  # noqa: RUF009
    base_url: str | None = like(EvalConfig, "base_url")
    concurrency: int = like(EvalConfig, "concurrency")
    tokenizer: str | None = like(EvalConfig, "tokenizer")
    system_prompt: str | None = like(EvalConfig, "system_prompt")
    grade_processes: int | None = like(EvalConfig, "grade_processes")


@dataclass
class GradeConfig(Config):
    """Grade existing responses without any model."""

    file: str = field(default="", metadata={
        "path": "file", "help": "JSONL, JSON or Parquet of responses.", "argument": True})
    response_field: str = field(default="response", metadata={
        "help": "Field holding the model's response; a dotted path (outputs.0.text) reaches nested fields, and a "
                "list of strings is one sample each."})
    answer_field: str = field(default="answer", metadata={"help": "Field holding the gold answer (dotted paths "
                                                                     "too)."})
    kind: AnswerKind | None = field(default=None, metadata={
        "help": "number, expression or choice (default: each record's `kind`, else expression)."})
    benchmark: str | None = field(default=None, metadata={
        "help": "Take golds (and kinds) from this benchmark, matched on --id-field."})
    id_field: str = field(default="question_id", metadata={"help": "Field naming the question (and grouping "
                                                                    "samples)."})
    path: str | None = field(default=None, metadata={"help": "Data file for --benchmark gpqa-diamond."})
    tokenizer: str | None = field(default=None, metadata={
        "check": model_name_check("tokenizer"),
        "help": "Count response tokens with this tokenizer when records have no `tokens` field (e.g. embedded)."})
    output: str | None = field(default=None, metadata={
        "help": "Write the graded records (JSONL) here.", "short": "-o"})
    grade_processes: int | None = like(EvalConfig, "grade_processes")
    extraction: ExtractionPolicy = field(default_factory=ExtractionPolicy, metadata={
        "help": "Where an answer may come from besides a box."})

    def check(self) -> None:
        if self.output:
            out = Path(self.output)
            if out.is_dir():
                raise ConfigError(f"{out}: is a folder; give a file path for the graded records (JSONL)", "output")
            parent = next((p for p in out.parents if p.exists()), None)
            if parent is not None and not parent.is_dir():
                raise ConfigError(f"{out}: {parent} is a file, not a folder", "output")


@dataclass
class CompareConfig(Config):
    """The papers' comparison table: ACC, TOK, EFF and AES of each run against the first, per benchmark and on
    average."""

    runs: tuple[str, ...] = field(default=(), metadata={
        "help": "Run folders (or results.json files); the first is the base the others are compared with.",
        "argument": True, "nonempty": True})
    table_format: TableFormat = field(default="table", metadata={
        "flag": "--format", "help": "table (the terminal), or the same table as markdown, latex (a paper) or csv "
                                    "(a spreadsheet: the numbers in columns of their own)."})
    json: bool = field(default=False, metadata={
        "help": "Print every run's figures per benchmark as JSON instead (pooled and benchmark-mean AES)."})


@dataclass
class EvalMergeConfig(Config):
    """Merge the shards of a `thinktrim eval --shard i/N` run, then grade and score them as one run."""

    output_dir: str = field(default="", metadata={
        "help": "The --output-dir the shards were run with (it holds shards/i-of-N/).", "argument": True})
    grade_processes: int | None = like(EvalConfig, "grade_processes")
