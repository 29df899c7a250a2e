"""Models for the generation tests: the embedded SmolLM2 and a tiny random Llama sharing its tokenizer."""

import pytest


@pytest.fixture(scope="session")
def embedded():
    """(model, tokenizer) of the embedded SmolLM2-135M-Instruct, fp32 on CPU."""
    from thinktrim.lm.load import load_causal_lm

    return load_causal_lm("embedded", device="cpu")


@pytest.fixture(scope="session")
def tiny_llama():
    """A 2-layer, 64-wide Llama with random weights and the embedded tokenizer (and chat template)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from thinktrim.lm.load import load_tokenizer

    tokenizer = load_tokenizer("embedded")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    model = LlamaForCausalLM(config).eval()
    return model, tokenizer


QUESTIONS = [
    "What is 2+3?",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips to her friends "
    "in May. How many clips did Natalia sell altogether in April and May?",
    "Solve for x: 3x + 7 = 22.",
]


def chat(question: str, system: str | None = None) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": question}]
