"""Many processes: the shipped accelerate configs, the launch command, and a real 2-process DDP run on CPU."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.train.launch import config_path, launch_command, shipped_configs

from ..conftest import free_port
from .conftest import SAMPLE


def test_shipped_configs_load_in_accelerate() -> None:
    configs = {name: load_config_from_file(str(path)) for name, path in shipped_configs().items()}
    assert set(configs) == {"ddp", "fsdp", "zero3"}
    assert configs["zero3"].distributed_type == "DEEPSPEED" and configs["zero3"].deepspeed_config["zero_stage"] == 3
    assert configs["zero3"].deepspeed_config["zero3_init_flag"] is True
    assert configs["fsdp"].distributed_type == "FSDP" and configs["ddp"].distributed_type == "MULTI_GPU"
    assert all(c.mixed_precision == "bf16" for c in configs.values())


def test_launch_command(tmp_path) -> None:
    argv = launch_command(config_path("zero3"), ["train", "sft"], ("a.jsonl", "b.jsonl"), tmp_path / "s.yaml", 4)
    assert argv == [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_path("zero3")),
                    "--num_processes", "4", "-m", "thinktrim.cli", "train", "sft", "a.jsonl", "b.jsonl", "--config",
                    str(tmp_path / "s.yaml")]


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is not None, reason="DeepSpeed is installed")
def test_zero3_without_deepspeed_is_one_line(tmp_path) -> None:
    result = CliRunner().invoke(app, ["train", "sft", str(SAMPLE), "-o", str(tmp_path / "o"), "--accelerate-config",
                                      "zero3"])
    assert result.exit_code == 2 and result.output.strip() == (
        "error: accelerate_config: zero3.yaml uses DeepSpeed, which is not installed (pip install deepspeed)")


# gloo finds its address from the host name by default, which some containers resolve to an unusable address
# (a rank then aborts); loopback is what a one-machine run needs
GLOO_ENV = {**os.environ, "GLOO_SOCKET_IFNAME": "lo"}
ALL_REDUCE = """
import torch, torch.distributed as dist
dist.init_process_group("gloo")
t = torch.ones(1)
dist.all_reduce(t)
assert t.item() == dist.get_world_size()
dist.destroy_process_group()
"""


def skip_without_gloo(tmp_path) -> None:
    """Skip where 2 processes cannot even all-reduce one number over gloo (the container's network, not thinktrim)."""
    script = tmp_path / "all_reduce.py"
    script.write_text(ALL_REDUCE, encoding="utf-8")
    probe = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                            str(free_port()), str(script)], capture_output=True, text=True, timeout=300, env=GLOO_ENV)
    if probe.returncode != 0:
        pytest.skip("2 processes cannot all-reduce over gloo on this machine: "
                    + failure_lines(probe.stderr).splitlines()[0][:300])


@pytest.mark.slow
def test_two_processes_train_one_model(tiny_model_dir, tmp_path) -> None:
    """torch's launcher (what accelerate runs underneath) with 2 CPU processes over gloo: LoRA, merged on rank 0."""
    out = tmp_path / "ddp"
    skip_without_gloo(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
         "-m", "thinktrim.cli", "train", "sft", str(SAMPLE), "-o", str(out), "--model", str(tiny_model_dir), "--lora",
         "--max-length", "256", "--overlong", "truncate", "--global-batch-size", "2", "--max-steps", "3"],
        capture_output=True, text=True, timeout=600, env=GLOO_ENV)
    assert result.returncode == 0, failure_lines(result.stderr)
    record = json.loads((out / "train.json").read_text())
    assert record["resolved"]["processes"] == 2 and record["resolved"]["gradient_accumulation_steps"] == 1
    assert record["training"]["steps"] == 3 and record["saved"] == "merged"
    assert record["training"]["tokens_this_run"] == 3 * 2 * 256  # both processes' batches
    assert result.stdout.count("Training data") == 1  # one summary, from the main process
    assert (out / "model.safetensors").is_file() and (out / "adapter" / "adapter_model.safetensors").is_file()


def failure_lines(stderr: str) -> str:
    """The lines that say why a rank died (they sit far above the launcher's own report), then the tail."""
    why = [line for line in stderr.splitlines()
           if any(k in line for k in ("Error", "error:", "terminate", "what()", "Exception"))]
    return "\n".join(why[:40]) + "\n...\n" + stderr[-1500:]
