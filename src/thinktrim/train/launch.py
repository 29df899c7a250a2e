"""Many GPUs: run a `thinktrim train` command under `accelerate launch` with a shipped or a user config.

`--accelerate-config zero3` (or fsdp, ddp, or a YAML path) writes the resolved settings to OUT/launch.yaml and
runs `python -m accelerate.commands.launch --config_file … -m thinktrim.cli train sft DATA… --config
OUT/launch.yaml`, with one process per visible GPU unless the config says otherwise. The same can be typed by
hand (see the README). Shipped configs live in `thinktrim/train/accelerate/`.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from thinktrim.errors import MissingExtra, UserError

SHIPPED = Path(__file__).parent / "accelerate"
LAUNCHED_ENV = "THINKTRIM_LAUNCHED"  # set in the launched processes, so they do not launch again


def shipped_configs() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SHIPPED.glob("*.yaml"))}


def config_path(name: str) -> Path:
    """A shipped config by name, or a YAML file of the user's."""
    shipped = shipped_configs()
    if name in shipped:
        return shipped[name]
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    raise UserError(f"{name!r} is neither a shipped config ({', '.join(shipped)}) nor a YAML file")


def launched() -> bool:
    return os.environ.get(LAUNCHED_ENV) == "1"


def check_requirements(path: Path) -> dict[str, Any]:
    """The config as a mapping; a clear error when it needs a package that is missing."""
    from thinktrim.config import load_yaml

    config = load_yaml(path, "--accelerate-config") or {}
    if not isinstance(config, dict):
        raise UserError(f"--accelerate-config {path}: expected a mapping of accelerate settings")
    if config.get("distributed_type") == "DEEPSPEED" and importlib.util.find_spec("deepspeed") is None:
        raise MissingExtra(f"accelerate_config: {path.name} uses DeepSpeed, which is not installed (pip install "
                           "deepspeed)")
    return config


def launch_command(config_file: Path, command: list[str], data: tuple[str, ...], settings_file: Path,
                   processes: int | None) -> list[str]:
    """The argv that runs `thinktrim <command> DATA… --config settings_file` under accelerate."""
    argv = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_file)]
    if processes:
        argv += ["--num_processes", str(processes)]
    return [*argv, "-m", "thinktrim.cli", *command, *data, "--config", str(settings_file)]


def relaunch(config: dict[str, Any], command: list[str], out: Path, accelerate_config: str) -> int:
    """Write the settings, launch, wait; the launched run's exit code."""
    path = config_path(accelerate_config)
    accel = check_requirements(path)
    processes = None
    if "num_processes" not in accel or accel.get("distributed_type") in ("MULTI_GPU", "DEEPSPEED", "FSDP"):
        import torch

        processes = torch.cuda.device_count() or None
    settings = {k: v for k, v in config.items() if k not in ("data", "accelerate_config")}
    out.mkdir(parents=True, exist_ok=True)
    settings_file = out / "launch.yaml"
    settings_file.write_text(yaml.safe_dump(settings, sort_keys=False, allow_unicode=True), encoding="utf-8")
    argv = launch_command(path, command, tuple(config["data"]), settings_file, processes)
    print("launching: " + " ".join(argv), file=sys.stderr)
    return subprocess.run(argv, env={**os.environ, LAUNCHED_ENV: "1"}).returncode
