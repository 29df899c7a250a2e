"""Scoring with reasoning-model chat templates: the scored sequence is what the model sees when it generates.

DeepSeek-R1-Distill, QwQ-32B and Qwen3 thinking templates end the generation prompt with `<think>\\n`; the
scorer must not open the thinking a second time. The templates below imitate theirs (written here, short).
"""

from __future__ import annotations

import copy

import pytest

from thinktrim.data.formats import to_messages
from thinktrim.data.trace import Trace
from thinktrim.lm.scoring.engine import CachedScorer
from thinktrim.lm.scoring.naive import NaiveScorer
from thinktrim.lm.scoring.sequence import prompt_text, scoring_token_ids
from thinktrim.lm.scoring.types import ScoringTask

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
)
# R1-Distill: BOS, bare system text, <｜User｜>/<｜Assistant｜> markers, earlier thinking stripped from assistant
# turns, and a generation prompt that opens the thinking.
R1_DISTILL = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}"
    "{% elif m['role'] == 'user' %}<｜User｜>{{ m['content'] }}"
    "{% else %}<｜Assistant｜>{{ m['content'].split('</think>')[-1] }}<｜end▁of▁sentence｜>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}"
)
QWQ = CHATML + "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
# Qwen3 (hybrid): thinking unless `enable_thinking=false`, which closes an empty thinking in the prompt.
QWEN3 = CHATML + (
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)
# Qwen3 *-Thinking-2507: always opens the thinking.
QWEN3_THINKING = CHATML + "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
# A template opening the thinking without the newline, and one whose thinking is opt-in.
BARE_TAG = CHATML + "{% if add_generation_prompt %}<|im_start|>assistant\n<think>{% endif %}"
OPT_IN = CHATML + (
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% if enable_thinking %}<think>\n{% endif %}{% endif %}"
)
THINKING_OFF = CHATML + "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n\n</think>\n\n{% endif %}"

TASK = ScoringTask(
    "Solve for x: 3x + 7 = 22.",
    "Subtract 7: 3x = 15.\n\nWait, let me check: 22 - 7 = 15. So x = 5.",
    "Subtracting 7 and dividing by 3 gives $x = \\boxed{5}$.",
    removals=((21, 42),),
)
# template -> what the scorer puts before the thinking after the generation prompt
TEMPLATES = {
    "r1-distill": (R1_DISTILL, ""),
    "qwq": (QWQ, ""),
    "qwen3": (QWEN3, "<think>\n"),
    "qwen3-thinking": (QWEN3_THINKING, ""),
    "bare <think>": (BARE_TAG, "\n"),
    "opt-in thinking": (OPT_IN, ""),
    "plain (SmolLM2's own)": (None, "<think>\n"),
}


def with_template(tokenizer, template: str | None):
    tok = copy.deepcopy(tokenizer)
    if template is not None:
        tok.chat_template = template
    return tok


def generation_prompt_ids(tok, task: ScoringTask) -> list[int]:
    messages = [{"role": "system", "content": task.system_prompt}, {"role": "user", "content": task.question}]
    return list(tok.apply_chat_template(messages, add_generation_prompt=True, enable_thinking=True)["input_ids"])


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_scored_sequence_is_what_the_model_sees_generating(tiny_llama, name: str) -> None:
    template, opener = TEMPLATES[name]
    tok = with_template(tiny_llama[1], template)
    prompt = generation_prompt_ids(tok, TASK)
    enc = tok(TASK.answer, add_special_tokens=False).input_ids
    for variant in (None, 0):
        ids, m = scoring_token_ids(tok, TASK, variant)
        thinking = TASK.variant_thinking(variant)
        continuation = tok(opener + thinking + "\n</think>\n\n", add_special_tokens=False).input_ids
        assert ids == prompt + continuation + enc and m == len(enc)
        assert tok.decode(ids).count("<think>") == 1 and tok.decode(ids).count("</think>") == 1


def test_a_template_with_thinking_turned_off_is_refused(tiny_llama) -> None:
    tok = with_template(tiny_llama[1], THINKING_OFF)
    with pytest.raises(ValueError, match="closes the thinking"):
        scoring_token_ids(tok, TASK, None)


@pytest.fixture(scope="module")
def sharp_llama(make_tiny_llama):
    """Large random weights: the answer NLL reacts to the context, so a wrong sequence would show."""
    return make_tiny_llama(seed=1, initializer_range=0.3, max_positions=512)


@pytest.mark.parametrize("name", ["r1-distill", "qwq"])
def test_engine_and_naive_agree_with_a_reasoning_template(sharp_llama, name: str) -> None:
    model, tokenizer = sharp_llama
    tok = with_template(tokenizer, TEMPLATES[name][0])
    removals = ((0, 21), (21, 42), (42, len(TASK.thinking)))
    task = ScoringTask(TASK.question, TASK.thinking, TASK.answer, removals=removals)
    naive, engine = NaiveScorer(model, tok).score(task), CachedScorer(model, tok).score(task)
    assert naive.context_tokens == engine.context_tokens
    assert abs(naive.full_nll - engine.full_nll) < 1e-5
    assert all(abs(a - b) < 1e-5 for a, b in zip(naive.variant_nlls, engine.variant_nlls))


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_training_export_matches_the_scored_text(tiny_llama, name: str) -> None:
    """The LLaMA-Factory export keeps `<think>\\n…\\n</think>\\n\\n` in the assistant content. The scored
    text is the generation prompt without the part of `<think>\\n` it opened, then exactly that content:
    one opening tag either way (how a trainer's template joins them is the export's business)."""
    template, opener = TEMPLATES[name]
    tok = with_template(tiny_llama[1], template)
    content = to_messages(Trace("t", TASK.question, TASK.thinking, TASK.answer), TASK.system_prompt)[-1]["content"]
    prompt = prompt_text(tok, TASK)
    opened = "<think>\n"[: len("<think>\n") - len(opener)]
    assert prompt.endswith(opened)
    scored = prompt + opener + TASK.thinking + TASK.think_close + TASK.answer
    assert scored == prompt.removesuffix(opened) + content if opened else scored == prompt + content
