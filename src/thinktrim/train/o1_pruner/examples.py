"""Reward-dataset files → tokenized training examples (prompt masked, completion scored), drops counted.

A row is `build`'s (prompt and completion as chat messages, an advantage) or any file of the same shape: a
`messages` conversation ending with the assistant turn works too, and a prompt given as a string is taken as
already rendered text. The tokens are those the model saw and produced when it sampled: the chat template with
its generation prompt (`thinktrim.data.chat.chat_example_ids`, the function `train sft` and refine's scoring use,
rendering the prompt as the transformers backend does), then the completion text, then the end-of-turn (EOS) token
when the sample stopped by itself (`finish_reason` other than "length"). The loss takes the completion tokens only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from thinktrim.data.chat import chat_example_ids
from thinktrim.data.formats import read_rows
from thinktrim.data.layouts import RecordError
from thinktrim.errors import UserError
from thinktrim.train.data import OVER_LIMIT, REJECTED, TrainingData, each_file, rows_left
from thinktrim.train.lengths import IGNORE


def _messages(value: Any, name: str) -> list[dict[str, str]]:
    if not (isinstance(value, list) and value and all(isinstance(m, dict) and isinstance(m.get("content"), str)
                                                      and isinstance(m.get("role"), str) for m in value)):
        raise RecordError(None, None, name, "expected a list of {role, content} messages")
    return value


def reward_row(raw: Any, advantage_field: str) -> dict[str, Any]:
    """{prompt (messages or text), completion (text), ends_turn, advantage} of one record; RecordError naming
    the field otherwise."""
    if not isinstance(raw, dict):
        raise RecordError(None, None, None, f"expected a JSON object, got {type(raw).__name__}")
    if "prompt" in raw:
        prompt = raw["prompt"] if isinstance(raw["prompt"], str) else _messages(raw["prompt"], "prompt")
        completion = raw.get("completion")
        if isinstance(completion, list):
            completion = _messages(completion, "completion")[-1]["content"]
        if not isinstance(completion, str):
            raise RecordError(None, None, "completion", "missing, or not a string or a list of messages")
    elif "messages" in raw:
        messages = _messages(raw["messages"], "messages")
        if messages[-1]["role"] != "assistant" or len(messages) < 2:
            raise RecordError(None, None, "messages", "expected a conversation ending with the assistant turn")
        prompt, completion = messages[:-1], messages[-1]["content"]
    else:
        raise RecordError(None, None, "prompt", "missing (rows need prompt + completion, or messages)")
    advantage = raw.get(advantage_field)
    if isinstance(advantage, bool) or not isinstance(advantage, (int, float)) or not math.isfinite(advantage):
        raise RecordError(None, None, advantage_field, f"expected a finite number, got {advantage!r:.40}")
    return {"prompt": prompt, "completion": completion, "ends_turn": raw.get("finish_reason") != "length",
            "advantage": float(advantage), "id": str(raw.get("id", ""))}


def read_reward_data(paths: Sequence[str], advantage_field: str, on_error: str = "raise",
                     limit: int | None = None, split: str | None = None, subset: str | None = None,
                     start: int = 0, end: int | None = None) -> TrainingData:
    """Every row of every file (or datasets folder, or cached hub dataset: `split`, `subset`) in order, each in
    its rows start…end-1; malformed rows raise naming file, line and field, or (skip) are collected as rejects.

    Each row's `key`, under which its reference log-prob is stored, is its id qualified by the file's place among
    the inputs (`2:gsm8k-0#3`): two build outputs over the same problems share ids (`question_id#sample`) and
    must not share a reference. Within one file an id may appear once.
    """
    if not paths:
        raise UserError("data: give the reward dataset (build's o1_pruner.jsonl)")
    data = TrainingData(rows=[], files=[])
    for number, (p, info) in enumerate(each_file(paths, data, split, subset), start=1):
        seen: dict[str, str] = {}  # id → where it first appears in this file
        for _, where, raw in read_rows(p, split=split, subset=subset, start=start, end=end):
            info.records += 1
            try:
                if isinstance(raw, RecordError):
                    raise raw
                row = reward_row(raw, advantage_field)
                if row["id"] in seen:
                    raise RecordError(None, None, "id", f"{row['id']!r} repeats the id on {seen[row['id']]} (ids "
                                                        "key the stored reference log-probs)")
                if row["id"]:
                    seen[row["id"]] = where
            except RecordError as e:
                if on_error == "raise":
                    raise UserError(f"{where}: " + (f"field '{e.field}': " if e.field else "") + e.reason) from None
                data.dropped[REJECTED] += 1
                data.rejects.append({"location": where, "field": e.field, "reason": e.reason})
                continue
            if limit is not None and len(data.rows) >= limit:
                data.dropped[OVER_LIMIT] += 1
                continue
            data.rows.append({**row, "id": row["id"] or where, "key": f"{number}:{row['id'] or where}",
                              "location": where})
            info.examples += 1
    return rows_left(data)


def tokenize_row(tokenizer: Any, row: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(input_ids, labels): labels are IGNORE over the prompt, the token ids over the completion.

    Chat prompts go through `chat_example_ids`, as `train sft`'s examples do: a completion written in
    thinktrim's template (a `messages` file) loses the `<think>\n` a reasoning template's prompt already opened;
    a sample is kept as the model produced it.
    """
    prompt = row["prompt"]
    if isinstance(prompt, str):
        prompt_ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        completion = list(tokenizer(row["completion"], add_special_tokens=False)["input_ids"])
        if row["ends_turn"]:
            completion.append(tokenizer.eos_token_id)
    else:
        prompt_ids, completion = chat_example_ids(tokenizer, prompt, row["completion"], row["ends_turn"])
    return prompt_ids + completion, [IGNORE] * len(prompt_ids) + completion
