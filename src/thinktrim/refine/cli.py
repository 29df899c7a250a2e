"""`thinktrim refine` and `thinktrim refine-check`: option parsing only; the work is in pipeline/outputs."""

from __future__ import annotations

from pathlib import Path

import typer

from thinktrim.refine.config import RefineConfig, help_of


def _ratios(value: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers like 0.2,0.3,0.5, got {value!r}") from None


def refine_command(
    ctx: typer.Context,
    input: Path = typer.Argument(..., exists=True, dir_okay=False, help=help_of("input")),
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
    markers: Path | None = typer.Option(None, exists=True, dir_okay=False, help=help_of("markers")),
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
        None, exists=True, dir_okay=False, help="YAML file of these settings (command-line options override it)."
    ),
) -> None:
    """Refine a long chain-of-thought dataset with PIR: score functional steps, prune the unimportant ones."""
    from thinktrim.refine.outputs import print_summary, write_outputs
    from thinktrim.refine.pipeline import score_all

    values = {k: v for k, v in ctx.params.items() if k != "config"}
    values.update(input=str(input), output_dir=str(output_dir), ratios=_ratios(ratios),
                  markers=str(markers) if markers else None, judge_prompt=str(judge_prompt) if judge_prompt else None)
    if system_prompt is None:
        values.pop("system_prompt")
    try:
        if config is not None:
            explicit = {k: v for k, v in values.items() if ctx.get_parameter_source(k).name != "DEFAULT"}
            cfg = RefineConfig.from_yaml(config, **explicit)
        else:
            cfg = RefineConfig(**values)
        score_all(cfg)
        stats = write_outputs(cfg)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    print_summary(stats, Path(cfg.output_dir))


def refine_check_command(
    output_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="A `thinktrim refine` output folder."),
) -> None:
    """Check that refined chains are exact concatenations of original steps minus functional units only."""
    from thinktrim.refine.verify import check_refined

    problems = check_refined(output_dir)
    for p in problems:
        typer.echo(p, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"ok: every refined chain in {output_dir} is its original steps minus functional units")
