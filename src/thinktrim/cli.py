"""The `thinktrim` command line: thin wrappers that build a config and call the library."""

from __future__ import annotations

import typer

from thinktrim import __version__

app = typer.Typer(
    name="thinktrim",
    help="Make reasoning models think less and answer better: refine long-CoT data, fine-tune on it, evaluate "
         "accuracy and cost.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"thinktrim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """thinktrim: PIR refinement, curation, fine-tuning and evaluation of reasoning models."""


def _register() -> None:
    # Each command group lives beside the code it drives; importing them stays light (no torch at import).
    from thinktrim.evaluate.cli import eval_app
    from thinktrim.refine.cli import refine_check_command, refine_command
    from thinktrim.train.cli import train_app

    app.command("refine")(refine_command)
    app.command("refine-check")(refine_check_command)
    app.add_typer(eval_app, name="eval")
    app.add_typer(train_app, name="train")


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
