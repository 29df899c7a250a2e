"""SFTTrainer on the embedded model's chat template: loss on the assistant turn only, the over-long policy.

A tiny random Llama with the embedded tokenizer stands in for the model: the template and tokenization are the
embedded model's own, and building trainers stays fast.
"""


import pytest
import torch
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
from thinktrim.data.formats import read_records
from thinktrim.train.config import TrainConfig
from thinktrim.train.data import read_training_data
from thinktrim.train.model import placement
from thinktrim.train.sft import build_trainer

from .conftest import SAMPLE

pytestmark = pytest.mark.slow


def trainer_for(tiny_model_dir, tmp_path, **settings):
    cfg = TrainConfig.from_mapping({"data": [str(SAMPLE)], "output_dir": str(tmp_path / "out"),
                                    "model": str(tiny_model_dir), **settings})
    data = read_training_data(cfg.data, cfg.system_prompt)
    trainer, tokenizer, report = build_trainer(cfg, data, placement(cfg.model_settings))
    return trainer, tokenizer, report, data


def test_loss_mask_is_the_assistant_turn_token_by_token(tiny_model_dir, tmp_path) -> None:
    trainer, tok, report, data = trainer_for(tiny_model_dir, tmp_path, max_length=8192)
    ds = trainer.train_dataset
    assert report.skipped == report.truncated == 0 and len(ds) == 6
    for row, trace, ids, labels in zip(data.rows, [r.trace for r in read_records(SAMPLE)], ds["input_ids"],
                                       ds["labels"]):
        # the context the model sees at inference (how `thinktrim eval` builds prompts) ...
        text = tok.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        assert text.startswith(f"<|im_start|>system\n{DEFAULT_SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n")
        assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")
        prompt = tok(text, add_special_tokens=False)["input_ids"]
        n = len(prompt)
        # ... is exactly the masked prefix; every token after it is trained on, and it is refine's template
        assert ids[:n] == prompt
        assert all(label == -100 for label in labels[:n])
        assert labels[n:] == ids[n:] and all(label != -100 for label in labels[n:])
        # ... up to the end-of-turn token, where generation stops (not the template's newline after it)
        completion = tok.decode(ids[n:])
        assert completion == f"<think>\n{trace.thinking}\n</think>\n\n{trace.response}<|im_end|>"
        assert ids[-1] == tok.eos_token_id


def test_the_trainer_loss_is_the_completion_cross_entropy(tiny_model_dir, tmp_path) -> None:
    trainer, _, _, _ = trainer_for(tiny_model_dir, tmp_path, max_length=8192)
    ds = trainer.train_dataset
    shortest = sorted(range(len(ds)), key=lambda i: len(ds[i]["input_ids"]))[:2]
    batch = trainer.data_collator([ds[i] for i in shortest])  # a padded batch of two
    padding = batch["attention_mask"] == 0
    assert padding.any() and (batch["labels"][padding] == -100).all()
    model = trainer.model
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        model.train(False)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    labels = batch["labels"][:, 1:]
    expected = torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), labels.flatten(), ignore_index=-100)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)


def test_overlong_policies_count_what_they_do(tiny_model_dir, tmp_path) -> None:
    full, _, _, _ = trainer_for(tiny_model_dir, tmp_path, max_length=8192)
    lengths = [len(ids) for ids in full.train_dataset["input_ids"]]
    limit = sorted(lengths)[2] + 1  # three examples fit
    skip, _, report, _ = trainer_for(tiny_model_dir, tmp_path, max_length=limit, overlong="skip")
    assert report.skipped == 3 and len(skip.train_dataset) == 3
    assert sorted(len(i) for i in skip.train_dataset["input_ids"]) == sorted(x for x in lengths if x <= limit)
    cut, _, report, _ = trainer_for(tiny_model_dir, tmp_path, max_length=limit, overlong="truncate")
    assert report.truncated == 3 and len(cut.train_dataset) == 6
    for ids, original in zip(cut.train_dataset["input_ids"], full.train_dataset["input_ids"]):
        assert ids == original[:limit]


def test_overlong_error_is_one_line_naming_the_record(tiny_model_dir, tmp_path) -> None:
    result = CliRunner().invoke(app, ["train", "sft", str(SAMPLE), "-o", str(tmp_path / "out"), "--model",
                                      str(tiny_model_dir), "--max-length", "300", "--overlong", "error"])
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"error: {SAMPLE}:1: ") and "longer than --max-length 300" in line
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # failed before training: the folder is as it was (none)
