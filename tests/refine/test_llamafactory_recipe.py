"""refine's llamafactory/ folder: per ratio, LIMO's recipe as a YAML `llamafactory-cli train` runs unchanged."""

import json
from pathlib import Path

import yaml

from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
from thinktrim.data.formats import llamafactory_dataset_info, read_records, to_messages
from thinktrim.data.store import write_json, write_jsonl
from thinktrim.recipes import LLAMAFACTORY_GPUS, RECIPES
from thinktrim.refine.outputs import _write_llamafactory_recipes

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
