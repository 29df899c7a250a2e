"""The `thinktrim` command line: thin wrappers that build a config and call the library.

Importing this module (as `thinktrim` and `python -m thinktrim.cli` do) sets OMP_WAIT_POLICY=PASSIVE and
GOMP_SPINCOUNT=3000 unless the user set either, before anything imports torch: idle OpenMP threads then sleep
after a short spin instead of spinning on cores that other jobs need (`thinktrim.lm.threads`).
"""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup

from thinktrim import __version__
from thinktrim.errors import DEBUG_ENV, user_errors
from thinktrim.lm.threads import prefer_passive_wait

prefer_passive_wait()  # nothing above imports torch, and the commands import it lazily


class _Commands(TyperGroup):
    """The root group: every command runs inside the one handler of user errors (`thinktrim.errors`), however
    it is started (`thinktrim`, `python -m thinktrim.cli`, typer's CliRunner)."""

    def invoke(self, ctx: Any) -> Any:
        with user_errors():
            return super().invoke(ctx)


app = typer.Typer(
    name="thinktrim",
    cls=_Commands,
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
    debug: bool = typer.Option(False, "--debug", help=f"Show the traceback of user errors too (or set {DEBUG_ENV}=1)."),
) -> None:
    """thinktrim: PIR refinement, curation, fine-tuning and evaluation of reasoning models."""
    if debug:  # in the environment, so processes started from this one (accelerate, Ray workers) see it too
        os.environ[DEBUG_ENV] = "1"


def _register() -> None:
    # Each command group lives beside the code it drives; importing them stays light (no torch at import).
    # refine and eval run through the executor layer, which picks where their model work runs (--executor).
    from thinktrim.config import command
    from thinktrim.curate.cli import curate_command
    from thinktrim.evaluate.cli import eval_app
    from thinktrim.evaluate.config import EvalConfig
    from thinktrim.executor.commands import dispatch_eval, dispatch_refine
    from thinktrim.refine.cli import REFINE_DOC, refine_check_command, refine_merge_command
    from thinktrim.refine.config import RefineConfig
    from thinktrim.report.cli import report_command
    from thinktrim.train.cli import train_app
    from thinktrim.train.o1_pruner.cli import o1_app

    app.command("refine")(command(RefineConfig, dispatch_refine, doc=REFINE_DOC))
    app.command("refine-merge")(refine_merge_command)
    app.command("refine-check")(refine_check_command)
    eval_app.callback(invoke_without_command=True)(command(EvalConfig, dispatch_eval))
    app.command("curate")(curate_command)
    app.add_typer(eval_app, name="eval")
    app.command("report")(report_command)
    train_app.add_typer(o1_app, name="o1-pruner")
    app.add_typer(train_app, name="train")


_register()


def main(args: list[str] | None = None) -> None:
    """Run the CLI; a usage error (an unknown option, a missing argument) is one `error:` line and exit code 2,
    like every other bad input, instead of a boxed panel."""
    from typer.exceptions import TyperException

    try:
        code = app(args=args, standalone_mode=False)
    except typer.Exit as e:
        raise SystemExit(e.exit_code) from None
    except typer.Abort:  # Ctrl-C (click turns KeyboardInterrupt into Abort): every command resumes when rerun
        from thinktrim.config import INTERRUPTED

        typer.echo(INTERRUPTED, err=True)
        raise SystemExit(130) from None
    except TyperException as e:  # click's usage errors, as Typer ships them
        ctx = getattr(e, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        typer.echo(f"error: {' '.join(message.split())}{hint}", err=True)
        raise SystemExit(2) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
