"""Randomly initialised causal LMs with the shapes of real 1.5B–8B models, for speed benchmarks offline.

Speed does not depend on the weights, and no weights can be fetched here, so `bench/pir_speed.py --model
random:qwen2.5-7b` builds one of these directly on the device (a few seconds on a GPU) with the embedded
tokenizer. The vocabulary keeps the real model's size, so the output projection costs what it really costs;
the tokenizer only ever produces ids below its own size.
"""

from __future__ import annotations

from typing import Any

SHAPES: dict[str, dict[str, Any]] = {
    "tiny": {  # for smoke tests of the benchmark itself
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 49152,
        "rope_theta": 1e4,
        "tie_word_embeddings": True,
    },
    "qwen2.5-1.5b": {
        "model_type": "qwen2",
        "hidden_size": 1536,
        "intermediate_size": 8960,
        "num_hidden_layers": 28,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
        "rope_theta": 1e6,
        "tie_word_embeddings": True,
    },
    "qwen2.5-7b": {
        "model_type": "qwen2",
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "vocab_size": 152064,
        "rope_theta": 1e6,
        "tie_word_embeddings": False,
    },
    "llama-3-8b": {
        "model_type": "llama",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "rope_theta": 5e5,
        "tie_word_embeddings": False,
    },
}
PREFIX = "random:"


def build_random_model(name: str, device: str = "auto", dtype: str = "auto", seed: int = 0) -> tuple[Any, Any]:
    """(model, tokenizer) for `random:<shape>` (a key of SHAPES), initialised on `device` in `dtype`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from thinktrim.lm.load import load_tokenizer, pick_device, pick_dtype

    shape = name.removeprefix(PREFIX)
    if shape not in SHAPES:
        raise ValueError(f"--model {name}: unknown shape {shape!r} (known: {', '.join(SHAPES)})")
    spec = dict(SHAPES[shape])
    tokenizer = load_tokenizer("embedded")
    if len(tokenizer) > spec["vocab_size"]:
        raise ValueError(f"{shape}: vocabulary {spec['vocab_size']} is smaller than the tokenizer's {len(tokenizer)}")
    config = AutoConfig.for_model(spec.pop("model_type"), max_position_embeddings=32768, **spec)
    config._attn_implementation = "sdpa"
    device = pick_device(device)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=pick_dtype(dtype, device))
    return model.eval(), tokenizer
