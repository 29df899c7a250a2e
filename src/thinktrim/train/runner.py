"""One training run from a built trainer to a finished output folder, for every `thinktrim train` command.

The command reads its data and builds its trainer; `run_training` does the rest the same way for all of them:
skip a run that already finished, resume from the last complete checkpoint (or start over), show the progress
bar, train, save the model folder, and write train.json with the figures every command reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from thinktrim.data.store import write_jsonl
from thinktrim.train.arguments import CHECKPOINTS, world_size
from thinktrim.train.checkpoints import RUN_FILE, prepare_resume, resume_settings
from thinktrim.train.config import ModelSettings
from thinktrim.train.lengths import padding_share
from thinktrim.train.model import Placement
from thinktrim.train.outputs import TRAIN_FILE, final_loss, save_trained_model, write_train_json

REJECTS = "rejects.jsonl"
# builds (trainer, tokenizer, what the command adds to train.json); called once resuming is settled
Build = Callable[[], tuple[Any, Any, dict[str, Any]]]


def finished_run(out: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The train.json of a finished run in OUT with these very settings, if there is one."""
    run_file, train_file = out / RUN_FILE, out / TRAIN_FILE
    if not (run_file.is_file() and train_file.is_file()):
        return None
    if json.loads(run_file.read_text(encoding="utf-8")) != settings:
        return None
    return json.loads(train_file.read_text(encoding="utf-8"))


STEP_FIELDS = ("step", "epoch", "loss", "learning_rate", "grad_norm", "tokens_per_second")


def step_log(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-step training log (one entry per loss log, oldest first): loss, learning rate, grad norm, tokens/s,
    and what a command adds (O1-Pruner's ratio and clip share). The Trainer keeps its log history in every
    checkpoint and restores it on resume, so a resumed run has the steps before its checkpoint once each and
    logs the later ones anew: nothing lost, nothing twice."""
    out = []
    for entry in log_history:
        if "loss" not in entry:
            continue
        row = {k: entry[k] for k in STEP_FIELDS if k in entry}
        row.update({k: v for k, v in entry.items() if k not in row and isinstance(v, (int, float))})
        out.append(row)
    return out


def run_training(command: str, config: dict[str, Any], out: Path, data: dict[str, Any], fingerprints: list[str],
                 model_settings: ModelSettings, where: Placement, resume: bool, build: Build,
                 rejects: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Train with the trainer `build` returns (its class counts tokens: `progress.TokenCounting`); return what
    train.json holds. `data` describes the inputs (files, drops) for train.json; `fingerprints` are the data
    files' hashes, part of what a resumed run must share."""
    from accelerate import PartialState
    from transformers import ProgressCallback

    from thinktrim.train.checkpoints import CompletionMarker, last_complete
    from thinktrim.train.progress import ProgressBar, summed_over_processes

    settings = resume_settings(config, fingerprints)
    if resume and (done := finished_run(out, settings)) is not None:
        return {**done, "already_finished": True}
    state = PartialState(cpu=where.use_cpu)
    resumed_from, removed = None, []
    if state.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / TRAIN_FILE).unlink(missing_ok=True)
        if rejects:
            write_jsonl(out / REJECTS, rejects)
        resumed_from, removed = prepare_resume(out, out / CHECKPOINTS, settings, resume)
    state.wait_for_everyone()
    if not state.is_main_process and resume:
        resumed_from = last_complete(out / CHECKPOINTS)

    trainer, tokenizer, extra = build()
    bar = ProgressBar(trainer.token_count)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(bar)
    trainer.add_callback(CompletionMarker())
    result = trainer.train(resume_from_checkpoint=str(resumed_from) if resumed_from else None)
    saved = save_trained_model(trainer, tokenizer, model_settings, where, out)
    real, padded = summed_over_processes(trainer, trainer.token_count.real_tokens, trainer.token_count.padded_tokens)
    record = {
        "command": command,
        "config": config,
        "resolved": {"learning_rate": trainer.args.learning_rate, "device": where.device,
                     "weights_dtype": where.weights_dtype, "bf16_autocast": where.bf16_autocast,
                     "gradient_checkpointing": where.gradient_checkpointing, "processes": world_size(),
                     "gradient_accumulation_steps": trainer.args.gradient_accumulation_steps},
        "data": {**data, "rejects_file": REJECTS if rejects else None},
        **extra,
        "training": {
            "steps": trainer.state.global_step, "epochs": trainer.state.epoch,
            "final_loss": final_loss(trainer.state.log_history),
            "mean_loss_this_run": result.training_loss,
            "resumed_from": resumed_from.name if resumed_from else None,
            "incomplete_checkpoints_removed": removed,
            "tokens_this_run": real, "seconds_this_run": bar.seconds,
            "tokens_per_second": real / bar.seconds if bar.seconds else None,
            "padding_share": padding_share(real, padded),
        },
        "saved": saved,
        "log": step_log(trainer.state.log_history),
    }
    if state.is_main_process:
        write_train_json(out, record)
    return record
