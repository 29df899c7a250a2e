"""What a trained folder keeps for readers: the per-step log in train.json (sft and o1-pruner fit) and the model
card README.md with the Hugging Face metadata header, on real runs of a tiny random Llama."""

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.data.store import file_fingerprint

from .conftest import SAMPLE
from .o1_pruner.test_fit import write_data

pytestmark = pytest.mark.slow


def train(args: list[str]) -> dict:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = args[args.index("-o") + 1]
    return json.loads((Path(out) / "train.json").read_text())


def card_parts(path) -> tuple[dict, str]:
    """(YAML front matter, body) of a model card, split as the Hub does."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def test_sft_keeps_every_step_and_writes_a_model_card(tiny_model_dir, tmp_path) -> None:
    out = tmp_path / "sft-model"
    old = os.umask(0o027)
    try:
        record = train(["train", "sft", str(SAMPLE), "-o", str(out), "--model", str(tiny_model_dir),
                        "--max-steps", "5", "--max-length", "128", "--overlong", "truncate",
                        "--global-batch-size", "2", "--save-strategy", "no", "--learning-rate", "1e-3"])
    finally:
        os.umask(old)
    log = record["log"]
    assert [e["step"] for e in log] == [1, 2, 3, 4, 5]
    for e in log:
        assert set(e) >= {"step", "epoch", "loss", "learning_rate", "grad_norm", "tokens_per_second"}
        assert e["loss"] > 0 and e["grad_norm"] > 0 and e["tokens_per_second"] > 0
    assert log[-1]["loss"] == record["training"]["final_loss"]
    assert log[0]["learning_rate"] != log[-1]["learning_rate"]  # the schedule moved it (cosine)
    # two sequences of at most 128 tokens per step: a window's tokens/s times its seconds is at most 256 tokens
    assert all(e["tokens_per_second"] < 1e7 for e in log)

    card = out / "README.md"
    assert stat.S_IMODE(card.stat().st_mode) == 0o640  # the umask, as train.json
    assert stat.S_IMODE((out / "train.json").stat().st_mode) == 0o640
    meta, body = card_parts(card)
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-generation"
    assert "base_model" not in meta  # a local folder is no Hub id
    assert {"thinktrim", "sft", "trl"} <= set(meta["tags"]) and "lora" not in meta["tags"]
    sha = file_fingerprint(SAMPLE)["sha256"]
    assert f"| `{SAMPLE}` | 6 |" in body and f"`{sha}`" in body
    assert f"| final loss | {record['training']['final_loss']:.4g} |" in body
    assert "| optimizer steps | 5 |" in body and "| recipe | cpu |" in body and "| global batch size | 2 |" in body
    assert not list(out.glob(".README.md.*"))  # atomic: no temporary left


def test_lora_adapter_folder_card_says_peft_and_loads(tiny_model_dir, tmp_path) -> None:
    from peft import AutoPeftModelForCausalLM

    out = tmp_path / "adapter-model"
    record = train(["train", "sft", str(SAMPLE), "-o", str(out), "--model", str(tiny_model_dir), "--lora",
                    "--no-merge-lora", "--max-steps", "1", "--max-length", "128", "--overlong", "truncate",
                    "--global-batch-size", "1", "--save-strategy", "no"])
    assert record["saved"] == "adapter" and len(record["log"]) == 1
    meta, body = card_parts(out / "README.md")
    assert meta["library_name"] == "peft" and "lora" in meta["tags"]
    assert "AutoPeftModelForCausalLM" in body and "| lora r | 16 |" in body
    model = AutoPeftModelForCausalLM.from_pretrained(str(out))  # what the card tells a reader to run
    assert model.peft_config["default"].r == 16


def test_o1_pruner_fit_keeps_its_step_log_with_the_clip_figures(tiny_model_dir, tmp_path) -> None:
    data = write_data(tmp_path / "data.jsonl")
    out = tmp_path / "fit"
    record = train(["train", "o1-pruner", "fit", data, "-o", str(out), "--model", str(tiny_model_dir),
                    "--max-steps", "3", "--global-batch-size", "1", "--save-strategy", "no"])
    log = record["log"]
    assert [e["step"] for e in log] == [1, 2, 3]
    assert all(e["tokens_per_second"] > 0 and 0 <= e["clipped"] <= 1 and e["ratio"] > 0 for e in log)
    meta, body = card_parts(out / "README.md")
    assert "o1-pruner" in meta["tags"] and "thinktrim train o1-pruner fit" in body


def test_the_embedded_base_is_named_by_its_hub_id() -> None:
    from thinktrim.train.card import EMBEDDED_HUB_ID, hub_id, model_card

    assert hub_id("embedded") == EMBEDDED_HUB_ID and hub_id("Qwen/Qwen2.5-7B-Instruct") == "Qwen/Qwen2.5-7B-Instruct"
    assert hub_id("/tmp/some/model") is None and hub_id("model.safetensors") is None
    text = model_card({"command": "thinktrim train sft", "config": {"model_settings": {"model": "embedded"}},
                       "data": {"files": [{"path": "GAIR/LIMO", "sha256": "ab", "bytes": 1, "examples": 1}]},
                       "saved": "full", "training": {"steps": 3, "final_loss": 0.5}}, "out")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["base_model"] == EMBEDDED_HUB_ID and meta["datasets"] == ["GAIR/LIMO"]
