"""Benchmark registry: which test sets exist, their answer kind, and loaders that normalise them.

The bundled files are byte-for-byte copies of their sources (see NOTICE), so they stay checkable against
upstream; normalisation happens here, on load: gsm8k's answer is the number after "####", amc23's floats
become integers, aime25's prompt loses the boxed instruction the system prompt already gives. arith is
thinktrim's own: small sums that the embedded model partly solves, for `make demo`.
GPQA-Diamond is never bundled (its authors ask that it not be posted in plain text): pass its path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any

from thinktrim.answers import AnswerKind, check_kind
from thinktrim.data.formats import detect_format, read_objects
from thinktrim.data.hf import is_dataset_source
from thinktrim.data.layouts import RecordError, lookup_field
from thinktrim.errors import UserError


@dataclass(frozen=True)
class BenchmarkItem:
    """One question with its reference answer, normalised to a string."""

    id: str
    question: str
    answer: str
    kind: AnswerKind
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


RecordParser = Callable[[dict[str, Any], int], tuple[str, str, str, dict[str, Any]]]


@dataclass(frozen=True)
class Benchmark:
    """A registered test set. `filename` is None for sets that are loaded from a user-given path only."""

    name: str
    kind: AnswerKind
    description: str
    version: str
    size: int
    source: str
    license: str
    filename: str | None
    parse: RecordParser = field(repr=False, compare=False)
    # A test set people report on, so training data is decontaminated against it (`curate --benchmarks all`);
    # not the demo's own sums.
    reported: bool = True


class UnknownBenchmarkError(UserError, KeyError):
    """An unknown benchmark name; a user error, also catchable as KeyError (registry lookup)."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


_BOXED_INSTRUCTION = re.compile(
    r"\s*Please reason step[ -]by[ -]step,? and put your final answer within \\boxed\{\}\.?\s*$"
)


def _get(record: dict[str, Any], name: str) -> Any:
    """A field by name, or by dotted path into nested fields (`meta.answer`, `choices.0`)."""
    if name in record:
        return record[name]
    value = lookup_field(record, name)[1]
    if value is None:
        raise RecordError(None, None, name, f"missing (fields present: {', '.join(record) or 'none'})")
    return value


def _text(record: dict[str, Any], name: str) -> str:
    value = _get(record, name)
    if not isinstance(value, str) or not value.strip():
        raise RecordError(None, None, name, f"expected a non-empty string, got {value!r:.60}")
    return value.strip()


def _answer(record: dict[str, Any], name: str) -> str:
    """Answers as strings: 27.0 → "27", 70 → "70"."""
    value = _get(record, name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise RecordError(None, None, name, f"expected a non-empty string or a number, got {value!r:.60}")


def _aime24(r: dict[str, Any], i: int) -> tuple[str, str, str, dict[str, Any]]:
    return str(_get(r, "id")), _text(r, "problem"), _answer(r, "answer"), {"url": r.get("url")}


def _aime25(r: dict[str, Any], i: int) -> tuple[str, str, str, dict[str, Any]]:
    # no id in the source: the 0-based line order (problems I-1..I-15 then II-1..II-15) is the id
    return str(i), _BOXED_INSTRUCTION.sub("", _text(r, "prompt")), _answer(r, "answer"), {}


def _amc23(r: dict[str, Any], i: int) -> tuple[str, str, str, dict[str, Any]]:
    return str(_get(r, "id")), _text(r, "problem"), _answer(r, "answer"), {"url": r.get("url")}


def _math500(r: dict[str, Any], i: int) -> tuple[str, str, str, dict[str, Any]]:
    meta = {"subject": r.get("subject"), "level": r.get("level")}
    return str(_get(r, "unique_id")), _text(r, "problem"), _answer(r, "answer"), meta


def _gsm8k(r: dict[str, Any], i: int) -> tuple[str, str, str, dict[str, Any]]:
    solution = _text(r, "answer")
    if "####" not in solution:
        raise RecordError(None, None, "answer", "expected a solution ending in '#### <number>'")
    final = solution.rsplit("####", 1)[1].strip().replace(",", "")  # "1,600" → "1600"
    return str(_get(r, "idx")), _text(r, "question"), final, {}


def _olymmath(r: dict[str, Any], i: int) -> tuple[str, str, str, dict[str, Any]]:
    return str(_get(r, "unique_id")), _text(r, "problem"), _answer(r, "answer"), {"subject": r.get("subject")}


def _arith(r: dict[str, Any], i: int) -> tuple[str, str, str, dict[str, Any]]:
    return str(_get(r, "id")), _text(r, "question"), _answer(r, "answer"), {}


def _gpqa(r: dict[str, Any], i: int) -> tuple[str, str, str, dict[str, Any]]:
    # the question keeps its own instruction to box the choice letter: the system prompt asks for an answer,
    # not for a letter
    return str(_get(r, "id")), _text(r, "question"), _answer(r, "answer"), {}


_LIMO = "GAIR-NLP/LIMO (eval/data)"
_REGISTRY: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("aime24", "number", "AIME 2024 I and II, integer answers 0-999", "1", 30, _LIMO,
                  "public competition problems", "aime24.jsonl", _aime24),
        Benchmark("aime25", "number", "AIME 2025 I and II, integer answers 0-999", "1", 30,
                  "QwenLM/QwQ (eval/data/aime25.jsonl)", "Apache-2.0", "aime25.jsonl", _aime25),
        Benchmark("amc23", "number", "AMC 12 2023 problems with numeric answers", "1", 40, _LIMO,
                  "public competition problems", "amc23.jsonl", _amc23),
        Benchmark("math500", "expression", "MATH-500 (Lightman et al.): LaTeX answers, 5 levels, 7 subjects",
                  "1", 500, _LIMO, "MIT (MATH)", "math500.jsonl", _math500),
        Benchmark("gsm8k", "number", "GSM8K test: grade-school word problems, integer answers", "1", 1319,
                  "QwenLM/Qwen2.5-Math", "MIT (GSM8K)", "gsm8k.jsonl", _gsm8k),
        Benchmark("olymmath-easy", "expression", "OlymMATH EN, easy split (AIME level)", "1", 100,
                  "RUCAIBox/Slow_Thinking_with_LLMs", "MIT", "olymmath-easy.jsonl", _olymmath),
        Benchmark("olymmath-hard", "expression", "OlymMATH EN, hard split (olympiad level)", "1", 100,
                  "RUCAIBox/Slow_Thinking_with_LLMs", "MIT", "olymmath-hard.jsonl", _olymmath),
        Benchmark("arith", "number", "one- and two-step arithmetic with small numbers, written for thinktrim: "
                  "a set the embedded model partly solves (make demo)", "1", 30, "thinktrim", "Apache-2.0",
                  "arith.jsonl", _arith, reported=False),
        Benchmark("gpqa-diamond", "choice", "GPQA Diamond: graduate-level science, choice A-D; load it "
                  "from a local path", "1", 198, _LIMO, "CC-BY-4.0, not redistributed", None, _gpqa),
    )
}  # fmt: skip


def list_benchmarks() -> list[str]:
    return list(_REGISTRY)


def get_benchmark(name: str) -> Benchmark:
    if name not in _REGISTRY:
        raise UnknownBenchmarkError(f"unknown benchmark {name!r}; valid names: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def _located_records(path: Path | str, split: str | None = None,
                     subset: str | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(location, `line N` or `record N`, record) of a benchmark file (JSONL, JSON or Parquet), datasets folder
    or cached hub dataset."""

    unit = "record" if is_dataset_source(path) or detect_format(path) != "jsonl" else "line"
    for pos, where, record in read_objects(path, split=split, subset=subset):
        yield where, f"{unit} {pos}", record


def _load(path: Path | str, parse: RecordParser, kind: AnswerKind, prefix: str, limit: int | None,
          split: str | None = None, subset: str | None = None, start: int = 0,
          end: int | None = None) -> list[BenchmarkItem]:
    """The items of records start…end-1 (0-based, in file order), at most `limit` of them."""
    if limit is not None and limit < 1:
        raise UserError(f"limit={limit} must be >= 1 (or None for all)")
    if not (is_dataset_source(path) or Path(path).is_file()):
        raise FileNotFoundError(f"{path}: no such benchmark file")
    items: list[BenchmarkItem] = []
    seen: dict[str, str] = {}
    for index, (where, label, record) in islice(enumerate(_located_records(path, split, subset)), start, end):
        try:
            rid, question, answer, meta = parse(record, index)
        except RecordError as e:
            raise UserError(f"{where}: {e}") from None
        item_id = f"{prefix}-{rid}"
        if item_id in seen:
            raise UserError(f"{where}: id {rid!r} repeats the id on {seen[item_id]}")
        seen[item_id] = label
        items.append(BenchmarkItem(item_id, question, answer, kind, meta))
        if limit is not None and len(items) >= limit:
            break
    return items


def load_benchmark(name: str, path: str | None = None, limit: int | None = None, start: int = 0,
                   end: int | None = None) -> list[BenchmarkItem]:
    """Items of a registered benchmark, from the bundled copy or from `path` (same record layout).

    Ids are `<name>-<source id>` (the source's own id where it has one), so they are stable across runs
    and unique when several benchmarks share one results file.
    """
    bench = get_benchmark(name)
    if path is None:
        if bench.filename is None:
            raise UserError(
                f"benchmark {name!r} is not bundled with thinktrim ({bench.license}); pass the path of a "
                "local copy (load_benchmark(name, path=...); `thinktrim eval --path FILE`)"
            )
        with resources.as_file(resources.files("thinktrim.data") / "benchmarks" / bench.filename) as p:
            return _load(p, bench.parse, bench.kind, name, limit, start=start, end=end)
    return _load(path, bench.parse, bench.kind, name, limit, start=start, end=end)


def load_custom(
    path: str,
    question_field: str,
    answer_field: str,
    kind: AnswerKind = "expression",
    id_field: str | None = None,
    limit: int | None = None,
    split: str | None = None,
    subset: str | None = None,
    start: int = 0,
    end: int | None = None,
) -> list[BenchmarkItem]:
    """Items from any JSONL, JSON or Parquet file (fields may be dotted paths); ids are `<file stem>-<id field>`
    or `<file stem>-<record index>`.

    Other fields are kept in `meta`. A missing field, empty question or unusable answer is an error that
    names the file, line and field.
    """
    check_kind(kind)

    def parse(r: dict[str, Any], i: int) -> tuple[str, str, str, dict[str, Any]]:
        rid = str(_get(r, id_field)) if id_field else str(i)
        meta = {k: v for k, v in r.items() if k not in (question_field, answer_field, id_field)}
        return rid, _text(r, question_field), _answer(r, answer_field), meta

    return _load(path, parse, kind, Path(path).stem, limit, split, subset, start, end)
