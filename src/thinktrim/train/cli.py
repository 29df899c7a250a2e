"""`thinktrim train sft`: options come from `TrainConfig`; the work is in `thinktrim.train.sft`. The
`train o1-pruner` group (`o1_pruner/cli.py`) runs its `fit` the same way (`launch_or_run`).

Nothing heavy is imported here, so `thinktrim --help` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer

from thinktrim.config import command
from thinktrim.train.config import TrainConfig

train_app = typer.Typer(
    help="Fine-tune a model on (refined) long chain-of-thought data: `thinktrim train sft DATA -o OUT`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def launch_or_run(cfg: Any, command: list[str], run: Callable[[Any], dict[str, Any]]) -> dict[str, Any] | None:
    """Run a training command, or relaunch it under `accelerate launch` when --accelerate-config asks. The run's
    record, on the process that reports (the main one under a launcher).

    The process the user started holds the output folder (`claim_output_folder`) for the whole run; processes
    of a launch hold it through it."""
    from thinktrim.data.run_folder import claim_output_folder
    from thinktrim.train.launch import launched, relaunch

    holds = not launched() and os.environ.get("RANK", "0") == "0"
    with claim_output_folder(cfg.output_dir, " ".join(command), force=cfg.force) if holds else nullcontext():
        if cfg.accelerate_config and not launched():
            code = relaunch(cfg.to_dict(), command, Path(cfg.output_dir), cfg.accelerate_config)
            if code:
                raise typer.Exit(code)
            return None
        record = run(cfg)
    return record if os.environ.get("RANK", "0") == "0" else None


def run_sft_command(cfg: TrainConfig) -> None:
    from thinktrim.train.sft import run_sft

    record = launch_or_run(cfg, ["train", "sft"], run_sft)
    if record is not None:
        print_summary(record, Path(cfg.output_dir))


def print_summary(record: dict[str, Any], out: Path) -> None:
    from thinktrim.table import print_table

    if record.get("already_finished"):
        typer.echo(f"{out} already holds this run's model (train.json); nothing to do (--no-resume retrains)")
    data, lengths, training = record["data"], record["lengths"], record["training"]
    rows = [[Path(f["path"]).name, f["records"], f["examples"], f["sha256"][:12]] for f in data["files"]]
    dropped = "; ".join(f"{n} {reason}" for reason, n in data["dropped"].items()) or "none"
    print_table("Training data", ["file", "records", "examples", "sha256"], rows, caption=f"dropped: {dropped}")
    per = lengths["tokens_per_example"]
    print_table(
        f"Lengths (max {lengths['max_length']:,} tokens, over-long: {lengths['policy']})",
        ["examples", "skipped", "truncated", "no completion left", "tokens/example", "max", "completion share",
         "padding share"],
        [[lengths["examples"], lengths["skipped_overlong"], lengths["truncated"],
          lengths["dropped_no_completion_left"], per["mean"], per["max"], f"{100 * lengths['completion_share']:.1f} %",
          f"{100 * training['padding_share']:.1f} %"]],
    )
    tps = training["tokens_per_second"]
    print_table(
        "Training",
        ["steps", "epochs", "final loss", "resumed from", "tokens (this run)", "tokens/s", "seconds"],
        [[training["steps"], training["epochs"], training["final_loss"], training["resumed_from"] or "–",
          training["tokens_this_run"], tps, training["seconds_this_run"]]],
        caption=f"model ({record['saved']}) in {out}/; settings, data fingerprints and figures in {out}/train.json",
    )


train_app.command("sft")(command(TrainConfig, run_sft_command))
