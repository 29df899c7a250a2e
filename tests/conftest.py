"""Fixtures shared across test folders: tiny random models, and a real OpenAI-compatible server (llama.cpp)."""

import os
import signal
import subprocess
import time
from pathlib import Path

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


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, make_tiny_llama) -> Path:
    """A tiny random Llama with the embedded tokenizer, saved as a model folder: a command (or a Ray worker)
    loads it by path in a second."""
    model, tokenizer = make_tiny_llama(seed=0, max_positions=4096)
    path = tmp_path_factory.mktemp("tiny") / "model"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


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
        try:
            wait_until_serving(proc, base, API_KEY, log)
        except ServerNotReady as e:
            pytest.fail(str(e), pytrace=False)
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


class ServerNotReady(Exception):
    """Why a server the tests started cannot serve them; the fixture fails with this message alone."""


def describe_exit(returncode: int) -> str:
    """'exit status 3', or 'signal 11 (SIGSEGV)' for a process killed by a signal (Popen's returncode -11)."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = "unknown signal"
    return f"signal {-returncode} ({name})"


# The signals a llama.cpp compiled for another CPU dies with (an instruction this CPU lacks).
WRONG_CPU_SIGNALS = {-signal.SIGILL, -signal.SIGSEGV, -signal.SIGBUS}


def _died(proc: subprocess.Popen, when: str, log: Path) -> ServerNotReady:
    message = f"llama_cpp.server died with {describe_exit(proc.returncode)} {when}"
    if proc.returncode in WRONG_CPU_SIGNALS:
        message += (": a llama.cpp build for another CPU? `rm .venv/.llama && make setup` reinstalls the portable "
                    "build (README, llama.cpp)")
    return ServerNotReady(f"{message}\n{_log_tail(log)}")


def _log_tail(log: Path) -> str:
    return f"--- {log} (last 3000 characters) ---\n{log.read_text(errors='replace')[-3000:]}"


def wait_until_serving(proc: subprocess.Popen, base: str, api_key: str, log: Path, timeout_s: float = 120) -> None:
    """Return once the server at `base` lists its models *and* answers one real completion; else ServerNotReady.

    A llama.cpp compiled for another CPU starts and lists its models, then dies on its first completion; this
    finds that before any test does and names how the process ended, instead of each test's "connection refused".
    """
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"}
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise _died(proc, "while starting", log)
        try:
            if httpx.get(f"{base}/v1/models", headers=headers, timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise ServerNotReady(f"llama_cpp.server did not answer in {timeout_s:g} s\n{_log_tail(log)}")
        time.sleep(0.3)

    try:
        reply = httpx.post(f"{base}/v1/completions", headers=headers, timeout=max(deadline - time.monotonic(), 30),
                           json={"prompt": "2+2=", "max_tokens": 4, "temperature": 0})
    except httpx.TransportError as e:
        try:
            proc.wait(timeout=10)  # a dying server drops the connection a moment before it is gone
        except subprocess.TimeoutExpired:
            raise ServerNotReady(f"llama_cpp.server's first completion failed ({type(e).__name__}: {e}) though it "
                                 f"still runs\n{_log_tail(log)}") from None
        raise _died(proc, "on its first completion", log) from None
    try:
        text = reply.json()["choices"][0]["text"]
    except (ValueError, LookupError, TypeError):
        text = None
    if reply.status_code != 200 or not isinstance(text, str) or not text.strip():
        raise ServerNotReady(f"llama_cpp.server answered its first completion with HTTP {reply.status_code} and "
                             f"no text: {reply.text[:300]!r}\n{_log_tail(log)}")
