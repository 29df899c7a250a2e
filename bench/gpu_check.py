"""Every GPU path of thinktrim in one prepared run, on small random-weight models: does it run, how long, how much
memory, and how far bf16 moves PIR from fp32.

    python bench/gpu_check.py                  # on a machine with one CUDA GPU (at most ~8 minutes)
    python bench/gpu_check.py --device cpu     # the same paths on the CPU: checks this script, not the GPU

Each path runs in a process of its own (a crash or an out-of-memory in one leaves the others), under a time limit,
through the library functions or the command line a user would call. A path whose library is missing (vLLM,
DeepSpeed) or that needs a GPU the machine lacks is skipped with the reason, not failed. The table: path, status
(ran / skipped / failed and why), seconds, peak GPU memory, and for the scoring paths |ΔPIR| against fp32.

The model is `random:` (bench/random_model.py) at a small GQA shape, saved as a model folder with the embedded
tokenizer and chat template, so every command loads it as it would a real one.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
SAMPLE = ROOT / "src" / "thinktrim" / "data" / "samples" / "thought_anchors_sample.jsonl"
# Small enough to load in seconds, with grouped-query attention (the engine's enable_gqa path).
SHAPE = {"model_type": "qwen2", "hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 4,
         "num_attention_heads": 8, "num_key_value_heads": 2, "vocab_size": 49152, "rope_theta": 1e6,
         "tie_word_embeddings": True}


def make_model_folder(folder: Path) -> Path:
    """A random-weight model folder (config, safetensors, the embedded tokenizer and its chat template)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from thinktrim.lm.load import load_tokenizer

    spec = dict(SHAPE)
    config = AutoConfig.for_model(spec.pop("model_type"), max_position_embeddings=8192, **spec)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    load_tokenizer("embedded").save_pretrained(folder)
    return folder


# ---- the paths (each runs in a child process: `gpu_check.py --run NAME`) ----------------------------------------


def _peak() -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None


def path_refine(work: Path, model: Path, device: str, precision: str) -> dict[str, Any]:
    """PIR scoring with the prefix-cached engine (enable_gqa on CUDA), returning every unit's PIR."""
    import thinktrim

    out = work / f"refine-{precision}"
    shutil.rmtree(out, ignore_errors=True)
    thinktrim.refine(thinktrim.RefineConfig(input=str(SAMPLE), output_dir=str(out), model=str(model), device=device,
                                            precision=precision, ratios=(0.3,), limit=3))
    pirs = [s["pir"] for line in (out / "annotations.jsonl").read_text().splitlines()
            for s in json.loads(line).get("steps", []) if s.get("pir") is not None]
    return {"pir": pirs}


def path_eval(work: Path, model: Path, device: str, precision: str) -> dict[str, Any]:
    import thinktrim

    out = work / "eval"
    shutil.rmtree(out, ignore_errors=True)
    thinktrim.evaluate(thinktrim.EvalConfig(
        benchmarks=("gsm8k",), limit=8, model=str(model), device=device, precision=precision, output_dir=str(out),
        generation=thinktrim.GenerationConfig(n=2, max_new_tokens=32, temperature=0.7)))
    return {}


def path_eval_vllm(work: Path, model: Path, device: str, precision: str) -> dict[str, Any]:
    import thinktrim

    out = work / "eval-vllm"
    shutil.rmtree(out, ignore_errors=True)
    thinktrim.evaluate(thinktrim.EvalConfig(
        benchmarks=("gsm8k",), limit=8, model=str(model), backend="vllm", precision=precision, output_dir=str(out),
        generation=thinktrim.GenerationConfig(n=2, max_new_tokens=32)))
    return {}


def _refined(work: Path) -> str:
    refined = work / "refine-fp32" / "refined_r0.3.jsonl"
    if not refined.exists():  # the training paths need data: the sample itself
        return str(SAMPLE)
    return str(refined)


def path_sft(work: Path, model: Path, device: str, precision: str, **settings: Any) -> dict[str, Any]:
    import thinktrim

    out = work / f"sft-{settings.get('lora', False)}-{settings.get('gradient_checkpointing')}"
    shutil.rmtree(out, ignore_errors=True)
    record = thinktrim.train_sft(thinktrim.TrainConfig(
        data=(_refined(work),), output_dir=str(out), model=str(model), device=device, precision=precision,
        max_steps=3, max_length=4096, overlong="truncate", global_batch_size=2, per_device_batch_size=1,
        save_strategy="no", **settings))
    loss = record.get("training", {}).get("final_loss")
    return {"note": f"final loss {loss:.3f}"} if isinstance(loss, float) else {}


def path_o1(work: Path, model: Path, device: str, precision: str) -> dict[str, Any]:
    import thinktrim

    samples, data, out = work / "o1-samples", work / "o1-data", work / "o1-fit"
    for folder in (samples, data, out):
        shutil.rmtree(folder, ignore_errors=True)
    thinktrim.o1_pruner_sample(thinktrim.SampleConfig(
        benchmarks=("gsm8k",), limit=4, model=str(model), device=device, precision=precision,
        output_dir=str(samples), n=2, max_new_tokens=32))
    thinktrim.o1_pruner_build(thinktrim.BuildConfig(run=str(samples), output_dir=str(data)))
    thinktrim.o1_pruner_fit(thinktrim.FitConfig(
        data=(str(data / "o1_pruner.jsonl"),), output_dir=str(out), model=str(model), device=device,
        precision=precision, max_steps=2, max_length=512, global_batch_size=2, per_device_batch_size=1,
        save_strategy="no"))
    return {}


def path_accelerate(work: Path, model: Path, device: str, precision: str, config: str) -> dict[str, Any]:
    """`train sft --accelerate-config zero3|fsdp` through the command line (it relaunches under accelerate)."""
    out = work / f"sft-{config}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "thinktrim.cli", "train", "sft", _refined(work), "-o", str(out), "--model", str(model),
           "--device", device, "--precision", precision, "--max-steps", "2", "--max-length", "4096",
           "--overlong", "truncate", "--global-batch-size", "8", "--per-device-batch-size", "1",
           "--save-strategy", "no", "--accelerate-config", config]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(last_words(done.stderr))
    return {}


PATHS: dict[str, dict[str, Any]] = {
    "refine engine fp32": {"run": path_refine, "precision": "fp32"},
    "refine engine bf16 (enable_gqa)": {"run": path_refine, "precision": "bf16", "compare": "refine engine fp32"},
    "eval transformers bf16": {"run": path_eval, "precision": "bf16"},
    "eval vLLM bf16": {"run": path_eval_vllm, "precision": "bf16", "needs": "vllm"},
    "train sft full bf16": {"run": path_sft, "precision": "bf16"},
    "train sft full bf16 + gradient checkpointing": {"run": path_sft, "precision": "bf16",
                                                     "settings": {"gradient_checkpointing": True}},
    "train sft LoRA bf16": {"run": path_sft, "precision": "bf16", "settings": {"lora": True}},
    "o1-pruner sample/build/fit bf16": {"run": path_o1, "precision": "bf16"},
    "train sft FSDP (accelerate)": {"run": path_accelerate, "precision": "bf16", "settings": {"config": "fsdp"},
                                    "needs": "accelerate"},
    "train sft ZeRO-3 (accelerate + DeepSpeed)": {"run": path_accelerate, "precision": "bf16",
                                                  "settings": {"config": "zero3"}, "needs": "deepspeed"},
}


def run_one(name: str, work: Path, model: Path, device: str) -> dict[str, Any]:
    """In the child: run one path, return its figures."""
    import torch

    spec = PATHS[name]
    # a CPU dry run trains in fp32; the scoring comparison keeps bf16 (CPU bf16 drifts more than CUDA's)
    precision = spec["precision"] if device != "cpu" or "compare" in spec else "fp32"
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    figures = spec["run"](work, model, device, precision, **spec.get("settings", {}))
    return {**figures, "seconds": time.perf_counter() - start, "peak_mib": _peak()}


def last_words(stderr: str) -> str:
    """The last line of a failure that says something (not a rule of `=` or a progress bar)."""
    lines = [x.strip() for x in stderr.splitlines() if any(c.isalnum() for c in x) and "%|" not in x]
    errors = [x for x in lines if "Error" in x or x.startswith("error:")]
    return (errors or lines or ["no output"])[-1][:160]


# ---- the driver ----------------------------------------------------------------------------------------------


def skip_reason(name: str, device: str) -> str | None:
    needs = PATHS[name].get("needs")
    if needs and importlib.util.find_spec(needs) is None:
        return f"{needs} is not installed"
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            return "no CUDA device here"
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda", help="cuda (the check) or cpu (a dry run of this script)")
    p.add_argument("--only", default="", help="comma-separated path names (substrings) to run")
    p.add_argument("--timeout", type=int, default=240, help="seconds per path")
    p.add_argument("--run", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.run:  # a child: one path, its figures as one JSON line
        work = Path(args.work)
        print("GPU_CHECK " + json.dumps(run_one(args.run, work, work / "model", args.device)), flush=True)
        return 0

    from thinktrim.table import print_table

    wanted = [n for n in PATHS if not args.only or any(w.strip() in n for w in args.only.split(","))]
    rows, results = [], {}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp)
        make_model_folder(work / "model")
        for name in wanted:
            reason = skip_reason(name, args.device)
            if reason:
                rows.append([name, f"skipped: {reason}", "", "", ""])
                continue
            cmd = [sys.executable, __file__, "--run", name, "--work", str(work), "--device", args.device]
            start = time.perf_counter()
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                                      env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
            except subprocess.TimeoutExpired:
                rows.append([name, f"failed: over {args.timeout} s", f"{time.perf_counter() - start:.0f}", "", ""])
                continue
            line = next((x for x in done.stdout.splitlines() if x.startswith("GPU_CHECK ")), None)
            if done.returncode != 0 or line is None:
                rows.append([name, f"failed: {last_words(done.stderr)}", f"{time.perf_counter() - start:.0f}", "", ""])
                continue
            fig = json.loads(line.removeprefix("GPU_CHECK "))
            results[name] = fig
            delta = ""
            other = results.get(PATHS[name].get("compare", ""))
            if other and fig.get("pir") and len(other["pir"]) == len(fig["pir"]):
                diffs = [abs(a - b) for a, b in zip(fig["pir"], other["pir"], strict=True)]
                delta = f"max {max(diffs):.4f}, mean {sum(diffs) / len(diffs):.4f} ({len(diffs)} units)"
            peak = f"{fig['peak_mib']:.0f}" if fig.get("peak_mib") is not None else "n/a"
            status = "ran" + (f" ({fig['note']})" if fig.get("note") else "")
            rows.append([name, status, f"{fig['seconds']:.1f}", peak, delta])
    import torch

    where = torch.cuda.get_device_name(0) if args.device == "cuda" and torch.cuda.is_available() else args.device
    print_table(f"GPU paths on {where}", ["path", "status", "seconds", "peak MiB", "|ΔPIR| vs fp32"], rows)
    return 1 if any(r[1].startswith("failed") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
