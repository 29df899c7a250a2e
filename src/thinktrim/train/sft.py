"""`thinktrim train sft`: supervised fine-tuning with TRL's SFTTrainer, loss on the assistant turn only.

Steps: read the files into prompt/completion rows (`data`), let TRL tokenize them with the model's chat template
(the completion mask marks the assistant turn), apply the over-long policy to the tokenized rows (`lengths`),
train with a progress bar and per-epoch checkpoints, resume from the last complete one, and write a model folder
plus train.json (`outputs`). Heavy imports stay inside the functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from thinktrim.data.store import write_jsonl
from thinktrim.train.arguments import CHECKPOINTS, training_arguments, world_size
from thinktrim.train.checkpoints import RUN_FILE, prepare_resume, resume_settings
from thinktrim.train.config import TrainConfig
from thinktrim.train.data import TrainingData, read_training_data
from thinktrim.train.lengths import LengthReport, apply_overlong, padding_share
from thinktrim.train.model import Placement, load_base_model, load_tokenizer_for_training, lora_config, placement
from thinktrim.train.outputs import TRAIN_FILE, final_loss, save_trained_model, write_train_json

REJECTS = "rejects.jsonl"


def finished_run(out: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The train.json of a finished run in OUT with these very settings, if there is one."""
    run_file, train_file = out / RUN_FILE, out / TRAIN_FILE
    if not (run_file.is_file() and train_file.is_file()):
        return None
    if json.loads(run_file.read_text(encoding="utf-8")) != settings:
        return None
    return json.loads(train_file.read_text(encoding="utf-8"))


def sft_trainer_class() -> type:
    """TRL's SFTTrainer, counting the tokens it trains on, with the model's own loss on a CPU.

    TRL's fused LM head saves GPU memory by scoring every position in chunks and recomputing them in the backward
    pass (plus entropy and accuracy metrics); on a CPU that triples the cost of the head (measured: 2.7 s against
    0.9 s a step for a 2-layer model whose head dominates). TRL documents overriding `compute_loss` for this.
    """
    from transformers import Trainer
    from trl import SFTTrainer

    from thinktrim.train.progress import TokenCount

    class ThinkTrimSFTTrainer(SFTTrainer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.token_count = TokenCount()

        def training_step(self, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
            self.token_count.add(inputs)
            return super().training_step(model, inputs, *args, **kwargs)

        def compute_loss(self, model: Any, inputs: Any, return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            if not self.args.use_cpu:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            return Trainer.compute_loss(self, model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)

    return ThinkTrimSFTTrainer


def build_trainer(cfg: TrainConfig, data: TrainingData, where: Placement) -> tuple[Any, Any, LengthReport]:
    """(SFTTrainer ready to train, tokenizer, what the over-long policy did)."""
    from datasets import Dataset
    from trl import SFTConfig

    ms, optim = cfg.model_settings, cfg.optim
    # The arguments come first: under DeepSpeed ZeRO-3 they decide how from_pretrained places the weights.
    # max_length=None: TRL must not truncate on its own; the over-long policy below decides, and counts.
    args = training_arguments(SFTConfig, optim, where, cfg.output_dir, max_length=None, packing=False,
                              completion_only_loss=True)
    tokenizer = load_tokenizer_for_training(ms.model)
    model = load_base_model(ms.model, where)
    trainer = sft_trainer_class()(model=model, args=args, train_dataset=Dataset.from_list(data.rows),
                                  processing_class=tokenizer, peft_config=lora_config(ms) if ms.lora else None)
    prepared = trainer.train_dataset
    assert optim.max_length is not None
    _, kept, report = apply_overlong(list(zip(prepared["input_ids"], prepared["labels"])), prepared["location"],
                                     optim.max_length, cfg.overlong)
    if not kept:
        raise ValueError(f"data: no example fits --max-length {optim.max_length:,} (over-long policy "
                         f"{cfg.overlong}: {report.skipped} skipped, {report.no_target_left} without completion)")
    trainer.train_dataset = Dataset.from_dict({"input_ids": [k[0] for k in kept], "labels": [k[1] for k in kept]})
    return trainer, tokenizer, report


def _summed_over_processes(trainer: Any, *counts: int) -> list[int]:
    """Token counts of every process added up (each process counts the batches it trained on)."""
    import torch

    total = trainer.accelerator.reduce(torch.tensor(counts, device=trainer.args.device), reduction="sum")
    return [int(x) for x in total.tolist()]


def run_sft(cfg: TrainConfig) -> dict[str, Any]:
    """Train, save, and return what train.json holds."""
    from accelerate import PartialState
    from transformers import ProgressCallback

    from thinktrim.train.checkpoints import CompletionMarker, last_complete
    from thinktrim.train.progress import ProgressBar

    out = Path(cfg.output_dir)
    where = placement(cfg.model_settings)
    data = read_training_data(cfg.data, cfg.system_prompt, cfg.layout, cfg.file_format, cfg.on_error, cfg.limit)
    settings = resume_settings(cfg.to_dict(), [f.sha256 for f in data.files])
    if cfg.resume and (done := finished_run(out, settings)) is not None:
        return {**done, "already_finished": True}

    state = PartialState(cpu=where.use_cpu)
    resumed_from, removed = None, []
    if state.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / TRAIN_FILE).unlink(missing_ok=True)
        if data.rejects:
            write_jsonl(out / REJECTS, data.rejects)
        resumed_from, removed = prepare_resume(out, out / CHECKPOINTS, settings, cfg.resume)
    state.wait_for_everyone()
    if not state.is_main_process and cfg.resume:
        resumed_from = last_complete(out / CHECKPOINTS)

    trainer, tokenizer, lengths = build_trainer(cfg, data, where)
    bar = ProgressBar(trainer.token_count)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(bar)
    trainer.add_callback(CompletionMarker())
    result = trainer.train(resume_from_checkpoint=str(resumed_from) if resumed_from else None)
    saved = save_trained_model(trainer, tokenizer, cfg.model_settings, where, out)
    real, padded = _summed_over_processes(trainer, trainer.token_count.real_tokens, trainer.token_count.padded_tokens)

    record = {
        "command": "thinktrim train sft",
        "config": cfg.to_dict(),
        "resolved": {"learning_rate": cfg.optim.learning_rate, "device": where.device,
                     "weights_dtype": where.weights_dtype, "bf16_autocast": where.bf16_autocast,
                     "gradient_checkpointing": where.gradient_checkpointing, "processes": world_size(),
                     "gradient_accumulation_steps": trainer.args.gradient_accumulation_steps},
        "data": {"files": [vars(f) for f in data.files], "examples_read": len(data.rows),
                 "dropped": dict(data.dropped), "rejects_file": REJECTS if data.rejects else None},
        "lengths": lengths.summary(),
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
    }
    if state.is_main_process:
        write_train_json(out, record)
    return record
