"""The one chat convention every stage shares: the papers' system prompt and the think template.

Refine scores chains in it, its exports (LLaMA-Factory, refined messages) write it, `train` trains on it and
`eval` prompts with it, so a model is scored, trained and evaluated on exactly the same text.
"""

from __future__ import annotations

from typing import Any

from thinktrim.data.trace import Trace

DEFAULT_SYSTEM_PROMPT = "Please reason step by step, and put your final answer within \\boxed{}."
THINK_OPEN = "<think>\n"
THINK_CLOSE = "\n</think>\n\n"


def chat_messages(question: str, system_prompt: str | None) -> list[dict[str, str]]:
    """The prompt turns: the system prompt (if any) and the question as the user turn."""
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": question}]


def assistant_text(trace: Trace, thinking: str | None = None) -> str:
    """`<think>\\n{thinking}\\n</think>\\n\\n{answer}`; an unclosed chain stays unclosed (no invented end)."""
    thinking = trace.thinking if thinking is None else thinking
    if not trace.thinking_closed:
        return THINK_OPEN + thinking
    return THINK_OPEN + thinking + THINK_CLOSE + trace.answer


def to_messages(trace: Trace, system_prompt: str | None, thinking: str | None = None) -> list[dict[str, str]]:
    """OpenAI chat messages: the system prompt (if any), the question, and the thinking plus answer."""
    return [*chat_messages(trace.question, system_prompt),
            {"role": "assistant", "content": assistant_text(trace, thinking)}]


def to_sharegpt(trace: Trace, system_prompt: str | None, thinking: str | None = None) -> dict[str, Any]:
    """A ShareGPT record as LLaMA-Factory reads it: `conversations` of human/gpt turns, `system` beside them."""
    record: dict[str, Any] = {
        "conversations": [
            {"from": "human", "value": trace.question},
            {"from": "gpt", "value": assistant_text(trace, thinking)},
        ]
    }
    if system_prompt:
        record["system"] = system_prompt
    return record
