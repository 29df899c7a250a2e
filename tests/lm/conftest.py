"""Models for the generation tests: the embedded SmolLM2 and a tiny random Llama sharing its tokenizer."""

import pytest


@pytest.fixture(scope="session")
def embedded():
    """(model, tokenizer) of the embedded SmolLM2-135M-Instruct, fp32 on CPU."""
    from thinktrim.lm.load import load_causal_lm

    return load_causal_lm("embedded", device="cpu")


@pytest.fixture(scope="session")
def tiny_llama(make_tiny_llama):
    """A 2-layer, 64-wide Llama with random weights and the embedded tokenizer (and chat template)."""
    return make_tiny_llama(seed=0)


QUESTIONS = [
    "What is 2+3?",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips to her friends "
    "in May. How many clips did Natalia sell altogether in April and May?",
    "Solve for x: 3x + 7 = 22.",
]


def chat(question: str, system: str | None = None) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": question}]
