"""refine's llamafactory/ folder: per ratio, LIMO's recipe as a YAML `llamafactory-cli train` runs unchanged, in
LLaMA-Factory's template for the family of the model it trains (deepseekr1, qwen3 … not always qwen)."""

import json
from pathlib import Path

import pytest
import yaml

from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT, to_messages
from thinktrim.data.formats import llamafactory_dataset_info, read_records
from thinktrim.data.store import write_json, write_jsonl
from thinktrim.errors import UserError
from thinktrim.recipes import LIMO_BASE_MODEL, LLAMAFACTORY_GPUS, RECIPES, llamafactory_sft
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.outputs import _write_llamafactory_recipes, write_outputs

from .conftest import SAMPLE


def test_sft_yaml_parses_and_names_existing_datasets(tmp_path) -> None:
    traces = [r.trace for r in read_records(SAMPLE)]
    folder = tmp_path / "out" / "llamafactory"
    entries = {0.2: "sample_r0.2", 0.5: "sample_r0.5"}
    for entry in entries.values():  # the datasets as the write phase leaves them
        write_jsonl(folder / f"{entry}.jsonl", [{"messages": to_messages(t, DEFAULT_SYSTEM_PROMPT)} for t in traces])
    write_json(folder / "dataset_info.json",
               {e: llamafactory_dataset_info(f"{e}.jsonl", style="messages") for e in entries.values()})
    assert _write_llamafactory_recipes(folder, entries) == ["ds_z3_config.json", "sft_limo_r0.2.yaml",
                                                            "sft_limo_r0.5.yaml"]
    info = json.loads((folder / "dataset_info.json").read_text())
    limo = RECIPES["limo"]
    for tag in ("r0.2", "r0.5"):
        text = (folder / f"sft_limo_{tag}.yaml").read_text()
        assert text.startswith("# LIMO's recipe on sample_" + tag)
        cfg = yaml.safe_load(text)
        assert cfg["dataset"] == f"sample_{tag}" and cfg["dataset"] in info
        dataset_file = folder / info[cfg["dataset"]]["file_name"]
        assert cfg["dataset_dir"] == str(folder.resolve()) and dataset_file.is_file()
        assert len(dataset_file.read_text().splitlines()) == len(traces)
        deepspeed = json.loads(Path(cfg["deepspeed"]).read_text())
        assert deepspeed["zero_optimization"]["stage"] == 3
        assert (cfg["stage"], cfg["finetuning_type"], cfg["do_train"], cfg["train_on_prompt"]) == ("sft", "full",
                                                                                                  True, False)
        assert (cfg["learning_rate"], cfg["num_train_epochs"], cfg["cutoff_len"], cfg["lr_scheduler_type"],
                cfg["warmup_ratio"], cfg["bf16"], cfg["packing"]) == (limo.learning_rate, limo.epochs,
                                                                      limo.max_length, "cosine", 0.0, True, False)
        per_step = cfg["per_device_train_batch_size"] * cfg["gradient_accumulation_steps"] * LLAMAFACTORY_GPUS
        assert per_step == limo.global_batch_size


@pytest.mark.parametrize(("model", "template"), [
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseekr1"),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "deepseekr1"),
    ("Qwen/QwQ-32B", "qwen"),  # ChatML: LLaMA-Factory has no template of its own for QwQ
    ("/models/QwQ-32B", "qwen"),  # a local folder named after the model
    ("Qwen/Qwen3-8B", "qwen3"),
    ("Qwen/Qwen3-30B-A3B-Thinking-2507", "qwen3"),
    ("Qwen/Qwen3-4B-Instruct-2507", "qwen3_nothink"),
    ("Qwen/Qwen2.5-32B-Instruct", "qwen"),
    ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2"),
    ("meta-llama/Llama-3.1-8B-Instruct", "llama3"),
])
def test_the_template_is_llamafactorys_for_the_model_family(model: str, template: str) -> None:
    cfg = llamafactory_sft("d", "dir", "saves/d", "ds.json", model=model)
    assert (cfg["model_name_or_path"], cfg["template"]) == (model, template)


def test_an_unknown_family_is_refused_and_limo_is_the_default() -> None:
    limo = llamafactory_sft("d", "dir", "saves/d", "ds.json")
    assert (limo["model_name_or_path"], limo["template"]) == (LIMO_BASE_MODEL, "qwen")
    with pytest.raises(UserError, match=r"no LLaMA-Factory template known for 'Qwen/Qwen2\.5-VL-7B-Instruct'"):
        llamafactory_sft("d", "dir", "saves/d", "ds.json", model="Qwen/Qwen2.5-VL-7B-Instruct")


@pytest.mark.parametrize(("scorer", "model", "template"), [
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseekr1"),
    ("Qwen/Qwen3-8B", "Qwen/Qwen3-8B", "qwen3"),
    ("embedded", LIMO_BASE_MODEL, "qwen"),  # not a family LLaMA-Factory knows by name: LIMO's base model
])
def test_refine_writes_the_recipe_for_its_scoring_model(tmp_path, sample_records, annotate_with_drawn_pirs,
                                                        scorer: str, model: str, template: str) -> None:
    data = tmp_path / "traces.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sample_records[:2]))
    cfg = RefineConfig(input=str(data), output_dir=str(tmp_path / "out"), ratios=(0.5,), model=scorer)
    annotate_with_drawn_pirs(cfg)
    write_outputs(cfg)
    text = (tmp_path / "out" / "llamafactory" / "sft_limo_r0.5.yaml").read_text()
    recipe = yaml.safe_load(text)
    assert (recipe["model_name_or_path"], recipe["template"]) == (model, template)
    assert f"# Trains {model} in LLaMA-Factory's `{template}` template" in text
