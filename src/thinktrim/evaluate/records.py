"""From sample records to verdict records: grading `thinktrim eval` samples and response files (`eval grade`).

A verdict record is the sample record without its response, plus `correct`, `extracted`, `source` (where the
answer came from: boxed, phrase, thinking, last_number; None when none was found), `reason`, `error` (the
exception and its message when grading raised, else None) and `truncated`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from thinktrim.answers import ANSWER_KINDS
from thinktrim.data.benchmarks import load_benchmark
from thinktrim.data.counters import Counts
from thinktrim.data.formats import read_objects
from thinktrim.data.layouts import lookup_field
from thinktrim.data.store import read_json_object
from thinktrim.errors import UserError
from thinktrim.evaluate.extract import ExtractionPolicy
from thinktrim.evaluate.grade import grade_many
from thinktrim.evaluate.metrics import SampleResult, answer_sources, summarize
from thinktrim.evaluate.summary import definitions_for
from thinktrim.lm.load import load_tokenizer


def grade_records(rows: Sequence[dict[str, Any]], processes: int | None = None, progress: bool = True,
                  policy: ExtractionPolicy = ExtractionPolicy()) -> list[dict[str, Any]]:
    """Grade sample records ({response, answer, kind, finish_reason?, tokens?}) into verdict records.

    `truncated` means the response hit the token limit (finish reason "length"). Such a response counts only
    with a boxed answer: a phrase or the last number of an unfinished text may be half a derivation.
    `processes`: grading workers (None: every core, 0: in this process).
    """

    truncated = [r.get("finish_reason") == "length" for r in rows]
    grades = grade_many([(r["response"], str(r["answer"]), r.get("kind") or "expression", cut)
                         for r, cut in zip(rows, truncated)], processes=processes, progress=progress, policy=policy)
    return [{**{k: v for k, v in r.items() if k != "response"}, "correct": g.correct, "extracted": g.extracted,
             "source": g.source, "reason": g.reason, "error": g.error, "truncated": cut}
            for r, g, cut in zip(rows, grades, truncated)]


def grading_counts(graded: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Verdicts by reason (`grade.REASONS`: ok, no_answer, truncated, timeout, …) and grading errors by
    exception (`Type: message`), for results.json and the printed summary."""
    counts = Counts()
    counts.add_all("graded_by_reason", (g["reason"] for g in graded))
    counts.add_all("grading_errors", (g["error"] for g in graded if g.get("error")))
    return counts.to_dict()


def sample_results(graded: Sequence[dict[str, Any]], prefix: str = "") -> list[SampleResult]:
    return [SampleResult(question_id=prefix + str(g["question_id"]), sample=int(g["sample"]),
                         correct=g["correct"], tokens=int(g.get("tokens") or 0), truncated=g["truncated"],
                         extracted=g["extracted"], kind=g.get("kind") or "expression", source=g.get("source"))
            for g in graded]


def _sample_index(rec: dict[str, Any], where: str) -> int:
    """A record's `sample` field (0 when it has none), as a whole number >= 0."""
    value = rec.get("sample", 0)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(f"{where}: field 'sample' is {value!r}, expected a whole number >= 0")
    return value


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
    policy: ExtractionPolicy = ExtractionPolicy(),
) -> dict[str, Any]:
    """Grade the responses of a JSONL, JSON or Parquet file without any model; golds from `answer_field` or a
    benchmark.

    Fields may be dotted paths into nested records (`outputs.0.text`). A response field holding a list of
    strings is one sample per element (as many eval harnesses write n samples per question), with `tokens` and
    `finish_reason` lists matched by position when present. `kind` None takes each record's `kind` field (as
    `thinktrim eval` writes it), else `expression`. Tokens come from a `tokens` field, or are counted with
    `tokenizer`; with neither, token metrics are left out.
    """

    if kind is not None and kind not in ANSWER_KINDS:
        raise UserError(f"--kind: got {kind!r}, expected one of {', '.join(ANSWER_KINDS)}")
    golds = None
    if benchmark is not None:
        golds = {item.id: item for item in load_benchmark(benchmark, path=benchmark_path)}
    rows = []
    first_at: dict[tuple[str, int], str] = {}  # (question, sample) -> where it was read
    for n_record, (_, where, rec) in enumerate(read_objects(path), 1):
        responses = lookup_field(rec, response_field)[1]
        many = isinstance(responses, list)  # n samples of one question in one record
        if isinstance(responses, str):
            responses = [responses]
        elif not (many and responses and all(isinstance(r, str) for r in responses)):
            raise UserError(f"{where}: field {response_field!r} missing, or not a string or a list of strings")
        qid_value = lookup_field(rec, id_field)[1]
        qid = str(n_record if qid_value is None else qid_value)
        if golds is not None:
            if qid_value is None or qid not in golds:
                raise UserError(f"{where}: {id_field}={qid_value!r} is not a question of {benchmark}")
            answer, rec_kind = golds[qid].answer, golds[qid].kind
        else:
            gold = lookup_field(rec, answer_field)[1]
            if gold is None:
                raise UserError(f"{where}: field {answer_field!r} missing (or pass --benchmark for the golds)")
            answer, rec_kind = str(gold), kind or rec.get("kind") or "expression"
            if rec_kind not in ANSWER_KINDS:
                raise UserError(f"{where}: kind {rec_kind!r} is not one of {', '.join(ANSWER_KINDS)}")
        for i, response in enumerate(responses):
            sample = i if many else _sample_index(rec, where)
            if (qid, sample) in first_at:  # counted twice, it would skew every per-question metric
                hint = ("; a question's samples go in one record's list" if many else
                        "; records of one question need a distinct `sample` field (or put the samples in a list)"
                        if "sample" not in rec else "")
                raise UserError(f"{where}: {id_field}={qid!r} sample {sample} was already read at "
                                f"{first_at[qid, sample]}{hint}")
            first_at[qid, sample] = where
            rows.append({"question_id": qid, "sample": sample,
                         "response": response, "answer": answer, "kind": rec_kind,
                         "finish_reason": _per_sample(rec.get("finish_reason"), i, many),
                         "tokens": _per_sample(rec.get("tokens"), i, many)})
    if not rows:
        raise UserError(f"{path}: no records")
    has_tokens = all(isinstance(r["tokens"], int) for r in rows)
    if not has_tokens and tokenizer:
        tok = load_tokenizer(tokenizer, "--tokenizer")
        for r in rows:
            r["tokens"] = len(tok(r["response"], add_special_tokens=False)["input_ids"])
        has_tokens = True
    graded = grade_records(rows, processes=processes, policy=policy)
    samples = sample_results(graded)
    per_question = Counter(r["question_id"] for r in rows)
    metrics = summarize(samples, tuple(sorted({1, min(per_question.values())})))
    if not has_tokens:
        metrics = {k: v for k, v in metrics.items() if not k.startswith(("tokens:", "eff:", "acc:length"))}
    return {"file": str(path), "records": len(rows), "questions": len(per_question), "metrics": metrics,
            "metric_definitions": definitions_for([metrics]), "answer_sources": answer_sources(samples),
            "counts": grading_counts(graded), "graded": graded}


RUN_RECORD = "run.json"  # an eval run's settings, as every command names its record
LEGACY_RUN_RECORD = "config.json"  # what eval wrote before (also a model's config): read for one release


def run_record_path(folder: Path) -> Path:
    """Where an eval run folder keeps its settings: run.json, or the config.json of a run of an earlier version."""
    folder = Path(folder)
    legacy = folder / LEGACY_RUN_RECORD
    return legacy if legacy.is_file() and not (folder / RUN_RECORD).is_file() else folder / RUN_RECORD


def read_run_record(folder: Path) -> dict[str, Any] | None:
    """An eval run folder's settings: its run.json, else the config.json a run of an earlier version wrote, else
    None. A record without eval's settings (another command's run.json, a model folder's config.json) is none."""
    path = run_record_path(folder)
    if not path.is_file():
        return None
    record = read_json_object(path, "thinktrim eval run record")
    # an eval run.json records both; every earlier eval's config.json recorded its benchmarks
    needed = {"benchmarks", "generation"} if path.name == RUN_RECORD else {"benchmarks"}
    return record if needed <= record.keys() else None
