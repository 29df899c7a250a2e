"""O1-Pruner's objective as pure tensor functions (docs/methods.md §3; the released trainer's `compute_loss`).

The ratio is sequence-level and length-normalised: r = exp(mean token log p_θ(y|x) − mean token log p_ref(y|x)),
the means taken over the response tokens only. With advantage A (z-scored reward),

    L = mean( max( −A·r, −A·clip(r, 1 − ε, 1 + ε) ) )

so a sample with A > 0 gains probability until r reaches 1 + ε, one with A < 0 loses it until r reaches 1 − ε;
beyond those points the clipped term is the larger one and its gradient is zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def completion_mean_logps(logits: Any, input_ids: Any, completion_mask: Any) -> Any:
    """Mean log-probability of the completion tokens of each row: (batch, seq, vocab) logits → (batch,).

    Position t predicts token t + 1; `completion_mask` marks the completion tokens (1) among prompt and padding
    (0). The per-token log-probs are fp32 cross-entropies, the very kernel (and memory) of an SFT step's loss;
    TRL's row-by-row `selective_log_softmax` took 1.5x as long on CPU (bench/o1_pruner.py).
    """
    import torch.nn.functional as F

    shifted = logits[:, :-1].float()
    logps = -F.cross_entropy(shifted.reshape(-1, shifted.size(-1)), input_ids[:, 1:].reshape(-1),
                             reduction="none").view(input_ids.size(0), -1)
    mask = completion_mask[:, 1:].to(logps.dtype)
    return (logps * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)


@dataclass
class ClipLoss:
    """The loss and what it saw: the ratios and which rows the clip cut off (their gradient is zero)."""

    loss: Any
    ratio: Any
    clipped: Any


def ppo_clip_loss(logps: Any, ref_logps: Any, advantages: Any, epsilon: float) -> ClipLoss:
    """L over a batch of rows (see the module docstring); all arguments are (batch,) tensors."""
    import torch

    ratio = torch.exp(logps - ref_logps)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - epsilon, 1.0 + epsilon)
    return ClipLoss(torch.max(unclipped, clipped).mean(), ratio.detach(), (clipped > unclipped).detach())
