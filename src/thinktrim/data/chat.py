"""The one chat convention every stage shares: the papers' system prompt and the think template.

Refine scores chains in it, its exports (LLaMA-Factory, refined messages) write it, `train` trains on it and
`eval` prompts with it, so a model is scored, trained and evaluated on exactly the same text.

A model's own chat template may open the thinking itself: DeepSeek-R1-Distill, QwQ-32B and Qwen3 thinking end the
generation prompt with `<think>\n`, and R1-Distill and QwQ also drop everything up to `</think>` from the
assistant turns they render. So neither scoring nor training renders the assistant turn with the template: both
take the generation prompt as the template renders it and append the assistant turn as the model generates it
(`chat_prompt`, `generated_text`, `chat_example_ids`), with `<think>` once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thinktrim.data.trace import Trace
from thinktrim.errors import UserError

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
    return THINK_OPEN + thinking + THINK_CLOSE + trace.response


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


def generation_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The text a chat model generates after: its template with the generation prompt, thinking on
    (`enable_thinking=True`, which Qwen3-style templates read and the others ignore)."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=True)


def thinking_opener(tail: str, think_open: str = THINK_OPEN, think_close: str = THINK_CLOSE) -> str:
    """The text put between the generation prompt and the thinking, so the sequence is what the model sees.

    `tail` is what the generation prompt adds after the conversation. Templates that end it with `<think>\n`
    have opened the thinking already: only what they lack of `think_open` is added (nothing, or the newline
    after a bare `<think>`). Otherwise `think_open` itself. A generation prompt that closes the thinking
    (thinking turned off) cannot be followed by a thinking.
    """
    tag, close = think_open.strip(), think_close.strip()
    if close and close in tail:
        raise UserError(
            f"the chat template's generation prompt closes the thinking ({tail!r}): it has thinking turned off, "
            "so the model never sees a thinking there; use a model or template that thinks"
        )
    body = tail.rstrip()
    if not tag or not body.endswith(tag):
        return think_open
    given = tail[len(body) :]  # the white space the prompt already put after the tag
    rest = think_open[think_open.index(tag) + len(tag) :]
    return rest[len(given) :] if rest.startswith(given) else ""


@dataclass(frozen=True)
class ChatPrompt:
    """A rendered generation prompt (`text`) and the part of it the generation prompt added (`tail`: the
    assistant header, maybe `<think>\n`)."""

    text: str
    tail: str

    def opener(self, think_open: str = THINK_OPEN, think_close: str = THINK_CLOSE) -> str:
        return thinking_opener(self.tail, think_open, think_close)


def chat_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> ChatPrompt:
    """The generation prompt of `messages` (`generation_prompt`) and what it adds after the conversation."""
    text = generation_prompt(tokenizer, messages)
    head = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False, enable_thinking=True)
    return ChatPrompt(text, text[len(head) :] if text.startswith(head) else text)


def generated_text(prompt: ChatPrompt, assistant: str) -> str:
    """An assistant turn as the model generates it after `prompt`.

    A turn in thinktrim's template (`assistant_text`: it starts with `<think>\n`) has that opening replaced by
    what the prompt lacks of it (`ChatPrompt.opener`), so `<think>` appears once; any other text (a model's
    own sample, which began where the prompt ended) is kept as it is.
    """
    if assistant.startswith(THINK_OPEN):
        return prompt.opener() + assistant[len(THINK_OPEN) :]
    return assistant


def chat_example_ids(tokenizer: Any, messages: list[dict[str, str]], assistant: str,
                     ends_turn: bool = True) -> tuple[list[int], list[int]]:
    """(prompt ids, completion ids) of one training example: exactly the tokens the model sees and generates
    at inference.

    The prompt is the generation prompt tokenized on its own (as `apply_chat_template` does; the template holds
    BOS and friends, so nothing is added), the completion the assistant turn as generated (`generated_text`)
    then, when the turn ended, the end-of-turn (EOS) token, where generation stops. The template never renders
    the assistant turn: reasoning templates drop its thinking.
    """
    prompt = chat_prompt(tokenizer, messages)
    completion = list(tokenizer(generated_text(prompt, assistant), add_special_tokens=False)["input_ids"])
    if ends_turn:
        if tokenizer.eos_token_id is None:
            raise UserError("model: its tokenizer names no end-of-turn (EOS) token, so a turn cannot end")
        completion.append(tokenizer.eos_token_id)
    return list(tokenizer(prompt.text, add_special_tokens=False)["input_ids"]), completion
