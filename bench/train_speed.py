"""Training throughput: `thinktrim train sft` against a plain PyTorch loop on the very same batches.

Target (issue 10): thinktrim's tokens/s at least 0.9x the plain loop's (fp32, CPU, no gradient checkpointing,
full fine-tuning). Each side runs in its own process so that its peak RSS is its own:

1. `thinktrim`: runs `thinktrim train sft` (in the worker's process) and keeps every batch it trained on;
2. `plain`: loads the model with transformers and, for each of those batches in order, runs forward with labels
   (the model's own loss), backward, gradient clipping to 1.0 and a fused AdamW step, as Trainer does.

The padding share is measured on both sides (real / padded tokens of the batches); equal counts show that both
trained on the same batches. Data: the bundled sample traces, their thinking cut at paragraph breaks to several
lengths, so that batches of two need padding.

    flock /tmp/thinktrim-bench.lock .venv/bin/python bench/train_speed.py [--steps 8] [--batch 2] [--max-length 768]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).parents[1] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"


def cut_records(n: int, max_length: int, seed: int = 0) -> list[dict]:
    """`n` records from the sample, each trace's thinking cut at a paragraph break so that the whole example is
    about 30-95 % of `max_length` tokens (~3.5 characters a token; the few that end up longer are skipped)."""
    import random

    rng = random.Random(seed)
    records = [json.loads(x) for x in SAMPLE.read_text(encoding="utf-8").split("\n") if x.strip()]
    out = []
    for i in range(n):
        r = records[i % len(records)]
        thinking, answer = r["response"].split("</think>", 1)
        budget = rng.uniform(0.3, 0.95) * max_length * 3.5 - len(r["question"]) - len(answer) - 150
        breaks = [m.end() for m in re.finditer(r"\n\n", thinking)]
        cut = max([b for b in breaks if b <= budget] or breaks[:1])
        out.append({**r, "id": f"{r['id']}-{i}", "response": thinking[:cut] + "</think>" + answer})
    return out


def sft_args(data: Path, out: Path, a: argparse.Namespace) -> list[str]:
    return ["train", "sft", str(data), "-o", str(out), "--model", a.model, "--max-length", str(a.max_length),
            "--overlong", "skip", "--per-device-batch-size", str(a.batch), "--global-batch-size", str(a.batch),
            "--max-steps", str(a.steps), "--save-strategy", "no", "--learning-rate", "1e-5", "--lr-scheduler",
            "constant", "--warmup-ratio", "0", "--no-resume", "--device", "cpu", "--precision", "fp32",
            "--no-gradient-checkpointing", "--seed", "0"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_plain(a: argparse.Namespace, batches_file: Path, result: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from thinktrim.lm.load import resolve_model

    batches = torch.load(batches_file)
    model = AutoModelForCausalLM.from_pretrained(resolve_model(a.model), dtype=torch.float32)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    start = time.perf_counter()
    for batch in batches:
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - start
    real = sum(int(b["attention_mask"].sum()) for b in batches)
    padded = sum(b["input_ids"].numel() for b in batches)
    result.write_text(json.dumps({"steps": len(batches), "tokens": real, "padded": padded, "seconds": seconds,
                                  "rss_mb": peak_rss_mb()}))


def worker_thinktrim(a: argparse.Namespace, data: Path, result: Path) -> None:
    """Run the command in this process, keeping every batch its data loader built (for the plain loop)."""
    import torch

    from thinktrim.cli import app
    from thinktrim.train import progress

    batches: list[dict] = []
    count = progress.TokenCount.add

    def keep(self, batch):  # type: ignore[no-untyped-def]
        batches.append({k: v.detach().clone() for k, v in batch.items()})
        count(self, batch)

    progress.TokenCount.add = keep  # type: ignore[method-assign]
    out = result.parent / "thinktrim-out"
    app(sft_args(data, out, a), standalone_mode=False)
    rss = peak_rss_mb()
    torch.save(batches, result.parent / "batches.pt")
    t = json.loads((out / "train.json").read_text())["training"]
    result.write_text(json.dumps({"steps": t["steps"], "tokens": t["tokens_this_run"], "seconds": t["seconds_this_run"],
                                  "padding_share": t["padding_share"], "rss_mb": rss}))


def run_worker(kind: str, a: argparse.Namespace, path: Path, result: Path) -> dict:
    argv = [sys.executable, __file__, "--worker", kind, "--input", str(path), "--result", str(result),
            "--model", a.model, "--steps", str(a.steps), "--batch", str(a.batch), "--max-length", str(a.max_length)]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return json.loads(result.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="embedded")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--max-length", type=int, default=768)
    p.add_argument("--worker", choices=("plain", "thinktrim"))
    p.add_argument("--input", type=Path)
    p.add_argument("--result", type=Path)
    a = p.parse_args()
    if a.worker:
        {"plain": worker_plain, "thinktrim": worker_thinktrim}[a.worker](a, a.input, a.result)
        return

    from thinktrim.table import print_table

    with tempfile.TemporaryDirectory(prefix="train-speed-") as tmp:
        folder = Path(tmp)
        data = folder / "data.jsonl"
        records = cut_records(2 * a.steps * a.batch, a.max_length)  # twice what the steps use: a few may not fit
        data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        ours = run_worker("thinktrim", a, data, folder / "thinktrim.json")
        plain = run_worker("plain", a, folder / "batches.pt", folder / "plain.json")
    plain_share = 1 - plain["tokens"] / plain["padded"]
    rate = {name: r["tokens"] / r["seconds"] for name, r in (("plain", plain), ("thinktrim", ours))}
    same = ours["tokens"] == plain["tokens"] and abs(ours["padding_share"] - plain_share) < 1e-9
    threads = os.environ.get("OMP_NUM_THREADS", "all cores")
    print_table(
        f"Training speed — {a.model}, fp32 CPU (threads: {threads}), full fine-tuning, batch {a.batch}, "
        f"max length {a.max_length}, {a.steps} steps",
        ["loop", "steps", "tokens", "seconds", "tokens/s", "vs plain", "peak RSS MB", "padding share"],
        [["plain PyTorch", plain["steps"], plain["tokens"], plain["seconds"], rate["plain"], 1.0, plain["rss_mb"],
          f"{100 * plain_share:.1f} %"],
         ["thinktrim train sft", ours["steps"], ours["tokens"], ours["seconds"], rate["thinktrim"],
          rate["thinktrim"] / rate["plain"], ours["rss_mb"], f"{100 * ours['padding_share']:.1f} %"]],
        caption=f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}; same batches (tokens "
                f"and padding equal): {same}",
    )
    ratio = rate["thinktrim"] / rate["plain"]
    print_table("Target", ["target", "measured", "met"], [["tokens/s >= 0.9x plain loop", f"{ratio:.2f}x",
                                                            "yes" if ratio >= 0.9 else "no"]])


if __name__ == "__main__":
    main()
