"""`thinktrim eval`: run an evaluation (the group itself), `eval grade FILE`, `eval compare RUN…`.

Thin: options → `EvalConfig` / library calls in `thinktrim.evaluate.run`. Nothing heavy is imported here, so
`thinktrim --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from thinktrim.lm.base import DEFAULT_SYSTEM_PROMPT

eval_app = typer.Typer(
    help="Evaluate accuracy and token cost of reasoning models.\n\n"
         "Run `thinktrim eval --benchmark gsm8k --limit 20 -n 2` to evaluate (the embedded model on CPU by "
         "default); rerun the same command to resume a killed run.",
    invoke_without_command=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _split(values: list[str] | None) -> tuple[str, ...]:
    """`--benchmark a --benchmark b` and `--benchmark a,b` both work."""
    return tuple(v.strip() for value in values or [] for v in value.split(",") if v.strip())


def _fail(e: Exception) -> None:
    typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@eval_app.callback()
def eval_command(
    ctx: typer.Context,
    benchmark: list[str] = typer.Option(None, "--benchmark", "-b", help="Benchmark(s): aime24, aime25, amc23, "
                                        "math500, gsm8k, olymmath-easy, olymmath-hard, gpqa-diamond (needs "
                                        "--path). Repeat or comma-separate."),
    model: str = typer.Option("embedded", help="`embedded` (SmolLM2-135M), a hub id, a folder, or the served "
                              "model name for --backend openai."),
    backend: str = typer.Option("transformers", help="transformers, vllm (GPU; pip install 'thinktrim\\[vllm]') "
                                "or openai (any OpenAI-compatible server, with --base-url)."),
    data: Path = typer.Option(None, help="A custom benchmark: JSONL, JSON or Parquet (see --question-field/"
                              "--answer-field; dotted paths reach nested fields)."),
    question_field: str = typer.Option("question", help="Question field of --data records."),
    answer_field: str = typer.Option("answer", help="Gold answer field of --data records."),
    id_field: str = typer.Option(None, help="Id field of --data records (default: line number)."),
    kind: str = typer.Option("expression", help="Answer kind of --data: number, expression or choice."),
    path: Path = typer.Option(None, help="Data file for gpqa-diamond (never shipped)."),
    n: int = typer.Option(1, "-n", "--n", help="Samples per question (the papers use 8 at temperature 0.7)."),
    temperature: float = typer.Option(0.7, help="Sampling temperature; 0 = greedy."),
    top_p: float = typer.Option(1.0, help="Nucleus sampling mass."),
    max_new_tokens: int = typer.Option(512, help="Token limit per response. 512 keeps the embedded model's "
                                       "gsm8k --limit 20 -n 2 run to a few minutes on 2 CPU cores; reasoning "
                                       "models need 16k-32k."),
    seed: int = typer.Option(0, help="Random seed (sample i uses seed + i where the backend allows)."),
    batch_size: int = typer.Option(None, help="transformers: sequences per batch (8); vllm: prompts per call "
                                   "(256)."),
    base_url: str = typer.Option(None, help="openai: server URL, e.g. http://127.0.0.1:8000/v1."),
    concurrency: int = typer.Option(8, help="openai: requests in flight."),
    tokenizer: str = typer.Option(None, help="openai: tokenizer to count tokens when the server reports none."),
    system_prompt: str = typer.Option(DEFAULT_SYSTEM_PROMPT, help="System prompt ('' for none)."),
    output: Path = typer.Option(None, "--output", "-o", help="Run folder (default eval-out/<model>)."),
    limit: int = typer.Option(None, help="Only the first N questions of each benchmark."),
    device: str = typer.Option("auto", help="transformers: cpu, cuda, cuda:N or auto."),
    dtype: str = typer.Option("auto", help="auto (fp32 on CPU, bf16 on GPU), float32, bfloat16, float16."),
    baseline: Path = typer.Option(None, help="A previous run folder: report AES against it."),
    grade_processes: int = typer.Option(None, help="Grading worker processes (default: all cores; 0: none)."),
) -> None:
    """Generate, grade and score: writes <output>/<benchmark>/samples.jsonl and <output>/results.json."""
    if ctx.invoked_subcommand is not None:
        return
    from thinktrim.evaluate.run import EvalConfig, evaluate
    from thinktrim.evaluate.summary import print_summary
    from thinktrim.lm.generate import GenerationConfig

    try:
        gen = GenerationConfig(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, n=n,
                               seed=seed, batch_size=batch_size)
        config = EvalConfig(
            benchmarks=_split(benchmark), model=model, backend=backend, data=str(data) if data else None,
            question_field=question_field, answer_field=answer_field, id_field=id_field, kind=kind,
            path=str(path) if path else None, limit=limit, system_prompt=system_prompt,
            output_dir=str(output) if output else None, device=device, dtype=dtype, base_url=base_url,
            concurrency=concurrency, tokenizer=tokenizer, baseline=str(baseline) if baseline else None,
            grade_processes=grade_processes, generation=gen,
        )
        results = evaluate(config)
    except (ValueError, RuntimeError, ImportError, FileNotFoundError) as e:
        _fail(e)
        return
    print_summary(results)
    typer.echo(f"results: {Path(config.output_dir or '.') / 'results.json'}")


@eval_app.command("grade")
def grade_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL, JSON or Parquet of responses."),
    response_field: str = typer.Option("response", help="Field holding the model's response; a dotted path "
                                       "(outputs.0.text) reaches nested fields, and a list of strings is one "
                                       "sample each."),
    answer_field: str = typer.Option("answer", help="Field holding the gold answer (dotted paths too)."),
    kind: str = typer.Option(None, help="number, expression or choice (default: each record's `kind`, else "
                             "expression)."),
    benchmark: str = typer.Option(None, help="Take golds (and kinds) from this benchmark, matched on --id-field."),
    id_field: str = typer.Option("question_id", help="Field naming the question (and grouping samples)."),
    path: Path = typer.Option(None, help="Data file for --benchmark gpqa-diamond."),
    tokenizer: str = typer.Option(None, help="Count response tokens with this tokenizer when records have no "
                                  "`tokens` field (e.g. embedded)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the graded records (JSONL) here."),
    grade_processes: int = typer.Option(None, help="Grading worker processes (default: all cores; 0: none)."),
) -> None:
    """Grade existing responses without any model."""
    from thinktrim.data.store import write_jsonl
    from thinktrim.evaluate.run import grade_file
    from thinktrim.report.table import print_table

    try:
        res = grade_file(file, response_field=response_field, answer_field=answer_field, kind=kind,
                         benchmark=benchmark, id_field=id_field, benchmark_path=str(path) if path else None,
                         tokenizer=tokenizer, processes=grade_processes)
    except (ValueError, RuntimeError, FileNotFoundError) as e:
        _fail(e)
        return
    if output:
        write_jsonl(output, res["graded"])
    rows = [[name, value, res["metric_definitions"].get(name, "")] for name, value in res["metrics"].items()]
    print_table(f"{file}: {res['records']} responses, {res['questions']} questions", ["metric", "value",
                "definition"], rows)
    if output:
        typer.echo(f"graded: {output}")


@eval_app.command("compare")
def compare_command(
    runs: list[Path] = typer.Argument(..., help="Run folders (or results.json files); the first is the "
                                      "baseline for AES."),
    json_out: bool = typer.Option(False, "--json", help="Print the table as JSON instead."),
) -> None:
    """Side-by-side ACC, TOK, EFF and AES (relative to the first run)."""
    from thinktrim.evaluate.summary import compare_rows, format_rows
    from thinktrim.report.table import print_table

    try:
        columns, rows = compare_rows(runs)
    except (ValueError, KeyError) as e:
        _fail(e)
        return
    if json_out:
        typer.echo(json.dumps([dict(zip(columns, row)) for row in rows], indent=2))
    else:
        print_table("thinktrim eval compare", columns, format_rows(columns, rows),
                    caption="ACC = avg@n; TOK = mean output tokens; EFF = ACC/TOK; AES (α=1, β=3, γ=5) "
                            "against the first run.")
