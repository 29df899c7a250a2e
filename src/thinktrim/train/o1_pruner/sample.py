"""Pre-sampling: K graded samples per training problem from the reference model, and reading them back.

Sampling is an evaluation run (`thinktrim.evaluate.run.evaluate`) with O1-Pruner's settings: the same backends,
the same chat prompts, every sample appended and fsync'ed to `<run>/<problems>/samples.jsonl` as it is produced
(a killed run, rerun with the same command, resumes where it stopped), the verdicts in `graded.jsonl`. So any
`thinktrim eval` run with n >= 2 (made on a GPU cluster with vLLM, say) is a sample run too: `read_run` reads
either, and `reference.jsonl` lists each problem's L̄_ref and Ā_ref.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinktrim.data.benchmarks import BenchmarkItem
from thinktrim.data.store import read_jsonl_records, write_jsonl
from thinktrim.errors import UserError
from thinktrim.train.o1_pruner.config import SampleConfig
from thinktrim.train.o1_pruner.reward import ReferenceStats, reference_stats

REFERENCE_FILE = "reference.jsonl"


@dataclass
class SampledProblem:
    """One problem of a sample run with its K samples (response, tokens, finish reason, verdict)."""

    benchmark: str
    item: BenchmarkItem
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reference(self) -> ReferenceStats:
        return reference_stats([int(s["tokens"]) for s in self.samples], [bool(s["correct"]) for s in self.samples])


@dataclass
class SampleRun:
    """A graded run read back: its settings (run.json) and its problems in order."""

    folder: Path
    config: dict[str, Any]
    problems: list[SampledProblem]

    @property
    def samples_per_problem(self) -> int:
        return int(self.config["generation"]["n"])

    @property
    def system_prompt(self) -> str | None:
        return self.config.get("system_prompt")


def read_run(folder: str | Path) -> SampleRun:
    """The problems, responses and verdicts of an eval run folder with n >= 2 samples per problem.

    A run that has not finished generating or grading is an error saying to rerun it (the rerun resumes).
    """
    from thinktrim.evaluate.config import EvalConfig
    from thinktrim.evaluate.records import read_run_record, run_record_path
    from thinktrim.evaluate.run import load_items, read_samples

    folder = Path(folder)
    saved = read_run_record(folder) or {}
    try:
        config = EvalConfig.from_mapping({**saved, "baseline": None, "output_dir": str(folder)})
        items = load_items(config)
    except UserError as e:
        raise UserError(f"{run_record_path(folder)}: {e}") from None
    n = config.generation.n
    if n < 2:
        raise UserError(f"{folder}: sampled with n={n}; O1-Pruner needs K >= 2 samples per problem (-n)")
    problems = []
    for bench, bench_items in items.items():
        rows = read_samples(folder / bench / "samples.jsonl", bench_items, n)
        graded_path = folder / bench / "graded.jsonl"
        verdicts = {g["key"]: g for g in read_jsonl_records(graded_path)} if graded_path.is_file() else {}
        by_id: dict[str, SampledProblem] = {item.id: SampledProblem(bench, item) for item in bench_items}
        for row in rows:
            verdict = verdicts.get(row["key"])
            if verdict is None:
                raise UserError(f"{graded_path}: no verdict for sample {row['key']}; rerun the sample (or eval) "
                                "command to grade it")
            if not isinstance(row.get("tokens"), int):
                raise UserError(f"{folder / bench / 'samples.jsonl'}: sample {row['key']}: field 'tokens' missing "
                                "(an OpenAI-compatible server without usage: sample with --tokenizer)")
            by_id[row["question_id"]].samples.append({**row, "correct": bool(verdict["correct"]),
                                                      "truncated": bool(verdict.get("truncated"))})
        problems += by_id.values()
    return SampleRun(folder, saved, problems)


def reference_rows(run: SampleRun) -> list[dict[str, Any]]:
    """Per problem: K, L̄_ref (mean tokens) and Ā_ref (share correct)."""
    rows = []
    for p in run.problems:
        ref = p.reference
        rows.append({"benchmark": p.benchmark, "question_id": p.item.id, "samples": ref.samples,
                     "ref_mean_length": ref.mean_length, "ref_accuracy": ref.accuracy,
                     "all_correct": ref.all_correct, "all_wrong": ref.all_wrong})
    return rows


def run_sample(cfg: SampleConfig) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Sample and grade (resuming a killed run), write reference.jsonl; (eval's results, reference rows)."""
    from thinktrim.data.run_folder import claim_output_folder
    from thinktrim.evaluate.run import evaluate

    with claim_output_folder(cfg.output_dir, "train o1-pruner sample", force=cfg.force):
        results = evaluate(cfg.eval_config())
        rows = reference_rows(read_run(cfg.output_dir))
        write_jsonl(Path(cfg.output_dir) / REFERENCE_FILE, rows)
    return results, rows
