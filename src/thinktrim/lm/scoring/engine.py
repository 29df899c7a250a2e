"""The cached PIR scoring engine: one pass over the full chain, then only each variant's changed suffix.

Every variant shares the full sequence's tokens up to (about) the start of its removed span, so the engine
keeps the full pass's key/value cache and, per variant, recomputes only the tokens after the longest common
token prefix: exactly the minimum work an exact method must do. Logits are computed only at the positions
that predict answer tokens. Numbers match `NaiveScorer` (the same tokens via `scoring_token_ids`).

Attention for a suffix over a cached prefix is "lower-right" causal, which SDPA's `is_causal` does not express;
with an explicit mask PyTorch's CPU kernel computes the full rectangle (2x the work on long suffixes). So while
the engine runs, the model uses `prefix_attention` (below): on CPU it splits the suffix's attention into
"all of the prefix" plus "causal within the suffix", both on the flash kernel, and merges them by their
log-sum-exp; on other devices it uses SDPA with PyTorch's lower-right causal bias.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from thinktrim.errors import UserError
from thinktrim.lm.scoring.naive import answer_nll, model_max_context
from thinktrim.lm.scoring.sequence import check_length, check_removals, scoring_token_ids, task_tokens
from thinktrim.lm.scoring.types import ScoringResult, ScoringTask

ATTN_NAME = "thinktrim_prefix"


# ---- planning: pure functions over token ids ------------------------------------------------------------


def common_prefix_len(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass(frozen=True)
class ScorePlan:
    """Token ids of the full sequence and every variant, and how much of the full pass each may reuse.

    `reuse[i]` is the longest common token prefix of variant i with the full sequence, capped so that at least
    every position predicting an answer token is recomputed (a variant identical to the full sequence still
    recomputes its answer). `minimum_tokens` is the work any exact method must do: the full sequence once plus
    each variant's tokens after its reusable prefix.
    """

    full: list[int]
    variants: list[list[int]]
    reuse: list[int]
    answer_tokens: int

    @property
    def minimum_tokens(self) -> int:
        return len(self.full) + sum(len(v) - r for v, r in zip(self.variants, self.reuse))

    @property
    def naive_tokens(self) -> int:
        return len(self.full) + sum(len(v) for v in self.variants)


def make_plan(tokenizer: Any, task: ScoringTask) -> ScorePlan:
    check_removals(task)
    shared = task_tokens(tokenizer, task)
    full, m = scoring_token_ids(tokenizer, task, None, shared)
    variants = [scoring_token_ids(tokenizer, task, i, shared)[0] for i in range(len(task.removals))]
    reuse = [min(common_prefix_len(full, v), len(v) - m - 1) for v in variants]
    return ScorePlan(full, variants, reuse, m)


def batch_variants(
    plan: ScorePlan, max_batch_tokens: int, max_batch_size: int, max_waste: float = 0.25
) -> list[list[int]]:
    """Group variant indices into batches that share a prefix (the smallest reuse in the group).

    Rows recompute from the group's shortest prefix and are padded on the right to the longest row; a group
    grows (in order of reuse length) while its key/value cache (rows x (prefix + padded suffix) tokens) stays
    within `max_batch_tokens` and the extra tokens within `max_waste` of the useful ones. A lone variant is
    always allowed; batch size 1 gives one exact-minimum pass per variant.
    """
    order = sorted(range(len(plan.variants)), key=lambda i: -plan.reuse[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and len(groups[-1]) < max_batch_size:
            cand = [*groups[-1], i]
            start = min(plan.reuse[j] for j in cand)
            width = max(len(plan.variants[j]) for j in cand) - start
            useful = sum(len(plan.variants[j]) - plan.reuse[j] for j in cand)
            if len(cand) * (start + width) <= max_batch_tokens and len(cand) * width <= (1 + max_waste) * useful:
                groups[-1] = cand
                continue
        groups.append([i])
    return groups


# ---- attention for a suffix over a cached prefix ----------------------------------------------------------


def prefix_attention(
    module: Any, query: Any, key: Any, value: Any, attention_mask: Any, scaling: float | None = None,
    dropout: float = 0.0, **kwargs: Any,
) -> tuple[Any, None]:
    """Causal attention of `q_len` new tokens that follow `kv_len - q_len` cached ones (no padding, no window).

    Shapes follow transformers' attention interface: query [B, H, q, D], key/value [B, KVH, kv, D]; returns
    [B, q, H, D]. The mask is ignored: the engine never pads inside a row (right padding only, and a real
    token never attends to a later position).
    """
    import torch
    import torch.nn.functional as F

    batch, heads, q_len, dim = query.shape
    kv_heads, prefix = key.shape[1], key.shape[2] - q_len
    groups = heads // kv_heads
    if query.device.type != "cpu":
        out = _lower_right_sdpa(query, _repeat(key, groups), _repeat(value, groups), prefix, scaling)
    elif not prefix:
        out = F.scaled_dot_product_attention(query, key, value, is_causal=True, scale=scaling,
                                             enable_gqa=groups > 1)
    else:
        flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
        k_new, v_new = _repeat(key[:, :, prefix:], groups), _repeat(value[:, :, prefix:], groups)
        out, lse = flash(query, k_new, v_new, 0.0, True, scale=scaling)
        # The prefix part has no mask, so the query heads sharing a key/value head can be stacked as extra
        # rows: no copy of the (long) prefix keys per query head.
        stacked = query.reshape(batch, kv_heads, groups * q_len, dim)
        out_p, lse_p = flash(stacked, key[:, :, :prefix], value[:, :, :prefix], 0.0, False, scale=scaling)
        out_p, lse_p = out_p.reshape(batch, heads, q_len, dim), lse_p.reshape(batch, heads, q_len)
        total = torch.logaddexp(lse, lse_p)
        out = (out.float() * torch.exp(lse - total).unsqueeze(-1)
               + out_p.float() * torch.exp(lse_p - total).unsqueeze(-1)).to(query.dtype)
    return out.transpose(1, 2).contiguous(), None


def _repeat(x: Any, groups: int) -> Any:
    """Key/value heads repeated for each query head that shares them (transformers' `repeat_kv` order)."""
    return x.repeat_interleave(groups, dim=1) if groups > 1 else x


def _lower_right_sdpa(query: Any, key: Any, value: Any, prefix: int, scaling: float | None) -> Any:
    """GPU path: SDPA with PyTorch's lower-right causal bias, which its fused kernels handle without a mask."""
    import torch.nn.functional as F
    from torch.nn.attention.bias import causal_lower_right

    if not prefix:
        return F.scaled_dot_product_attention(query, key, value, is_causal=True, scale=scaling)
    mask = causal_lower_right(query.shape[2], key.shape[2])
    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scaling)


def _register_attention() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(ATTN_NAME, prefix_attention)


@contextlib.contextmanager
def _attention(model: Any, name: str) -> Iterator[None]:
    """Switch the model's attention implementation for the duration (the naive scorer may share the model)."""
    config = model.config
    old = config._attn_implementation
    config._attn_implementation = name
    try:
        yield
    finally:
        config._attn_implementation = old


def _supports_prefix_attention(model: Any) -> bool:
    """Only plain causal decoders with SDPA attention: no sliding windows, chunked or linear attention."""
    config = model.config.get_text_config(decoder=True)
    if config._attn_implementation != "sdpa":
        return False
    if getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True):
        return False
    layer_types = getattr(config, "layer_types", None) or ["full_attention"]
    return all(t == "full_attention" for t in layer_types)


def _plain_head(model: Any) -> bool:
    """Whether logits are just `lm_head(last hidden state)`, so batched rows may apply the head themselves."""
    config = model.config.get_text_config(decoder=True)
    scaled = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier_scale")
    return model.get_output_embeddings() is not None and not any(getattr(config, a, None) for a in scaled)


# ---- the scorer ---------------------------------------------------------------------------------------------


class CachedScorer:
    """The default scorer: full pass once with its cache kept, then each variant's suffix only.

    `max_batch_tokens` bounds the key/value tokens of one batched suffix forward (rows x their padded length);
    `batch_size` (default: 1 on CPU, where batching only adds padding work, 16 elsewhere) bounds the rows.
    """

    def __init__(
        self, model: Any, tokenizer: Any, max_context: int | None = None, max_batch_tokens: int = 16384,
        batch_size: int | None = None,
    ) -> None:
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        if max_batch_tokens < 1:
            raise UserError(f"max_batch_tokens must be >= 1, got {max_batch_tokens}")
        self.model = model
        self.tokenizer = tokenizer
        self.max_context = int(max_context) if max_context is not None else model_max_context(model)
        self.max_batch_tokens = max_batch_tokens
        on_cpu = model.device.type == "cpu"
        self.batch_size = batch_size if batch_size is not None else (1 if on_cpu else 16)
        if self.batch_size < 1:
            raise UserError(f"batch_size must be >= 1, got {self.batch_size}")
        if not _plain_head(model):
            self.batch_size = 1
        layers = DynamicCache(config=model.config).layers
        if not layers or not all(type(layer) is DynamicLayer for layer in layers):
            raise UserError(
                f"the cached scorer needs a plain full-attention cache; {type(model).__name__} uses "
                f"{sorted({type(layer).__name__ for layer in layers})}: use the naive scorer (--scorer naive)"
            )
        self.attn = ATTN_NAME if _supports_prefix_attention(model) else model.config._attn_implementation
        if self.attn == ATTN_NAME:
            _register_attention()
        # transformers 5 renamed the forward's `past_key_values` to `cache` (the old name warns).
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self.tokens_computed = 0  # forward tokens processed so far, padding included (read by the benchmark)

    def sequence_length(self, task: ScoringTask) -> int:
        return len(scoring_token_ids(self.tokenizer, task, None)[0])

    def plan(self, task: ScoringTask) -> ScorePlan:
        plan = make_plan(self.tokenizer, task)
        check_length(len(plan.full), self.max_context, "full sequence")
        for i, ids in enumerate(plan.variants):
            check_length(len(ids), self.max_context, f"variant {i}")
        return plan

    def score(self, task: ScoringTask) -> ScoringResult:
        import torch

        plan = self.plan(task)
        m = plan.answer_tokens
        nlls: list[float] = [math.nan] * len(plan.variants)
        with torch.inference_mode(), _attention(self.model, self.attn):
            full_nll, cache = self._full_pass(plan.full, m)
            groups = batch_variants(plan, self.max_batch_tokens, self.batch_size)
            for group in groups:
                for i, nll in zip(group, self._suffix_pass(plan, group, cache)):
                    nlls[i] = nll
            del cache
        return ScoringResult(full_nll, tuple(nlls), m, len(plan.full) - m)

    def _full_pass(self, ids: list[int], m: int) -> tuple[float, Any]:
        import torch
        from transformers import DynamicCache

        device = self.model.device
        input_ids = torch.tensor([ids], device=device)
        keep = torch.arange(len(ids) - m - 1, len(ids) - 1, device=device)
        cache = DynamicCache(config=self.model.config)
        out = self.model(input_ids=input_ids, **{self._cache_kw: cache}, use_cache=True, logits_to_keep=keep)
        self.tokens_computed += len(ids)
        return answer_nll(out.logits[0], input_ids[0, -m:]), cache

    def _prefix_cache(self, full_cache: Any, length: int, rows: int) -> Any:
        """A cache holding the first `length` positions of `full_cache` as views (no copy; the model's first
        update concatenates the suffix into a new tensor, so the full cache stays intact)."""
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        for layer, src in zip(cache.layers, full_cache.layers):
            keys, values = src.keys[..., :length, :], src.values[..., :length, :]
            layer.lazy_initialization(keys, values)
            layer.keys = keys.expand(rows, -1, -1, -1)
            layer.values = values.expand(rows, -1, -1, -1)
        return cache

    def _suffix_pass(self, plan: ScorePlan, group: list[int], full_cache: Any) -> list[float]:
        import torch

        device = self.model.device
        m = plan.answer_tokens
        start = min(plan.reuse[i] for i in group)
        rows = [plan.variants[i][start:] for i in group]
        width = max(len(r) for r in rows)
        pad = rows[0][-1]  # any id: right padding is never attended to by a real token
        input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=device)
        cache = self._prefix_cache(full_cache, start, len(rows))
        self.tokens_computed += input_ids.numel()
        answers = torch.tensor([plan.variants[i][-m:] for i in group], device=device)
        if len(rows) == 1:
            keep = torch.arange(width - m - 1, width - 1, device=device)
            logits = self.model(input_ids=input_ids, **{self._cache_kw: cache}, use_cache=True,
                                logits_to_keep=keep).logits
        else:
            hidden = self.model.get_decoder()(input_ids=input_ids, **{self._cache_kw: cache}, use_cache=True)
            hidden = hidden.last_hidden_state
            index = torch.tensor([[len(r) - m - 1 + j for j in range(m)] for r in rows], device=device)
            picked = hidden.gather(1, index.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
            logits = self.model.get_output_embeddings()(picked)
        del cache
        return [answer_nll(logits[k], answers[k]) for k in range(len(rows))]
