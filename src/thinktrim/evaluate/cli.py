"""`thinktrim eval`: run an evaluation (the group itself), `eval grade FILE`, `eval compare RUN…`.

Thin: options → `EvalConfig` / library calls in `thinktrim.evaluate.run`. Nothing heavy is imported here, so
`thinktrim --help` stays fast.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import typer

from thinktrim.evaluate.extract import ExtractionPolicy
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


def _fail(e: Exception | str) -> None:
    """One line on stderr and exit code 2: bad input is the user's to fix, not a crash to debug."""
    if isinstance(e, OSError) and e.filename and e.strerror:
        e = f"{e.filename}: {e.strerror}"
    typer.secho(f"error: {' '.join(str(e).split())}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _policy_help(name: str) -> str:
    return next(f.metadata["help"] for f in fields(ExtractionPolicy) if f.name == name)


def _check_input_file(path: Path, what: str) -> None:
    if not path.exists():
        _fail(f"{what} {path}: no such file")
    if path.is_dir():
        _fail(f"{what} {path}: is a folder; give a file")


def _check_output_file(path: Path) -> None:
    """Before any work: the graded records go to a file, whose folder can be made."""
    if path.is_dir():
        _fail(f"--output {path}: is a folder; give a file path for the graded records (JSONL)")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        _fail(f"--output {path}: {parent} is a file, not a folder")


LAST_NUMBER = typer.Option(True, "--fallback-last-number/--no-fallback-last-number",
                           help=_policy_help("fallback_last_number"))
FROM_THINKING = typer.Option(True, "--answer-from-thinking/--no-answer-from-thinking",
                             help=_policy_help("answer_from_thinking"))


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
    data: Path = typer.Option(None, readable=False, help="A custom benchmark: JSONL, JSON or Parquet (see "
                              "--question-field/--answer-field; dotted paths reach nested fields)."),
    question_field: str = typer.Option("question", help="Question field of --data records."),
    answer_field: str = typer.Option("answer", help="Gold answer field of --data records."),
    id_field: str = typer.Option(None, help="Id field of --data records (default: line number)."),
    kind: str = typer.Option("expression", help="Answer kind of --data: number, expression or choice."),
    path: Path = typer.Option(None, readable=False, help="Data file for gpqa-diamond (never shipped)."),
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
    output: Path = typer.Option(None, "--output", "-o", readable=False, help="Run folder (default eval-out/<model>)."),
    limit: int = typer.Option(None, help="Only the first N questions of each benchmark."),
    device: str = typer.Option("auto", help="transformers: cpu, cuda, cuda:N or auto."),
    dtype: str = typer.Option("auto", help="auto (fp32 on CPU, bf16 on GPU), float32, bfloat16, float16."),
    baseline: Path = typer.Option(None, readable=False, help="A previous run folder: report AES against it."),
    grade_processes: int = typer.Option(None, help="Grading worker processes (default: all cores; 0: none)."),
    fallback_last_number: bool = LAST_NUMBER,
    answer_from_thinking: bool = FROM_THINKING,
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
            extraction=ExtractionPolicy(fallback_last_number, answer_from_thinking),
        )
        results = evaluate(config)
    except (ValueError, RuntimeError, ImportError, OSError) as e:
        _fail(e)
        return
    print_summary(results)
    typer.echo(f"results: {Path(config.output_dir or '.') / 'results.json'}")


@eval_app.command("grade")
def grade_command(
    file: Path = typer.Argument(..., readable=False, help="JSONL, JSON or Parquet of responses."),
    response_field: str = typer.Option("response", help="Field holding the model's response; a dotted path "
                                       "(outputs.0.text) reaches nested fields, and a list of strings is one "
                                       "sample each."),
    answer_field: str = typer.Option("answer", help="Field holding the gold answer (dotted paths too)."),
    kind: str = typer.Option(None, help="number, expression or choice (default: each record's `kind`, else "
                             "expression)."),
    benchmark: str = typer.Option(None, help="Take golds (and kinds) from this benchmark, matched on --id-field."),
    id_field: str = typer.Option("question_id", help="Field naming the question (and grouping samples)."),
    path: Path = typer.Option(None, readable=False, help="Data file for --benchmark gpqa-diamond."),
    tokenizer: str = typer.Option(None, help="Count response tokens with this tokenizer when records have no "
                                  "`tokens` field (e.g. embedded)."),
    output: Path = typer.Option(None, "--output", "-o", readable=False, help="Write the graded records (JSONL) here."),
    grade_processes: int = typer.Option(None, help="Grading worker processes (default: all cores; 0: none)."),
    fallback_last_number: bool = LAST_NUMBER,
    answer_from_thinking: bool = FROM_THINKING,
) -> None:
    """Grade existing responses without any model."""
    from thinktrim.data.store import write_jsonl
    from thinktrim.evaluate.records import grade_file
    from thinktrim.evaluate.run import check_local_model, writing
    from thinktrim.evaluate.summary import sources_line
    from thinktrim.table import print_table

    _check_input_file(file, "FILE")
    if output:
        _check_output_file(output)
    try:
        if grade_processes is not None and grade_processes < 0:
            raise ValueError(f"--grade-processes: got {grade_processes}, expected an integer >= 0 (0: none)")
        if tokenizer:
            check_local_model("--tokenizer", tokenizer)
        res = grade_file(file, response_field=response_field, answer_field=answer_field, kind=kind,
                         benchmark=benchmark, id_field=id_field, benchmark_path=str(path) if path else None,
                         tokenizer=tokenizer, processes=grade_processes,
                         policy=ExtractionPolicy(fallback_last_number, answer_from_thinking))
        if output:
            with writing(output):
                write_jsonl(output, res["graded"])
    except (ValueError, RuntimeError, OSError) as e:
        _fail(e)
        return
    rows = [[name, value, res["metric_definitions"].get(name, "")] for name, value in res["metrics"].items()]
    print_table(f"{file}: {res['records']} responses, {res['questions']} questions", ["metric", "value",
                "definition"], rows, caption=sources_line(res["answer_sources"]))
    if output:
        typer.echo(f"graded: {output}")


@eval_app.command("compare")
def compare_command(
    runs: list[Path] = typer.Argument(..., readable=False, help="Run folders (or results.json files); the first is the "
                                      "baseline for AES."),
    json_out: bool = typer.Option(False, "--json", help="Print the table as JSON instead."),
) -> None:
    """Side-by-side ACC, TOK, EFF and AES (relative to the first run)."""
    from thinktrim.evaluate.summary import compare_rows, format_rows
    from thinktrim.table import print_table

    try:
        columns, rows = compare_rows(runs)
    except (ValueError, KeyError, OSError) as e:
        _fail(e)
        return
    if json_out:
        typer.echo(json.dumps([dict(zip(columns, row)) for row in rows], indent=2))
    else:
        print_table("thinktrim eval compare", columns, format_rows(columns, rows),
                    caption="ACC = avg@n; TOK = mean output tokens; EFF = ACC/TOK; AES (α=1, β=3, γ=5) "
                            "against the first run.")
