"""The embedded model on a machine that has never converted it: GGUF → safetensors into an empty cache."""

import os
import subprocess
import sys
import textwrap

import pytest


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
