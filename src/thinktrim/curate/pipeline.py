"""`thinktrim curate` as a chain of small steps: read → dedup → decontaminate → verify → difficulty → quality
→ select → write. Each step is optional (but read, quality and select) and counts what it drops and why.

Only the difficulty stages are expensive; they keep their samples in eval's resumable store, so rerunning a
killed curation recomputes the cheap steps (seconds for 100K problems) and resumes sampling where it stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thinktrim.curate.base import Step, StepContext, run_steps
from thinktrim.curate.config import CurateConfig
from thinktrim.curate.decontaminate import ContaminationIndex, Decontaminate, load_references
from thinktrim.curate.dedup import ExactDedup, NearDedup
from thinktrim.curate.difficulty import Difficulty, Sampler, Stage
from thinktrim.curate.quality import Quality, QualityFn, Rubric, load_quality_fn, rubric_scorer
from thinktrim.curate.read import read_pools
from thinktrim.curate.records import Problem
from thinktrim.curate.select import Select
from thinktrim.curate.verify import VerifyChains


def stages(cfg: CurateConfig) -> list[Stage]:
    return [
        Stage("stage1", cfg.stage1_model, cfg.stage1_samples, 0, cfg.stage1_max_solved, cfg.stage1_run),
        Stage("stage2", cfg.stage2_model, cfg.stage2_samples, cfg.stage2_min_solved, cfg.stage2_max_solved,
              cfg.stage2_run),
    ]


def scorer_for(cfg: CurateConfig, quality_fn: QualityFn | None = None) -> QualityFn:
    """The chain score: a function given in Python, else `--quality-fn`, else the rubric."""
    if quality_fn is not None:
        return quality_fn
    if cfg.quality_fn:
        return load_quality_fn(cfg.quality_fn)
    return rubric_scorer(Rubric.load(cfg.quality_keywords))


def build_steps(cfg: CurateConfig, quality_fn: QualityFn | None = None, progress: bool = True) -> list[Step]:
    """The configured steps, in order; loading benchmarks and the rubric happens here (errors before work)."""
    steps: list[Step] = []
    if cfg.exact_dedup:
        steps.append(ExactDedup())
    if cfg.near_dedup:
        steps.append(NearDedup(cfg.near_threshold, cfg.shingle_size, cfg.num_perm))
    if cfg.decontaminate:
        references = load_references(cfg.benchmarks, cfg.contamination_files)
        if references:
            steps.append(Decontaminate(ContaminationIndex(references, cfg.ngram_size), cfg.overlap_threshold))
    if cfg.verify_chains:
        steps.append(VerifyChains(cfg.answer_kind, cfg.grade_processes, progress))
    sampler = Sampler(cfg.eval_settings(), cfg.generation_settings(), cfg.answer_kind)
    steps += [Difficulty(s, sampler, Path(cfg.output_dir)) for s in stages(cfg) if s.enabled]
    steps.append(Quality(scorer_for(cfg, quality_fn)))
    steps.append(Select(cfg.top, cfg.per_problem))
    return steps


def curate(cfg: CurateConfig, quality_fn: QualityFn | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the pipeline and write every output; returns stats.json's content."""
    from thinktrim.curate.outputs import check_same_pools, write_outputs
    from thinktrim.data.run_folder import claim_output_folder

    with claim_output_folder(cfg.output_dir, "curate", force=cfg.force):
        check_same_pools(cfg)
        ctx = StepContext(cfg.output_dir, progress=progress)
        steps = build_steps(cfg, quality_fn, progress)
        rejects: list[dict[str, Any]] = []
        source = read_pools(cfg.pools, ctx, cfg.inputs.layout, cfg.inputs.file_format, cfg.inputs.on_error, rejects,
                            cfg.inputs.split, cfg.inputs.subset, cfg.inputs.start, cfg.inputs.end)
        kept: list[Problem] = list(run_steps(source, steps, ctx))
        return write_outputs(cfg, kept, ctx, rejects)
