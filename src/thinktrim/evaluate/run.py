"""The evaluation run loop: benchmarks → chat prompts → samples on disk → grades → metrics → results.json.

Layout of a run folder:
    config.json                  settings that must not change when a run is resumed
    <benchmark>/samples.jsonl    one line per generated sample, appended and fsync'ed as it is produced
    <benchmark>/graded.jsonl     the verdict per sample (rewritten atomically at each grading)
    results.json                 metrics per benchmark and overall, their definitions, the config
A killed run is resumed by running the same command again: finished samples are kept, the rest generated.
Reading results back (tables, `compare`) is `thinktrim.evaluate.summary`.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from thinktrim.lm.base import DEFAULT_SYSTEM_PROMPT
from thinktrim.lm.generate import BACKENDS, GenerationConfig, Job

KINDS = ("number", "expression", "choice")
# Settings whose change would mix incomparable samples in one run folder.
RESUME_KEYS = ("model", "system_prompt", "max_new_tokens", "temperature", "top_p", "stop")


@dataclass
class EvalConfig:
    """Everything `thinktrim eval` needs; the CLI options map one to one onto these fields."""

    benchmarks: tuple[str, ...] = field(default=(), metadata={"help": "Registry benchmarks to run (e.g. gsm8k)."})
    model: str = field(default="embedded", metadata={"help": "Model: `embedded`, a hub id, a folder, or the "
                                                                  "served model name (openai backend)."})
    backend: str = field(default="transformers", metadata={"help": "transformers, vllm or openai."})
    data: str | None = field(default=None, metadata={"help": "A custom benchmark: a JSONL file."})
    question_field: str = field(default="question", metadata={"help": "Question field of --data records."})
    answer_field: str = field(default="answer", metadata={"help": "Gold answer field of --data records."})
    id_field: str | None = field(default=None, metadata={"help": "Id field of --data records (default: line)."})
    kind: str = field(default="expression", metadata={"help": "Answer kind of --data: number, expression, "
                                                                  "choice."})
    path: str | None = field(default=None, metadata={"help": "Data file for a registry benchmark that ships "
                                                                 "none (gpqa-diamond)."})
    limit: int | None = field(default=None, metadata={"help": "Only the first N questions of each benchmark."})
    system_prompt: str | None = field(default=DEFAULT_SYSTEM_PROMPT,
                                      metadata={"help": "System prompt; empty or None sends none."})
    output_dir: str | None = field(default=None, metadata={"help": "Run folder (default eval-out/<model>)."})
    device: str = field(default="auto", metadata={"help": "transformers: cpu, cuda, cuda:1 or auto."})
    dtype: str = field(default="auto", metadata={"help": "auto, float32, bfloat16 or float16."})
    base_url: str | None = field(default=None, metadata={"help": "openai: server URL, e.g. "
                                                                     "http://127.0.0.1:8000/v1."})
    concurrency: int = field(default=8, metadata={"help": "openai: requests in flight."})
    tokenizer: str | None = field(default=None, metadata={"help": "openai: tokenizer to count tokens when the "
                                                                      "server reports no usage."})
    baseline: str | None = field(default=None, metadata={"help": "A previous run folder: AES is computed "
                                                                     "against it."})
    grade_processes: int | None = field(default=None, metadata={"help": "Grading worker processes (None: "
                                                                            "all cores; 0: in this process)."})
    generation: GenerationConfig = field(default_factory=GenerationConfig,
                                         metadata={"help": "Sampling settings shared by all backends."})

    def __post_init__(self) -> None:
        if isinstance(self.benchmarks, str):
            self.benchmarks = (self.benchmarks,)
        self.benchmarks = tuple(b.strip() for b in self.benchmarks if b.strip())
        if not self.benchmarks and not self.data:
            raise ValueError("EvalConfig: give --benchmark NAME (repeatable) or --data FILE.jsonl")
        if self.backend not in BACKENDS:
            raise ValueError(f"EvalConfig.backend: got {self.backend!r}, expected one of {', '.join(BACKENDS)}")
        if self.kind not in KINDS:
            raise ValueError(f"EvalConfig.kind: got {self.kind!r}, expected one of {', '.join(KINDS)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"EvalConfig.limit: got {self.limit!r}, expected an integer >= 1")
        if self.concurrency < 1:
            raise ValueError(f"EvalConfig.concurrency: got {self.concurrency!r}, expected an integer >= 1")
        if self.data is not None and not Path(self.data).is_file():
            raise ValueError(f"EvalConfig.data: {self.data} is not a file")
        if self.baseline is not None and not (Path(self.baseline) / "results.json").is_file():
            raise ValueError(f"EvalConfig.baseline: {self.baseline}/results.json not found (run it first)")
        if self.system_prompt == "":
            self.system_prompt = None
        if self.output_dir is None:
            self.output_dir = str(Path("eval-out") / slug(self.model))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name.rstrip("/")).name or name).strip("_") or "model"


def chat_messages(question: str, system_prompt: str | None) -> list[dict[str, str]]:
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": question}]


def sample_key(question_id: str, sample: int) -> str:
    return f"{question_id}#{sample}"


def load_items(config: EvalConfig) -> dict[str, list[Any]]:
    """Benchmark name → items, in the order given; a custom file is named after its stem."""
    from thinktrim.data.benchmarks import load_benchmark, load_custom

    out: dict[str, list[Any]] = {}
    for name in config.benchmarks:
        out[name] = load_benchmark(name, path=config.path, limit=config.limit)
    if config.data:
        name = slug(Path(config.data).stem)
        if name in out:
            raise ValueError(f"--data {config.data}: its name {name!r} clashes with a --benchmark; rename the file")
        out[name] = load_custom(config.data, config.question_field, config.answer_field, kind=config.kind,
                                id_field=config.id_field, limit=config.limit)
    for name, items in out.items():
        if not items:
            raise ValueError(f"benchmark {name!r} has no questions")
    return out


def check_resume(out: Path, config: EvalConfig) -> None:
    """Refuse to add samples made with other settings to a run folder; record the settings on a first run."""
    from thinktrim.data.store import write_json

    current = _resume_view(config)
    path = out / "config.json"
    if path.exists():
        previous = _resume_view_from(json.loads(path.read_text(encoding="utf-8")))
        changed = [f"{k}={previous.get(k)!r} → {current[k]!r}" for k in RESUME_KEYS if previous.get(k) != current[k]]
        if changed:
            raise ValueError(f"{path}: this run folder was made with other settings ({'; '.join(changed)}); "
                             "rerun with the same settings to resume, or choose another --output")
    else:
        write_json(path, config.to_dict())


def _resume_view(config: EvalConfig) -> dict[str, Any]:
    return _resume_view_from(config.to_dict())


def _resume_view_from(d: dict[str, Any]) -> dict[str, Any]:
    flat = {**d, **d.get("generation", {})}
    view = {k: flat.get(k) for k in RESUME_KEYS}
    view["stop"] = list(view["stop"] or [])
    return view


def generate_missing(config: EvalConfig, items: dict[str, list[Any]], out: Path) -> dict[str, Any]:
    """Generate every (question, sample) not yet in `<out>/<bench>/samples.jsonl`, appending each as it comes."""
    from tqdm.auto import tqdm

    from thinktrim.data.store import JsonlStore

    n = config.generation.n
    stores = {b: JsonlStore(out / b / "samples.jsonl", key="key") for b in items}
    jobs: list[Job] = []
    meta: list[tuple[str, Any]] = []
    try:
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
        from thinktrim.lm.generate import make_generator

        generator = make_generator(config.backend, config.model, device=config.device, dtype=config.dtype,
                                   base_url=config.base_url, concurrency=config.concurrency,
                                   tokenizer=config.tokenizer)
        start = time.perf_counter()
        try:
            with tqdm(total=total, desc="generate", unit="sample", dynamic_ncols=True) as bar:
                for j, s, completion in generator.stream(jobs, config.generation):
                    bench, item = meta[j]
                    stores[bench].append({
                        "key": sample_key(item.id, s), "question_id": item.id, "sample": s,
                        "response": completion.text, "tokens": completion.tokens,
                        "finish_reason": completion.finish_reason, "answer": item.answer, "kind": item.kind,
                    })
                    stats["generated"] += 1
                    stats["tokens"] += completion.tokens
                    bar.update(1)
                    bar.set_postfix(tok_s=f"{stats['tokens'] / max(1e-9, time.perf_counter() - start):.0f}")
        finally:
            generator.close()
        stats["seconds"] = round(time.perf_counter() - start, 3)
        stats["tokens_per_s"] = round(stats["tokens"] / max(1e-9, stats["seconds"]), 2)
        return stats
    finally:
        for store in stores.values():
            store.close()


def read_samples(path: Path, items: Sequence[Any], n: int) -> list[dict[str, Any]]:
    """The stored samples of `items` with index < n, in question order (extra ones from a larger run are kept
    on disk but not scored)."""
    from thinktrim.data.store import read_jsonl_records

    wanted = {sample_key(item.id, s) for item in items for s in range(n)}
    order = {item.id: i for i, item in enumerate(items)}
    rows = [r for r in read_jsonl_records(path) if r.get("key") in wanted] if path.exists() else []
    if len(rows) != len(wanted):
        raise RuntimeError(f"{path}: {len(rows)} of {len(wanted)} samples present; rerun to generate the rest")
    return sorted(rows, key=lambda r: (order[r["question_id"]], r["sample"]))


def has_final_answer(response: str) -> bool:
    from thinktrim.evaluate.extract import last_boxed, strip_reasoning

    return last_boxed(strip_reasoning(response)) is not None


def grade_records(rows: Sequence[dict[str, Any]], processes: int | None = None,
                  progress: bool = True) -> list[dict[str, Any]]:
    """Grade sample records ({response, answer, kind, finish_reason?, tokens?}); adds correct/extracted/reason.

    `truncated` means the response hit the token limit. Such a response is wrong unless it had already given
    a `\\boxed{}` answer: the fallback extraction would otherwise grade the last number of an unfinished
    derivation. `processes`: grading workers (None: every core, 0: in this process).
    """
    from thinktrim.evaluate.grade import grade_many

    grades = grade_many([(r["response"], str(r["answer"]), r.get("kind") or "expression") for r in rows],
                        processes=processes, progress=progress)
    graded = []
    for r, g in zip(rows, grades):
        truncated = r.get("finish_reason") == "length"
        unfinished = truncated and not has_final_answer(r["response"])
        graded.append({**{k: v for k, v in r.items() if k != "response"},
                       "correct": bool(g.correct and not unfinished), "extracted": g.extracted,
                       "reason": "truncated without a boxed answer" if unfinished else g.reason,
                       "truncated": truncated})
    return graded


def sample_results(graded: Sequence[dict[str, Any]], prefix: str = "") -> list[Any]:
    from thinktrim.evaluate.metrics import SampleResult

    return [SampleResult(question_id=prefix + str(g["question_id"]), sample=int(g["sample"]),
                         correct=g["correct"], tokens=int(g.get("tokens") or 0), truncated=g["truncated"],
                         extracted=g["extracted"]) for g in graded]


def evaluate(config: EvalConfig) -> dict[str, Any]:
    """Run (or resume) an evaluation and write `results.json`; returns what it wrote."""
    from thinktrim.data.store import write_json, write_jsonl
    from thinktrim.evaluate.metrics import summarize
    from thinktrim.evaluate.summary import AES_NAME, aes_against, definitions_for, load_results

    out = Path(config.output_dir or ".")
    items = load_items(config)
    check_resume(out, config)
    stats = generate_missing(config, items, out)
    n = config.generation.n
    ks = tuple(sorted({1, n}))
    baseline = load_results(Path(config.baseline)) if config.baseline else None
    rows = {bench: read_samples(out / bench / "samples.jsonl", bench_items, n) for bench, bench_items in items.items()}
    # One grading pass over every benchmark: the worker pool starts once.
    graded_all = iter(grade_records([r for bench_rows in rows.values() for r in bench_rows],
                                    processes=config.grade_processes))
    per_bench: dict[str, Any] = {}
    pooled: list[Any] = []
    for bench, bench_rows in rows.items():
        graded = [next(graded_all) for _ in bench_rows]
        write_jsonl(out / bench / "graded.jsonl", graded)
        samples = sample_results(graded)
        pooled += sample_results(graded, prefix=f"{bench}/")
        per_bench[bench] = {"questions": len(items[bench]), "samples": len(samples),
                            "metrics": summarize(samples, ks)}
    overall = {"questions": sum(b["questions"] for b in per_bench.values()), "samples": len(pooled),
               "metrics": summarize(pooled, ks)}
    if baseline is not None:
        base_bench = baseline.get("benchmarks", {})
        for bench, res in per_bench.items():
            if bench in base_bench and base_bench[bench]["questions"] == res["questions"]:
                res["metrics"][AES_NAME] = aes_against(res["metrics"], base_bench[bench]["metrics"])
        same_set = {b: r["questions"] for b, r in per_bench.items()} == {
            b: r["questions"] for b, r in base_bench.items()}
        if same_set:  # an overall AES against other questions would mean nothing
            overall["metrics"][AES_NAME] = aes_against(overall["metrics"], baseline["overall"]["metrics"])
    definitions = definitions_for([overall["metrics"], *(b["metrics"] for b in per_bench.values())])
    from thinktrim import __version__

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
    }
    write_json(out / "results.json", results)
    return results


def _per_sample(value: Any, i: int, many: bool) -> Any:
    """Sample i's entry of a per-sample list field (None when the field is not such a list)."""
    if not many:
        return value
    return value[i] if isinstance(value, list) and i < len(value) else None


def grade_file(
    path: str | Path,
    response_field: str = "response",
    answer_field: str = "answer",
    kind: str | None = None,
    benchmark: str | None = None,
    id_field: str = "question_id",
    benchmark_path: str | None = None,
    tokenizer: str | None = None,
    processes: int | None = None,
) -> dict[str, Any]:
    """Grade the responses of a JSONL, JSON or Parquet file without any model; golds from `answer_field` or a
    benchmark.

    Fields may be dotted paths into nested records (`outputs.0.text`). A response field holding a list of
    strings is one sample per element (as many eval harnesses write n samples per question), with `tokens` and
    `finish_reason` lists matched by position when present. `kind` None takes each record's `kind` field (as
    `thinktrim eval` writes it), else `expression`. Tokens come from a `tokens` field, or are counted with
    `tokenizer`; with neither, token metrics are left out.
    """
    from thinktrim.data.formats import read_objects
    from thinktrim.data.layouts import lookup_field
    from thinktrim.evaluate.metrics import summarize
    from thinktrim.evaluate.summary import definitions_for

    if kind is not None and kind not in KINDS:
        raise ValueError(f"--kind: got {kind!r}, expected one of {', '.join(KINDS)}")
    golds = None
    if benchmark is not None:
        from thinktrim.data.benchmarks import load_benchmark

        golds = {item.id: item for item in load_benchmark(benchmark, path=benchmark_path)}
    rows = []
    for n_record, (_, where, rec) in enumerate(read_objects(path), 1):
        responses = lookup_field(rec, response_field)[1]
        many = isinstance(responses, list)  # n samples of one question in one record
        if isinstance(responses, str):
            responses = [responses]
        elif not (many and responses and all(isinstance(r, str) for r in responses)):
            raise ValueError(f"{where}: field {response_field!r} missing, or not a string or a list of strings")
        qid_value = lookup_field(rec, id_field)[1]
        qid = str(n_record if qid_value is None else qid_value)
        if golds is not None:
            if qid_value is None or qid not in golds:
                raise ValueError(f"{where}: {id_field}={qid_value!r} is not a question of {benchmark}")
            answer, rec_kind = golds[qid].answer, golds[qid].kind
        else:
            gold = lookup_field(rec, answer_field)[1]
            if gold is None:
                raise ValueError(f"{where}: field {answer_field!r} missing (or pass --benchmark for the golds)")
            answer, rec_kind = str(gold), kind or rec.get("kind") or "expression"
            if rec_kind not in KINDS:
                raise ValueError(f"{where}: kind {rec_kind!r} is not one of {', '.join(KINDS)}")
        for i, response in enumerate(responses):
            rows.append({"question_id": qid, "sample": i if many else int(rec.get("sample", 0)),
                         "response": response, "answer": answer, "kind": rec_kind,
                         "finish_reason": _per_sample(rec.get("finish_reason"), i, many),
                         "tokens": _per_sample(rec.get("tokens"), i, many)})
    if not rows:
        raise ValueError(f"{path}: no records")
    has_tokens = all(isinstance(r["tokens"], int) for r in rows)
    if not has_tokens and tokenizer:
        from thinktrim.lm.load import load_tokenizer

        tok = load_tokenizer(tokenizer)
        for r in rows:
            r["tokens"] = len(tok(r["response"], add_special_tokens=False)["input_ids"])
        has_tokens = True
    graded = grade_records(rows, processes=processes)
    n = max(1, min(sum(1 for r in rows if r["question_id"] == q) for q in {r["question_id"] for r in rows}))
    metrics = summarize(sample_results(graded), tuple(sorted({1, n})))
    if not has_tokens:
        metrics = {k: v for k, v in metrics.items() if not k.startswith(("tokens:", "eff:", "acc:length"))}
    return {"file": str(path), "records": len(rows), "questions": len({r["question_id"] for r in rows}),
            "metrics": metrics, "metric_definitions": definitions_for([metrics]), "graded": graded}
