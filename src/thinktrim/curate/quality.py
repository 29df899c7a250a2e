"""LIMO's chain quality score: elaboration (length) 30 %, self-verification 20 %, exploration 25 %,
adaptive granularity 25 %, from keyword counts per word (rubric and keywords: `quality_keywords.yaml`).

`quality_score(text)` is the plain function; `Quality` is the pipeline step, which takes any function of a
`Trace` returning a `QualityScore` or a number, so users can plug in their own (`--quality-fn module:function`).
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from thinktrim.config import load_yaml
from thinktrim.curate.base import StepContext
from thinktrim.curate.records import Problem, QualityScore
from thinktrim.data.trace import Trace
from thinktrim.errors import UserError

_WORD = re.compile(r"[^\W_]+")
QualityFn = Callable[[Trace], "QualityScore | float"]


def words_of(text: str) -> list[str]:
    """The lowercased words of a text: runs of letters or digits (any script); anything else separates."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class RubricPart:
    """One part of the rubric: by length (`full_words`) or by keyword density (`full_per_1000_words`)."""

    name: str
    weight: float
    keywords: tuple[str, ...] = ()
    full_words: float | None = None
    full_per_1000_words: float | None = None

    @cached_property
    def phrases(self) -> tuple[tuple[str, ...], ...]:
        """Each keyword as its words (`double-check` and `double check` are one phrase)."""
        return tuple(dict.fromkeys(tuple(words_of(k)) for k in self.keywords if words_of(k)))

    @cached_property
    def inside(self) -> tuple[tuple[int, int, int], ...]:
        """(short, long, times): phrase `short` occurs `times` times inside the longer phrase `long`."""
        out = []
        for i, short in enumerate(self.phrases):
            for j, long in enumerate(self.phrases):
                if len(long) > len(short):
                    times = sum(long[k : k + len(short)] == short for k in range(len(long) - len(short) + 1))
                    if times:
                        out.append((i, j, times))
        return tuple(out)

    def matches(self, counts: Counter[str], joined: str) -> int:
        """Keyword matches, a keyword inside a longer one of this part counted once (as the longer one).

        Words are counted with a Counter and phrases with `str.count` on the space-joined words: both run in
        C, which keeps 100K chains under a minute (a regex alternation scans every keyword at every position).
        """
        found = [counts[p[0]] if len(p) == 1 else joined.count(" " + " ".join(p) + " ") for p in self.phrases]
        for short, long, times in self.inside:
            found[short] -= found[long] * times
        return sum(found)

    def score(self, words: list[str], counts: Counter[str], joined: str) -> dict[str, float]:
        """{count, value}: the raw figure (words or keyword matches) and the part's score in [0, 1]."""
        if self.full_words is not None:
            return {"count": len(words), "value": min(1.0, len(words) / self.full_words)}
        count = self.matches(counts, joined)
        rate = 1000 * count / len(words) if words else 0.0
        return {"count": count, "value": min(1.0, rate / self.full_per_1000_words)}


@dataclass(frozen=True)
class Rubric:
    parts: tuple[RubricPart, ...] = field(default_factory=tuple)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Rubric:
        """The default rubric (quality_keywords.yaml beside this file), with parts from `path` replacing it."""
        text = resources.files("thinktrim.curate").joinpath("quality_keywords.yaml").read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if path is not None:
            user = load_yaml(path, "--quality-keywords") or {}  # one line naming the file, line and setting
            if not isinstance(user, dict):
                raise UserError(f"--quality-keywords {path}: expected a mapping of rubric parts, got "
                                f"{type(user).__name__}")
            data = {**data, **user}
        return cls.from_mapping(data, str(path or "quality_keywords.yaml"))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str) -> Rubric:
        parts = []
        for name, spec in data.items():
            where = f"{source}: {name}"
            if not isinstance(spec, dict):
                raise UserError(f"{where}: expected a mapping with weight and keywords or full_words")
            unknown = set(spec) - {"weight", "keywords", "full_words", "full_per_1000_words"}
            if unknown:
                raise UserError(f"{where}: unknown keys {sorted(unknown)}")
            weight = spec.get("weight")
            if not isinstance(weight, (int, float)) or weight < 0:
                raise UserError(f"{where}: weight must be a number >= 0, got {weight!r}")
            if "full_words" in spec:
                full = spec["full_words"]
                if not isinstance(full, (int, float)) or full <= 0:
                    raise UserError(f"{where}: full_words must be a number > 0, got {full!r}")
                parts.append(RubricPart(name, float(weight), full_words=float(full)))
                continue
            keywords, full = spec.get("keywords"), spec.get("full_per_1000_words")
            if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
                raise UserError(f"{where}: keywords must be a list of non-empty strings")
            if not isinstance(full, (int, float)) or full <= 0:
                raise UserError(f"{where}: full_per_1000_words must be a number > 0, got {full!r}")
            parts.append(RubricPart(name, float(weight), tuple(k.strip().lower() for k in keywords),
                                    full_per_1000_words=float(full)))
        return cls(tuple(parts))


def count_words(text: str) -> int:
    return len(words_of(text))


def quality_score(text: str, rubric: Rubric | None = None) -> QualityScore:
    """The rubric's weighted score of a chain, with each part's count and value."""
    rubric = rubric or default_rubric()
    words = words_of(text)
    counts, joined = Counter(words), " " + " ".join(words) + " "
    parts = {p.name: p.score(words, counts, joined) for p in rubric.parts}
    total = sum(p.weight * parts[p.name]["value"] for p in rubric.parts)
    return QualityScore(total, parts)


@lru_cache(maxsize=1)
def default_rubric() -> Rubric:
    return Rubric.load()


def rubric_scorer(rubric: Rubric) -> QualityFn:
    """The rubric as a function of a trace: it scores the thinking (the whole response when unclosed)."""

    def score(trace: Trace) -> QualityScore:
        return quality_score(trace.thinking, rubric)

    return score


def load_quality_fn(spec: str) -> QualityFn:
    """`package.module:function` → that function; UserError naming the spec when it cannot be imported."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UserError(f"quality_fn: expected module:function, got {spec!r}")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise UserError(f"quality_fn: cannot load {spec!r} ({e})") from None
    if not callable(fn):
        raise UserError(f"quality_fn: {spec!r} is not callable")
    return fn


@dataclass
class Quality:
    """Score every chain; a problem keeps going whatever its score (selection ranks by it)."""

    score: QualityFn
    name: str = "quality"

    def __call__(self, problems: Iterable[Problem], ctx: StepContext) -> Iterator[Problem]:
        for p in problems:
            for chain in p.chains:
                result = self.score(chain.source.trace)
                chain.quality = result if isinstance(result, QualityScore) else QualityScore(float(result))
            ctx.count(self.name, "chains scored", len(p.chains))
            yield p
