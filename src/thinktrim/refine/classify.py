"""Classify steps into PIR's four modes by marker phrases, link them, and group them into functional units."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import yaml

from thinktrim.data.trace import Step, StepKind
from thinktrim.refine.answer_mentions import mention_spans
from thinktrim.refine.config import read_yaml
from thinktrim.refine.segment import opening_marker_regex

_FIRST_SENTENCE = re.compile(r"^.*?(?:[.!?](?=\s)|\n|$)", re.S)


@dataclass(frozen=True)
class MarkerLexicon:
    """Marker phrases per functional mode; `order` is the priority when several modes match."""

    opening: dict[StepKind, tuple[str, ...]]
    anywhere: dict[StepKind, tuple[str, ...]]
    order: tuple[StepKind, ...]

    @classmethod
    def from_mapping(cls, data: dict, source: str = "<mapping>") -> MarkerLexicon:
        opening, anywhere, order = {}, {}, []
        for name, spec in data.items():
            try:
                kind = StepKind(name)
            except ValueError:
                valid = ", ".join(k.value for k in StepKind if k.is_functional)
                raise ValueError(f"{source}: unknown mode {name!r} (valid: {valid})") from None
            if not kind.is_functional:
                raise ValueError(f"{source}: {name!r} has no markers (steps without markers are progressive)")
            if not isinstance(spec, dict) or not set(spec) <= {"opening", "anywhere"}:
                raise ValueError(f"{source}: mode {name!r} must map to {{opening: [...], anywhere: [...]}}")
            for key, target in (("opening", opening), ("anywhere", anywhere)):
                phrases = spec.get(key) or []
                if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
                    raise ValueError(f"{source}: {name}.{key} must be a list of non-empty strings")
                target[kind] = tuple(p.strip().lower() for p in phrases)
            order.append(kind)
        return cls(opening, anywhere, tuple(order))

    @classmethod
    def load(cls, path: str | Path | None = None) -> MarkerLexicon:
        """The default lexicon (markers.yaml beside this file), with modes from `path` replacing defaults."""
        text = resources.files("thinktrim.refine").joinpath("markers.yaml").read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if path is not None:
            user = read_yaml(path) or {}
            if not isinstance(user, dict):
                raise ValueError(f"{path}: expected a mapping of mode -> {{opening, anywhere}}")
            cls.from_mapping(user, str(path))  # validate with the user's file named in errors
            data = {**user, **{k: v for k, v in data.items() if k not in user}}
        return cls.from_mapping(data, str(path or "markers.yaml"))

    def all_phrases(self) -> list[str]:
        return [p for kind in self.order for p in (*self.opening.get(kind, ()), *self.anywhere.get(kind, ()))]

    def split_regex(self) -> re.Pattern[str]:
        """Any marker phrase opening a sentence: where segmentation starts a new step."""
        return opening_marker_regex(self.all_phrases())

    def match(self, step_text: str) -> tuple[StepKind, str] | None:
        """The mode whose marker opens the step (or appears in its first sentence), with the phrase."""
        first = _FIRST_SENTENCE.match(step_text.lstrip())
        head = (first.group() if first else step_text[:300]).lower()
        for kind in self.order:
            opening = self.opening.get(kind, ())
            if opening:
                m = opening_marker_regex(list(opening)).match(step_text)
                if m:
                    return kind, m.group(1).lower()
            for phrase in self.anywhere.get(kind, ()):
                if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", head):
                    return kind, phrase
        return None


def classify_by_markers(thinking: str, steps: list[Step], lexicon: MarkerLexicon) -> list[Step]:
    """Kind and marker for each step; steps without a marker are progressive (the judge may revise them)."""
    out = []
    for step in steps:
        hit = lexicon.match(thinking[step.start : step.end])
        out.append(replace(step, kind=hit[0], marker=hit[1]) if hit else replace(step, kind=StepKind.PROGRESSIVE))
    return out


def link_to_progressive(steps: list[Step]) -> list[Step]:
    """Link each functional step to the progressive step it checks: the judge's choice when valid, else the
    nearest progressive step before it."""
    out, last_progressive = [], None
    for i, step in enumerate(steps):
        if step.kind is StepKind.PROGRESSIVE:
            last_progressive = i
            out.append(replace(step, link=None))
        else:
            proposed = step.link  # e.g. from the judge: kept only if it names an earlier progressive step
            valid = proposed is not None and proposed < i and steps[proposed].kind is StepKind.PROGRESSIVE
            link = proposed if valid else last_progressive
            out.append(replace(step, link=link))
    return out


def protect(thinking: str, steps: list[Step], final_value: str | None) -> list[Step]:
    """Mark the first step and every step that states the final value (`answer_mentions`): never pruned."""
    spans = mention_spans(thinking, final_value) if final_value else []
    return [
        replace(step, protected=i == 0 or any(a < step.end and step.start < b for a, b in spans))
        for i, step in enumerate(steps)
    ]


def assign_units(steps: list[Step]) -> list[Step]:
    """Number functional units: adjacent unprotected functional steps of one kind linked to one step.

    A unit is removed and scored as a whole (one PIR), so it must be contiguous: a progressive or protected
    step, a change of kind or a change of link closes the current unit.
    """
    out: list[Step] = []
    unit = -1
    prev: Step | None = None
    for step in steps:
        if not step.kind.is_functional or step.protected:
            out.append(replace(step, unit=None))
            prev = None
            continue
        if prev is None or prev.kind is not step.kind or prev.link != step.link:
            unit += 1
        out.append(replace(step, unit=unit))
        prev = step
    return out


def unit_spans(steps: list[Step]) -> list[tuple[int, int]]:
    """One `[start, end)` character span of the thinking per functional unit, in unit order."""
    spans: dict[int, tuple[int, int]] = {}
    for step in steps:
        if step.unit is not None:
            a, b = spans.get(step.unit, (step.start, step.end))
            spans[step.unit] = (min(a, step.start), max(b, step.end))
    return [spans[u] for u in sorted(spans)]
