import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parents[2] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"


@pytest.fixture(scope="session")
def sample_records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").split("\n") if line.strip()]


def kill_at_first_checkpoint(command: list[str], out: Path) -> None:
    """Start a training command and SIGKILL it once a complete checkpoint is in OUT/checkpoints."""
    from thinktrim.train.checkpoints import MARKER

    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not list((out / "checkpoints").glob(f"checkpoint-*/{MARKER}")):
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (out / "train.json").exists()
