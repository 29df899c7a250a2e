"""`thinktrim train o1-pruner sample | build | fit`: three resumable stages, each a config dataclass and a thin
command; the work is in `sample`, `build` and `fit`. Nothing heavy is imported here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from thinktrim.config import command
from thinktrim.train.cli import launch_or_run, print_summary
from thinktrim.train.o1_pruner.config import BuildConfig, FitConfig, SampleConfig

o1_app = typer.Typer(
    help="O1-Pruner (length-harmonizing fine-tuning): `sample` the reference model K times per problem, `build` the "
         "reward dataset, `fit` with offline PPO-clip; then `thinktrim eval compare` prints AES.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def run_sample_command(cfg: SampleConfig) -> None:
    from thinktrim.evaluate.summary import print_summary as print_eval_summary
    from thinktrim.table import print_table
    from thinktrim.train.o1_pruner.sample import REFERENCE_FILE, run_sample

    results, rows = run_sample(cfg)
    print_eval_summary(results)
    problems = len(rows)
    print_table(
        "Reference (per problem, over K samples)",
        ["problems", "K", "mean L̄_ref", "mean Ā_ref %", "all right %", "all wrong %"],
        [[problems, cfg.n, sum(r["ref_mean_length"] for r in rows) / problems,
          100 * sum(r["ref_accuracy"] for r in rows) / problems, 100 * sum(r["all_correct"] for r in rows) / problems,
          100 * sum(r["all_wrong"] for r in rows) / problems]],
        caption=f"per problem in {Path(cfg.output_dir) / REFERENCE_FILE}; next: thinktrim train o1-pruner build "
                f"{cfg.output_dir}")


def print_build(record: dict[str, Any], out: Path) -> None:
    from thinktrim.table import print_table

    print_table(
        f"Reward dataset from {record['run']} (K = {record['samples_per_problem']}, λ = "
        f"{record['settings']['lam']:g}, {record['settings']['keep']} kept per problem)",
        ["problems", "examples", "all right %", "all wrong %", "kept correct", "kept truncated", "clipped low",
         "clipped high", "A > 0"],
        [[record["problems"], record["examples"], 100 * record["share_all_correct"], 100 * record["share_all_wrong"],
          record["kept_correct"], record["kept_truncated"], record["clipped_low"], record["clipped_high"],
          record["positive_advantage"]]])
    stats = ("mean", "std", "min", "q1", "median", "q3", "max")
    print_table("Distributions", ["of", *stats],
                [[name, *(record[key].get(s) for s in stats)] for name, key in (
                    ("R (raw)", "reward_raw"), ("R (clipped)", "reward"), ("advantage", "advantage"),
                    ("L̄_ref (tokens)", "reference_mean_length"), ("Ā_ref", "reference_accuracy"))],
                caption=f"o1_pruner.jsonl, problems.jsonl and build.json in {out}/; next: thinktrim train o1-pruner "
                        f"fit {out / 'o1_pruner.jsonl'} --model {record['reference_model']}")


def run_build_command(cfg: BuildConfig) -> None:
    from thinktrim.train.o1_pruner.build import run_build

    record = run_build(cfg)
    print_build(record, Path(cfg.output_dir))


def run_fit_command(cfg: FitConfig) -> None:
    from thinktrim.table import print_table
    from thinktrim.train.o1_pruner.fit import run_fit

    record = launch_or_run(cfg, ["train", "o1-pruner", "fit"], run_fit)
    if record is None:
        return
    print_summary(record, Path(cfg.output_dir))
    ref, objective = record["reference"], record["objective"]
    print_table("Objective (offline PPO-clip)",
                ["ε", "examples", "A > 0", "A < 0", "mean A", "cut %", "dropped %", "reference", "computed",
                 "reused", "ref tokens/s"],
                [[objective["epsilon"], objective["examples"], objective["positive_advantage"],
                  objective["negative_advantage"], f"{objective['advantage_mean']:+.3f}",
                  f"{100 * objective['share_cut']:.1f}", f"{100 * objective['share_dropped']:.1f}", ref["mode"],
                  ref.get("computed"), ref.get("reused"), ref.get("tokens_per_second")]],
                caption="mean A: the trained advantages' mean (build z-scored them to 0); cut: rows read that were "
                        f"truncated at --max-length; dropped: rows read not trained on (--overlong {cfg.overlong})")
    skipped = record["lengths"]["skipped_overlong"]
    if skipped:
        typer.secho(f"note: --overlong skip dropped {skipped} over-long sample{'s' * (skipped > 1)}, the longest, "
                    f"whose rewards are the lowest: the trained advantages average "
                    f"{objective['advantage_mean']:+.3f}, not 0 (--overlong truncate keeps them, as O1-Pruner's "
                    "code does)", fg=typer.colors.YELLOW, err=True)
    sampled_by, model = record.get("sampled_by"), cfg.model_settings.model
    if sampled_by is not None and sampled_by != model:
        typer.secho(f"note: the samples came from {sampled_by!r} but {model!r} was trained; O1-Pruner trains the "
                    "model that drew them", fg=typer.colors.YELLOW, err=True)


o1_app.command("sample")(command(SampleConfig, run_sample_command))
o1_app.command("build")(command(BuildConfig, run_build_command))
o1_app.command("fit")(command(FitConfig, run_fit_command))
