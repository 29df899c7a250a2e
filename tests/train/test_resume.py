"""A run killed with SIGKILL resumes from its last complete checkpoint and ends where an unbroken run ends."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from thinktrim.cli import app

from .conftest import SAMPLE, kill_at_first_checkpoint

pytestmark = pytest.mark.slow
STEPS = 24


def arguments(model: Path, out: Path) -> list[str]:
    return ["train", "sft", str(SAMPLE), "-o", str(out), "--model", str(model), "--max-length", "256", "--overlong",
            "truncate", "--global-batch-size", "1", "--max-steps", str(STEPS), "--save-strategy", "steps",
            "--save-steps", "3", "--save-total-limit", "2", "--learning-rate", "1e-3"]


def command(model: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "thinktrim.cli", *arguments(model, out)]


def logged_steps(out: Path) -> list[int]:
    state = json.loads((out / "checkpoints" / f"checkpoint-{STEPS}" / "trainer_state.json").read_text())
    return [entry["step"] for entry in state["log_history"] if "loss" in entry]


def test_kill_9_then_the_same_command_resumes(tiny_model_dir, tmp_path) -> None:
    out = tmp_path / "killed"
    kill_at_first_checkpoint(command(tiny_model_dir, out), out)
    (out / "checkpoints" / "checkpoint-999").mkdir()  # what a kill in the middle of a save leaves: no marker

    rerun = subprocess.run(command(tiny_model_dir, out), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    record = json.loads((out / "train.json").read_text())
    training = record["training"]
    resumed = training["resumed_from"]
    assert resumed is not None and 3 <= int(resumed.split("-")[1]) < STEPS
    assert training["incomplete_checkpoints_removed"] == ["checkpoint-999"]
    assert training["steps"] == STEPS and not (out / "checkpoints" / "checkpoint-999").exists()
    assert logged_steps(out) == list(range(1, STEPS + 1))  # every step once: nothing lost, nothing twice
    log = record["log"]  # train.json's per-step log: the same steps, the earlier ones kept from the killed run
    assert [e["step"] for e in log] == list(range(1, STEPS + 1))
    assert all(e["tokens_per_second"] > 0 and e["grad_norm"] >= 0 and e["learning_rate"] >= 0 for e in log)

    reference = tmp_path / "unbroken"  # the same run, never killed (in this process: same code, same seeds)
    whole = CliRunner().invoke(app, arguments(tiny_model_dir, reference))
    assert whole.exit_code == 0, whole.output
    assert json.loads((reference / "train.json").read_text())["training"]["resumed_from"] is None
    resumed_weights, whole_weights = load_file(out / "model.safetensors"), load_file(reference / "model.safetensors")
    assert resumed_weights.keys() == whole_weights.keys()
    for name, tensor in whole_weights.items():
        torch.testing.assert_close(resumed_weights[name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    assert training["final_loss"] == pytest.approx(json.loads((reference / "train.json").read_text())
                                                   ["training"]["final_loss"], rel=1e-4)
    assert [e["loss"] for e in log] == pytest.approx([e["loss"] for e in json.loads(
        (reference / "train.json").read_text())["log"]], rel=1e-4)
