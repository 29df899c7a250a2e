"""O1-Pruner's three costs against what they stand beside (issue 11):

1. pre-sampling: `thinktrim train o1-pruner sample` against plain `thinktrim eval` with the same backend, problems
   and settings (target ≈ 1.0x generated tokens/s: sampling is eval's loop);
2. the reference log-prob pass that runs once before training, in tokens/s;
3. a fit step against an SFT step on the very same batches (target: time ≤ 1.2x, memory ≈ one model): each runs
   in its own process with the same model, arguments, data order and optimizer; the SFT step is stock
   `transformers.Trainer` with the causal-LM loss on the same completion tokens, the fit step O1-Pruner's trainer
   with the reference log-probs precomputed. A fit with `--reference resident` (a second, frozen model scored
   every step) is shown too. Step time is the median over the steps after the first; memory is the process's
   peak RSS on CPU, the peak allocated CUDA memory on a GPU.

The reward dataset is built from the bench's own sample run (every sample kept).

    flock /tmp/thinktrim-bench.lock .venv/bin/python bench/o1_pruner.py [--problems 4] [-n 4] [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("sft", "precomputed", "resident")


def cli(*args: str) -> float:
    """Run a thinktrim command in a fresh process; its wall seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "thinktrim.cli", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def peak_memory_mb(device: str) -> float:
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_timer() -> object:
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.seconds: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            if args.device.type == "cuda":
                import torch

                torch.cuda.synchronize()
            self.seconds.append(time.perf_counter() - self.start)

    return StepTimer()


def worker(mode: str, a: argparse.Namespace, data: Path, result: Path) -> None:
    """One training run of `a.steps` steps in this process: plain SFT, or fit with either reference mode."""
    from transformers import Trainer, TrainingArguments

    from thinktrim.train.arguments import training_arguments
    from thinktrim.train.config import ModelSettings
    from thinktrim.train.model import load_tokenizer_for_training, placement
    from thinktrim.train.o1_pruner.config import FitConfig, O1OptimSettings
    from thinktrim.train.o1_pruner.examples import read_reward_data
    from thinktrim.train.o1_pruner.fit import build_trainer, load_policy, tokenized_dataset
    from thinktrim.train.o1_pruner.trainer import RewardCollator

    out = result.parent / f"out-{mode}"
    cfg = FitConfig(
        data=(str(data),), output_dir=str(out), reference="resident" if mode == "resident" else "precomputed",
        model_settings=ModelSettings(model=a.model, device=a.device, precision="fp32", gradient_checkpointing=False),
        optim=O1OptimSettings(max_steps=a.steps, global_batch_size=a.batch, per_device_batch_size=a.batch,
                              max_length=a.max_length, save_strategy="no", learning_rate=1e-6,
                              lr_scheduler="constant", warmup_ratio=0.0))
    where = placement(cfg.model_settings)
    rows = read_reward_data(cfg.data, cfg.advantage_field, "raise", None)
    reference = None
    if mode == "sft":
        tokenizer = load_tokenizer_for_training(a.model)
        dataset, _ = tokenized_dataset(cfg, rows, tokenizer)
        pad = RewardCollator(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id)

        def collate(batch_rows: list[dict]) -> dict:  # the same padded batch, the completion tokens as labels
            batch = pad(batch_rows)
            labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
            return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"], "labels": labels}

        args = training_arguments(TrainingArguments, cfg.optim, where, str(out), remove_unused_columns=False)
        trainer = Trainer(model=load_policy(cfg, where), args=args, train_dataset=dataset, data_collator=collate,
                          processing_class=tokenizer)
    else:
        trainer, _, extra = build_trainer(cfg, rows, where)
        reference = extra["reference"]
    timer = step_timer()
    trainer.add_callback(timer)
    tokens: list[int] = []
    collate_batch = trainer.data_collator

    def counted(batch_rows: list[dict]) -> dict:  # each batch's real tokens, to show both sides saw the same
        batch = collate_batch(batch_rows)
        tokens.append(int(batch["attention_mask"].sum()))
        return batch

    trainer.data_collator = counted
    trainer.train()
    result.write_text(json.dumps({"steps": len(timer.seconds), "step_s": statistics.median(timer.seconds[1:]),
                                  "tokens": tokens, "peak_mb": peak_memory_mb(where.device),
                                  "reference": reference}))


def run_worker(mode: str, a: argparse.Namespace, data: Path, folder: Path) -> dict:
    result = folder / f"{mode}.json"
    argv = [sys.executable, __file__, "--worker", mode, "--data", str(data), "--result", str(result), "--model",
            a.model, "--device", a.device, "--steps", str(a.steps), "--batch", str(a.batch), "--max-length",
            str(a.max_length)]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(result.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="embedded")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--benchmark", default="gsm8k")
    p.add_argument("--problems", type=int, default=4)
    p.add_argument("-n", type=int, default=4, help="K, samples per problem")
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--repeats", type=int, default=2, help="runs of each sampling command (the fastest counts)")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--worker", choices=MODES)
    p.add_argument("--data", type=Path)
    p.add_argument("--result", type=Path)
    a = p.parse_args()
    if a.worker:
        worker(a.worker, a, a.data, a.result)
        return

    from thinktrim.table import print_table

    sampling = ["--model", a.model, "--device", a.device, "--benchmark", a.benchmark, "--limit", str(a.problems),
                "-n", str(a.n), "--max-new-tokens", str(a.max_new_tokens), "--temperature", "0.5", "--top-p", "0.8",
                "--seed", "0", "--grade-processes", "0"]
    with tempfile.TemporaryDirectory(prefix="o1-pruner-bench-") as tmp:
        folder = Path(tmp)
        commands = {"eval": ["eval"], "sample": ["train", "o1-pruner", "sample"]}
        runs: dict[str, list[tuple[float, dict]]] = {name: [] for name in commands}
        for repeat in range(a.repeats):  # interleaved, so that a busy spell on the machine hits both
            for name, words in commands.items():
                run = folder / f"{name}-{repeat}"
                wall = cli(*words, *sampling, "-o", str(run))
                runs[name].append((wall, json.loads((run / "results.json").read_text())["generation"]))
        # the fastest repeat of each: the least disturbed by other work on the machine
        best = {name: max(r, key=lambda x: x[1]["tokens_per_s"]) for name, r in runs.items()}
        walls = {name: b[0] for name, b in best.items()}
        generation = {name: b[1] for name, b in best.items()}
        cli("train", "o1-pruner", "build", str(folder / "sample-0"), "-o", str(folder / "data"), "--keep", str(a.n))
        data = folder / "data" / "o1_pruner.jsonl"
        steps = {mode: run_worker(mode, a, data, folder) for mode in MODES}
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    threads = os.environ.get("OMP_NUM_THREADS", "all cores")
    where = f"{a.model}, {a.device} fp32 (threads: {threads})"

    rate = {name: g["tokens_per_s"] for name, g in generation.items()}
    print_table(f"1. Pre-sampling vs eval — {where}, {a.benchmark} × {a.problems}, K = {a.n}, T 0.5, top-p 0.8, "
                f"max {a.max_new_tokens} new tokens, best of {a.repeats}",
                ["command", "samples", "tokens", "generation s", "tokens/s", "vs eval", "wall s (load, grade)"],
                [[f"thinktrim {'train o1-pruner sample' if name == 'sample' else 'eval'}", g["generated"],
                  g["tokens"], g["seconds"], rate[name], rate[name] / rate["eval"], walls[name]]
                 for name, g in generation.items()],
                caption=f"load average {load}")
    ref = steps["precomputed"]["reference"]
    print_table("2. Reference log-prob pass (once, before training)",
                ["examples", "tokens", "seconds", "tokens/s"],
                [[ref["examples"], ref["tokens"], ref["seconds"], ref["tokens_per_second"]]])
    sft = steps["sft"]
    same = all(s["tokens"] == sft["tokens"] for s in steps.values())
    print_table(f"3. A training step on the same batches — {where}, full fine-tuning, batch {a.batch}, "
                f"{a.steps} steps",
                ["step", "median step s", "vs SFT", f"peak {'CUDA' if a.device == 'cuda' else 'RSS'} MB",
                 "vs SFT"],
                [[label, s["step_s"], s["step_s"] / sft["step_s"], s["peak_mb"], s["peak_mb"] / sft["peak_mb"]]
                 for label, s in (("SFT (stock Trainer, CE on the completion)", sft),
                                  ("fit, reference precomputed (default)", steps["precomputed"]),
                                  ("fit, reference resident", steps["resident"]))],
                caption=f"load average {load}; same batches (tokens per batch equal): {same}")
    fit = steps["precomputed"]
    sample_ratio = rate["sample"] / rate["eval"]
    print_table("Targets", ["target", "measured", "met"], [
        ["pre-sampling ≈ 1.0x eval tokens/s", f"{sample_ratio:.2f}x", "yes" if 0.9 <= sample_ratio <= 1.1 else "no"],
        ["fit step time ≤ 1.2x SFT", f"{fit['step_s'] / sft['step_s']:.2f}x",
         "yes" if fit["step_s"] <= 1.2 * sft["step_s"] else "no"],
        ["fit memory ≈ one model (≤ 1.1x SFT)", f"{fit['peak_mb'] / sft['peak_mb']:.2f}x",
         "yes" if fit["peak_mb"] <= 1.1 * sft["peak_mb"] else "no"],
    ])


if __name__ == "__main__":
    main()
