"""Scoring and training with reasoning-model chat templates: the scored sequence and the trained one are what
the model sees and generates at inference.

DeepSeek-R1-Distill, QwQ-32B and Qwen3 thinking templates end the generation prompt with `<think>\\n`; neither
the scorer nor a training example may open the thinking a second time. R1-Distill's and QwQ's also drop the
thinking from the assistant turns they render, so a trainer that renders the conversation with them trains on the
answer alone. The templates below imitate theirs (written here, short).
"""

from __future__ import annotations

import copy

import pytest

from thinktrim.data.chat import assistant_text, chat_example_ids, to_messages
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
# QwQ-32B: ChatML whose assistant turns keep only what follows `</think>`, and a prompt that opens the thinking.
QWQ = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['role'] == 'assistant' %}"
    "{{ m['content'].split('</think>')[-1].lstrip('\\n') }}{% else %}{{ m['content'] }}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
)
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


# --- Training: `train sft` and O1-Pruner examples are the same sequence, with the thinking in the loss ---

R1_SPECIALS = {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>",
               "additional_special_tokens": ["<｜User｜>", "<｜Assistant｜>"]}


def family_tokenizer(tokenizer, name: str):
    """The embedded tokenizer made like the family's: its template, `<think>`/`</think>` as tokens (Qwen's and
    R1-Distill's vocabularies have them), R1-Distill's own BOS, EOS and turn markers."""
    tok = with_template(tokenizer, TEMPLATES[name][0])
    if TEMPLATES[name][0] is not None:
        tok.add_tokens(["<think>", "</think>"])
    if name == "r1-distill":
        tok.add_special_tokens(R1_SPECIALS)
    return tok


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_a_training_example_is_what_the_model_generates(tiny_llama, name: str) -> None:
    """The masked prompt is the generation prompt; the trained tokens are the thinking, `</think>`, the answer
    and EOS; `<think>` once; and the sequence is the one refine scores, plus EOS."""
    tok = family_tokenizer(tiny_llama[1], name)
    messages = to_messages(Trace("t", TASK.question, TASK.thinking, TASK.answer), TASK.system_prompt)
    prompt, completion = chat_example_ids(tok, messages[:-1], messages[-1]["content"])
    assert prompt == generation_prompt_ids(tok, TASK)
    opener = TEMPLATES[name][1]
    assert tok.decode(completion) == opener + TASK.thinking + "\n</think>\n\n" + TASK.answer + tok.eos_token
    assert completion[-1] == tok.eos_token_id
    whole = tok.decode(prompt + completion)
    assert whole.count("<think>") == 1 and whole.count("</think>") == 1
    assert whole == tok.decode(scoring_token_ids(tok, TASK, None)[0]) + tok.eos_token


def test_a_sample_is_trained_on_as_the_model_produced_it(tiny_llama) -> None:
    """O1-Pruner's samples begin where the prompt ended: kept as they are (no EOS when cut off); a completion in
    thinktrim's template (a messages file) loses the `<think>\\n` the prompt opened."""
    from thinktrim.train.o1_pruner.examples import tokenize_row

    tok = family_tokenizer(tiny_llama[1], "r1-distill")
    chat = [{"role": "user", "content": TASK.question}]
    sample = TASK.thinking + "\n</think>\n\n" + TASK.answer
    prompt = tok.apply_chat_template(chat, add_generation_prompt=True)["input_ids"]
    n = len(prompt)
    for completion in (sample, "<think>\n" + sample):
        ids, labels = tokenize_row(tok, {"prompt": chat, "completion": completion, "ends_turn": True})
        assert ids[:n] == prompt
        assert labels[:n] == [-100] * n and labels[n:] == ids[n:]
        assert tok.decode(ids[n:]) == sample + tok.eos_token and tok.decode(ids).count("<think>") == 1
    cut, _ = tokenize_row(tok, {"prompt": chat, "completion": TASK.thinking[:30], "ends_turn": False})
    assert tok.decode(cut).endswith("<｜Assistant｜><think>\n" + TASK.thinking[:30])


@pytest.fixture(scope="module")
def sample_traces():
    from pathlib import Path

    from thinktrim.data.formats import read_records

    sample = Path(__file__).parents[2] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"
    return sample, [r.trace for r in read_records(sample)][:2]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_train_sft_trains_on_the_thinking_with_every_template(tiny_llama, tmp_path, sample_traces,
                                                              name: str) -> None:
    """`train sft`'s trainer on a model of each family: per example the prompt is masked and is the generation
    prompt, and the label tokens decode to the thinking and the answer (and EOS), `<think>` once. Rendering the
    conversation with the R1-Distill or QwQ template trained on the answer alone."""
    from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
    from thinktrim.train.config import TrainConfig
    from thinktrim.train.data import read_training_data
    from thinktrim.train.model import placement
    from thinktrim.train.sft import build_trainer

    model, tokenizer = tiny_llama
    tok = family_tokenizer(tokenizer, name)
    folder = tmp_path / "model"
    model = copy.deepcopy(model)
    model.resize_token_embeddings(len(tok))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    path, traces = sample_traces
    cfg = TrainConfig.from_mapping({"data": [str(path)], "output_dir": str(tmp_path / "out"), "model": str(folder),
                                    "max_length": 8192, "limit": len(traces)})
    data = read_training_data(cfg.data, cfg.system_prompt, limit=cfg.limit)
    trainer, _, report = build_trainer(cfg, data, placement(cfg.model_settings))
    ds = trainer.train_dataset
    assert len(ds) == len(traces) and report.skipped == 0
    opener = TEMPLATES[name][1]
    for trace, ids, labels in zip(traces, ds["input_ids"], ds["labels"]):
        messages = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}, {"role": "user", "content": trace.question}]
        prompt = tok.apply_chat_template(messages, add_generation_prompt=True, enable_thinking=True)["input_ids"]
        n = len(prompt)
        assert ids[:n] == prompt and labels[:n] == [-100] * n
        assert labels[n:] == ids[n:]
        trained = tok.decode(labels[n:])
        assert trained == opener + trace.thinking + "\n</think>\n\n" + trace.response + tok.eos_token
        assert tok.decode(ids).count("<think>") == 1
        assert assistant_text(trace).removeprefix("<think>\n") in trained
