"""Fixtures shared across test folders: tiny random models, and a real OpenAI-compatible server (llama.cpp)."""

import os
import subprocess

import pytest

# No test may reach a model hub: a hub id missing from the cache fails at once instead of retrying the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def make_tiny_llama():
    """A factory of 2-layer, 64-wide Llamas (GQA) with random weights and the embedded tokenizer.

    `initializer_range` sets how sharp the random model is (large: answer NLLs react to context changes).
    """

    def make(seed: int = 0, initializer_range: float = 0.02, max_positions: int = 1024):
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        from thinktrim.lm.load import load_tokenizer

        tokenizer = load_tokenizer("embedded")
        torch.manual_seed(seed)
        config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_positions,
                             initializer_range=initializer_range, attn_implementation="sdpa",
                             bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id)
        return LlamaForCausalLM(config).eval(), tokenizer

    return make


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


API_KEY = "thinktrim-test-key"


@pytest.fixture(scope="session")
def llama_server_api_key() -> str:
    """The bearer key the `llama_server` fixture requires."""
    return API_KEY


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1 serving the embedded GGUF (key: API_KEY).

    Yields the base URL; the server is stopped at the end of the session.
    """
    import sys
    import time

    import httpx

    pytest.importorskip("llama_cpp", reason="llama-cpp-python[server] is not installed (`make setup` installs it)")
    from thinktrim.lm.load import embedded_gguf_path

    port = free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_gguf_path()), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048", "--api_key", API_KEY, "--n_threads", "2"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/v1/models", headers={"Authorization": f"Bearer {API_KEY}"},
                             timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        stop_process(proc, 15)


def stop_process(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited after `timeout` seconds; waits either way (no zombie)."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
