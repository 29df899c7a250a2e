"""The llama_server fixture's health check against real processes that serve, die, or answer badly.

A llama.cpp compiled for another CPU lists its models and then dies by a signal on its first completion; the
stand-in server below does exactly that (it really kills itself with SIGSEGV), so the failure message is checked
without such a build.
"""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ServerNotReady, describe_exit, free_port, stop_process, wait_until_serving

# A minimal OpenAI-like server: lists one model; on /v1/completions it answers, kills itself, or answers nothing.
STAND_IN = r"""
import json, os, resource, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, mode = int(sys.argv[1]), sys.argv[2]
print("stand-in server starting", mode, flush=True)
if mode == "exit-at-start":
    sys.exit(3)
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file from the SIGSEGV below


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.reply(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

    def do_POST(self):
        if mode == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        self.reply(200, {"choices": [{"text": " 4" if mode == "ok" else "", "index": 0}]})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def check(mode: str, tmp_path: Path) -> tuple[subprocess.Popen, str | None]:
    """Start the stand-in in `mode` and run the fixture's health check on it: (process, failure message or None)."""
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", STAND_IN, str(port), mode], stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        wait_until_serving(proc, f"http://127.0.0.1:{port}", "key", log, timeout_s=30)
    except ServerNotReady as e:
        return proc, str(e)
    finally:
        if proc.poll() is None:
            stop_process(proc, 5)
    return proc, None


def test_a_server_that_answers_a_completion_is_ready(tmp_path: Path) -> None:
    proc, failure = check("ok", tmp_path)
    assert failure is None
    assert proc.returncode == -signal.SIGTERM  # it was still serving when stopped


def test_a_server_killed_by_sigsegv_on_its_first_completion_is_named_so(tmp_path: Path) -> None:
    proc, failure = check("segv", tmp_path)
    assert proc.returncode == -signal.SIGSEGV
    assert failure is not None
    first_line = failure.splitlines()[0]
    assert first_line.startswith("llama_cpp.server died with signal 11 (SIGSEGV) on its first completion: ")
    assert "another CPU" in first_line and "make setup" in first_line
    assert "stand-in server starting segv" in failure  # the log's tail follows
    assert "connection refused" not in failure.lower()


def test_a_server_that_exits_while_starting_gives_its_status_and_log(tmp_path: Path) -> None:
    proc, failure = check("exit-at-start", tmp_path)
    assert proc.returncode == 3
    assert failure is not None
    assert failure.splitlines()[0] == "llama_cpp.server died with exit status 3 while starting"
    assert "stand-in server starting exit-at-start" in failure


def test_a_completion_without_text_is_not_ready(tmp_path: Path) -> None:
    proc, failure = check("empty", tmp_path)
    assert failure is not None and "first completion with HTTP 200 and no text" in failure
    assert proc.returncode == -signal.SIGTERM  # alive: stopped by the check's caller, not dead


@pytest.mark.parametrize(("code", "text"), [(0, "exit status 0"), (1, "exit status 1"),
                                            (-4, "signal 4 (SIGILL)"), (-11, "signal 11 (SIGSEGV)")])
def test_describe_exit(code: int, text: str) -> None:
    assert describe_exit(code) == text
