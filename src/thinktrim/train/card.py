"""The model card of a trained folder: `README.md` with the Hugging Face metadata header, as the Hub and
`transformers`/`peft` users expect one beside the weights.

The YAML front matter says what the Hub indexes (base model, library, tags, hub datasets); the body says what a
reader needs to trust or redo the run: the data files with their SHA-256, the recipe, steps, final loss. It is
made from the train.json record alone (a pure function), so card and record cannot disagree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from thinktrim.data.store import atomic_open

CARD_FILE = "README.md"
EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # what the embedded GGUF was quantised from
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
_RECIPE_FIELDS = ("recipe", "learning_rate", "lr_scheduler", "warmup_ratio", "epochs", "max_steps", "weight_decay",
                  "adam_beta2", "max_length", "global_batch_size", "per_device_batch_size", "max_grad_norm",
                  "last_layers", "seed")
_LORA_FIELDS = ("lora_r", "lora_alpha", "lora_dropout", "lora_targets")


def hub_id(name: str) -> str | None:
    """`name` as a Hub repo id, when it is one (not a local path); the embedded model as its source's id."""
    if name == "embedded":
        return EMBEDDED_HUB_ID
    if Path(name).expanduser().exists() or not _HUB_ID.fullmatch(name):
        return None
    return name


def _yaml_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string or number is valid YAML


def front_matter(meta: dict[str, Any]) -> str:
    lines = ["---"]
    for key, value in meta.items():
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"- {_yaml_value(v)}" for v in value]
        else:
            lines.append(f"{key}: {_yaml_value(value)}")
    return "\n".join([*lines, "---", ""])


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def model_card(record: dict[str, Any], folder_name: str) -> str:
    """The README.md text for a folder whose train.json holds `record`."""
    config = record.get("config", {})
    ms, optim = config.get("model_settings", {}), config.get("optim", {})
    command = record.get("command", "thinktrim train")
    base = str(ms.get("model", ""))
    adapter = record.get("saved") == "adapter"
    files = record.get("data", {}).get("files", [])
    meta: dict[str, Any] = {}
    if hub_id(base):
        meta["base_model"] = hub_id(base)
    meta["library_name"] = "peft" if adapter else "transformers"
    meta["pipeline_tag"] = "text-generation"
    tags = ["thinktrim", "trl", "o1-pruner" if "o1-pruner" in command else "sft", "reasoning"]
    meta["tags"] = tags + (["lora"] if ms.get("lora") else [])
    datasets = [h for f in files if (h := hub_id(str(f.get("path", ""))))]
    if datasets:
        meta["datasets"] = datasets
    training = record.get("training", {})
    versions = record.get("versions", {})

    out = [front_matter(meta), f"# {folder_name}", ""]
    out.append(f"Fine-tuned from `{base}`" + (f" ({EMBEDDED_HUB_ID})" if base == "embedded" else "")
               + f" with `{command}` (thinktrim {versions.get('thinktrim', '?')}). "
               + ("This folder holds a LoRA adapter; load it on top of its base." if adapter else
                  "This folder holds the whole model" + (" (LoRA merged into the base; the adapter is in "
                                                         "`adapter/`)." if ms.get("lora") else ".")))
    out += ["", "## Training data", "", "| file | examples | bytes | SHA-256 |", "|---|---:|---:|---|"]
    out += [f"| `{f.get('path')}` | {_number(f.get('examples'))} | {_number(f.get('bytes'))} | `{f.get('sha256')}` |"
            for f in files]
    dropped = record.get("data", {}).get("dropped") or {}
    if dropped:
        out += ["", "Dropped while reading: " + "; ".join(f"{k}: {v}" for k, v in dropped.items()) + "."]
    out += ["", "## Recipe", "", "| setting | value |", "|---|---|"]
    settings = {k: optim.get(k) for k in _RECIPE_FIELDS if optim.get(k) is not None}
    settings.update({k: ms.get(k) for k in _LORA_FIELDS if ms.get("lora")})
    resolved = record.get("resolved", {})
    settings.update({k: resolved[k] for k in ("device", "weights_dtype", "bf16_autocast", "processes",
                                              "gradient_accumulation_steps") if k in resolved})
    out += [f"| {k.replace('_', ' ')} | {_number(v)} |" for k, v in settings.items()]
    out += ["", "## Results", "", "| | |", "|---|---|",
            f"| optimizer steps | {_number(training.get('steps'))} |",
            f"| epochs | {_number(training.get('epochs'))} |",
            f"| final loss | {_number(training.get('final_loss'))} |",
            f"| tokens trained (this run) | {_number(training.get('tokens_this_run'))} |",
            f"| tokens/s | {_number(training.get('tokens_per_second'))} |",
            f"| resumed from | {training.get('resumed_from') or '–'} |",
            "", "The per-step log (loss, learning rate, grad norm, tokens/s) is in `train.json` (`log`); "
                "`thinktrim report` draws it.", "", "## Usage", "", "```python"]
    if adapter:
        out += ["from peft import AutoPeftModelForCausalLM", "from transformers import AutoTokenizer", "",
                f'model = AutoPeftModelForCausalLM.from_pretrained("{folder_name}")']
    else:
        out += ["from transformers import AutoModelForCausalLM, AutoTokenizer", "",
                f'model = AutoModelForCausalLM.from_pretrained("{folder_name}")']
    out += [f'tokenizer = AutoTokenizer.from_pretrained("{folder_name}")', "```", "",
            f"or `thinktrim eval --model {folder_name} --benchmark gsm8k`.", ""]
    return "\n".join(out)


def write_model_card(out: Path, record: dict[str, Any]) -> Path:
    """Write OUT/README.md atomically (the mode a plain `open()` gives, as every output)."""
    path = out / CARD_FILE
    with atomic_open(path) as f:
        f.write(model_card(record, out.name))
    return path
