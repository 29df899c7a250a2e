"""Decontamination: drop pool problems that overlap a benchmark question, and say which item each one matches.

A problem P matches a benchmark item B when
- overlap: at least `threshold` of B's distinct token n-grams occur in P (normalised text, see `text.py`), and
- numbers: every number of B occurs in P as often (multiset inclusion), compared by value, exactly: `\\frac{1}{2}`,
  `\\dfrac12`, `1/2`, `0.5` and `50\\%` are one number (`text.values`), so a copy that only rewrites the notation of
  a number is still a copy, while `0.33` is not `\\frac{1}{3}`.
The overlap is measured on B's n-grams, so a pool problem that quotes a benchmark question inside a longer text
still matches; an item shorter than n tokens counts as one n-gram (the whole item). The number condition is
what makes a problem that differs from B only in its numbers a different problem: its n-grams may overlap B's
a lot, but B's numbers are not all in it. Defaults (n = 5, threshold 0.5) are set so that one changed word,
which removes at most n of B's n-grams, still leaves a typical competition question (25+ tokens) above the
threshold, while five-token phrases ("what is the value of") shared by unrelated problems stay far below it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from thinktrim.curate.base import StepContext
from thinktrim.curate.records import Problem
from thinktrim.curate.text import ngrams, tokens, values
from thinktrim.errors import UserError

ALL = "all"


@dataclass(frozen=True)
class Reference:
    """One benchmark item to check the pool against."""

    source: str  # benchmark name, or the stem of a user file
    id: str
    question: str
    numbers: Counter = field(default=None, hash=False, compare=False)  # by value; None: from the question

    def __post_init__(self) -> None:
        if self.numbers is None:  # values, never the text numbers: the index compares by value
            object.__setattr__(self, "numbers", values(tokens(self.question)))


def bundled_benchmarks() -> list[str]:
    """Every registered test set that ships with thinktrim (gpqa-diamond never does: pass its path; the demo's
    `arith` sums are no test set anyone reports)."""
    from thinktrim.data.benchmarks import get_benchmark, list_benchmarks

    return [name for name in list_benchmarks()
            if get_benchmark(name).filename is not None and get_benchmark(name).reported]


def load_references(benchmarks: Sequence[str], files: Sequence[str]) -> list[Reference]:
    """Items of the named benchmarks (`all`: every bundled one) and of user files.

    A file entry is `NAME=PATH` for a registered benchmark read from a local copy (`gpqa-diamond=gpqa.jsonl`),
    or a path to any file the pool reader takes (questions with or without chains; ids from the records).
    """
    from thinktrim.data.benchmarks import get_benchmark, load_benchmark

    names = [n for b in benchmarks for n in (bundled_benchmarks() if b == ALL else [b])]
    refs: list[Reference] = []
    for name in dict.fromkeys(names):
        refs += _bundled_references(name)
    for entry in files:
        name, sep, path = entry.partition("=")
        if not (sep and not Path(entry).exists()):
            name, path = "", entry
        try:
            if Path(path).is_dir():
                raise IsADirectoryError(path)
            if name:
                get_benchmark(name)  # an unknown name raises, listing the valid ones
                refs += [Reference(name, it.id, it.question) for it in load_benchmark(name, path=path)]
            else:
                refs += _file_references(entry)
        except (UserError, OSError) as e:  # an unknown name, a bad file
            raise UserError(f"--contamination-files {entry}: {_reason(e, path)}") from None
    return refs


def _reason(e: Exception, path: str) -> str:
    """Why one --contamination-files entry cannot be read, without repeating its path."""
    if isinstance(e, FileNotFoundError):
        return "no such file"
    if isinstance(e, IsADirectoryError):
        return "is a folder; expected a file of questions (JSONL, JSON or Parquet)"
    if isinstance(e, OSError):
        return f"cannot read ({e.strerror or e})"
    text = " ".join(str(e.args[0] if isinstance(e, KeyError) and e.args else e).split())
    return text.removeprefix(f"{path}: ").removeprefix(f"{path}:") or type(e).__name__


@cache
def _bundled_references(name: str) -> tuple[Reference, ...]:
    """A bundled benchmark's items (they never change while the package is installed)."""
    from thinktrim.data.benchmarks import load_benchmark

    return tuple(Reference(name, it.id, it.question) for it in load_benchmark(name))


def _file_references(path: str) -> list[Reference]:
    from thinktrim.curate.read import pool_layout
    from thinktrim.data.formats import read_records

    stem = Path(path).stem
    return [Reference(stem, r.trace.id, r.trace.question)
            for r in read_records(path, layout=pool_layout(path, "auto", "auto"))]


class ContaminationIndex:
    """An inverted index from benchmark n-grams to the items that contain them."""

    def __init__(self, references: Sequence[Reference], n: int = 5) -> None:
        if n < 1:
            raise UserError(f"ngram_size: must be >= 1, got {n}")
        self.n = n
        self.references = list(references)
        self.sizes: list[int] = []  # distinct n-gram counts of the items
        self.postings: dict[int, dict[tuple[str, ...], list[int]]] = {}  # n-gram length → n-gram → items
        for i, ref in enumerate(self.references):
            toks = tokens(ref.question)
            grams = ngrams(toks, n)
            self.sizes.append(len(grams))
            by_gram = self.postings.setdefault(min(n, len(toks)), {})
            for g in grams:
                by_gram.setdefault(g, []).append(i)

    def matches(self, toks: Sequence[str], threshold: float) -> list[dict]:
        """Every item P = `toks` matches, best first: {benchmark, id, overlap, question}."""
        shared: Counter[int] = Counter()
        for length, by_gram in self.postings.items():
            if len(toks) < length:
                continue
            for g in ngrams(toks, length):
                for i in by_gram.get(g, ()):
                    shared[i] += 1
        if not shared:
            return []
        nums = None
        hits = []
        for i, count in shared.items():
            overlap = count / self.sizes[i]
            if overlap < threshold:
                continue
            nums = values(toks) if nums is None else nums
            ref = self.references[i]
            if ref.numbers - nums:  # a number of the item is missing from the problem
                continue
            hits.append({"benchmark": ref.source, "id": ref.id, "overlap": round(overlap, 4),
                         "question": ref.question})
        return sorted(hits, key=lambda h: (-h["overlap"], h["benchmark"], h["id"]))


@dataclass
class Decontaminate:
    """Drop problems that match a benchmark item; every hit goes into the problem's audit line."""

    index: ContaminationIndex
    threshold: float = 0.5
    name: str = "decontaminate"

    def __call__(self, problems: Iterable[Problem], ctx: StepContext) -> Iterator[Problem]:
        for p in problems:
            hits = self.index.matches(p.tokens, self.threshold)
            if not hits:
                yield p
                continue
            p.contamination = hits
            for benchmark in dict.fromkeys(h["benchmark"] for h in hits):
                ctx.count(self.name, f"hits in {benchmark}")
            ctx.drop(p, self.name, f"matches {hits[0]['benchmark']}")
