"""Recipes fill what the user left unset; options and YAML win; LoRA scales the recipe's rate."""

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.config import from_mapping, to_dict
from thinktrim.recipes import LORA_LR_SCALE, RECIPES
from thinktrim.train.config import TrainConfig

SETTINGS = ("learning_rate", "lr_scheduler", "warmup_ratio", "epochs", "weight_decay", "adam_beta2", "max_length",
            "global_batch_size", "per_device_batch_size", "save_total_limit")


@pytest.mark.parametrize("name", list(RECIPES))
def test_a_recipe_fills_every_unset_setting(name) -> None:
    cfg = TrainConfig.from_mapping({"data": ["a.jsonl"], "recipe": name})
    recipe = RECIPES[name]
    assert {k: getattr(cfg.optim, k) for k in SETTINGS} == {k: getattr(recipe, k) for k in SETTINGS}


def test_published_numbers() -> None:
    limo, s1 = RECIPES["limo"], RECIPES["s1"]
    assert (limo.learning_rate, limo.lr_scheduler, limo.warmup_ratio, limo.epochs, limo.max_length,
            limo.global_batch_size, limo.accelerate) == (5e-6, "cosine", 0.0, 15, 16384, 32, "zero3")
    assert (s1.learning_rate, s1.epochs, s1.weight_decay, s1.warmup_ratio, s1.adam_beta2, s1.max_length,
            s1.accelerate) == (1e-5, 5, 1e-4, 0.05, 0.95, 32768, "fsdp")


def test_explicit_settings_and_yaml_win_over_the_recipe(tmp_path) -> None:
    f = tmp_path / "train.yaml"
    f.write_text("recipe: limo\nepochs: 2\noptim: {max_length: 512}\n")
    cfg = TrainConfig.from_yaml(f, data=["a.jsonl"], warmup_ratio=0.1)
    assert (cfg.optim.epochs, cfg.optim.max_length, cfg.optim.warmup_ratio) == (2, 512, 0.1)
    assert cfg.optim.learning_rate == 5e-6 and cfg.optim.global_batch_size == 32


def test_lora_scales_the_recipe_rate_but_not_a_given_one() -> None:
    lora = TrainConfig.from_mapping({"data": ["a"], "recipe": "limo", "lora": True})
    assert lora.optim.learning_rate == pytest.approx(5e-6 * LORA_LR_SCALE)
    given = TrainConfig.from_mapping({"data": ["a"], "recipe": "limo", "lora": True, "learning_rate": 2e-5})
    assert given.optim.learning_rate == 2e-5
    assert from_mapping(TrainConfig, to_dict(lora)) == lora  # train.json / launch.yaml round trip is stable


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--recipe", "nope"], "recipe: 'nope' is not one of limo, s1, cpu"),
        (["--global-batch-size", "3", "--per-device-batch-size", "2"], "--global-batch-size: 3 is not a multiple"),
        (["--max-length", "0"], "--max-length: must be >= 1"),
        (["--accelerate-config", "nope"], "neither a shipped config (ddp, fsdp, zero3) nor a YAML file"),
        (["--model", "/no/such/model"], "error: --model: /no/such/model: no such folder"),
    ],
)
def test_bad_settings_are_one_line(tmp_path, args, message) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"question": "q", "response": "a</think>b"}\n')
    result = CliRunner().invoke(app, ["train", "sft", str(data), "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
