"""Read pools of any layout into problems: every record of one question (several chains, or none) together.

Records are grouped by their question text (outer whitespace aside); problems whose texts differ only by
normalisation are merged later, by exact dedup. A file whose records have a question and a reference answer
but no chain (a benchmark-like file) is read as problems without chains: in `auto` layout when no chain layout
fits its first record, or with `--layout 'question=KEY,answer=KEY'`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from thinktrim.curate.base import StepContext
from thinktrim.curate.records import Chain, Problem
from thinktrim.curate.text import text_hash, tokens
from thinktrim.data.formats import SourceRecord, read_records, read_rows
from thinktrim.data.layouts import ANSWER_KEYS, QUESTION_KEYS, RecordError, detect_layout
from thinktrim.errors import UserError

STEP = "read"
NO_CHAIN = "no-chain"


def problems_layout(record: Any) -> str | None:
    """`question=KEY,answer=KEY` for a record that fits no chain layout but has a question and an answer."""
    if not isinstance(record, dict):
        return None
    try:
        detect_layout(record)
        return None
    except RecordError:
        pass
    question = next((k for k in QUESTION_KEYS if isinstance(record.get(k), str)), None)
    answer = next((k for k in ANSWER_KEYS if record.get(k) is not None), None)
    return f"question={question},answer={answer}" if question and answer else None


def pool_layout(path: str | Path, layout: str, file_format: str, split: str | None = None,
                subset: str | None = None) -> str:
    """The layout to read a pool with: as given, or `auto` unless the file holds problems without chains."""
    if layout != "auto":
        return layout
    for _, _, raw in read_rows(path, file_format, split, subset):
        if isinstance(raw, dict):
            return problems_layout(raw) or "auto"
    return "auto"


def has_chain(record: SourceRecord) -> bool:
    return record.trace.meta.get("split") != NO_CHAIN


def read_pools(
    paths: Sequence[str],
    ctx: StepContext,
    layout: str = "auto",
    file_format: str = "auto",
    on_error: Literal["raise", "skip"] = "raise",
    rejects: list[dict[str, Any]] | None = None,
    split: str | None = None,
    subset: str | None = None,
    start: int = 0,
    end: int | None = None,
) -> Iterator[Problem]:
    """The problems of all pools (files, datasets folders or cached hub ids: `split`, `subset`; each pool's
    records start…end-1), in the order their questions first appear.

    Malformed records raise a RecordError naming file, line and field; with `on_error="skip"` they are
    appended to `rejects` (location, field, reason) and counted.
    """
    stats = ctx.step(STEP)
    by_question: dict[str, Problem] = {}
    order = 0
    for pool, path in enumerate(paths):
        this_layout = pool_layout(path, layout, file_format, split, subset)
        records, rejected = 0, []
        for item in read_records(path, layout=this_layout, file_format=file_format, on_error=on_error,
                                 split=split, subset=subset, start=start, end=end):
            stats.seen += 1
            if isinstance(item, RecordError):
                ctx.count(STEP, "malformed record (skipped)")
                rejected.append(item)
                if rejects is not None:
                    rejects.append({"location": item.location, "field": item.field, "reason": item.reason})
                continue
            records += 1
            question = item.trace.question.strip()
            problem = by_question.get(question)
            if problem is None:
                problem = by_question[question] = Problem(key=text_hash(question), question=question,
                                                          tokens=tokens(question), order=len(by_question))
            add_record(problem, item, pool, order, ctx)
            order += 1
        if not records:  # as refine refuses it: an empty pool is a wrong path or an unfinished export
            if rejected:
                raise UserError(f"{path}: no valid records ({len(rejected)} rejected; the first: {rejected[0]})")
            raise UserError(f"{path}: no records")
    yield from by_question.values()


def add_record(problem: Problem, record: SourceRecord, pool: int, order: int, ctx: StepContext) -> None:
    """Attach a record to its problem: its chain (if any), its pool, and its gold answer."""
    problem.records.append(record)
    if pool not in problem.pools:
        problem.pools.append(pool)
    if has_chain(record):
        problem.chains.append(Chain(record, pool, order))
    meta = record.trace.meta
    gold = meta.get("answer_field")
    if gold is None or not str(gold).strip():
        return
    if problem.gold is None:
        problem.gold, problem.gold_field = str(gold).strip(), meta.get("answer_field_name")
    elif problem.gold != str(gold).strip():
        ctx.count(STEP, "records disagree on the gold answer (first kept)")
