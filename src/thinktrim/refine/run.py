"""`refine(cfg)`: the whole of `thinktrim refine` as one library call (the CLI adds only its error line and tables).

Scoring (`pipeline.score_all`) and writing (`outputs.write_outputs`) are separate steps so a shard can score
without writing and a merge can write without scoring; this is the one place that runs them in order for a
single run, so callers (the CLI, `thinktrim.refine`, tests) do not each repeat the pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinktrim.data.run_folder import claim_output_folder
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.outputs import write_outputs
from thinktrim.refine.pipeline import ChainScoring, score_all, scoring_folder


@dataclass(frozen=True)
class RefineResult:
    """What a refine run wrote: its folder and stats.json's content, or, for a shard, where it scored into."""

    output_dir: Path  # the run's output folder (--output-dir)
    scored_into: Path  # where annotations.jsonl went: `output_dir`, or the shard's folder with --shard
    stats: dict[str, Any] | None  # stats.json as written; None for a shard (`refine-merge` writes the outputs)
    shard: str | None = None  # "i/N" with --shard

    @property
    def files(self) -> dict[str, Path]:
        """The refined dataset of each ratio, by ratio tag ("r0.5"), as paths ({} for a shard)."""
        return {tag: self.output_dir / name for tag, name in (self.stats or {}).get("files", {}).items()}


def refine(cfg: RefineConfig, scoring: ChainScoring | None = None) -> RefineResult:
    """Score every chain not yet scored, then prune at every ratio and write the outputs; with --shard i/N only
    score that shard (the merge writes). `scoring`: where chains are scored (default: this process, with the
    scoring model `cfg` names, on `cfg.threads` threads). A rerun resumes; bad input raises UserError."""
    from thinktrim.lm.threads import use_threads

    out = Path(cfg.output_dir)
    with claim_output_folder(out, "refine", force=cfg.force, lock_at=scoring_folder(cfg)):
        if scoring is None:
            use_threads(cfg.threads)  # before the scoring model loads (the pipeline's Refiner loads it)
        folder = score_all(cfg, scoring=scoring)
        if cfg.parallel.shard is not None:
            return RefineResult(out, folder, None, cfg.parallel.shard)
        return RefineResult(out, folder, write_outputs(cfg))
