"""The token convention of PIR scoring: how a task becomes the token ids a causal LM scores.

Both scorers (`naive.py`, `engine.py`) build every sequence with `scoring_token_ids`, so they score exactly
the same tokens: the sequence the model sees when it generates (its chat template's generation prompt, the
thinking, the answer). Pure functions over a tokenizer; nothing heavy is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thinktrim.data.chat import chat_prompt, generation_prompt, thinking_opener
from thinktrim.lm.scoring.types import ScoringTask

# Used when the tokenizer has no chat template (base models): a plain question/answer layout.
PLAIN_PROMPT = "{system}Question: {question}\n\nAnswer: "


def _messages(task: ScoringTask) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": task.system_prompt}] if task.system_prompt else []
    return [*messages, {"role": "user", "content": task.question}]


def prompt_text(tokenizer: Any, task: ScoringTask) -> str:
    """The generation prompt: the chat template's system + user turn and the assistant header, rendered with
    thinking on (`enable_thinking=True`, which Qwen3-style templates read and others ignore).

    Without a chat template the prompt is `PLAIN_PROMPT` (system prompt, if any, on its own paragraph).
    """
    if getattr(tokenizer, "chat_template", None):
        return generation_prompt(tokenizer, _messages(task))
    system = f"{task.system_prompt}\n\n" if task.system_prompt else ""
    return PLAIN_PROMPT.format(system=system, question=task.question)


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False).input_ids)


@dataclass(frozen=True)
class TaskTokens:
    """What every variant of one task shares: the prompt's ids, the text opening the thinking, the answer's ids."""

    prompt_ids: tuple[int, ...]
    opener: str
    answer_ids: tuple[int, ...]


def task_tokens(tokenizer: Any, task: ScoringTask) -> TaskTokens:
    """Prompt ids, thinking opener and answer ids, computed once per task (they do not depend on the variant)."""
    answer_ids = tuple(_encode(tokenizer, task.answer))
    if not answer_ids:
        raise ValueError("ScoringTask.answer: the answer is empty (nothing to score)")
    if getattr(tokenizer, "chat_template", None):  # the very prompt and opener training uses (data.chat)
        chat = chat_prompt(tokenizer, _messages(task))
        prompt, opener = chat.text, chat.opener(task.think_open, task.think_close)
    else:
        prompt = prompt_text(tokenizer, task)
        opener = thinking_opener(prompt, task.think_open, task.think_close)
    return TaskTokens(tuple(_encode(tokenizer, prompt)), opener, answer_ids)


def scoring_token_ids(
    tokenizer: Any, task: ScoringTask, variant: int | None, shared: TaskTokens | None = None
) -> tuple[list[int], int]:
    """Token ids of one scored sequence and its number of answer tokens (the last ones).

    The sequence is what the model sees when it generates: the generation prompt tokenized on its own (as
    `apply_chat_template` does), then `opener + the variant's thinking + think_close` as one text, then the
    answer tokenized on its own, so every variant scores the very same answer tokens.
    `variant=None` is the full thinking; `shared` (from `task_tokens`) skips re-tokenizing what variants share.
    """
    shared = shared or task_tokens(tokenizer, task)
    continuation = shared.opener + task.variant_thinking(variant) + task.think_close
    return [*shared.prompt_ids, *_encode(tokenizer, continuation), *shared.answer_ids], len(shared.answer_ids)


def check_removals(task: ScoringTask) -> None:
    """Spans must lie inside the thinking; an out-of-range span would silently score the wrong text."""
    n = len(task.thinking)
    for i, (start, end) in enumerate(task.removals):
        if not 0 <= start <= end <= n:
            raise ValueError(f"ScoringTask.removals[{i}]: span ({start}, {end}) is not inside the thinking (0..{n})")


def check_length(n_tokens: int, max_context: int, what: str) -> None:
    if n_tokens > max_context:
        raise ValueError(
            f"{what}: {n_tokens} tokens exceed the scorer's max_context of {max_context} "
            "(over-long chains must be skipped or shortened by the caller; the scorer never truncates)"
        )
