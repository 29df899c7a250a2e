"""The embedded model trains on the bundled sample (LoRA and full) and the output loads in `thinktrim eval`."""

import json
from pathlib import Path

import pytest
from safetensors import safe_open
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.lm.load import resolve_model

from .conftest import SAMPLE

pytestmark = pytest.mark.slow
PROBE = "model.layers.0.self_attn.q_proj.weight"


def tensor(folder, name=PROBE):
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        return f.get_tensor(name)


@pytest.mark.parametrize(("kind", "flags"), [("merged", ["--lora"]), ("full", [])])
def test_train_then_eval_loads_the_output(tmp_path, kind, flags) -> None:
    out = tmp_path / "model"
    args = ["train", "sft", str(SAMPLE), "-o", str(out), "--max-steps", "2", "--max-length", "128", "--overlong",
            "truncate", "--global-batch-size", "1", "--save-strategy", "no", *flags]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "loss=" in result.output and "tok/s=" in result.output  # the progress bar
    record = json.loads((out / "train.json").read_text())
    assert record["saved"] == kind and record["training"]["steps"] == 2
    assert record["training"]["final_loss"] > 0 and record["training"]["tokens_per_second"] > 0
    assert record["lengths"]["truncated"] == 6 and record["lengths"]["tokens_per_example"]["max"] == 128
    assert record["resolved"] == {**record["resolved"], "device": "cpu", "weights_dtype": "float32",
                                  "bf16_autocast": False, "gradient_checkpointing": False}
    assert record["data"]["files"][0]["sha256"] and record["config"]["model_settings"]["lora"] == (kind == "merged")
    for name in ("config.json", "tokenizer.json", "chat_template.jinja", "generation_config.json"):
        assert (out / name).is_file(), name
    assert (out / "adapter" / "adapter_config.json").is_file() == (kind == "merged")
    assert not (tensor(out) == tensor(Path(resolve_model("embedded")))).all()  # trained weights, not the base

    evaluated = CliRunner().invoke(app, ["eval", "--model", str(out), "--benchmark", "gsm8k", "--limit", "2",
                                         "--max-new-tokens", "32", "-o", str(tmp_path / "eval"), "--grade-processes",
                                         "0"])
    assert evaluated.exit_code == 0, evaluated.output
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["config"]["model"] == str(out) and results["benchmarks"]["gsm8k"]["questions"] == 2

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "already holds this run's model" in again.output

    if kind == "merged":  # refine scores with the trained model too
        record = json.loads(SAMPLE.read_text().split("\n")[0])
        thinking, answer = record["response"].split("</think>", 1)
        short = tmp_path / "short.jsonl"
        short.write_text(json.dumps({**record, "response": thinking[:thinking.index("\n\n", 1200)] + "</think>"
                                     + answer}) + "\n")
        refined = CliRunner().invoke(app, ["refine", str(short), "-o", str(tmp_path / "refine"), "--model", str(out),
                                           "--ratios", "0.5"])
        assert refined.exit_code == 0, refined.output
        annotation = json.loads((tmp_path / "refine" / "annotations.jsonl").read_text())
        assert annotation["status"] in ("scored", "no_units")
        assert json.loads((tmp_path / "refine" / "stats.json").read_text())["model"] == str(out)

