import json
import re
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parents[2] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"


def trimmed(record: dict, max_chars: int) -> dict:
    """The record with its thinking cut at the last paragraph break before `max_chars` (answer kept)."""
    thinking, answer = record["response"].split("</think>", 1)
    cut = [m.end() for m in re.finditer(r"\n\n", thinking) if m.end() <= max_chars]
    return {**record, "response": thinking[: cut[-1]] + "</think>" + answer}


@pytest.fixture(scope="session")
def sample_records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").split("\n") if line.strip()]


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory, sample_records) -> Path:
    """Four real traces with their thinking cut to ~2,500 characters so the embedded model scores them fast."""
    path = tmp_path_factory.mktemp("data") / "small.jsonl"
    path.write_text("".join(json.dumps(trimmed(r, 2500)) + "\n" for r in sample_records[:4]), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def runs_sample(tmp_path_factory, sample_records) -> Path:
    """Four real traces cut to ~1,500 characters (one functional unit each, the last step in three of them),
    with a malformed line after the second: quick to score, for the tests of reruns into one folder."""
    path = tmp_path_factory.mktemp("data") / "runs.jsonl"
    lines = [json.dumps(trimmed(r, 1500)) for r in sample_records[2:6]]
    lines.insert(2, json.dumps({"question": "no response field"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def embedded_scorer():
    """The default scorer on the embedded model, loaded once for the in-process pipeline tests."""
    from thinktrim.lm.scoring.factory import make_scorer

    return make_scorer("engine", device="cpu")


@pytest.fixture(scope="session")
def tiny_sample(tmp_path_factory, sample_records) -> Path:
    """One real trace cut to ~1,000 characters of thinking, three steps of which one is marked (a verdict): for
    runs that call a judge on every step."""
    path = tmp_path_factory.mktemp("data") / "tiny.jsonl"
    path.write_text(json.dumps(trimmed(sample_records[3], 1000)) + "\n", encoding="utf-8")
    return path
