"""LIMO's difficulty filter, two optional stages, each an evaluation run of `thinktrim eval`.

Stage 1 drops what a weaker model solves (paper: any of 4 samples of Qwen2.5-Math-7B); stage 2 keeps what a
strong model solves rarely (paper: 1–3 of 32 samples of R1-Distill-Qwen-32B). A stage writes the problems it
samples to `<out>/difficulty/<stage>/problems.jsonl` and runs eval's loop on them in that folder
(`thinktrim.evaluate.run.evaluate`): every sample is appended and fsync'ed to `problems/samples.jsonl` as it is
produced, so a killed run rerun with the same command resumes where it stopped; the verdicts are eval's
`graded.jsonl`. Any eval run folder (this stage's from another curate run, or a `thinktrim eval` run on a GPU
cluster) can be given instead (`--stage1-run DIR`): its graded samples are matched to pool problems by
normalised question text and reused; only problems it lacks are sampled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinktrim.curate.base import StepContext
from thinktrim.curate.records import Problem
from thinktrim.curate.text import exact_key, tokens
from thinktrim.errors import UserError

PROBLEMS = "problems"  # the stage's data file stem, hence eval's benchmark name and question id prefix


@dataclass
class Stage:
    """One stage: who samples, how often, which solve counts pass, and an eval run to reuse."""

    name: str
    model: str | None
    samples: int
    min_solved: int
    max_solved: int
    run: str | None = None

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise UserError(f"{self.name}_samples: must be >= 1, got {self.samples}")
        if not 0 <= self.min_solved <= self.max_solved:
            raise UserError(f"{self.name}: need 0 <= min solved ({self.min_solved}) <= max solved "
                            f"({self.max_solved})")

    @property
    def enabled(self) -> bool:
        return self.model is not None or self.run is not None

    def keeps(self, solved: int) -> bool:
        return self.min_solved <= solved <= self.max_solved


@dataclass
class Sampler:
    """How the stages sample and grade: eval's settings, the same for both stages."""

    eval_settings: dict[str, Any] = field(default_factory=dict)  # EvalConfig fields (backend, device, …)
    generation: dict[str, Any] = field(default_factory=dict)  # GenerationConfig fields but n
    kind: str = "expression"

    def eval_config(self, stage: Stage, folder: Path, data: Path) -> Any:
        from thinktrim.evaluate.config import EvalConfig
        from thinktrim.lm.generation.types import GenerationConfig

        return EvalConfig(benchmarks=(), data=str(data), question_field="question", answer_field="answer",
                          id_field="id", kind=self.kind, model=stage.model, output_dir=str(folder),
                          generation=GenerationConfig(n=stage.samples, **self.generation), **self.eval_settings)


def solve_counts(graded: Iterable[dict[str, Any]], n: int) -> dict[str, tuple[int, int]]:
    """question id → (correct samples, samples) over the first `n` samples of each question."""
    out: dict[str, list[int]] = {}
    for g in graded:
        if int(g["sample"]) < n:
            c = out.setdefault(str(g["question_id"]), [0, 0])
            c[0] += bool(g["correct"])
            c[1] += 1
    return {q: (c[0], c[1]) for q, c in out.items()}


def run_counts(run: str | Path, n: int) -> dict[str, tuple[int, int]]:
    """Normalised question text → (correct, samples) of every question of an eval run with >= n samples."""
    from thinktrim.data.store import read_jsonl_records
    from thinktrim.evaluate.config import EvalConfig
    from thinktrim.evaluate.records import grade_records, read_run_record
    from thinktrim.evaluate.run import load_items
    from thinktrim.lm.generation.types import GenerationConfig

    run = Path(run)
    try:
        saved = read_run_record(run)
        if saved is None:
            raise UserError("no run.json")
        saved = {**saved, "baseline": None, "generation": GenerationConfig(**saved.get("generation", {}))}
        items = load_items(EvalConfig(**saved))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError, UserError) as e:
        raise UserError(f"{run}: not a readable eval run folder ({e})") from None
    out: dict[str, tuple[int, int]] = {}
    for bench, bench_items in items.items():
        graded_path, samples_path = run / bench / "graded.jsonl", run / bench / "samples.jsonl"
        if graded_path.exists():
            graded = list(read_jsonl_records(graded_path))
        elif samples_path.exists():
            graded = grade_records(list(read_jsonl_records(samples_path)), progress=False)
        else:
            continue
        counts = solve_counts(graded, n)
        for item in bench_items:
            solved, samples = counts.get(item.id, (0, 0))
            if samples >= n:
                out[exact_key(tokens(item.question))] = (solved, samples)
    return out


@dataclass
class Difficulty:
    """One difficulty stage as a pipeline step."""

    stage: Stage
    sampler: Sampler
    output_dir: Path
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"difficulty-{self.stage.name}"

    @property
    def folder(self) -> Path:
        return self.output_dir / "difficulty" / self.stage.name

    def sample(self, problems: Sequence[Problem], ctx: StepContext) -> dict[str, tuple[int, int]]:
        """Sample and grade `problems` in this stage's eval run folder (resuming it); key → (correct, samples)."""
        from thinktrim.data.run_folder import claim_output_folder
        from thinktrim.data.store import read_jsonl_records, write_jsonl
        from thinktrim.evaluate.run import evaluate

        data = (self.folder / f"{PROBLEMS}.jsonl").resolve()
        with claim_output_folder(self.folder, "eval"):  # an eval run folder, with the problems it asks beside it
            write_jsonl(data, ({"id": p.key, "question": p.question, "answer": p.gold} for p in problems))
            results = evaluate(self.sampler.eval_config(self.stage, self.folder, data))
        ctx.count(self.name, "samples generated", results["generation"]["generated"])
        ctx.count(self.name, "samples resumed from disk", results["generation"]["resumed"])
        counts = solve_counts(read_jsonl_records(self.folder / PROBLEMS / "graded.jsonl"), self.stage.samples)
        return {qid.removeprefix(f"{PROBLEMS}-"): c for qid, c in counts.items()}

    def __call__(self, problems: Iterable[Problem], ctx: StepContext) -> Iterator[Problem]:
        items = []
        for p in problems:
            if p.gold is None:
                ctx.drop(p, self.name, "no gold answer to grade against")
            else:
                items.append(p)
        counts: dict[str, tuple[int, int]] = {}
        source: dict[str, str] = {}
        if self.stage.run:
            reused = run_counts(self.stage.run, self.stage.samples)
            for p in items:
                if exact_key(p.tokens) in reused:
                    counts[p.key], source[p.key] = reused[exact_key(p.tokens)], self.stage.run
            ctx.count(self.name, "problems reused from the given run", len(counts))
        todo = [p for p in items if p.key not in counts]
        if todo and self.stage.model is not None:
            sampled = self.sample(todo, ctx)
            for p in todo:
                counts[p.key], source[p.key] = sampled[p.key], str(self.folder)
        for p in items:
            if p.key not in counts:
                ctx.drop(p, self.name, "not in the given eval run (and no model to sample)")
                continue
            solved, samples = counts[p.key]
            p.difficulty[self.stage.name] = {"solved": solved, "samples": samples, "rate": round(solved / samples, 4),
                                             "keep": [self.stage.min_solved, self.stage.max_solved],
                                             "from": source[p.key]}
            if self.stage.keeps(solved):
                yield p
            else:
                side = "often" if solved > self.stage.max_solved else "rarely"
                ctx.drop(p, self.name, f"solved too {side}")
