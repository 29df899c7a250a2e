"""Where models come from, and which devices exist: errors name the option and say what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from thinktrim.lm.load import check_device_name, load_tokenizer, pick_device, pick_dtype, resolve_model


def test_models_come_from_a_local_folder_or_the_cache(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^--model: /no/such/folder: no such folder; models are loaded from a local"):
        resolve_model("/no/such/folder")
    with pytest.raises(ValueError, match=r"--tokenizer: \./rel: no such folder"):
        resolve_model("./rel", option="--tokenizer")
    with pytest.raises(ValueError, match=r"no config\.json in this folder"):
        resolve_model(str(tmp_path))
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(ValueError, match=r"weights\.bin: is a file"):
        resolve_model(str(tmp_path / "weights.bin"))
    assert resolve_model("Org/Some-Model_1.5") == "Org/Some-Model_1.5"  # a hub id: looked up in the cache
    with pytest.raises(ValueError, match=r"thinktrim-test/absent: not in the local Hugging Face cache.*hf download"):
        load_tokenizer("thinktrim-test/absent")


def test_devices_and_dtypes() -> None:
    import torch

    for name in ("auto", "cpu", "cuda", "cuda:1", "mps"):
        assert check_device_name(name) == name
    with pytest.raises(ValueError, match="'gpu' is not a device"):
        pick_device("gpu")
    assert pick_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="--device cuda: this machine has no CUDA device"):
            pick_device("cuda")
    else:
        with pytest.raises(ValueError, match="--device cuda:99: only"):
            pick_device("cuda:99")
    assert pick_dtype("bf16", "cpu") is torch.bfloat16 and pick_dtype("auto", "cpu") is torch.float32
    with pytest.raises(ValueError, match="--precision: unknown precision 'f8'"):
        pick_dtype("f8", "cpu")


@pytest.mark.slow
def test_embedded_model_converts_into_an_empty_cache_and_loads(tmp_path):
    # A new process with an empty home, hub cache and thinktrim cache, as on a new user's machine: the
    # conversion must run (not be found in a cache) and everything it needs must be installed.
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
           "HF_HOME": str(tmp_path / "hf"), "THINKTRIM_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    script = textwrap.dedent(
        """
        import torch
        from thinktrim.lm.load import cache_dir, embedded_model_dir, load_causal_lm
        target = cache_dir() / "smollm2-135m-instruct-f32"
        assert not target.exists(), target
        path = embedded_model_dir()
        assert path == target and (path / "model.safetensors").exists() and (path / "tokenizer.json").exists()
        model, tok = load_causal_lm("embedded", device="cpu")
        assert next(model.parameters()).dtype == torch.float32
        ids = tok("The capital of France is", return_tensors="pt").input_ids
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=3, do_sample=False)
        print(repr(tok.decode(out[0, ids.shape[1]:])))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Paris" in run.stdout
    leftovers = [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".convert-")]
    assert not leftovers, leftovers
