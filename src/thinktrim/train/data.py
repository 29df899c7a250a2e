"""Training files → conversational prompt/completion rows, every drop counted by reason.

Each record is read with the dataset readers (any layout `thinktrim refine` reads) and turned into chat messages
with `to_messages`, the one definition of the think template refine's exports use: the prompt is the system and
user turns, the completion the assistant turn (`<think>\\n…\\n</think>\\n\\nanswer`). `tokenize_example` turns a row
into the tokens the model sees and generates at inference (`chat_example_ids`: the generation prompt as the model's
template renders it, masked, then the thinking, the answer and EOS, `<think>` once whether or not the template
opens it); the loss is on those completion tokens only. A chain that never closes its thinking is skipped:
training on it would teach the model to stop mid-thought, and there is no answer to learn.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinktrim.data.chat import chat_example_ids, to_messages
from thinktrim.data.formats import SourceRecord, read_records
from thinktrim.data.hf import is_dataset_source, source_fingerprint, source_key
from thinktrim.data.layouts import RecordError
from thinktrim.errors import UserError
from thinktrim.train.lengths import IGNORE

UNCLOSED = "thinking never closed (no </think>)"
REJECTED = "malformed record (see rejects.jsonl)"
OVER_LIMIT = "beyond --limit"


@dataclass
class DataFile:
    """One input file as it was read: its fingerprint and what came of its records."""

    path: str
    sha256: str
    bytes: int
    records: int = 0
    examples: int = 0


@dataclass
class TrainingData:
    """Rows for TRL plus the accounting of where they came from and what was dropped."""

    rows: list[dict[str, Any]]
    files: list[DataFile]
    dropped: Counter[str] = field(default_factory=Counter)
    rejects: list[dict[str, Any]] = field(default_factory=list)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def example_row(record: SourceRecord, system_prompt: str | None) -> dict[str, Any]:
    """The prompt/completion row of one record; `location` names it in error messages and is not trained on."""
    messages = to_messages(record.trace, system_prompt)
    return {"prompt": messages[:-1], "completion": messages[-1:], "location": record.location}


def tokenize_example(tokenizer: Any, row: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(input_ids, labels) of one row: what the model sees and generates at inference (`chat_example_ids`),
    labels IGNORE over the prompt. Not TRL's rendering of the whole conversation: reasoning templates
    (R1-Distill, QwQ) drop the thinking from the assistant turns they render."""
    prompt, completion = chat_example_ids(tokenizer, row["prompt"], row["completion"][-1]["content"])
    return prompt + completion, [IGNORE] * len(prompt) + completion


def read_training_data(
    paths: tuple[str, ...] | list[str],
    system_prompt: str | None,
    layout: str = "auto",
    file_format: str = "auto",
    on_error: str = "raise",
    limit: int | None = None,
    split: str | None = None,
    subset: str | None = None,
    start: int = 0,
    end: int | None = None,
) -> TrainingData:
    """Read and convert every file (or datasets folder, or cached hub dataset: `split`, `subset`) in order, each
    in its records start…end-1. Malformed records raise (naming file, line and field) unless `on_error="skip"`,
    which collects them as rejects."""
    if not paths:
        raise UserError("data: give at least one training file")
    data = TrainingData(rows=[], files=[])
    for p, info in each_file(paths, data, split, subset):
        for item in read_records(p, layout=layout, file_format=file_format, on_error=on_error,  # type: ignore[arg-type]
                                 split=split, subset=subset, start=start, end=end):
            info.records += 1
            if isinstance(item, RecordError):
                data.dropped[REJECTED] += 1
                data.rejects.append({"location": item.location, "field": item.field, "reason": item.reason})
            elif not item.trace.thinking_closed:
                data.dropped[UNCLOSED] += 1
            elif limit is not None and len(data.rows) >= limit:
                data.dropped[OVER_LIMIT] += 1
            else:
                data.rows.append(example_row(item, system_prompt))
                info.examples += 1
    return rows_left(data)


def each_file(paths: Sequence[str], data: TrainingData, split: str | None = None,
              subset: str | None = None) -> Iterator[tuple[Path, DataFile]]:
    """Each input file, checked to exist, fingerprinted and listed in `data.files` (whose counts the reader
    fills), for every `train` command's reader. A datasets folder or cached hub id is fingerprinted by its
    Arrow files (`hf.source_fingerprint`)."""
    for path in paths:
        p = Path(path)
        if is_dataset_source(path):
            fp = source_fingerprint(path, split, subset)
            info = DataFile(source_key(path), fp["sha256"], fp["size"])
            data.files.append(info)
            yield p, info
            continue
        if not p.is_file():
            raise UserError(f"{path}: {'is a folder; expected a data file' if p.is_dir() else 'no such file'}")
        info = DataFile(str(p.resolve()), file_sha256(p), p.stat().st_size)
        data.files.append(info)
        yield p, info


def rows_left(data: TrainingData) -> TrainingData:
    """The data, or an error naming why nothing is left to train on."""
    if not data.rows:
        reasons = ", ".join(f"{n} {r}" for r, n in data.dropped.items()) or "the files hold no records"
        raise UserError(f"data: no training example left ({reasons})")
    return data
