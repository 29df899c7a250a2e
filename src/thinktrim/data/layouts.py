"""The record layouts long-CoT datasets come in, and where each keeps its question, thinking and answer.

Pure functions over one decoded record (a dict): `detect_layout` names the layout, `parse_record` finds the
question, the thinking (as a span of one string field, so it can be replaced in place) and the answer.
File I/O lives in `formats.py`, the think markers in `thinking.py`. (A little over 400 lines: one parser per
layout, side by side with the detection table, so a new layout is added in one place.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from thinktrim.data.thinking import final_answer_start, split_spans, strip_span
from thinktrim.errors import UserError

LAYOUTS: tuple[str, ...] = ("limo", "s1k", "messages", "sharegpt", "alpaca", "response")

QUESTION_KEYS = ("question", "problem", "prompt")
RESPONSE_KEYS = ("response", "output", "completion", "generation")
# Ground-truth names first: a bare `answer` beside a model response is often the model's own answer.
ANSWER_KEYS = ("correct_answer", "gt_answer", "answer")
REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")  # DeepSeek API / vLLM / HF chat templates

class RecordError(UserError):
    """A malformed record, naming file, line (JSONL, 1-based) or record index (JSON/Parquet) and field."""

    def __init__(
        self,
        path: str | None,
        line: int | None,
        field: str | None,
        reason: str,
        unit: Literal["line", "record"] = "line",
    ) -> None:
        self.path, self.line, self.field, self.reason, self.unit = path, line, field, reason, unit
        super().__init__(str(self))

    @property
    def location(self) -> str:
        """`data.jsonl:12` for a JSONL line; `data.json[3]` for the record at index 3 of JSON/Parquet."""
        if self.path is None:
            return ""
        if self.line is None:
            return self.path
        return f"{self.path}:{self.line}" if self.unit == "line" else f"{self.path}[{self.line}]"

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:  # picklable across worker processes
        return RecordError, (self.path, self.line, self.field, self.reason, self.unit)

    def at(self, path: str, line: int, unit: Literal["line", "record"]) -> RecordError:
        return RecordError(path, line, self.field, self.reason, unit)

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        what = f"field '{self.field}': " if self.field else ""
        return f"{where}{what}{self.reason}"


@dataclass(frozen=True)
class Parsed:
    """One record's parts. Its thinking is `record[slot...][span[0]:span[1]]`, outer whitespace excluded."""

    question: str
    thinking: str
    response: str  # the text after the thinking (Trace.response), not the gold answer
    closed: bool
    slot: tuple[str | int, ...]
    span: tuple[int, int]
    split: str  # how it was delimited: "</think>", "attempt", "final-answer", "boxed-paragraph", "unclosed"...
    meta: dict[str, Any] = field(default_factory=dict)
    joined: bool = False  # s1K list of several trajectories, read joined: written back as one element


# ----------------------------------------------------------------------------------------- field checking


def _str_field(record: dict[str, Any], key: str, *, required: bool = True, nonempty: bool = False) -> str:
    if key not in record or record[key] is None:
        if required:
            raise RecordError(None, None, key, "missing")
        return ""
    value = record[key]
    if not isinstance(value, str):
        raise RecordError(None, None, key, f"expected a string, got {type(value).__name__}")
    if nonempty and not value.strip():
        raise RecordError(None, None, key, "empty")
    return value


def _first_key(record: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in record), None)


def _answer_meta(record: dict[str, Any], keys: tuple[str, ...] = ANSWER_KEYS) -> dict[str, Any]:
    """The short reference answer, as text, for `--answer-target answer-field` (integral floats as ints)."""
    for key in keys:
        value = record.get(key)
        if value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return {"answer_field": text, "answer_field_name": key}
    return {}


def _from_response(question: str, text: str, slot: tuple[str | int, ...], meta: dict[str, Any]) -> Parsed:
    sp = split_spans(text)
    if sp is None:
        span = strip_span(text, 0, len(text))
        return Parsed(question, text[slice(*span)], "", False, slot, span, "unclosed", meta)
    split = sp.marker if sp.closed else "unclosed"
    thinking, answer = text[slice(*sp.thinking)], text[slice(*sp.answer)]
    return Parsed(question, thinking, answer, sp.closed, slot, sp.thinking, split, meta)


def _from_fields(
    question: str,
    thinking_text: str,
    answer_text: str,
    slot: tuple[str | int, ...],
    split: str,
    meta: dict[str, Any],
) -> Parsed:
    """Thinking and answer kept in separate fields: closed exactly when there is an answer."""
    span = strip_span(thinking_text, 0, len(thinking_text))
    answer = answer_text.strip()
    closed = bool(answer)
    return Parsed(
        question,
        thinking_text[slice(*span)],
        answer,
        closed,
        slot,
        span,
        split if closed else "unclosed",
        meta,
    )


# -------------------------------------------------------------------------------------------- the layouts


def _parse_limo(r: dict[str, Any]) -> Parsed:
    qkey = _first_key(r, ("question", "problem")) or "question"
    question = _str_field(r, qkey, nonempty=True)
    solution = _str_field(r, "solution")
    meta = _answer_meta(r, ("answer",))
    if split_spans(solution) is not None:  # a LIMO-like file that does carry think markers
        return _from_response(question, solution, ("solution",), meta)
    found = final_answer_start(solution)
    if found is None:
        span = strip_span(solution, 0, len(solution))
        return Parsed(question, solution[slice(*span)], "", False, ("solution",), span, "unclosed", meta)
    start, how = found
    span = strip_span(solution, 0, start)
    answer = solution[start:].strip()
    return Parsed(question, solution[slice(*span)], answer, True, ("solution",), span, how, meta)


_S1K_FIELDS = (  # s1K-1.0, then s1K-1.1 (which ships DeepSeek-R1 and Gemini traces; the R1 ones are used)
    ("thinking_trajectories", "attempt"),
    ("deepseek_thinking_trajectory", "deepseek_attempt"),
)


def _parse_s1k(r: dict[str, Any]) -> Parsed:
    question = _str_field(r, "question", nonempty=True)
    tkey, akey = next(((t, a) for t, a in _S1K_FIELDS if t in r), _S1K_FIELDS[0])
    attempt = _str_field(r, akey)
    meta = _answer_meta(r, (*ANSWER_KEYS, "solution"))
    value = r.get(tkey)
    if isinstance(value, str):
        return _from_fields(question, value, attempt, (tkey,), akey, meta)
    if value is None:
        raise RecordError(None, None, tkey, "missing")
    if not isinstance(value, list) or not value:
        raise RecordError(None, None, tkey, "expected a non-empty list of strings or a string")
    for i, part in enumerate(value):
        if not isinstance(part, str):
            raise RecordError(None, None, f"{tkey}[{i}]", f"expected a string, got {type(part).__name__}")
    if len(value) == 1:
        return _from_fields(question, value[0], attempt, (tkey, 0), akey, meta)
    joined = "\n\n".join(p.strip() for p in value)
    parsed = _from_fields(question, joined, attempt, (tkey,), akey, {**meta, "trajectories": len(value)})
    return replace(parsed, joined=True)


def _content_text(content: Any, where: str) -> str:
    """A message content: a string, or a list of parts of which the text parts are joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if texts and all(isinstance(t, str) for t in texts):
            return "\n".join(texts)
    got = type(content).__name__
    raise RecordError(None, None, where, f"expected a string or a list of text parts, got {got}")


def _parse_turns(r: dict[str, Any], key: str, role_keys: tuple[tuple[str, str], ...], roles: dict[str, str]) -> Parsed:
    """Chat layouts: the last assistant turn holds the thinking, the last user turn before it the question."""
    turns = r.get(key)
    if turns is None:
        raise RecordError(None, None, key, "missing")
    if not isinstance(turns, list) or not turns:
        raise RecordError(None, None, key, "expected a non-empty list of turns")
    kinds: list[str] = []
    for i, t in enumerate(turns):
        if not isinstance(t, dict):
            raise RecordError(None, None, f"{key}[{i}]", f"expected an object, got {type(t).__name__}")
        role_key = next((rk for rk, _ in role_keys if rk in t), None)
        if role_key is None:
            raise RecordError(None, None, f"{key}[{i}]", f"no '{role_keys[0][0]}' key")
        role = t[role_key]
        if not isinstance(role, str):
            raise RecordError(None, None, f"{key}[{i}].{role_key}", "expected a string")
        kinds.append(roles.get(role.lower(), "other"))
    if "assistant" not in kinds:
        raise RecordError(None, None, key, "no assistant turn")
    a = len(kinds) - 1 - kinds[::-1].index("assistant")
    u = next((i for i in range(a - 1, -1, -1) if kinds[i] == "user"), None)
    if u is None:
        raise RecordError(None, None, key, "no user turn before the last assistant turn")

    def content_key(i: int) -> str:
        return dict(role_keys)[next(rk for rk, _ in role_keys if rk in turns[i])]

    ukey = content_key(u)
    question = _content_text(turns[u].get(ukey), f"{key}[{u}].{ukey}")
    if not question.strip():
        raise RecordError(None, None, f"{key}[{u}].{ukey}", "empty question")
    meta = _answer_meta(r)
    s = next((i for i in range(a) if kinds[i] == "system"), None)
    if s is not None:
        meta["system"] = _content_text(turns[s].get(content_key(s)), f"{key}[{s}].{content_key(s)}")
    elif isinstance(r.get("system"), str):
        meta["system"] = r["system"]
    meta["turns"] = len(turns)
    turn, akey = turns[a], content_key(a)
    for rkey in REASONING_KEYS:
        if isinstance(turn.get(rkey), str) and turn[rkey].strip():
            content = turn.get(akey)
            answer = "" if content is None else _content_text(content, f"{key}[{a}].{akey}")
            return _from_fields(question, turn[rkey], answer, (key, a, rkey), rkey, meta)
    content = turn.get(akey)
    if not isinstance(content, str):
        got = "nothing" if content is None else type(content).__name__
        raise RecordError(None, None, f"{key}[{a}].{akey}", f"expected a string, got {got}")
    return _from_response(question, content, (key, a, akey), meta)


_OPENAI_ROLES = {"user": "user", "assistant": "assistant", "system": "system"}
_SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", **_OPENAI_ROLES}


def _parse_messages(r: dict[str, Any]) -> Parsed:
    return _parse_turns(r, "messages", (("role", "content"),), _OPENAI_ROLES)


def _parse_sharegpt(r: dict[str, Any]) -> Parsed:
    return _parse_turns(r, "conversations", (("from", "value"), ("role", "content")), _SHAREGPT_ROLES)


def _parse_alpaca(r: dict[str, Any]) -> Parsed:
    instruction = _str_field(r, "instruction")
    extra = _str_field(r, "input", required=False)
    question = f"{instruction}\n{extra}" if extra.strip() else instruction  # LLaMA-Factory's joining
    if not question.strip():
        raise RecordError(None, None, "instruction", "empty question")
    output = _str_field(r, "output")
    meta = _answer_meta(r)
    if isinstance(r.get("system"), str):
        meta["system"] = r["system"]
    return _from_response(question, output, ("output",), meta)


def _parse_response(r: dict[str, Any]) -> Parsed:
    qkey = _first_key(r, QUESTION_KEYS) or "question"
    rkey = _first_key(r, RESPONSE_KEYS) or "response"
    question = _str_field(r, qkey, nonempty=True)
    return _from_response(question, _str_field(r, rkey), (rkey,), _answer_meta(r))


FIELD_ROLES = ("question", "response", "thinking", "answer", "id")


@dataclass(frozen=True)
class FieldLayout:
    """A layout of the user's own, written `question=KEY,response=KEY` (see `field_layout`)."""

    question: str
    response: str | None = None
    thinking: str | None = None
    answer: str | None = None
    id: str | None = None


@lru_cache(maxsize=64)
def field_layout(spec: str) -> FieldLayout | None:
    """Parse `question=KEY,response=KEY[,thinking=KEY][,answer=KEY][,id=KEY]`; None for a layout name.

    `response` is the model's output (thinking and answer in one text, split at `</think>`); with `thinking`
    it is the answer after a thinking kept in its own field. `answer` is the reference answer. A KEY names a
    top-level field, or a path into nested ones with dots and list indices (`outputs.0.text`).
    `question=KEY,answer=KEY` alone reads problems without chains (benchmark-like files): empty thinking,
    `closed=False`, split `no-chain`.
    """
    if "=" not in spec:
        return None
    roles: dict[str, str] = {}
    for item in spec.split(","):
        role, _, key = (part.strip() for part in item.partition("="))
        if role not in FIELD_ROLES or not key:
            raise UserError(f"layout {spec!r}: {item.strip()!r} is not ROLE=FIELD with ROLE one of "
                             f"{', '.join(FIELD_ROLES)}")
        if role in roles:
            raise UserError(f"layout {spec!r}: {role} is given twice")
        roles[role] = key
    if "question" not in roles or not ({"response", "thinking", "answer"} & roles.keys()):
        raise UserError(f"layout {spec!r}: needs question=FIELD and response=FIELD or thinking=FIELD "
                         "(or answer=FIELD alone, for problems without chains)")
    return FieldLayout(**roles)


def check_layout(layout: str) -> FieldLayout | None:
    """The field map of a `question=KEY,...` layout, None for `auto` or a layout name; UserError otherwise."""
    if layout == "auto" or layout in LAYOUTS:
        return None
    fields = field_layout(layout)
    if fields is None:
        raise UserError(f"layout={layout!r}: expected auto, one of {', '.join(LAYOUTS)} or question=KEY,response=KEY")
    return fields


def lookup_field(record: dict[str, Any], key: str) -> tuple[tuple[str | int, ...], Any]:
    """(path, value) of `key`: the top-level field of that name, else the dotted path (`outputs.0.text`);
    the value is None when absent."""
    if key in record:
        return (key,), record[key]
    path: list[str | int] = []
    value: Any = record
    for part in key.split("."):
        if isinstance(value, dict) and part in value:
            path.append(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            path.append(int(part) % len(value))
        else:
            return (key,), None
        value = value[path[-1]]
    return tuple(path), value


def _text_at(record: dict[str, Any], key: str, *, required: bool) -> tuple[tuple[str | int, ...], str]:
    path, value = lookup_field(record, key)
    if value is None:
        if required:
            raise RecordError(None, None, key, "missing")
        return path, ""
    if not isinstance(value, str):
        raise RecordError(None, None, key, f"expected a string, got {type(value).__name__}")
    return path, value


def _parse_fields(r: dict[str, Any], layout: FieldLayout) -> Parsed:
    question = _text_at(r, layout.question, required=True)[1]
    if not question.strip():
        raise RecordError(None, None, layout.question, "empty")
    meta: dict[str, Any] = {}
    if layout.answer is not None:
        meta = _answer_meta({layout.answer: lookup_field(r, layout.answer)[1]}, (layout.answer,))
    if layout.thinking is not None:
        slot, thinking = _text_at(r, layout.thinking, required=True)
        answer = _text_at(r, layout.response, required=False)[1] if layout.response else ""
        return _from_fields(question, thinking, answer, slot, layout.response or "thinking-field", meta)
    if layout.response is None:  # a problem without a chain
        return Parsed(question, "", "", False, (), (0, 0), "no-chain", meta)
    slot, text = _text_at(r, layout.response, required=True)
    return _from_response(question, text, slot, meta)


PARSERS: dict[str, Callable[[dict[str, Any]], Parsed]] = {
    "limo": _parse_limo,
    "s1k": _parse_s1k,
    "messages": _parse_messages,
    "sharegpt": _parse_sharegpt,
    "alpaca": _parse_alpaca,
    "response": _parse_response,
}

_SIGNATURES = (
    "limo (question|problem, solution)",
    "s1k (question, thinking_trajectories, attempt)",
    "messages (messages)",
    "sharegpt (conversations)",
    "alpaca (instruction, output)",
    "response (question|problem|prompt, response|output|completion|generation)",
)


def detect_layout(record: dict[str, Any]) -> str:
    """The layout one record is in, by its keys (the most specific first)."""
    if not isinstance(record, dict):
        raise RecordError(None, None, None, f"expected a JSON object, got {type(record).__name__}")
    if "messages" in record:
        return "messages"
    if "conversations" in record:
        return "sharegpt"
    if any(t in record for t, _ in _S1K_FIELDS):
        return "s1k"
    if "instruction" in record and "output" in record:
        return "alpaca"
    has_question = _first_key(record, QUESTION_KEYS) is not None
    if has_question and _first_key(record, RESPONSE_KEYS) is not None:
        return "response"
    if "solution" in record and _first_key(record, ("question", "problem")) is not None:
        return "limo"
    keys = ", ".join(sorted(record)) or "none"
    raise RecordError(
        None, None, None, f"no known layout fits its keys ({keys}); layouts: {'; '.join(_SIGNATURES)}; or name "
        "the fields yourself: --layout 'question=KEY,response=KEY' (see --help)"
    )


def parse_record(record: dict[str, Any], layout: str) -> Parsed:
    """Question, thinking and answer of one record in a given layout; RecordError (no location) if invalid."""
    if layout == "auto":
        raise ValueError("layout='auto': detect the layout (detect_layout) before parsing")
    fields = check_layout(layout)
    if not isinstance(record, dict):
        raise RecordError(None, None, None, f"expected a JSON object, got {type(record).__name__}")
    return PARSERS[layout](record) if fields is None else _parse_fields(record, fields)
