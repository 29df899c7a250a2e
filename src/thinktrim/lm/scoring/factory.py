"""Load a scoring model and wrap it in the engine (default) or the naive scorer."""

from __future__ import annotations

from thinktrim.errors import UserError
from thinktrim.lm.scoring.types import AnswerScorer


def make_scorer(
    kind: str = "engine",
    model: str = "embedded",
    device: str = "auto",
    dtype: str = "auto",
    max_batch_tokens: int = 16384,
    max_context: int | None = None,
    threads: int | None = None,
) -> AnswerScorer:
    """Load `model` (see `thinktrim.lm.load`) and wrap it in the `engine` (default) or `naive` scorer.

    `max_context` defaults to the model's `max_position_embeddings`; `max_batch_tokens` bounds the tokens
    of one batched forward in the engine (ignored by the naive scorer); `threads`: torch's CPU threads (None:
    unchanged).
    """
    if kind not in ("engine", "naive"):
        raise UserError(f"--scorer: unknown scorer {kind!r} (use engine or naive)")
    if max_batch_tokens < 1:
        raise UserError(f"max_batch_tokens must be >= 1, got {max_batch_tokens}")
    if max_context is not None and max_context < 1:
        raise UserError(f"max_context must be >= 1, got {max_context}")
    from thinktrim.lm.load import load_causal_lm

    lm, tokenizer = load_causal_lm(model, device=device, dtype=dtype, threads=threads)
    if kind == "naive":
        from thinktrim.lm.scoring.naive import NaiveScorer

        return NaiveScorer(lm, tokenizer, max_context=max_context)
    from thinktrim.lm.scoring.engine import CachedScorer

    return CachedScorer(lm, tokenizer, max_context=max_context, max_batch_tokens=max_batch_tokens)
