"""`thinktrim train sft`: options come from `TrainConfig`; the work is in `thinktrim.train.sft`.

Nothing heavy is imported here, so `thinktrim --help` stays fast.
"""

from __future__ import annotations

import os
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


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def run_sft_command(cfg: TrainConfig) -> None:
    from thinktrim.train.launch import launched, relaunch

    if cfg.accelerate_config and not launched():
        try:
            code = relaunch(cfg.to_dict(), ["train", "sft"], Path(cfg.output_dir), cfg.accelerate_config)
        except ValueError as e:
            _fail(str(e))
            return
        raise typer.Exit(code)
    from thinktrim.train.sft import run_sft

    try:
        record = run_sft(cfg)
    except (ValueError, RuntimeError, FileNotFoundError) as e:
        _fail(str(e))
        return
    if os.environ.get("RANK", "0") == "0":  # under a launcher, the main process reports
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
