"""`thinktrim refine` and `thinktrim refine-check`: option parsing only; the work is in pipeline/outputs."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

import typer

from thinktrim.refine.config import RefineConfig, SettingError, help_of


def _option_name(ctx: typer.Context, setting: str) -> str:
    """How the command line spells a setting: `--format` for file_format, `input` for the argument."""
    for param in ctx.command.params:
        if param.name == setting:
            return param.opts[0] if param.param_type_name == "option" else param.name
    return setting


@contextlib.contextmanager
def one_line_errors(ctx: typer.Context) -> Iterator[None]:
    """Turn bad input, I/O failures and Ctrl-C into one `error: …` line and exit status 2 (130 for Ctrl-C)."""
    try:
        yield
    except SettingError as e:
        where = f"{e.source}: {e.setting}" if e.source else _option_name(ctx, e.setting)
        _fail(f"{where}: {e.message}")
    except ValueError as e:
        _fail(str(e))
    except OSError as e:
        what = f"{e.filename}: " if e.filename else ""
        hint = " (the disk is full)" if e.errno == errno.ENOSPC else ""
        _fail(f"{what}{e.strerror or e}{hint}")
    except KeyboardInterrupt:
        typer.echo("\ninterrupted: rerun the same command to continue where it stopped", err=True)
        raise typer.Exit(130) from None


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def refine_command(
    ctx: typer.Context,
    input: Path = typer.Argument(..., help=help_of("input")),
    output_dir: Path = typer.Option("out", "--output-dir", "-o", help=help_of("output_dir")),
    ratios: str = typer.Option("0.2,0.3,0.5", help=help_of("ratios")),
    scope: str = typer.Option("chain", help=help_of("scope")),
    answer_target: str = typer.Option("auto", help=help_of("answer_target")),
    model: str = typer.Option("embedded", help=help_of("model")),
    scorer: str = typer.Option("engine", help=help_of("scorer")),
    device: str = typer.Option("auto", help=help_of("device")),
    dtype: str = typer.Option("auto", help=help_of("dtype")),
    max_batch_tokens: int = typer.Option(16384, help=help_of("max_batch_tokens")),
    max_context: int | None = typer.Option(None, help=help_of("max_context")),
    overlong: str = typer.Option("skip", help=help_of("overlong")),
    system_prompt: str | None = typer.Option(None, help=help_of("system_prompt") + " [default: the papers' prompt]"),
    layout: str = typer.Option("auto", help=help_of("layout")),
    file_format: str = typer.Option("auto", "--format", help=help_of("file_format")),
    on_error: str = typer.Option("raise", help=help_of("on_error")),
    whole_response_as_thinking: bool = typer.Option(False, help=help_of("whole_response_as_thinking")),
    target_sentences: int = typer.Option(4, help=help_of("target_sentences")),
    max_sentences: int = typer.Option(8, help=help_of("max_sentences")),
    markers: Path | None = typer.Option(None, help=help_of("markers")),
    weak_markers: str = typer.Option("content", help=help_of("weak_markers")),
    repeated_computation: bool = typer.Option(True, help=help_of("repeated_computation")),
    split_on_evidence: bool = typer.Option(True, help=help_of("split_on_evidence")),
    end_at_progress: bool = typer.Option(True, help=help_of("end_at_progress")),
    judge_url: str | None = typer.Option(None, help=help_of("judge_url")),
    judge_model: str | None = typer.Option(None, help=help_of("judge_model")),
    judge_scope: str = typer.Option("unmarked", help=help_of("judge_scope")),
    judge_prompt: Path | None = typer.Option(None, exists=True, dir_okay=False, help=help_of("judge_prompt")),
    judge_timeout: float = typer.Option(60.0, help=help_of("judge_timeout")),
    judge_retries: int = typer.Option(3, help=help_of("judge_retries")),
    judge_concurrency: int = typer.Option(4, help=help_of("judge_concurrency")),
    limit: int | None = typer.Option(None, help=help_of("limit")),
    name: str | None = typer.Option(None, help=help_of("name")),
    config: Path | None = typer.Option(
        None, help="YAML file of these settings (command-line options override it)."
    ),
) -> None:
    """Refine a long chain-of-thought dataset with PIR: score functional steps, prune the unimportant ones."""
    from thinktrim.refine.outputs import print_summary, write_outputs
    from thinktrim.refine.pipeline import score_all

    values = {k: v for k, v in ctx.params.items() if k != "config"}
    values.update(input=str(input), output_dir=str(output_dir), markers=str(markers) if markers else None,
                  judge_prompt=str(judge_prompt) if judge_prompt else None)
    if system_prompt is None:
        values.pop("system_prompt")
    with one_line_errors(ctx):
        if config is not None:
            explicit = {k: v for k, v in values.items() if ctx.get_parameter_source(k).name != "DEFAULT"}
            cfg = RefineConfig.from_yaml(config, **explicit)
        else:
            cfg = RefineConfig(**values)
        score_all(cfg)
        stats = write_outputs(cfg)
    print_summary(stats, Path(cfg.output_dir))


def refine_check_command(
    ctx: typer.Context,
    output_dir: Path = typer.Argument(..., help="A `thinktrim refine` output folder."),
) -> None:
    """Check that refined chains are exact concatenations of original steps minus functional units only."""
    from thinktrim.refine.verify import check_refined

    with one_line_errors(ctx):
        if not output_dir.is_dir():
            raise ValueError(f"{output_dir}: {'is a file' if output_dir.exists() else 'no such folder'}; expected "
                             "a `thinktrim refine` output folder")
        problems = check_refined(output_dir)
    for p in problems:
        typer.echo(p, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"ok: every refined chain in {output_dir} is its original steps minus functional units")
