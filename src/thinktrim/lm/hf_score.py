"""PIR answer scoring with a Hugging Face causal LM: the token convention, the naive reference, the factory.

Both scorers build every sequence with `scoring_token_ids`, so they score exactly the same tokens; the naive
one runs one full forward per sequence and is the reference the cached engine (`score_engine`) is checked
against. torch/transformers are imported inside functions so importing this module stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thinktrim.lm.base import AnswerScorer, ScoringResult, ScoringTask

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
        return tokenizer.apply_chat_template(
            _messages(task), add_generation_prompt=True, tokenize=False, enable_thinking=True
        )
    system = f"{task.system_prompt}\n\n" if task.system_prompt else ""
    return PLAIN_PROMPT.format(system=system, question=task.question)


def generation_tail(tokenizer: Any, task: ScoringTask, prompt: str) -> str:
    """What the generation prompt adds after the conversation (the assistant header, maybe `<think>\n`)."""
    if not getattr(tokenizer, "chat_template", None):
        return prompt
    head = tokenizer.apply_chat_template(_messages(task), add_generation_prompt=False, tokenize=False,
                                         enable_thinking=True)
    return prompt[len(head) :] if prompt.startswith(head) else prompt


def thinking_opener(tail: str, think_open: str, think_close: str) -> str:
    """The text put between the prompt and the thinking, so the sequence is what the model sees generating.

    Templates of reasoning models (DeepSeek-R1-Distill, QwQ-32B, Qwen3 thinking) end the generation prompt
    with `<think>\n`: the thinking is already open, so only what the prompt lacks of `think_open` is added
    (nothing, or the newline after a bare `<think>`). Otherwise `think_open` itself. A generation prompt that
    closes the thinking (thinking turned off) cannot be scored with a thinking inside.
    """
    tag, close = think_open.strip(), think_close.strip()
    if close and close in tail:
        raise ValueError(
            f"the chat template's generation prompt closes the thinking ({tail!r}): it has thinking turned off, "
            "so the model never sees a thinking there; use a model or template that thinks"
        )
    body = tail.rstrip()
    if not tag or not body.endswith(tag):
        return think_open
    given = tail[len(body) :]  # the white space the prompt already put after the tag
    rest = think_open[think_open.index(tag) + len(tag) :]
    return rest[len(given) :] if rest.startswith(given) else ""


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
    prompt = prompt_text(tokenizer, task)
    opener = thinking_opener(generation_tail(tokenizer, task, prompt), task.think_open, task.think_close)
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


def answer_nll(logits: Any, answer_ids: Any) -> float:
    """Mean negative log-likelihood (nats/token) of `answer_ids` [m] given the logits [m, vocab] before them.

    Computed in float32 whatever the model's dtype, so bf16 models do not round the log-softmax.
    """
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    return float(-logp.gather(-1, answer_ids.view(-1, 1)).mean())


def model_max_context(model: Any) -> int:
    """The model's context length from its config (8192 for the embedded SmolLM2)."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    value = getattr(config, "max_position_embeddings", None)
    if not value:
        raise ValueError("the model config has no max_position_embeddings: pass max_context explicitly")
    return int(value)


class NaiveScorer:
    """One full forward per sequence (the full chain, then each variant): plain and obviously correct.

    This is the plain computation a user would write, `model(ids).logits` over the whole sequence, kept as the
    reference the engine is checked and timed against; the engine's savings are prefix reuse and computing
    logits only where answer tokens are predicted.
    """

    def __init__(self, model: Any, tokenizer: Any, max_context: int | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_context = int(max_context) if max_context is not None else model_max_context(model)
        self.tokens_computed = 0  # forward tokens processed so far (read by the benchmark)

    def sequence_length(self, task: ScoringTask) -> int:
        return len(scoring_token_ids(self.tokenizer, task, None)[0])

    def _nll(self, ids: list[int], m: int) -> float:
        import torch

        device = self.model.device
        input_ids = torch.tensor([ids], device=device)
        with torch.inference_mode():
            logits = self.model(input_ids=input_ids, use_cache=False).logits[0, -m - 1 : -1]
        self.tokens_computed += len(ids)
        return answer_nll(logits, input_ids[0, -m:])

    def score(self, task: ScoringTask) -> ScoringResult:
        check_removals(task)
        shared = task_tokens(self.tokenizer, task)
        full, m = scoring_token_ids(self.tokenizer, task, None, shared)
        check_length(len(full), self.max_context, "full sequence")
        variants = [scoring_token_ids(self.tokenizer, task, i, shared)[0] for i in range(len(task.removals))]
        for i, ids in enumerate(variants):
            check_length(len(ids), self.max_context, f"variant {i}")
        full_nll = self._nll(full, m)
        return ScoringResult(
            full_nll=full_nll,
            variant_nlls=tuple(self._nll(ids, m) for ids in variants),
            answer_tokens=m,
            context_tokens=len(full) - m,
        )


def make_scorer(
    kind: str = "engine",
    model: str = "embedded",
    device: str = "auto",
    dtype: str = "auto",
    max_batch_tokens: int = 16384,
    max_context: int | None = None,
) -> AnswerScorer:
    """Load `model` (see `thinktrim.lm.load`) and wrap it in the `engine` (default) or `naive` scorer.

    `max_context` defaults to the model's `max_position_embeddings`; `max_batch_tokens` bounds the tokens
    of one batched forward in the engine (ignored by the naive scorer).
    """
    if kind not in ("engine", "naive"):
        raise ValueError(f"--scorer: unknown scorer {kind!r} (use engine or naive)")
    if max_batch_tokens < 1:
        raise ValueError(f"max_batch_tokens must be >= 1, got {max_batch_tokens}")
    if max_context is not None and max_context < 1:
        raise ValueError(f"max_context must be >= 1, got {max_context}")
    from thinktrim.lm.load import load_causal_lm

    lm, tokenizer = load_causal_lm(model, device=device, dtype=dtype)
    if kind == "naive":
        return NaiveScorer(lm, tokenizer, max_context=max_context)
    from thinktrim.lm.score_engine import CachedScorer

    return CachedScorer(lm, tokenizer, max_context=max_context, max_batch_tokens=max_batch_tokens)
