"""PIR scoring speed: naive full recomputation vs the cached engine, on real R1 and QwQ chains.

The naive scorer is the plain computation (`model(ids).logits` for the full chain and for every variant); the
engine reuses the shared prefix's key/value cache and computes logits only where answer tokens are predicted.

    .venv/bin/python bench/pir_speed.py             # QwQ MisguidedAttention (2K tokens) + R1 AIME (8K tokens)
    .venv/bin/python bench/pir_speed.py --quick     # R1 AIME + QwQ MisguidedAttention, 2K tokens each
    .venv/bin/python bench/pir_speed.py --threads 1 # steadier figures when other jobs share the cores

Chains come from ../shared/data/traces (reasoningflow AIME24 R1 and QwQ, MisguidedAttention QwQ). Each is cut
at a step boundary so its scored sequence fits `--max-tokens` (or `--long-tokens` for the long one), annotated
with thinktrim's own steps and functional units, and must keep at least `--units` units; `--units` of them,
spread evenly over the chain, are scored (0: all). The naive scorer and the engine each run in their own
process (so each reports its own peak memory), called in turn on the same chains.

On long chains the naive scorer runs the full chain plus `--naive-sample` variants (first, last, evenly between)
and its time for all variants is extrapolated by tokens: every naive pass is an independent forward of nearly
the same length, so time per token is stable. Such chains are marked `~`; `--naive-sample 0` runs them all.

Figures: tokens each method computed; the minimum any exact method must compute (the full sequence once plus,
per variant, its tokens after the longest common prefix with the full sequence); "bound" = naive ÷ minimum
tokens, the best speed-up any exact method could reach on that chain; seconds and tokens/s; the engine's
speed-up (by wall time, and by process CPU time, steadier when other jobs share the cores); "÷ min work" =
engine seconds ÷ (minimum tokens at the plain forward throughput: one forward of that chain's full sequence
with a single logit row, timed in the same run); "÷ min FLOPs" = the same with work counted in FLOPs, since the
tokens after a removed unit sit late in the sequence and attend to more keys than the average token of a plain
forward (at 8K tokens attention is over half the work of this small model); peak memory (RSS high-water, or
CUDA max allocated); the largest |PIR difference| between the two methods.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

TRACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"


@dataclass(frozen=True)
class Chain:
    name: str
    task: Any  # ScoringTask with the scored units as removals
    units: int  # functional units of the trimmed chain (the task scores `len(task.removals)` of them)
    long: bool


def read_source(source: str) -> list[tuple[str, str, str, str]]:
    """(id, question, thinking, answer) of every closed chain of one source."""
    from thinktrim.data.layouts import split_thinking

    out = []
    if source in ("r1-aime", "qwq-aime"):
        name = {"r1-aime": "DeepSeek-R1", "qwq-aime": "QwQ-32B"}[source]
        path = TRACES / "reasoningflow_aime24" / f"{name}_aime2024_responses.jsonl"
        for line in path.read_text().split("\n"):
            if line.strip():
                rec = json.loads(line)
                thinking, answer, closed = split_thinking(rec["response"])
                if closed and answer:
                    out.append((f"{source}/{rec['question_id']}", rec["question"], thinking, answer))
    elif source == "qwq-misguided":
        data = json.loads((TRACES / "misguided_attention" / "output_queries_QwQ-32b.json").read_text())
        for rec in data["results"]:
            for k, (thinking, answer) in enumerate(zip(rec["thinking"], rec["output"])):
                if thinking and answer and answer.strip():
                    out.append((f"{source}/{rec['prompt_id']}#{k}", rec["prompt"], thinking.strip(), answer.strip()))
    else:
        raise ValueError(f"unknown source {source!r}")
    return out


def fit(tokenizer: Any, question: str, thinking: str, answer: str, max_tokens: int) -> tuple[str, int] | None:
    """The longest prefix of `thinking` ending at a step boundary whose scored sequence fits `max_tokens`."""
    from thinktrim.lm.base import ScoringTask
    from thinktrim.lm.hf_score import scoring_token_ids
    from thinktrim.refine.annotate import annotate_steps

    ends = [s.end for s in annotate_steps(thinking, answer)]
    best, lo, hi = None, 0, len(ends) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        n = len(scoring_token_ids(tokenizer, ScoringTask(question, thinking[: ends[mid]], answer), None)[0])
        if n <= max_tokens:
            best, lo = (ends[mid], n), mid + 1
        else:
            hi = mid - 1
    return best


def spread(items: list[Any], k: int) -> list[Any]:
    """`k` items evenly spread over `items`, first and last included (all of them when k is 0 or too big)."""
    if k <= 0 or k >= len(items):
        return list(items)
    if k == 1:
        return [items[0]]
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def pick_chains(tokenizer: Any, specs: list[tuple[str, int, bool]], units: int, min_fill: float) -> list[Chain]:
    """For each (source, max tokens, long) the first unused chain that fills the budget and has enough units."""
    from thinktrim.lm.base import ScoringTask
    from thinktrim.refine.annotate import annotate_steps, unit_spans

    used: set[str] = set()
    chains = []
    for source, max_tokens, long in specs:
        for cid, question, thinking, answer in read_source(source):
            if cid in used:
                continue
            fitted = fit(tokenizer, question, thinking, answer, max_tokens)
            if fitted is None or fitted[1] < min_fill * max_tokens:
                continue
            cut = thinking[: fitted[0]]
            spans = unit_spans(annotate_steps(cut, answer))
            if len(spans) < max(units, 1):
                continue
            task = ScoringTask(question, cut, answer, tuple(spread(spans, units)))
            chains.append(Chain(cid, task, len(spans), long))
            used.add(cid)
            break
        else:
            raise SystemExit(f"no {source} chain fits {max_tokens} tokens with >= {units} functional units")
    return chains


def worker(conn: Any, kind: str, model: str, device: str, dtype: str, threads: int) -> None:
    """Child process: load one scorer, then score each task sent until None arrives."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    from thinktrim.lm.hf_score import make_scorer

    scorer = make_scorer(kind, model=model, device=device, dtype=dtype)
    param = next(scorer.model.parameters())
    cuda = param.device.type == "cuda"
    config = scorer.model.config.get_text_config(decoder=True)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    shape = {"params": sum(p.numel() for n, p in scorer.model.named_parameters()
                           if "embed" not in n and "lm_head" not in n),
             "layers": config.num_hidden_layers, "attn_width": config.num_attention_heads * head_dim}
    conn.send((f"{kind}: {param.device} {param.dtype} {torch.get_num_threads()} threads", shape))
    while (task := conn.recv()) is not None:
        plain_tps = plain_forward_throughput(scorer, task) if kind == "naive" else None
        before = scorer.tokens_computed
        if cuda:
            torch.cuda.synchronize()
        start, cpu = time.perf_counter(), time.process_time()
        result = scorer.score(task)
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        peak = (torch.cuda.max_memory_allocated() if cuda
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        conn.send({"result": result, "seconds": seconds, "cpu_s": time.process_time() - cpu,
                   "tokens": scorer.tokens_computed - before, "peak_mb": peak / 2**20, "plain_tps": plain_tps})


def plain_forward_throughput(scorer: Any, task: Any) -> float:
    """Tokens/s of one plain forward of the full sequence with a single logit row: the model's throughput
    without any scoring overhead, against which the minimum-work time is measured."""
    import torch

    from thinktrim.lm.hf_score import scoring_token_ids

    ids = torch.tensor([scoring_token_ids(scorer.tokenizer, task, None)[0]], device=scorer.model.device)
    with torch.inference_mode():
        scorer.model(input_ids=ids[:, :64], use_cache=False, logits_to_keep=1)  # warm-up
        start = time.perf_counter()
        scorer.model(input_ids=ids, use_cache=False, logits_to_keep=1)
        if ids.is_cuda:
            torch.cuda.synchronize()
    return ids.shape[1] / (time.perf_counter() - start)


def flops(shape: dict[str, int], spans: list[tuple[int, int]]) -> float:
    """Forward FLOPs of computing positions [a, b) of causal sequences: weights 2·params per token plus
    attention 4·layers·width per attended key (position c attends to c + 1 keys). The answer rows' head is
    the same for every method and left out. It weighs late tokens (long context) above early ones."""
    total = 0.0
    for a, b in spans:
        keys = (b * (b + 1) - a * (a + 1)) / 2
        total += (b - a) * 2 * shape["params"] + 4 * shape["layers"] * shape["attn_width"] * keys
    return total


def pirs(result: Any) -> list[float]:
    return [v - result.full_nll for v in result.variant_nlls]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="two 2K-token chains (R1, QwQ), no long one")
    p.add_argument("--sources", default="qwq-misguided",
                   help="one short chain from each (r1-aime, qwq-aime, qwq-misguided; repeat for more)")
    p.add_argument("--max-tokens", type=int, default=2000, help="token budget of a short chain")
    p.add_argument("--long-source", default="r1-aime", help="source of the long chain")
    p.add_argument("--long-tokens", type=int, default=8000, help="token budget of the long chain (0: none)")
    p.add_argument("--units", type=int, default=10, help="functional units scored per chain (0: all)")
    p.add_argument("--naive-sample", type=int, default=2, help="naive variants on the long chain (0: all)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads per scorer (0: torch's default); 1 is steadier on a busy machine")
    p.add_argument("--model", default="embedded")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    args = p.parse_args(argv)
    if args.quick:
        args.sources, args.long_tokens = "r1-aime,qwq-misguided", 0

    import multiprocessing as mp

    from tqdm import tqdm

    from thinktrim.lm.load import load_tokenizer
    from thinktrim.lm.score_engine import make_plan
    from thinktrim.report.table import print_table

    tokenizer = load_tokenizer(args.model)
    specs = [(src.strip(), args.max_tokens, False) for src in args.sources.split(",") if src.strip()]
    if args.long_tokens:
        specs.append((args.long_source, args.long_tokens, True))
    chains = pick_chains(tokenizer, specs, args.units, min_fill=0.85)
    chains.sort(key=lambda c: len(make_plan(tokenizer, c.task).full))  # ascending: RSS high-water = this chain

    ctx = mp.get_context("spawn")
    conns, procs = {}, []
    for kind in ("naive", "engine"):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker, daemon=True,
                           args=(child, kind, args.model, args.device, args.dtype, args.threads))
        proc.start()
        conns[kind] = parent
        procs.append(proc)
    ready = [conns[k].recv() for k in conns]
    devices, shape = [r[0] for r in ready], ready[0][1]
    load_start = os.getloadavg()

    rows_work: list[list[Any]] = []
    rows_time: list[list[Any]] = []
    totals = {"naive_s": 0.0, "engine_s": 0.0, "min_s": 0.0, "min_flops_s": 0.0, "naive_cpu": 0.0,
              "engine_cpu": 0.0, "dpir": 0.0}
    for chain in tqdm(chains, desc="chains", unit="chain", file=sys.stderr):
        plan = make_plan(tokenizer, chain.task)
        naive_task = chain.task
        sampled = chain.long and args.naive_sample and args.naive_sample < len(chain.task.removals)
        keep = spread(list(range(len(chain.task.removals))), args.naive_sample) if sampled else None
        if keep is not None:
            naive_task = replace(chain.task, removals=tuple(chain.task.removals[i] for i in keep))
        conns["naive"].send(naive_task)
        naive = conns["naive"].recv()
        conns["engine"].send(chain.task)
        engine = conns["engine"].recv()
        naive_tps = naive["tokens"] / naive["seconds"]
        naive_s = naive["seconds"] * plan.naive_tokens / naive["tokens"]  # == measured when not sampled
        engine_pirs = pirs(engine["result"])
        engine_pirs = [engine_pirs[i] for i in keep] if keep is not None else engine_pirs
        dpir = max(abs(a - b) for a, b in zip(pirs(naive["result"]), engine_pirs))
        min_s = plan.minimum_tokens / naive["plain_tps"]
        # the same bound weighed by FLOPs: suffix tokens sit late in the sequence and attend to more keys
        plain_flops_s = flops(shape, [(0, len(plan.full))]) * naive["plain_tps"] / len(plan.full)
        min_flops = flops(shape, [(0, len(plan.full))] + [(r, len(v)) for v, r in zip(plan.variants, plan.reuse)])
        min_flops_s = min_flops / plain_flops_s
        name = chain.name + (" ~" if keep is not None else "")
        rows_work.append([name, len(plan.full), plan.answer_tokens, f"{len(plan.variants)}/{chain.units}",
                          plan.naive_tokens, engine["tokens"], plan.minimum_tokens,
                          plan.naive_tokens / plan.minimum_tokens])
        naive_cpu = naive["cpu_s"] * plan.naive_tokens / naive["tokens"]
        rows_time.append([name, naive_s, engine["seconds"], naive_tps, engine["tokens"] / engine["seconds"],
                          naive_s / engine["seconds"], naive_cpu / engine["cpu_s"], engine["seconds"] / min_s,
                          engine["seconds"] / min_flops_s, naive["peak_mb"], engine["peak_mb"], dpir])
        totals["naive_s"] += naive_s
        totals["engine_s"] += engine["seconds"]
        totals["min_s"] += min_s
        totals["min_flops_s"] += min_flops_s
        totals["naive_cpu"] += naive_cpu
        totals["engine_cpu"] += engine["cpu_s"]
        totals["dpir"] = max(totals["dpir"], dpir)
    for conn in conns.values():
        conn.send(None)
    for proc in procs:
        proc.join(timeout=30)

    sums = [sum(r[i] for r in rows_work) for i in (4, 5, 6)]
    rows_work.append(["overall", None, None, None, *sums, sums[0] / sums[2]])
    rows_time.append(["overall", totals["naive_s"], totals["engine_s"], None, None,
                      totals["naive_s"] / totals["engine_s"], totals["naive_cpu"] / totals["engine_cpu"],
                      totals["engine_s"] / totals["min_s"], totals["engine_s"] / totals["min_flops_s"],
                      max(r[9] for r in rows_time), max(r[10] for r in rows_time), totals["dpir"]])
    load_end = os.getloadavg()
    print_table("PIR scoring work (tokens)",
                ["chain", "seq tok", "answer tok", "units scored/all", "naive tok", "engine tok", "min tok",
                 "bound ×"], rows_work)
    print_table("PIR scoring time and memory",
                ["chain", "naive s", "engine s", "naive tok/s", "engine tok/s", "speed-up ×", "speed-up cpu ×",
                 "÷ min work", "÷ min FLOPs", "naive peak MB", "engine peak MB", "max |ΔPIR|"], rows_time,
                caption=("~ naive ran the full chain + a sample of variants; its time is extrapolated by tokens. "
                         f"{'; '.join(devices)}. load average at start {load_start[0]:.2f}, end {load_end[0]:.2f} "
                         f"({os.cpu_count()} cores)."))


if __name__ == "__main__":
    main()
