"""`thinktrim train o1-pruner fit`: offline PPO-clip fine-tuning on the reward dataset.

The O1-Pruner-specific part of a run: read the reward rows (`examples`), tokenize them as the model sampled
them, apply the over-long policy, load the model (full, LoRA or the last N layers; dropout off, so the ratio
compares the same deterministic function before and after a step), compute or attach the reference log-probs,
and hand the trainer to `runner.run_training`, which resumes, trains, saves and writes train.json as for
`train sft`.

Over-long samples are truncated by default, as the released code does. Skipping them (`train sft`'s default)
drops the longest samples, which carry the lowest rewards, so the trained advantages no longer average the zero
`build` gave them and the strongest "be shorter" examples are lost; the mean and the shares cut and dropped are
in train.json and printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from thinktrim.errors import UserError
from thinktrim.lm.threads import use_threads
from thinktrim.train.arguments import training_arguments
from thinktrim.train.data import TrainingData
from thinktrim.train.lengths import IGNORE, LengthReport, apply_overlong
from thinktrim.train.model import Placement, load_base_model, load_tokenizer_for_training, placement, trainable_parts
from thinktrim.train.o1_pruner.config import FitConfig
from thinktrim.train.o1_pruner.examples import read_reward_data, tokenize_row
from thinktrim.train.runner import run_training

EMPTY_COMPLETION = "empty completion (no token to score)"


def tokenized_dataset(cfg: FitConfig, data: TrainingData, tokenizer: Any) -> tuple[Any, LengthReport]:
    """The rows as a datasets.Dataset (key, input_ids, completion_mask, advantage) after the over-long policy."""
    from datasets import Dataset

    assert cfg.optim.max_length is not None
    examples = [tokenize_row(tokenizer, row) for row in data.rows]
    empty = [i for i, (_, labels) in enumerate(examples) if all(label == IGNORE for label in labels)]
    if empty:
        data.dropped[EMPTY_COMPLETION] += len(empty)
    usable = [i for i in range(len(examples)) if i not in set(empty)]
    kept, out, report = apply_overlong([examples[i] for i in usable], [data.rows[i]["location"] for i in usable],
                                       cfg.optim.max_length, cfg.overlong)
    if not out:
        raise UserError(f"data: no example fits --max-length {cfg.optim.max_length:,} (over-long policy "
                        f"{cfg.overlong}: {report.skipped} skipped, {report.no_target_left} without completion)")
    rows = [data.rows[usable[k]] for k in kept]
    return Dataset.from_dict({
        "key": [r["key"] for r in rows],
        "input_ids": [ids for ids, _ in out],
        "completion_mask": [[int(label != IGNORE) for label in labels] for _, labels in out],
        "advantage": [r["advantage"] for r in rows],
    }), report


def load_policy(cfg: FitConfig, where: Placement) -> Any:
    """The model to train: LoRA-wrapped or with its trainable layers chosen, dropout off."""
    from trl.trainer.utils import disable_dropout_in_model

    ms = cfg.model_settings
    model = load_base_model(ms.model, where)
    peft_config = trainable_parts(model, ms, cfg.optim.last_layers)
    if peft_config is not None:
        from peft import get_peft_model

        model = get_peft_model(model, peft_config)
    if where.gradient_checkpointing and (peft_config is not None or cfg.optim.last_layers):
        model.enable_input_require_grads()  # frozen embeddings: checkpointed blocks still need a grad path
    disable_dropout_in_model(model)
    return model


def build_trainer(cfg: FitConfig, data: TrainingData, where: Placement) -> tuple[Any, Any, dict[str, Any]]:
    """(trainer ready to train, tokenizer, what train.json adds: lengths, reference pass, objective)."""
    from transformers import TrainingArguments

    from thinktrim.train.o1_pruner.reference import reference_file, reference_pass
    from thinktrim.train.o1_pruner.trainer import O1PrunerTrainer, RewardCollator

    ms, optim = cfg.model_settings, cfg.optim
    # The arguments come first: under DeepSpeed ZeRO-3 they decide how from_pretrained places the weights.
    args = training_arguments(TrainingArguments, optim, where, cfg.output_dir, remove_unused_columns=False,
                              per_device_eval_batch_size=optim.per_device_batch_size)
    tokenizer = load_tokenizer_for_training(ms.model)
    use_threads(ms.threads)  # per process: under a launcher each rank has its own
    dataset, lengths = tokenized_dataset(cfg, data, tokenizer)
    resident = cfg.reference == "resident"
    ref_model = None
    if resident and not ms.lora:  # LoRA's reference is its own base, adapters off
        from trl.trainer.utils import disable_dropout_in_model

        ref_model = load_base_model(ms.model, where).requires_grad_(False)
        disable_dropout_in_model(ref_model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    trainer = O1PrunerTrainer(
        model=load_policy(cfg, where), args=args, train_dataset=dataset, data_collator=RewardCollator(pad_id),
        processing_class=tokenizer, epsilon=cfg.epsilon, resident=resident, ref_model=ref_model)
    if resident:
        reference: dict[str, Any] = {"mode": "resident", "second_model": ref_model is not None}
    else:
        depends_on = {"model": ms.model, "data": [f.sha256 for f in data.files], "keys": len(dataset),
                      "max_length": optim.max_length, "overlong": cfg.overlong, "limit": cfg.limit,
                      "weights": where.weights_dtype, "bf16": where.bf16_autocast}
        values, reference = reference_pass(trainer, dataset, reference_file(Path(cfg.output_dir), depends_on))
        trainer.train_dataset = dataset.add_column("ref_logp", values)
    objective = {"epsilon": cfg.epsilon, **advantage_figures(dataset["advantage"], len(data.rows), lengths)}
    return trainer, tokenizer, {"lengths": lengths.summary(), "reference": reference, "objective": objective,
                                "sampled_by": sampling_model(data)}


def advantage_figures(advantages: list[float], read: int, lengths: LengthReport) -> dict[str, Any]:
    """What the trained advantages are after the over-long policy: their count, signs and mean (0 for all of
    `build`'s rows), and the shares of the rows read that were cut at --max-length or dropped (skipped,
    nothing left to score)."""
    dropped = read - len(advantages)
    return {"examples": len(advantages), "positive_advantage": sum(a > 0 for a in advantages),
            "negative_advantage": sum(a < 0 for a in advantages),
            "advantage_mean": sum(advantages) / len(advantages), "overlong": lengths.policy,
            "share_cut": lengths.truncated / read, "share_dropped": dropped / read}


def sampling_model(data: TrainingData) -> str | None:
    """The model that drew the samples, from the build.json beside a data file (None when there is none)."""
    for f in data.files:
        summary = Path(f.path).parent / "build.json"
        if Path(f.path).is_file() and summary.is_file():  # a datasets folder or hub id is no build output
            return json.loads(summary.read_text(encoding="utf-8")).get("reference_model")
    return None


def run_fit(cfg: FitConfig) -> dict[str, Any]:
    """Train, save, and return what train.json holds."""
    where = placement(cfg.model_settings)
    data = read_reward_data(cfg.data, cfg.advantage_field, cfg.on_error, cfg.limit, cfg.split, cfg.subset,
                            cfg.start, cfg.end)

    def build() -> tuple[Any, Any, dict[str, Any]]:
        return build_trainer(cfg, data, where)

    described = {"files": [vars(f) for f in data.files], "examples_read": len(data.rows),
                 "dropped": data.dropped}
    return run_training("thinktrim train o1-pruner fit", cfg.to_dict(), Path(cfg.output_dir), described,
                        [f.sha256 for f in data.files], cfg.model_settings, where, cfg.resume, build,
                        rejects=data.rejects)
