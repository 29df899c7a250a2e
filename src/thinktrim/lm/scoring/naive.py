"""The naive PIR scorer: one full forward per sequence, the plain reference the engine is checked against."""

from __future__ import annotations

from typing import Any

from thinktrim.errors import UserError
from thinktrim.lm.scoring.sequence import check_length, check_removals, scoring_token_ids, task_tokens
from thinktrim.lm.scoring.types import ScoringResult, ScoringTask


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
        raise UserError("the model config has no max_position_embeddings: pass max_context explicitly")
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
