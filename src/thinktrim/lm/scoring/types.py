"""What PIR scoring exchanges: a task (answer likelihood with and without spans of the thinking), its result,
and the `AnswerScorer` protocol every scorer implements (the naive reference, the cached engine)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT, THINK_CLOSE, THINK_OPEN


@dataclass(frozen=True)
class ScoringTask:
    """Answer likelihood under the full thinking and under variants with one span removed each.

    The context is the scoring model's chat template (system prompt, question as user turn) followed, as the
    assistant turn, by `think_open + thinking + think_close` and then the answer; where the template's
    generation prompt already opens the thinking (reasoning models), `think_open` is not repeated. Only answer
    tokens are scored; they are tokenized on their own so every variant scores the very same answer tokens.
    `removals[i]` is a `[start, end)` character span of `thinking` removed in variant i.
    """

    question: str
    thinking: str
    answer: str
    removals: tuple[tuple[int, int], ...] = ()
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
    think_open: str = THINK_OPEN
    think_close: str = THINK_CLOSE

    def variant_thinking(self, i: int | None) -> str:
        if i is None:
            return self.thinking
        start, end = self.removals[i]
        return self.thinking[:start] + self.thinking[end:]


@dataclass(frozen=True)
class ScoringResult:
    """Mean answer negative log-likelihood (nats/token) with the full thinking and for each variant."""

    full_nll: float
    variant_nlls: tuple[float, ...]
    answer_tokens: int
    context_tokens: int


@runtime_checkable
class AnswerScorer(Protocol):
    """Computes answer NLLs for a `ScoringTask`; `max_context` bounds the tokens one sequence may hold."""

    max_context: int

    def sequence_length(self, task: ScoringTask) -> int:
        """Tokens of the full (unpruned) sequence, to apply the over-long policy before scoring."""
        ...

    def score(self, task: ScoringTask) -> ScoringResult: ...
