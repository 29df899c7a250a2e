"""`thinktrim train sft`: supervised fine-tuning with TRL's SFTTrainer, loss on the assistant turn only.

The SFT-specific part of a run: read the files into prompt/completion rows (`data`), tokenize them into what the
model sees and generates at inference, the prompt masked (`data.tokenize_example`; TRL gets them tokenized), and
apply the over-long policy to the tokenized rows (`lengths`). Resuming, training, saving and train.json are
`runner.run_training`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import Trainer
from trl import SFTTrainer

from thinktrim.errors import UserError
from thinktrim.lm.threads import use_threads
from thinktrim.train.arguments import training_arguments
from thinktrim.train.config import TrainConfig
from thinktrim.train.data import TrainingData, read_training_data, tokenize_example
from thinktrim.train.lengths import LengthReport, apply_overlong
from thinktrim.train.model import Placement, load_base_model, load_tokenizer_for_training, placement, trainable_parts
from thinktrim.train.progress import TokenCounting
from thinktrim.train.runner import run_training


class ThinkTrimSFTTrainer(TokenCounting, SFTTrainer):
    """TRL's SFTTrainer, counting the tokens it trains on, with the model's own loss on a CPU.

    TRL's fused LM head saves GPU memory by scoring every position in chunks and recomputing them in the backward
    pass (plus entropy and accuracy metrics); on a CPU that triples the cost of the head (a 2-layer model whose
    head dominates: 2.7 s against 0.9 s a step; the embedded 135M model: 46 against 62 tokens/s, same loss).
    TRL documents overriding `compute_loss` for such changes.
    """

    def compute_loss(self, model: Any, inputs: Any, return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        if not self.args.use_cpu:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        return Trainer.compute_loss(self, model, inputs, return_outputs=return_outputs,
                                    num_items_in_batch=num_items_in_batch)


def build_trainer(cfg: TrainConfig, data: TrainingData, where: Placement) -> tuple[Any, Any, LengthReport]:
    """(SFTTrainer ready to train, tokenizer, what the over-long policy did)."""
    from datasets import Dataset
    from trl import SFTConfig

    ms, optim = cfg.model_settings, cfg.optim
    # The arguments come first: under DeepSpeed ZeRO-3 they decide how from_pretrained places the weights.
    # max_length=None: TRL must not truncate on its own; the over-long policy below decides, and counts.
    # The rows come tokenized with their labels, so TRL neither renders nor masks them.
    args = training_arguments(SFTConfig, optim, where, cfg.output_dir, max_length=None, packing=False)
    tokenizer = load_tokenizer_for_training(ms.model)
    examples = [tokenize_example(tokenizer, row) for row in data.rows]
    assert optim.max_length is not None
    _, kept, report = apply_overlong(examples, [row["location"] for row in data.rows], optim.max_length,
                                     cfg.overlong)
    if not kept:
        raise UserError(f"data: no example fits --max-length {optim.max_length:,} (over-long policy "
                        f"{cfg.overlong}: {report.skipped} skipped, {report.no_target_left} without completion)")
    use_threads(ms.threads)  # per process: under a launcher each rank has its own
    model = load_base_model(ms.model, where)
    peft_config = trainable_parts(model, ms, optim.last_layers)
    dataset = Dataset.from_dict({"input_ids": [k[0] for k in kept], "labels": [k[1] for k in kept]})
    trainer = ThinkTrimSFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                                  peft_config=peft_config)
    return trainer, tokenizer, report


def run_sft(cfg: TrainConfig) -> dict[str, Any]:
    """Train, save, and return what train.json holds."""
    where = placement(cfg.model_settings)
    data = read_training_data(cfg.data, cfg.system_prompt, cfg.inputs.layout, cfg.inputs.file_format,
                              cfg.inputs.on_error, cfg.limit, cfg.inputs.split, cfg.inputs.subset,
                              cfg.inputs.start, cfg.inputs.end)

    def build() -> tuple[Any, Any, dict[str, Any]]:
        trainer, tokenizer, lengths = build_trainer(cfg, data, where)
        return trainer, tokenizer, {"lengths": lengths.summary()}

    described = {"files": [vars(f) for f in data.files], "examples_read": len(data.rows),
                 "dropped": dict(data.dropped)}
    return run_training("thinktrim train sft", cfg.to_dict(), Path(cfg.output_dir), described,
                        [f.sha256 for f in data.files], cfg.model_settings, where, cfg.resume, build,
                        rejects=data.rejects)
