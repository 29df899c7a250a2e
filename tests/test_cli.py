"""The `thinktrim` entry point: usage errors are one line and exit code 2, like every other bad input."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["refine", "--nope"], "error: No such option: --nope"),
        (["eval", "grade"], "error: missing argument FILE"),
        (["refine", "x.jsonl", "--limit", "abc"], "error: --limit: expected an integer, got 'abc'"),
        (["train-nothing"], "error: No such command 'train-nothing'."),
    ],
)
def test_usage_errors_are_one_line(args, expected) -> None:
    run = subprocess.run([sys.executable, "-m", "thinktrim.cli", *args], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run
    assert run.stderr.startswith(expected) and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "Traceback" not in run.stderr


def test_help_and_version_exit_zero() -> None:
    for args in (["--help"], ["--version"], ["refine", "--help"], ["eval", "--help"]):
        run = subprocess.run([sys.executable, "-m", "thinktrim.cli", *args], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and run.stdout, (args, run.stderr)
