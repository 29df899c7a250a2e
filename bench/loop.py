"""The method's whole experiment in one command: refine real long-CoT traces, fine-tune the same base model on the
original and on the refined data with the same recipe and steps, evaluate both on a held-out slice, compare.

Training set: the correct chains of ../shared/data/traces/thought_anchors (MIT; DeepSeek-R1-Distill-Qwen-14B and
-Llama-8B on MATH Level-5 problems), read at run time. Held out: the first questions of MATH-500, checked to
share no problem with the training set. Each step is the real command a user would type (`thinktrim refine`,
`thinktrim train sft`, `thinktrim eval`, `thinktrim eval compare`), run as a subprocess.

Sizes: `cpu` (default, ~25 min on 2 cores with the embedded 135M model): the 16 shortest of the 20 chains, their
thinking cut to ~1,600 characters at a paragraph break, LoRA, 2 epochs, greedy answers to 10 questions with up to
768 new tokens (`--with-base` also evaluates the base model). `gpu`: all 20 whole chains, the recipe's cutoff,
100 questions, 8,192 new tokens (for 0.5B-7B models: `--model Qwen/Qwen2.5-1.5B-Instruct --device cuda --size gpu
--recipe limo`). The papers' gains show from 7B up (docs/methods.md §2); on small models, look at the length of the
outputs.

    flock /tmp/thinktrim-bench.lock .venv/bin/python bench/loop.py [--out /tmp/thinktrim-loop]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
TRACES = ROOT.parent / "shared" / "data" / "traces" / "thought_anchors"
SIZES = {
    "cpu": {"chains": 16, "max_chars": 1600, "epochs": 2, "limit": 10, "max_new_tokens": 768, "max_length": 2048,
            "extra": ["--lora", "--global-batch-size", "2", "--learning-rate", "2e-4"]},
    "gpu": {"chains": None, "max_chars": None, "epochs": None, "limit": 100, "max_new_tokens": 8192, "max_length": None,
            "extra": ["--lora"]},
}


def training_chains(max_chars: int | None, keep: int | None = None) -> list[dict]:
    """One record per correct chain (question, response = thinking </think> answer, gt_answer); `keep`: the
    shortest ones."""
    rows = []
    for solution in sorted(TRACES.glob("*/correct_base_solution/problem_*/base_solution.json")):
        record = json.loads(solution.read_text(encoding="utf-8"))
        problem = json.loads((solution.parent / "problem.json").read_text(encoding="utf-8"))
        if not record.get("is_correct") or "</think>" not in record["solution"]:
            continue
        thinking, answer = record["solution"].split("</think>", 1)
        if max_chars is not None and len(thinking) > max_chars:  # cut at the last paragraph break that fits
            cut = [m.end() for m in re.finditer(r"\n\n", thinking) if m.end() <= max_chars]
            thinking = thinking[: cut[-1]] if cut else thinking[:max_chars]
        rows.append({"id": f"{solution.parents[2].name}-{solution.parent.name}", "question": problem["problem"],
                     "response": thinking.strip() + "\n</think>\n\n" + answer.strip(),
                     "gt_answer": problem["gt_answer"]})
    if keep is not None:
        rows = sorted(rows, key=lambda r: len(r["question"]) + len(r["response"]))[:keep]
    return sorted(rows, key=lambda r: r["id"])


def output_lengths(name: str, samples: Path) -> list:
    """How long the model's answers ran, and whether they finished their thinking and boxed an answer."""
    rows = [json.loads(x) for x in samples.read_text(encoding="utf-8").split("\n") if x.strip()]
    n = len(rows)
    def count(test) -> str:  # type: ignore[no-untyped-def]
        return f"{sum(1 for r in rows if test(r))}/{n}"

    return [name, n, sum(r["tokens"] for r in rows) / n, count(lambda r: r["finish_reason"] == "length"),
            count(lambda r: "</think>" in r["response"]), count(lambda r: "boxed" in r["response"])]


def thinktrim(*args: str, log: Path) -> None:
    """Run one thinktrim command, its output appended to `log`; stop with its tail if it fails."""
    start = time.perf_counter()
    with log.open("a", encoding="utf-8") as f:
        f.write(f"\n$ thinktrim {' '.join(args)}\n")
        f.flush()
        code = subprocess.run([sys.executable, "-m", "thinktrim.cli", *args], stdout=f, stderr=f).returncode
    took = time.perf_counter() - start
    print(f"[{took:7.1f} s] thinktrim {' '.join(args[:2])} … -> {'ok' if code == 0 else f'exit {code}'}",
          flush=True)
    if code:
        sys.exit(log.read_text(encoding="utf-8")[-4000:])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="embedded", help="Base model to fine-tune (and evaluate).")
    p.add_argument("--scorer", default="embedded", help="PIR scoring model for refine.")
    p.add_argument("--device", default="auto")
    p.add_argument("--size", choices=tuple(SIZES), default="cpu")
    p.add_argument("--recipe", default="cpu", help="train sft recipe (limo, s1, cpu).")
    p.add_argument("--ratio", type=float, default=0.5, help="PIR pruning ratio.")
    p.add_argument("--with-base", action="store_true", help="Also evaluate the base model.")
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "thinktrim-loop")
    a = p.parse_args()
    if not TRACES.is_dir():
        sys.exit(f"{TRACES} not found: this bench reads the shared traces at run time")
    from thinktrim.data.benchmarks import load_benchmark
    from thinktrim.table import print_table

    size = SIZES[a.size]
    out = a.out
    out.mkdir(parents=True, exist_ok=True)
    log = out / "commands.log"
    chains = training_chains(size["max_chars"], size["chains"])
    data = out / "train.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chains), encoding="utf-8")
    held_out = load_benchmark("math500", limit=size["limit"])
    overlap = {r["question"].strip() for r in chains} & {q.question.strip() for q in held_out}
    if overlap:
        sys.exit(f"{len(overlap)} held-out question(s) are in the training set")
    print(f"{len(chains)} training chains, {len(held_out)} held-out MATH-500 questions (no overlap); log: {log}")

    thinktrim("refine", str(data), "-o", str(out / "refine"), "--ratios", str(a.ratio), "--model", a.scorer,
              "--device", a.device, log=log)
    refined = out / "refine" / f"refined_r{a.ratio:g}.jsonl"
    recipe = ["--recipe", a.recipe, "--model", a.model, "--device", a.device, *size["extra"]]
    for flag in ("epochs", "max_length"):
        if size[flag] is not None:
            recipe += [f"--{flag.replace('_', '-')}", str(size[flag])]
    runs = {"original": data, "refined": refined}
    for name, path in runs.items():
        thinktrim("train", "sft", str(path), "-o", str(out / f"sft-{name}"), *recipe, log=log)
    evaluation = ["--benchmark", "math500", "--limit", str(size["limit"]), "--max-new-tokens",
                  str(size["max_new_tokens"]), "--temperature", "0", "--device", a.device]
    models = {name: str(out / f"sft-{name}") for name in runs}  # the first is the AES baseline
    if a.with_base:
        models["base"] = a.model
    for name, model in models.items():
        thinktrim("eval", "--model", model, "-o", str(out / f"eval-{name}"), *evaluation, log=log)

    rows = []
    for name in runs:
        record = json.loads((out / f"sft-{name}" / "train.json").read_text())
        lengths, training = record["lengths"], record["training"]
        rows.append([name, lengths["examples"], lengths["tokens_per_example"]["mean"],
                     lengths["completion_share"], training["steps"], training["final_loss"],
                     training["tokens_per_second"], training["seconds_this_run"]])
    print_table(f"Fine-tuning {a.model} ({a.recipe} recipe, {' '.join(size['extra'])})",
                ["data", "examples", "tokens/example", "completion share", "steps", "final loss", "tokens/s",
                 "seconds"], rows)
    stats = json.loads((out / "refine" / "stats.json").read_text())
    tag = f"r{a.ratio:g}"
    print(f"refine: {stats['ratios'][tag]['token_reduction']:.1%} of the thinking tokens removed at ratio "
          f"{a.ratio:g} (scored chains: {stats['status'].get('scored', 0)} of {stats['chains']})")
    print_table("Outputs on the held-out questions", ["model", "responses", "mean tokens", "hit the token limit",
                                                      "closed </think>", "boxed an answer"],
                [output_lengths(name, out / f"eval-{name}" / "math500" / "samples.jsonl") for name in models])
    subprocess.run([sys.executable, "-m", "thinktrim.cli", "eval", "compare",
                    *(str(out / f"eval-{name}") for name in models)], check=True)
    print(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
