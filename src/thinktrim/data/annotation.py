"""One chain's annotation, as `thinktrim refine` stores it in `annotations.jsonl`: one versioned record class
that refine writes, and `refine-check`, the write phase and the report read back whole (the thinking rebuilt
exactly from its step texts, the tokens of each step).

Versions of the record:
- none: written before records carried a version. The same fields, judge failures as a total only; loaded as
  version 0, their failures counted under `unrecorded`. They load rather than being refused: nothing else
  about the record changed, and a folder scored before the change still resumes and writes.
- 1: adds `version` and `judge_failures_by_reason`.
A record of a later version than this thinktrim knows is refused with one line (`AnnotationVersionError`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from thinktrim.data.store import jsonl_record_at, located_jsonl_records
from thinktrim.data.trace import Step
from thinktrim.errors import UserError

ANNOTATION_VERSION = 1
# scored: PIR on every functional unit; the others pass through unpruned, for the reason their name says
STATUSES = ("scored", "no_units", "unclosed", "no_answer", "overlong")
_REQUIRED = ("id", "status", "steps")


class AnnotationVersionError(UserError):
    """An annotation written by a later thinktrim than this one."""


@dataclass
class ChainAnnotation:
    """What refine found in one chain: its steps (kind, link, unit, PIR) over its thinking, tokens per step,
    and why it was not scored when it was not (`status`, `reason`)."""

    id: str
    thinking: str
    steps: list[Step]
    step_tokens: list[int | None] = field(default_factory=list)  # per step, the scoring model's tokenizer
    status: str = "scored"
    reason: str = ""
    location: str = ""  # where the chain is in the input (`file.jsonl:12`)
    answer_target: str = ""  # the text whose likelihood PIR measured: response, answer-field or boxed
    full_nll: float | None = None
    answer_tokens: int | None = None
    context_tokens: int | None = None
    final_value: str | None = None
    final_value_source: str | None = None  # boxed | answer-field
    judge_failures: dict[str, int] = field(default_factory=dict)  # steps the judge could not label, by reason
    judge_vs_markers: list[tuple[str, str]] | None = None  # (markers' kind, judge's kind), with a judge
    version: int = ANNOTATION_VERSION  # the version the record was written in

    @property
    def protected_functional(self) -> int:
        """Functional steps kept out of pruning because they state the final answer (or open the chain)."""
        return sum(1 for s in self.steps if s.protected and s.kind.is_functional)

    @property
    def tokens(self) -> list[int]:
        """Tokens per step, 0 where none were counted."""
        return [t or 0 for t in self.step_tokens] if self.step_tokens else [0] * len(self.steps)

    def texts(self) -> list[str]:
        return [s.text(self.thinking) for s in self.steps]

    def to_record(self) -> dict[str, Any]:
        """The JSON record (always in the current version)."""
        tokens = self.step_tokens or [None] * len(self.steps)
        return {
            "version": ANNOTATION_VERSION,
            "id": self.id,
            "location": self.location,
            "status": self.status,
            "reason": self.reason,
            "answer_target": self.answer_target,
            "full_nll": self.full_nll,
            "answer_tokens": self.answer_tokens,
            "context_tokens": self.context_tokens,
            "final_value": self.final_value,
            "final_value_source": self.final_value_source,
            "protected_functional": self.protected_functional,
            "judge_failures": sum(self.judge_failures.values()),
            "judge_failures_by_reason": dict(self.judge_failures),
            **({"judge_vs_markers": [list(p) for p in self.judge_vs_markers]}
               if self.judge_vs_markers is not None else {}),
            "steps": [{**s.to_dict(self.thinking), "tokens": t} for s, t in zip(self.steps, tokens)],
        }

    @classmethod
    def from_record(cls, rec: Any) -> ChainAnnotation:
        """The annotation a record holds; UserError saying what is wrong with it (AnnotationVersionError
        for a record of a later version)."""
        if not isinstance(rec, dict):
            raise UserError(f"not an annotation record (a JSON {type(rec).__name__}, not an object)")
        version = rec.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise UserError(f"not an annotation record (version {version!r} is not a version number)")
        if version > ANNOTATION_VERSION:
            raise AnnotationVersionError(
                f"written by a later version of thinktrim (annotation version {version}; this one reads up to "
                f"{ANNOTATION_VERSION}): upgrade thinktrim, or rerun into a new folder")
        try:
            missing = [k for k in _REQUIRED if k not in rec]
            if missing:
                raise UserError(f"field {missing[0]!r} missing")
            if rec["status"] not in STATUSES:
                raise UserError(f"status {rec['status']!r} is not one of {', '.join(STATUSES)}")
            steps = [Step.from_dict(d) for d in rec["steps"]]
            texts = [d["text"] for d in rec["steps"]]
            _check_spans(steps, texts)
            failures = rec.get("judge_failures_by_reason")
            if failures is None:  # version 0 kept only the total
                failures = {"unrecorded": rec["judge_failures"]} if rec.get("judge_failures") else {}
            pairs = rec.get("judge_vs_markers")
            return cls(
                id=str(rec["id"]),
                thinking="".join(texts),
                steps=steps,
                step_tokens=[d.get("tokens") for d in rec["steps"]],
                status=rec["status"],
                reason=rec.get("reason", ""),
                location=rec.get("location", ""),
                answer_target=rec.get("answer_target", ""),
                full_nll=rec.get("full_nll"),
                answer_tokens=rec.get("answer_tokens"),
                context_tokens=rec.get("context_tokens"),
                final_value=rec.get("final_value"),
                final_value_source=rec.get("final_value_source"),
                judge_failures={str(k): int(n) for k, n in failures.items()},
                judge_vs_markers=None if pairs is None else [(str(m), str(j)) for m, j in pairs],
                version=version,
            )
        except ValueError as e:
            raise UserError(f"not an annotation record: {e}") from None
        except KeyError as e:
            raise UserError(f"not an annotation record: field {e.args[0]!r} missing") from None
        except (TypeError, AttributeError) as e:
            raise UserError(f"not an annotation record ({type(e).__name__}: {e})") from None


def _check_spans(steps: list[Step], texts: list[Any]) -> None:
    """The steps must tile the thinking their texts make up, in order, from its start."""
    at = 0
    for k, (step, text) in enumerate(zip(steps, texts)):
        if not isinstance(text, str):
            raise TypeError(f"step {k}: text is a {type(text).__name__}")
        if (step.start, step.end) != (at, at + len(text)):
            raise ValueError(f"step {k} spans [{step.start}, {step.end}) but its text is [{at}, {at + len(text)})")
        at = step.end


def read_annotations(path: str | Path) -> Iterator[tuple[int, ChainAnnotation]]:
    """(byte offset of its line, annotation) for each record of an annotations file, in file order; UserError
    naming the file and line of a bad record."""
    for lineno, offset, rec in located_jsonl_records(path):
        yield offset, _annotation(rec, f"{path}:{lineno}")


def load_annotations(path: str | Path) -> dict[str, ChainAnnotation]:
    """Every annotation of a file by chain id (whole in memory: for folders of a size one looks at)."""
    return {ann.id: ann for _, ann in read_annotations(path)}


def check_annotation_version(path: str | Path) -> None:
    """Refuse to add to an annotations file a later thinktrim wrote (as its first record says); whatever else
    may be wrong with the file is for its reader to say."""
    with open(path, "rb") as f:
        first = next((line for line in f if line.strip()), b"")
    try:
        version = json.loads(first.decode("utf-8")).get("version", 0)
    except (ValueError, AttributeError):
        return
    if isinstance(version, int) and version > ANNOTATION_VERSION:
        _annotation({"version": version}, f"{path}:1")


class AnnotationReader:
    """An annotations file open for reading single chains back by the byte offsets `read_annotations` gave."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[bytes] = self.path.open("rb")

    def at(self, offset: int) -> ChainAnnotation:
        where = f"{self.path} (byte {offset})"
        return _annotation(jsonl_record_at(self._file, offset, where), where)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> AnnotationReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _annotation(rec: Any, where: str) -> ChainAnnotation:
    try:
        return ChainAnnotation.from_record(rec)
    except AnnotationVersionError as e:
        raise AnnotationVersionError(f"{where}: {e}") from None
    except UserError as e:
        raise UserError(f"{where}: {e}") from None
