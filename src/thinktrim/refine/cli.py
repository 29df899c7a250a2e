"""`thinktrim refine`, `refine-merge` and `refine-check`: options come from `RefineConfig` / `RefineMergeConfig`
(`thinktrim.config.command`); the work is in pipeline/outputs/shards. `thinktrim.cli` registers `refine` with
the executor `--executor` picks (`thinktrim.executor.commands`). A user error while running becomes one
`error: …` line at the command line's one handler (`thinktrim.errors`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from thinktrim.config import command
from thinktrim.errors import UserError
from thinktrim.refine.config import RefineConfig, RefineMergeConfig

if TYPE_CHECKING:
    from thinktrim.refine.pipeline import ChainScoring


def run_refine(cfg: RefineConfig, scoring: ChainScoring | None = None) -> None:
    """`thinktrim.refine.run.refine` (with `scoring`: where the chains are scored, this process by default) and
    its summary; a shard (--shard i/N) only scores, the merge writes."""
    from thinktrim.refine.run import refine
    from thinktrim.refine.stats import print_summary

    result = refine(cfg, scoring)
    if result.stats is None:
        typer.echo(f"shard {result.shard} scored into {result.scored_into}; once every shard is done: "
                   f"thinktrim refine-merge {cfg.output_dir}")
        return
    print_summary(result.stats, result.output_dir)


REFINE_DOC = "Refine a long chain-of-thought dataset with PIR: score functional steps, prune the unimportant ones."


def run_refine_merge(merge: RefineMergeConfig) -> None:
    from thinktrim.data.run_folder import claim_output_folder
    from thinktrim.refine.shards import merge_shards
    from thinktrim.refine.stats import print_summary

    with claim_output_folder(merge.output_dir, "refine-merge"):
        stats = merge_shards(merge)
    print_summary(stats, Path(merge.output_dir))


refine_merge_command = command(RefineMergeConfig, run_refine_merge)


def refine_check_command(
    output_dir: Path = typer.Argument(..., help="A `thinktrim refine` output folder."),
) -> None:
    """Check that refined chains are exact concatenations of original steps minus functional units only."""
    from thinktrim.refine.verify import check_refined

    if not output_dir.is_dir():
        raise UserError(f"{output_dir}: {'is a file' if output_dir.exists() else 'no such folder'}; expected a "
                        "`thinktrim refine` output folder")
    problems = check_refined(output_dir)
    for p in problems:
        typer.echo(p, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"ok: every refined chain in {output_dir} is its original steps minus functional units")
