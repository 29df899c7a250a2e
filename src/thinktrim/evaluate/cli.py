"""`thinktrim eval`: run an evaluation (the group itself), `eval grade FILE`, `eval compare RUN…`, `eval merge OUT`.

Thin: each command's options come from its config dataclass (`thinktrim.evaluate.config`) through
`thinktrim.config.command`; the work is in `thinktrim.evaluate.run` / `records` / `summary`. Nothing heavy is
imported here, so `thinktrim --help` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from thinktrim.config import command
from thinktrim.evaluate.config import CompareConfig, EvalConfig, EvalMergeConfig, GradeConfig

if TYPE_CHECKING:
    from thinktrim.lm.generation.types import GeneratorBase

eval_app = typer.Typer(
    help="Evaluate accuracy and token cost of reasoning models.\n\n"
         "Run `thinktrim eval --benchmark gsm8k --limit 20 -n 2` to evaluate (the embedded model on CPU by "
         "default); rerun the same command to resume a killed run.",
    invoke_without_command=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def run_eval(config: EvalConfig, make: Callable[[], GeneratorBase] | None = None) -> None:
    """Evaluate (with `make`: the generator to use, e.g. Ray workers; default the backend in this process)."""
    from thinktrim.evaluate.run import evaluate
    from thinktrim.evaluate.summary import print_summary

    results = evaluate(config, make)
    if "shard" in results:
        g = results["generation"]
        typer.echo(f"shard {results['shard']}: {g['generated']} samples generated ({g['resumed']} already there) "
                   f"in {results['output']}; once every shard is done: thinktrim eval merge "
                   f"{config.output_dir}")
        return
    print_summary(results)
    typer.echo(f"results: {Path(config.output_dir or '.') / 'results.json'}")


def run_merge(config: EvalMergeConfig) -> None:
    from thinktrim.data.run_folder import claim_output_folder
    from thinktrim.evaluate.shards import merge_shards
    from thinktrim.evaluate.summary import print_summary

    with claim_output_folder(config.output_dir, "eval merge"):
        results = merge_shards(config)
    print_summary(results)
    typer.echo(f"results: {Path(config.output_dir) / 'results.json'}")


def run_grade(config: GradeConfig) -> None:
    from thinktrim.data.store import write_jsonl
    from thinktrim.evaluate.records import grade_file
    from thinktrim.evaluate.run import writing
    from thinktrim.evaluate.summary import sources_line
    from thinktrim.table import print_counts, print_table

    res = grade_file(config.file, response_field=config.response_field, answer_field=config.answer_field,
                     kind=config.kind, benchmark=config.benchmark, id_field=config.id_field,
                     benchmark_path=config.path, tokenizer=config.tokenizer, processes=config.grade_processes,
                     policy=config.extraction)
    if config.output:
        with writing(Path(config.output)):
            write_jsonl(config.output, res["graded"])
    rows = [[name, value, res["metric_definitions"].get(name, "")] for name, value in res["metrics"].items()]
    print_table(f"{config.file}: {res['records']} responses, {res['questions']} questions",
                ["metric", "value", "definition"], rows, caption=sources_line(res["answer_sources"]))
    print_counts("Grading by reason", res["counts"])
    if config.output:
        typer.echo(f"graded: {config.output}")


def run_compare(config: CompareConfig) -> None:
    from thinktrim.evaluate.paper_table import caption, compare, folder_run, json_rows, render, terminal_rows
    from thinktrim.table import print_table

    c = compare([folder_run(Path(r)) for r in config.runs])
    for warning in c.warnings:  # on stderr: the table on stdout stays what --json or a --format asked for
        typer.echo(f"warning: {warning}", err=True)
    if config.json:
        typer.echo(json.dumps(json_rows(c), indent=2))
        return
    if config.table_format != "table":
        typer.echo(render(c.names, c.table, config.table_format, caption(c)), nl=False)
        return
    columns, rows = terminal_rows(c.names, c.table, c.pooled)
    print_table("thinktrim eval compare", columns, rows, caption=caption(c))


# The group's own command (`thinktrim eval …`) is registered by `thinktrim.cli` with the executor it picks.
eval_app.command("grade")(command(GradeConfig, run_grade))
eval_app.command("compare")(command(CompareConfig, run_compare))
eval_app.command("merge")(command(EvalMergeConfig, run_merge))
