"""The evaluation run loop: benchmarks → chat prompts → samples on disk → grades → metrics → results.json.

Layout of a run folder:
    run.json                     settings that must not change when a run is resumed (config.json before)
    <benchmark>/samples.jsonl    one line per generated sample, appended and fsync'ed as it is produced
    <benchmark>/graded.jsonl     the verdict per sample (rewritten atomically at each grading)
    results.json                 metrics per benchmark and overall, their definitions, the config
A killed run is resumed by running the same command again: finished samples are kept, the rest generated.
Reading results back (tables, `compare`) is `thinktrim.evaluate.summary`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from thinktrim import __version__
from thinktrim.data.benchmarks import load_benchmark, load_custom
from thinktrim.data.chat import chat_messages
from thinktrim.data.run_folder import claim_output_folder
from thinktrim.data.shards import Shard
from thinktrim.data.store import (
    JsonlStore,
    changed_settings,
    read_jsonl_records,
    write_json,
    write_jsonl,
)
from thinktrim.errors import UserError
from thinktrim.evaluate.config import EvalConfig, data_name
from thinktrim.evaluate.metrics import answer_sources, summarize
from thinktrim.evaluate.records import (
    RUN_RECORD,
    grade_records,
    grading_counts,
    read_run_record,
    run_record_path,
    sample_results,
)
from thinktrim.evaluate.summary import (
    AES_MEAN_NAME,
    AES_NAME,
    aes_against,
    benchmark_mean_aes,
    definitions_for,
    load_results,
    same_questions,
)
from thinktrim.lm.generation.factory import make_generator
from thinktrim.lm.generation.progress import GenerationProgress
from thinktrim.lm.generation.types import GeneratorBase, Job

# Settings whose change would mix incomparable samples in one run folder.
RESUME_KEYS = ("model", "system_prompt", "max_new_tokens", "temperature", "top_p", "stop")


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Name the file when writing it fails (a full disk, a read-only folder, a file where a folder should be):
    the OS error alone does not say which output it was."""
    try:
        yield
    except OSError as e:
        raise UserError(f"{path}: cannot write ({e.strerror or e})") from e


def question_sha(question: str) -> str:
    """Fingerprint of the question a stored sample answers, so an edited input cannot reuse its samples."""
    return hashlib.sha256(question.encode("utf-8")).hexdigest()[:16]


def inputs_record(items: Sequence[Any], config: EvalConfig) -> dict[str, Any]:
    """What a benchmark's results were computed from: a fingerprint of its questions and golds, ids, --limit."""
    digest = hashlib.sha256(json.dumps([[i.id, i.question, i.answer, i.kind] for i in items]).encode("utf-8"))
    return {"fingerprint": digest.hexdigest()[:16], "ids": [i.id for i in items], "limit": config.limit,
            "start": config.start, "end": config.end}


def sample_key(question_id: str, sample: int) -> str:
    return f"{question_id}#{sample}"


def load_items(config: EvalConfig) -> dict[str, list[Any]]:
    """Benchmark name → items, in the order given; a custom file is named after its stem."""

    out: dict[str, list[Any]] = {}
    for name in config.benchmarks:
        out[name] = load_benchmark(name, path=config.path, limit=config.limit, start=config.start, end=config.end)
    if config.data:
        name = data_name(config.data)
        if name in out:
            raise UserError(f"--data {config.data}: its name {name!r} clashes with a --benchmark; rename the file")
        out[name] = load_custom(config.data, config.question_field, config.answer_field, kind=config.kind,
                                id_field=config.id_field, limit=config.limit, split=config.split,
                                subset=config.subset, start=config.start, end=config.end)
        if not out[name]:
            raise UserError(f"--data {config.data}: no records")
    for name, items in out.items():
        if not items:
            raise UserError(f"benchmark {name!r} has no questions")
    return out


def check_resume(out: Path, config: EvalConfig) -> None:
    """Refuse to add samples made with other settings to a run folder; record the settings on a first run."""

    current = _resume_view(config)
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
    saved = read_run_record(out)
    if saved is not None:
        changed = changed_settings(_resume_view_from(saved), current, RESUME_KEYS)
        if changed:
            raise UserError(f"{run_record_path(out)}: this run folder was made with other settings "
                            f"({'; '.join(changed)}); rerun with the same settings to resume, or choose another "
                            "--output-dir")
    else:
        with writing(out / RUN_RECORD):
            write_json(out / RUN_RECORD, config.to_dict())


def check_questions(path: Path, items: Sequence[Any]) -> None:
    """Refuse stored samples that answer another question under the same id (an edited input, or another
    --data file with the same name): reused, they would be graded as answers to this run's questions."""

    if not path.exists():
        return
    current = {item.id: question_sha(item.question) for item in items}
    for row in read_jsonl_records(path):
        qid, sha = str(row.get("question_id")), row.get("question_sha")
        if sha is not None and qid in current and sha != current[qid]:
            raise UserError(f"{path}: its samples of question {qid!r} answer another question than the one "
                            "read now (an edited input, or another file of the same name); choose another "
                            f"--output-dir, or delete {path.parent} to start this benchmark over")


def _resume_view(config: EvalConfig) -> dict[str, Any]:
    return _resume_view_from(config.to_dict())


def _resume_view_from(d: dict[str, Any]) -> dict[str, Any]:
    flat = {**d, **d.get("generation", {})}
    view = {k: flat.get(k) for k in RESUME_KEYS}
    view["stop"] = list(view["stop"] or [])
    return view


def generate_missing(config: EvalConfig, items: dict[str, list[Any]], out: Path,
                     make: Callable[[], GeneratorBase] | None = None) -> dict[str, Any]:
    """Generate every (question, sample) not yet in `<out>/<bench>/samples.jsonl`, appending each as it comes.

    `make` builds the generator (default: the backend `config` names, in this process; Ray workers come from
    `thinktrim.executor`); it is called only when something is left to generate.
    """
    n = config.generation.n
    with writing(out):
        stores = {b: JsonlStore(out / b / "samples.jsonl", key="key") for b in items}  # drops a torn last line
    jobs: list[Job] = []
    meta: list[tuple[str, Any]] = []
    try:
        for bench, bench_items in items.items():
            check_questions(stores[bench].path, bench_items)
        for bench, bench_items in items.items():
            for item in bench_items:
                todo = [s for s in range(n) if sample_key(item.id, s) not in stores[bench]]
                if todo:
                    jobs.append(Job(chat_messages(item.question, config.system_prompt), tuple(todo)))
                    meta.append((bench, item))
        total = sum(len(j.samples) for j in jobs)
        stats: dict[str, Any] = {"generated": 0, "resumed": sum(len(b) for b in items.values()) * n - total,
                                 "seconds": 0.0, "tokens": 0}
        if not jobs:
            return stats

        generator = make() if make else make_generator(
            config.backend, config.model, device=config.device, dtype=config.precision, base_url=config.base_url,
            concurrency=config.concurrency, tokenizer=config.tokenizer, threads=config.threads)
        start = time.perf_counter()
        try:
            with GenerationProgress(total, config.generation.max_new_tokens) as progress:
                for j, s, completion in generator.stream(jobs, config.generation, on_tokens=progress.tokens):
                    bench, item = meta[j]
                    with writing(stores[bench].path):
                        stores[bench].append({
                            "key": sample_key(item.id, s), "question_id": item.id, "sample": s,
                            "question_sha": question_sha(item.question), "response": completion.text,
                            "tokens": completion.tokens, "finish_reason": completion.finish_reason,
                            "answer": item.answer, "kind": item.kind,
                        })
                    stats["generated"] += 1
                    stats["tokens"] += completion.tokens
                    progress.finished(completion)
        finally:
            generator.close()
        stats["seconds"] = round(time.perf_counter() - start, 3)
        stats["tokens_per_s"] = round(stats["tokens"] / max(1e-9, stats["seconds"]), 2)
        return stats
    finally:
        for store in stores.values():
            store.close()


def read_samples(path: Path, items: Sequence[Any], n: int) -> list[dict[str, Any]]:
    """The stored samples of `items` with index < n, in question order, with the gold and kind read now (an
    edited gold regrades the same responses). Samples of other questions or of a larger n, from earlier runs,
    stay on disk but are not scored: the results hold exactly this run's questions."""

    wanted = {sample_key(item.id, s) for item in items for s in range(n)}
    by_id = {item.id: (i, item) for i, item in enumerate(items)}
    rows = [r for r in read_jsonl_records(path) if r.get("key") in wanted] if path.exists() else []
    if len(rows) != len(wanted):
        raise UserError(f"{path}: {len(rows)} of {len(wanted)} samples present; rerun to generate the rest")
    rows = [{**r, "answer": by_id[r["question_id"]][1].answer, "kind": by_id[r["question_id"]][1].kind}
            for r in rows]
    return sorted(rows, key=lambda r: (by_id[r["question_id"]][0], r["sample"]))


def shard_key(bench: str, question_id: str) -> str:
    """What puts a question in a shard: its benchmark and id (all its samples go to the same shard)."""
    return f"{bench}/{question_id}"


def shard_items(items: dict[str, list[Any]], shard: Shard) -> dict[str, list[Any]]:
    """The questions of each benchmark that belong to `shard`, in their order."""
    return {bench: [i for i in bench_items if shard.holds(shard_key(bench, i.id))] for bench, bench_items in
            items.items()}


def evaluate(config: EvalConfig, make: Callable[[], GeneratorBase] | None = None) -> dict[str, Any]:
    """Run (or resume) an evaluation and write `results.json`; returns what it wrote. With --shard i/N, generate
    the shard's samples into `<output>/shards/i-of-N/` only and return the generation stats: grading waits for
    the merge (`thinktrim.evaluate.shards`). `make`: see `generate_missing`."""

    out = Path(config.output_dir or ".")
    shard = config.parallel.shard_spec
    with claim_output_folder(out, "eval", force=config.force, option="--output-dir",
                             lock_at=shard.folder(out) if shard is not None else None):
        items = load_items(config)
        if config.baseline:  # read at the end; a baseline that is no run is refused before anything is generated
            try:
                load_results(Path(config.baseline))
            except UserError as e:
                raise UserError(f"--baseline {e}") from None
        if shard is not None:
            out = shard.folder(out)
            check_resume(out, config)
            return {"shard": str(shard), "output": str(out),
                    "generation": generate_missing(config, shard_items(items, shard), out, make)}
        check_resume(out, config)
        stats = generate_missing(config, items, out, make)
        return write_results(config, items, out, stats)


def write_results(config: EvalConfig, items: dict[str, list[Any]], out: Path,
                  stats: dict[str, Any]) -> dict[str, Any]:
    """Grade every stored sample of `items`, score them and write graded.jsonl and results.json."""
    n = config.generation.n
    ks = tuple(sorted({1, n}))
    baseline = load_results(Path(config.baseline)) if config.baseline else None
    rows = {bench: read_samples(out / bench / "samples.jsonl", bench_items, n) for bench, bench_items in items.items()}
    # One grading pass over every benchmark: the worker pool starts once.
    graded_all = iter(grade_records([r for bench_rows in rows.values() for r in bench_rows],
                                    processes=config.grade_processes, policy=config.extraction))
    per_bench: dict[str, Any] = {}
    pooled: list[Any] = []
    all_graded: list[dict[str, Any]] = []
    for bench, bench_rows in rows.items():
        graded = [next(graded_all) for _ in bench_rows]
        all_graded += graded
        with writing(out / bench / "graded.jsonl"):
            write_jsonl(out / bench / "graded.jsonl", graded)
        samples = sample_results(graded)
        pooled += sample_results(graded, prefix=f"{bench}/")
        per_bench[bench] = {"questions": len(items[bench]), "samples": len(samples),
                            "inputs": inputs_record(items[bench], config), "metrics": summarize(samples, ks),
                            "answer_sources": answer_sources(samples), "counts": grading_counts(graded)}
    overall = {"questions": sum(b["questions"] for b in per_bench.values()), "samples": len(pooled),
               "metrics": summarize(pooled, ks), "answer_sources": answer_sources(pooled),
               "counts": grading_counts(all_graded)}
    if baseline is not None:
        base_bench = baseline.get("benchmarks", {})
        same = {b: b in base_bench and same_questions(r, base_bench[b]) for b, r in per_bench.items()}
        for bench, res in per_bench.items():
            if same[bench]:
                res["metrics"][AES_NAME] = aes_against(res["metrics"], base_bench[bench]["metrics"])
        if all(same.values()) and set(per_bench) == set(base_bench):  # else an overall AES would mean nothing
            overall["metrics"][AES_NAME] = aes_against(overall["metrics"], baseline["overall"]["metrics"])
            # O1-Pruner's AVERAGE column: the mean of the per-benchmark AES, not the AES of the pooled figures
            mean = benchmark_mean_aes([res["metrics"].get(AES_NAME) for res in per_bench.values()])
            if mean is not None:
                overall["metrics"][AES_MEAN_NAME] = mean
    definitions = definitions_for([overall["metrics"], *(b["metrics"] for b in per_bench.values())])

    results = {
        "thinktrim_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "generation": stats,
        "baseline": config.baseline,
        "benchmarks": per_bench,
        "overall": overall,
        "overall_definition": "all questions of all benchmarks pooled: each question weighs the same in "
                              "accuracy, each sample in token means",
        "metric_definitions": definitions,
        "answer_sources_definition": "where each sample's answer came from: boxed (last box after the thinking), "
                                     "phrase (\"the answer is …\"), thinking (last box of a closed thinking block), "
                                     "last_number (last number of a finished response), none (no answer: wrong)",
    }
    with writing(out / "results.json"):
        write_json(out / "results.json", results)
    return results
