"""The LLM judge against a real OpenAI-compatible server (llama.cpp serving the embedded model)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from thinktrim.data.trace import StepKind
from thinktrim.refine.annotate import annotate_steps
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.judge import JudgeConfig, LLMJudge, load_prompt, parse_verdict
from thinktrim.refine.pipeline import LocalScoring, Refiner
from thinktrim.refine.run import refine
from thinktrim.refine.segment import SegmentConfig

THINKING = (
    "We need the sum of 17 and 25. Adding the tens gives 30 and the ones give 12.\n\n"
    "So 17 + 25 = 42.\n\n"
    "Let me see whether 42 - 25 gives back 17: yes, 42 - 25 = 17, so the sum holds.\n\n"
    "Next we multiply 42 by 2 to get 84.\n\n"
)
USER_PROMPT = (  # a user's own prompt file from before "mode" was renamed "kind": still understood
    "Classify the reasoning step. Modes: progressive, verification, multi_method, error_correction. "
    'Reply with JSON only: {"mode": "...", "checks_step": null}'
)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"kind": "verification", "checks_step": 1}', (StepKind.VERIFICATION, 1)),
        ('{"kind": "Error correction", "checks_step": null}', (StepKind.ERROR_CORRECTION, None)),
        ('```json\n{"kind": "multi-method", "checks_step": 0}```', (StepKind.MULTI_METHOD, 0)),
        ('{"kind": "progressive", "checks_step": 7}', (StepKind.PROGRESSIVE, None)),  # link must precede
        ('{"kind": "summary"}', None),
        ('{"checks_step": 1}', None),
        # the key older prompt files asked for
        ('{"mode": "verification", "checks_step": 1}', (StepKind.VERIFICATION, 1)),
        ('{"mode": "summary"}', None),
        ('{"kind": "progressive", "mode": "verification", "checks_step": 1}', (StepKind.PROGRESSIVE, 1)),
        ("not json", None),
        ('["verification"]', None),
    ],
)
def test_parse_verdict(content: str, expected) -> None:
    assert parse_verdict(content, 3) == expected


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="response_format"):
        JudgeConfig(url="http://127.0.0.1:1", model="m", response_format="xml")
    with pytest.raises(ValueError, match="scope: 'some' is not one of unmarked, all"):
        JudgeConfig(url="http://127.0.0.1:1", model="m", scope="some")


def test_prompt_file(tmp_path: Path) -> None:
    assert "verification" in load_prompt() and '{"kind": ' in load_prompt() and '"mode"' not in load_prompt()
    mine = tmp_path / "p.txt"
    mine.write_text(USER_PROMPT + "\n")
    assert load_prompt(mine) == USER_PROMPT
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(ValueError, match=r"--judge-prompt .*empty\.txt: is empty"):
        load_prompt(tmp_path / "empty.txt")
    with pytest.raises(ValueError, match=r"--judge-prompt .*missing\.txt: no such file"):
        load_prompt(tmp_path / "missing.txt")


@pytest.mark.slow
def test_judge_labels_unmarked_steps_through_a_real_server(llama_server: str, llama_server_api_key: str) -> None:
    judge = LLMJudge(JudgeConfig(url=llama_server + "/v1", model="smollm2", api_key=llama_server_api_key,
                                 timeout=120, concurrency=2))

    one_per_paragraph = SegmentConfig(target_sentences=1, max_sentences=2)
    steps = annotate_steps(THINKING, "84", one_per_paragraph, judge=judge)
    assert len(steps) == 4
    assert "".join(s.text(THINKING) for s in steps) == THINKING
    assert judge.calls >= 2 and judge.failures == 0  # the schema-constrained server always answers validly
    judged = [s for s in steps[1:] if s.marker == "judge"]
    assert judged, "every unmarked step after the first goes to the judge"
    for s in steps:
        if s.kind.is_functional and not s.protected:
            assert s.link is not None and steps[s.link].kind is StepKind.PROGRESSIVE


@pytest.mark.slow
def test_judge_labels_every_step_with_the_users_prompt(llama_server: str, llama_server_api_key: str,
                                                      tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text(USER_PROMPT)
    judge = LLMJudge(JudgeConfig(url=llama_server + "/v1", model="smollm2", api_key=llama_server_api_key,
                                 timeout=120, concurrency=2, scope="all", prompt=str(prompt)))
    one_per_paragraph = SegmentConfig(target_sentences=1, max_sentences=2)
    thinking = THINKING.replace("Let me see whether", "Let me check whether")
    marked = annotate_steps(thinking, "The answer is \\boxed{84}.", one_per_paragraph)
    steps = annotate_steps(thinking, "The answer is \\boxed{84}.", one_per_paragraph, judge=judge)
    assert judge.failures == 0 and judge.calls == len(steps) - 1  # every step but the first, once each
    assert all(s.marker == "judge" for s in steps[1:])
    # the marked steps are compared: (markers' kind, judge's kind)
    assert [m for m, _ in judge.last_comparison] == [s.kind.value for s in marked[1:] if s.marker is not None]
    assert judge.last_comparison, "the check step is marked, so at least one comparison"


@pytest.mark.slow
def test_judge_vs_markers_agreement_in_stats_json(
    llama_server: str, llama_server_api_key: str, tiny_sample: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", llama_server_api_key)
    prompt = tmp_path / "prompt.txt"
    prompt.write_text(USER_PROMPT)
    out = tmp_path / "out"
    cfg = RefineConfig(input=str(tiny_sample), output_dir=str(out), ratios=(0.5,),
                       judge=JudgeConfig(url=llama_server + "/v1", model="smollm2", scope="all",
                                         prompt=str(prompt), timeout=120))
    stats = refine(cfg).stats
    ann = json.loads((out / "annotations.jsonl").read_text().split("\n")[0])
    pairs = ann["judge_vs_markers"]
    agreement = stats["judge_vs_markers"]
    assert agreement["steps_compared"] == len(pairs) > 0
    assert agreement["agreement"] == sum(m == j for m, j in pairs) / len(pairs)
    assert sum(agreement["markers_to_judge"].values()) == len(pairs)


def test_unreachable_judge_keeps_steps_progressive() -> None:
    judge = LLMJudge(JudgeConfig(url="http://127.0.0.1:9/v1", model="m", timeout=2, retries=1))
    steps = annotate_steps(THINKING, "84", judge=judge)
    assert judge.failures >= 1
    assert all(s.kind is StepKind.PROGRESSIVE for s in steps)


class _BrokenJudgeServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that answers every chat request the same broken way (`server.reply`)."""

    def do_GET(self) -> None:  # /v1/models: a server is there
        self._send(200, {"data": []})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, body = self.server.reply  # type: ignore[attr-defined]
        self._send(status, body)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def broken_judge_server():
    """(base URL, server): set `server.reply = (status, body)` to choose what every chat request gets."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BrokenJudgeServer)
    server.reply = (200, {"choices": [{"index": 0}]})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ((200, {"choices": [{"index": 0}]}), "malformed reply"),
        ((200, {"choices": []}), "malformed reply"),
        ((200, {"object": "error"}), "malformed reply"),
        ((200, {"choices": [{"message": {"content": "a step of thinking"}}]}), "invalid verdict"),
        ((500, {"error": "down"}), "request failed: HTTP 500"),
        ((400, {"error": "bad request"}), "request failed: HTTP 400"),
    ],
)
def test_a_broken_judge_is_counted_by_reason_not_fatal(broken_judge_server, reply, reason: str) -> None:
    url, server = broken_judge_server
    server.reply = reply
    judge = LLMJudge(JudgeConfig(url=url, model="m", timeout=5, retries=0, scope="all"))
    judge.check_reachable()
    steps = annotate_steps(THINKING, "84", SegmentConfig(target_sentences=1, max_sentences=2), judge=judge)
    assert judge.failure_reasons == {reason: len(steps) - 1} == judge.last_failures
    assert judge.failures == len(steps) - 1 >= 3
    assert not any(s.marker == "judge" for s in steps), "every step keeps what the markers gave it"


@pytest.mark.slow
def test_judge_failures_by_reason_reach_stats_json(broken_judge_server, tiny_sample: Path, tmp_path: Path,
                                                   embedded_scorer) -> None:
    url, _ = broken_judge_server
    out = tmp_path / "out"
    cfg = RefineConfig(input=str(tiny_sample), output_dir=str(out), ratios=(0.5,),
                       judge=JudgeConfig(url=url, model="m", scope="all", retries=0))
    stats = refine(cfg, LocalScoring(Refiner(cfg, scorer=embedded_scorer))).stats
    ann = json.loads((out / "annotations.jsonl").read_text().split("\n")[0])
    n = len(ann["steps"]) - 1
    assert n >= 1 and ann["judge_failures"] == n and ann["judge_failures_by_reason"] == {"malformed reply": n}
    assert stats["judge_failures"] == n and stats["counts"]["judge_failures_by_reason"] == {"malformed reply": n}
