"""Resuming a killed run: which checkpoint is complete, and whether it belongs to the same run.

transformers writes a checkpoint folder file by file, so a `kill -9` while saving leaves a partial one behind.
After the trainer has saved one completely, `CompletionMarker` drops a marker file in it; a rerun resumes from
the newest marked checkpoint and deletes unmarked ones (a checkpoint's files are rewritten when the run gets back
to that step). `run.json`, written before training, holds the settings a rerun must share to continue.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from thinktrim.data.paths import follow_umask
from thinktrim.data.store import write_json
from thinktrim.errors import UserError

MARKER = "thinktrim-complete"
RUN_FILE = "run.json"
# Settings a rerun may change without invalidating the checkpoints.
RESUME_FREE = frozenset({"output_dir", "resume", "accelerate_config", "logging_steps", "save_total_limit", "data",
                         "file_format", "device", "merge_lora"})
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class CompletionMarker(TrainerCallback):
    """Marks each checkpoint complete once the trainer has written all of it (main process only)."""

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                follow_umask(folder)  # the weights come as 0600 (safetensors)
                (folder / MARKER).write_text(f"{state.global_step}\n", encoding="utf-8")


def checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of the checkpoint folders in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return sorted(found)


def last_complete(folder: Path) -> Path | None:
    complete = [p for _, p in checkpoints(folder) if (p / MARKER).is_file()]
    return complete[-1] if complete else None


def remove_incomplete(folder: Path) -> list[str]:
    """Delete checkpoint folders a killed save left unfinished; their names."""
    gone = []
    for _, path in checkpoints(folder):
        if not (path / MARKER).is_file():
            shutil.rmtree(path)
            gone.append(path.name)
    return gone


def resume_settings(config: dict[str, Any], fingerprints: list[str]) -> dict[str, Any]:
    """The flattened settings that must not change across a resume, with the data's fingerprints."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update({k: v for k, v in value.items() if k not in RESUME_FREE})
        elif key not in RESUME_FREE:
            flat[key] = value
    return {**flat, "data_sha256": fingerprints}


def check_same_run(out: Path, settings: dict[str, Any]) -> None:
    """Raise naming what differs when OUT holds checkpoints of a run with other settings."""
    run_file = out / RUN_FILE
    if not run_file.is_file():
        return
    before = json.loads(run_file.read_text(encoding="utf-8"))
    changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
    if changed:
        what = ", ".join(f"{k}: {before.get(k)!r} → {settings.get(k)!r}" for k in changed[:4])
        raise UserError(f"{out} holds checkpoints of a run with other settings ({what}); use another "
                        "--output-dir, or --no-resume to start over")


def prepare_resume(out: Path, checkpoint_dir: Path, settings: dict[str, Any], resume: bool) -> tuple[Path | None,
                                                                                                      list[str]]:
    """(checkpoint to resume from or None, incomplete checkpoints removed). Writes `run.json` for the next rerun."""
    removed: list[str] = []
    if not resume:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    elif checkpoints(checkpoint_dir):
        check_same_run(out, settings)
        removed = remove_incomplete(checkpoint_dir)
    write_json(out / RUN_FILE, settings)
    return (last_complete(checkpoint_dir) if resume else None), removed
