"""`thinktrim refine` (placeholder)."""

from __future__ import annotations


def refine_command() -> None:
    """Refine a long chain-of-thought dataset with PIR."""
