"""The output folder: a model `thinktrim eval --model OUT` and `refine --model OUT` load as is, and train.json.

- full fine-tuning: the model, tokenizer and chat template in OUT;
- LoRA: the adapter in OUT/adapter and, by default, the base with the adapter merged in OUT (without merging, the
  adapter itself goes to OUT, which transformers loads on top of its base);
- `README.md`, the model card with the Hugging Face metadata header (`card.py`);
- `train.json`, written last (atomically): the settings, the data files with their SHA-256, what was dropped and
  why, token and padding figures, the final loss, the per-step log. A folder without it is not a finished model.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from thinktrim.data.paths import follow_umask
from thinktrim.data.store import write_json
from thinktrim.train.config import ModelSettings
from thinktrim.train.model import Placement, load_base_model

TRAIN_FILE = "train.json"
ADAPTER = "adapter"


def save_trained_model(trainer: Any, tokenizer: Any, settings: ModelSettings, where: Placement,
                       out: Path) -> str:
    """Save the trained weights (every process must call this: sharded models gather here); what was saved.
    The files get the mode a plain `open()` gives (safetensors writes 0600: no one else could load the model)."""
    if not settings.lora or not settings.merge_lora:
        trainer.save_model(str(out))
        saved = "adapter" if settings.lora else "full"
    else:
        adapter = out / ADAPTER
        trainer.save_model(str(adapter))
        if trainer.accelerator.is_main_process:
            merge_adapter(settings.model, adapter, where).save_pretrained(str(out))
            tokenizer.save_pretrained(str(out))
        saved = "merged"
    if trainer.accelerator.is_main_process:
        follow_umask(out, contents_only=True)
    trainer.accelerator.wait_for_everyone()
    return saved


def merge_adapter(base: str, adapter: Path, where: Placement) -> Any:
    """The base model (reloaded whole, so sharded training merges the same way) with the adapter merged in."""
    from peft import PeftModel

    model = load_base_model(base, where)
    return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()


def final_loss(log_history: list[dict[str, Any]]) -> float | None:
    """The last logged training loss."""
    losses = [entry["loss"] for entry in log_history if "loss" in entry]
    return float(losses[-1]) if losses else None


def library_versions() -> dict[str, str]:
    found = {}
    for name in ("thinktrim", "torch", "transformers", "trl", "peft", "accelerate"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def write_train_json(out: Path, record: dict[str, Any]) -> Path:
    """Write the model card (README.md, from the same record), then train.json: the last file, so a folder with
    it is finished."""
    from thinktrim.train.card import write_model_card

    path = out / TRAIN_FILE
    full = {**record, "versions": library_versions()}
    write_model_card(out, full)
    write_json(path, full)
    return path
