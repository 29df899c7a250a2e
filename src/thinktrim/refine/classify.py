"""Classify steps into PIR's four step kinds by marker phrases, link them, and group them into functional units.

A step's kind comes from the marker that opens it, or from a phrase in its first sentence that shows what it
does ("that's correct", "this is wrong"). Openers listed as `weak` in the lexicon ("Wait", "Hold on") open
checks, corrections, new plans and plain doubts alike, so by default a step they open takes the kind its
sentences show, and stays progressive when they show none. A step that only redoes arithmetic already written
earlier (every `a op b = c` in it appears before) is a verification.

Error correction is a step that rejects or repairs something said before. Besides its marker phrases, two
classes of sentence show it (`REFUTATION`): a negative verdict whose subject is earlier work ("that was wrong",
"my count is off", "this approach is flawed", "I made an error", "I forgot the factor 2"), asserted rather than
asked ("Did I make a mistake?" is a check), and a value replacing another ("= 0.08, not 0.94"). Openers listed
as `retracting` ("Actually", "Not quite") take back what was just said: a step they open is error correction unless
its sentences show a check or another method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml

from thinktrim.config import Config, load_yaml
from thinktrim.data.trace import Step, StepKind
from thinktrim.errors import UserError
from thinktrim.refine.answer_mentions import mention_spans
from thinktrim.refine.segment import opening_marker_regex, phrase_alternatives

WeakMarkers = Literal["content", "marker"]

_FIRST_SENTENCE = re.compile(r"^.*?(?:[.!?](?=\s)|\n|$)", re.S)
# Arithmetic with its result, "24 * 18 = 432" or "1 + 3*121 = 364": what a recomputation writes again.
_COMPUTATION = re.compile(r"\d[\d.,]*\s*(?:[-+*/×÷^·]\s*\(?\d[\d.,]*\)?\s*)+=\s*-?\d[\d.,]*")
_LISTS = ("weak", "retracting", "progress")  # top-level phrase lists of the lexicon, beside the kinds
# Subjects that point back at earlier work, and verdicts that reject it.
_EARLIER = (r"(?:that|this|(?:this|that|my|our|the)\s+(?:previous\s+|earlier\s+|first\s+|initial\s+|above\s+)?"
            r"(?:approach|reasoning|assumption|model|formula|calculation|computation|count|counting|answer|result|"
            r"method|logic|recurrence|conclusion|equation|setup|value|reading|interpretation|idea|step|sum|"
            r"solution|derivation|expression|claim|analysis|guess|estimate))")
_VERDICT = (r"(?:'s|\s+is|\s+was|\s+are|\s+were|\s+must\s+be|\s+must\s+have\s+been|\s+seems(?:\s+to\s+be)?|"
            r"\s+seemed)(?:\s+(?:also|actually|clearly|definitely|probably|still|all))?\s+"
            r"(?:wrong|incorrect|flawed|invalid|off|mistaken|not\s+(?:right|correct|valid|true))")
_ADMISSION = (r"\bi\s+(?:must\s+have\s+|probably\s+|might\s+have\s+|may\s+have\s+|think\s+i\s+|clearly\s+)?"
              r"(?:made\s+(?:a|an|the)\s+(?:mistake|error|miscalculation|typo)|miscalculated|miscounted|misread|"
              r"misapplied|mixed\s+up|confused|forgot|overcounted|undercounted|double[- ]counted)")
_REPLACED_VALUE = r"\d[\d.,]*\)?\$?\s*,?\s+not\s+\$?-?\d"
# A sentence that rejects or repairs earlier work; `(?![^.!?\n]*\?)`: not one that asks whether it should.
REFUTATION = re.compile(rf"(?:\b{_EARLIER}{_VERDICT}\b|{_ADMISSION}\b|{_REPLACED_VALUE})(?![^.!?\n]*\?)", re.I)


@dataclass(frozen=True)
class ClassifyConfig(Config):
    """How marker phrases and what a step does decide its kind."""

    weak_markers: WeakMarkers = field(default="content", metadata={
        "help": "A step opened only by a weak marker (Wait, Hold on): content = the kind its sentences show (a "
                "check, a verdict, a refutation), else progressive; marker = the kind the lexicon lists the phrase "
                "under (the paper's Table 4 reading: Wait = verification)."})
    repeated_computation: bool = field(default=True, metadata={
        "help": "A step with no marker whose every computation (a op b = c) appears earlier in the chain is a "
                "verification."})
    refutations: bool = field(default=True, metadata={
        "help": "A step with no marker that rejects or repairs earlier work (\"that was wrong\", \"I made an "
                "error\", \"= 0.08, not 0.94\"; not a question) is error correction, and such a sentence opens a "
                "step of its own out of forward reasoning."})


@dataclass(frozen=True)
class MarkerLexicon:
    """Marker phrases per functional kind; `order` is the priority when several kinds match.

    `weak`: openers that open a step without telling its kind; `retracting`: openers that take back what was
    just said, making a step error correction unless its sentences show another kind; `progress`: sentence
    openers where forward reasoning resumes, which end a functional step (segment.py).
    """

    opening: dict[StepKind, tuple[str, ...]]
    anywhere: dict[StepKind, tuple[str, ...]]
    order: tuple[StepKind, ...]
    weak: tuple[str, ...] = ()
    retracting: tuple[str, ...] = ()
    progress: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: dict, source: str = "<mapping>") -> MarkerLexicon:
        opening, anywhere, order = {}, {}, []
        lists = {}
        for key in _LISTS:
            phrases = data.get(key) or []
            if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
                raise UserError(f"{source}: {key} must be a list of non-empty strings")
            lists[key] = tuple(p.strip().lower() for p in phrases)
        for name, spec in data.items():
            if name in _LISTS:
                continue
            try:
                kind = StepKind(name)
            except ValueError:
                valid = ", ".join([*(k.value for k in StepKind if k.is_functional), *_LISTS])
                raise UserError(f"{source}: unknown kind {name!r} (valid: {valid})") from None
            if not kind.is_functional:
                raise UserError(f"{source}: {name!r} has no markers (steps without markers are progressive)")
            if not isinstance(spec, dict) or not set(spec) <= {"opening", "anywhere"}:
                raise UserError(f"{source}: kind {name!r} must map to {{opening: [...], anywhere: [...]}}")
            for key, target in (("opening", opening), ("anywhere", anywhere)):
                phrases = spec.get(key) or []
                if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
                    raise UserError(f"{source}: {name}.{key} must be a list of non-empty strings")
                target[kind] = tuple(p.strip().lower() for p in phrases)
            order.append(kind)
        return cls(opening, anywhere, tuple(order), **lists)

    @classmethod
    def load(cls, path: str | Path | None = None) -> MarkerLexicon:
        """The default lexicon (markers.yaml beside this file), with kinds from `path` replacing defaults."""
        text = resources.files("thinktrim.refine").joinpath("markers.yaml").read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if path is not None:
            user = load_yaml(path, "--markers") or {}
            if not isinstance(user, dict):
                raise UserError(f"{path}: expected a mapping of kind -> {{opening, anywhere}}")
            cls.from_mapping(user, str(path))  # validate with the user's file named in errors
            data = {**user, **{k: v for k, v in data.items() if k not in user}}
        return cls.from_mapping(data, str(path or "markers.yaml"))

    def all_phrases(self) -> list[str]:
        return [p for kind in self.order for p in (*self.opening.get(kind, ()), *self.anywhere.get(kind, ()))]

    def split_regex(self) -> re.Pattern[str]:
        """Any opening phrase (or weak opener) opening a sentence: where segmentation starts a new step.

        `anywhere` phrases split through `evidence_regex`, out of forward reasoning only, so a verdict such as
        "Correct." stays with the check it closes.
        """
        phrases = [p for kind in self.order for p in self.opening.get(kind, ())]
        return opening_marker_regex(phrases + list(self.weak) + list(self.retracting))

    def evidence_regex(self) -> re.Pattern[str] | None:
        """Any `anywhere` phrase inside a sentence: a sentence that shows a check or a correction."""
        phrases = [p for kind in self.order for p in self.anywhere.get(kind, ())]
        return re.compile(rf"(?<!\w)(?:{phrase_alternatives(phrases)})(?!\w)", re.I) if phrases else None

    def progress_regex(self) -> re.Pattern[str] | None:
        """A `progress` phrase opening a sentence: forward reasoning resumes."""
        return opening_marker_regex(self.progress) if self.progress else None

    @cached_property
    def _opening_regex(self) -> dict[tuple[StepKind, bool], re.Pattern[str]]:
        """Per kind, its opening phrases after interjections; with weak openers as lead-ins or as markers."""
        out = {}
        for kind in self.order:
            for content in (True, False):
                phrases = [p for p in self.opening.get(kind, ()) if not (content and p in self.weak)]
                if phrases:
                    lead_in = (*self.weak, *self.retracting) if content else self.retracting
                    out[(kind, content)] = opening_marker_regex(phrases, lead_in)
        return out

    @cached_property
    def _weak_regex(self) -> re.Pattern[str] | None:
        return opening_marker_regex(self.weak) if self.weak else None

    @cached_property
    def _retracting_regex(self) -> re.Pattern[str] | None:
        return opening_marker_regex(self.retracting, self.weak) if self.retracting else None  # "Wait, actually"

    @cached_property
    def _anywhere_regex(self) -> dict[StepKind, re.Pattern[str]]:
        return {
            kind: re.compile(rf"(?<!\w)({phrase_alternatives(self.anywhere[kind])})(?!\w)", re.I)
            for kind in self.order
            if self.anywhere.get(kind)
        }

    def match(self, step_text: str, weak_markers: str = ClassifyConfig.weak_markers) -> tuple[StepKind, str] | None:
        """The kind whose marker opens the step (or appears in its first sentence), with the phrase.

        With `weak_markers="content"` a weak opener decides nothing: the phrase after it, or an `anywhere`
        phrase in any sentence of the step, does. So with a retracting opener, which decides error correction
        when nothing else in the step does.
        """
        content = weak_markers == "content"
        first = _FIRST_SENTENCE.match(step_text.lstrip())
        head = first.group() if first else step_text[:300]
        opened_weak = content and any(rx is not None and rx.match(step_text)
                                      for rx in (self._weak_regex, self._retracting_regex))
        for where in (head, step_text) if opened_weak else (head,):
            for kind in self.order:
                rx = self._opening_regex.get((kind, content))
                m = rx.match(step_text) if rx and where is head else None
                if m:
                    return kind, m.group(1).lower()
                m = self._anywhere_regex[kind].search(where) if kind in self._anywhere_regex else None
                if m:
                    return kind, m.group(1).lower()
        m = self._retracting_regex.match(step_text) if self._retracting_regex is not None else None
        return (StepKind.ERROR_CORRECTION, m.group(1).lower()) if m else None


def repeats_earlier_computation(thinking: str, step: Step) -> bool:
    """Every computation written in the step (at least one) appears, white space aside, before it."""
    done = [re.sub(r"\s+", "", m.group()) for m in _COMPUTATION.finditer(thinking, step.start, step.end)]
    if not done:
        return False
    before = re.sub(r"\s+", "", thinking[: step.start])
    return all(c in before for c in done)


def classify_by_markers(
    thinking: str, steps: list[Step], lexicon: MarkerLexicon, config: ClassifyConfig | None = None
) -> list[Step]:
    """Kind and marker for each step; steps without a marker are progressive (the judge may revise them)."""
    config = config or ClassifyConfig()
    out = []
    for i, step in enumerate(steps):
        text = thinking[step.start : step.end]
        hit = lexicon.match(text, config.weak_markers)
        if hit is None and config.refutations and (m := REFUTATION.search(text)):
            hit = StepKind.ERROR_CORRECTION, f"(refutation: {' '.join(m.group().split()).lower()})"
        if hit is None and i > 0 and config.repeated_computation and repeats_earlier_computation(thinking, step):
            hit = StepKind.VERIFICATION, "(repeated computation)"
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

    An error correction takes the attempt it abandons into its unit: the steps from its linked progressive
    step up to it (the wrong result, and any check of it) are removed and scored with it, so a refined chain
    never keeps a wrong result whose correction was removed. When one of those steps is protected (the first
    step, or one stating the final answer) the attempt must stay, so the correction stays too (no unit); so
    also when the linked step is not the nearest progressive one (a judge's link further back): removing all
    the reasoning in between would cut far more than the detour.
    """
    owner = list(range(len(steps)))  # the step whose kind and link decide each step's unit
    pinned: set[int] = set()
    for i, step in enumerate(steps):
        if step.kind is StepKind.ERROR_CORRECTION and not step.protected and step.link is not None:
            between = range(step.link, i)
            if any(steps[j].protected or (j > step.link and not steps[j].kind.is_functional) for j in between):
                pinned.add(i)
            else:
                for j in between:
                    owner[j] = i
    out: list[Step] = []
    unit = -1
    prev: tuple[StepKind, int | None] | None = None
    for j, step in enumerate(steps):
        head = steps[owner[j]]
        if not head.kind.is_functional or step.protected or owner[j] in pinned:
            out.append(replace(step, unit=None))
            prev = None
            continue
        key = (head.kind, head.link)
        if prev != key or (owner[j] != j and j == head.link):  # an abandoned attempt opens its correction's unit
            unit += 1
        out.append(replace(step, unit=unit))
        prev = key
    return out


def unit_spans(steps: list[Step]) -> list[tuple[int, int]]:
    """One `[start, end)` character span of the thinking per functional unit, in unit order."""
    spans: dict[int, tuple[int, int]] = {}
    for step in steps:
        if step.unit is not None:
            a, b = spans.get(step.unit, (step.start, step.end))
            spans[step.unit] = (min(a, step.start), max(b, step.end))
    return [spans[u] for u in sorted(spans)]
