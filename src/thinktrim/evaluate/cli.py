"""`thinktrim eval` commands (placeholder until the evaluation harness lands)."""

from __future__ import annotations

import typer

eval_app = typer.Typer(help="Evaluate accuracy and token cost of reasoning models.", no_args_is_help=True)
