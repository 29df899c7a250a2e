"""`thinktrim refine` and `thinktrim refine-check`: options come from `RefineConfig` (`thinktrim.config.command`);
the work is in pipeline/outputs. Failures while running become one `error: …` line too."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

import typer

from thinktrim.config import command
from thinktrim.refine.config import RefineConfig


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn bad input, I/O failures and Ctrl-C into one `error: …` line and exit status 2 (130 for Ctrl-C)."""
    try:
        yield
    except ValueError as e:
        fail(str(e))
    except OSError as e:
        what = f"{e.filename}: " if e.filename else ""
        hint = " (the disk is full)" if e.errno == errno.ENOSPC else ""
        fail(f"{what}{e.strerror or e}{hint}")
    except KeyboardInterrupt:
        typer.echo("\ninterrupted: rerun the same command to continue where it stopped", err=True)
        raise typer.Exit(130) from None


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def run_refine(cfg: RefineConfig) -> None:
    from thinktrim.lm.threads import use_threads
    from thinktrim.refine.outputs import print_summary, write_outputs
    from thinktrim.refine.pipeline import score_all

    with one_line_errors():
        use_threads(cfg.threads)  # before the scoring model loads (the pipeline's Refiner loads it)
        score_all(cfg)
        stats = write_outputs(cfg)
    print_summary(stats, Path(cfg.output_dir))


refine_command = command(RefineConfig, run_refine,
                         doc="Refine a long chain-of-thought dataset with PIR: score functional steps, prune the "
                             "unimportant ones.")


def refine_check_command(
    output_dir: Path = typer.Argument(..., help="A `thinktrim refine` output folder."),
) -> None:
    """Check that refined chains are exact concatenations of original steps minus functional units only."""
    from thinktrim.refine.verify import check_refined

    with one_line_errors():
        if not output_dir.is_dir():
            raise ValueError(f"{output_dir}: {'is a file' if output_dir.exists() else 'no such folder'}; expected "
                             "a `thinktrim refine` output folder")
        problems = check_refined(output_dir)
    for p in problems:
        typer.echo(p, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"ok: every refined chain in {output_dir} is its original steps minus functional units")
