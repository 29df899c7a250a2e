"""PIR scoring speed: naive full recomputation vs the cached engine, on real R1 and QwQ chains.

The naive scorer is the plain computation (`model(ids).logits` for the full chain and for every variant); the
engine reuses the shared prefix's key/value cache and computes logits only where answer tokens are predicted.

    .venv/bin/python bench/pir_speed.py             # R1 + QwQ chains at 2K tokens, R1 + QwQ AIME at 8K tokens
    .venv/bin/python bench/pir_speed.py --quick     # the two 2K-token chains only
    .venv/bin/python bench/pir_speed.py --threads 1 # steadier figures when other jobs share the cores

Chains come from ../shared/data/traces (reasoningflow AIME24 R1 and QwQ, MisguidedAttention QwQ). Each is cut
at a step boundary so its scored sequence fits `--max-tokens` (or `--long-tokens` for the long ones),
annotated with thinktrim's own steps and functional units, and must keep at least 10 units (`--min-units`).
For each source the first such chain in file order is taken (no picking by speed-up), and all its units are
scored, as `thinktrim refine` does (`--units K`: K of them, spread evenly). The naive scorer and the engine
each run in their own process (so each reports its own peak memory), called in turn on the same chains.

On long chains the naive scorer runs the full chain plus `--naive-sample` variants (first, last, evenly between)
and its time for all variants is extrapolated by tokens: every naive pass is an independent forward of nearly
the same length, so time per token is stable. Such chains are marked `~`; `--naive-sample 0` runs them all.

Figures: tokens each method computed; the minimum any exact method must compute (the full sequence once plus,
per variant, its tokens after the longest common prefix with the full sequence); "bound" = naive ÷ minimum
tokens, the speed-up prefix reuse alone can give on that chain; seconds and tokens/s; the engine's speed-up
(by wall time, and by process CPU time, steadier when other jobs share the cores); "÷ min work" = engine
seconds ÷ (minimum tokens at the plain forward throughput: one forward of that chain's full sequence with a
single logit row, timed in the same run; plus, per sequence, the answer's logits, which every exact method
computes once); "÷ min FLOPs" = the same with work counted in FLOPs, since the tokens after a removed unit sit
late in the sequence and attend to more keys than the average token of a plain forward (at 8K tokens attention
is over half the work of this small model); peak memory (RSS high-water, or CUDA max
allocated); the largest |PIR difference| between the two methods.

A first table (tokenizer only, no model) surveys every chain of the sources that fits the budgets with enough
units: how the bound is spread over real data, so the timed chains can be read against it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
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


def read_source(source: str, traces: Path) -> list[tuple[str, str, str, str]]:
    """(id, question, thinking, answer) of every closed chain of one source."""
    from thinktrim.data.thinking import split_thinking

    out = []
    if source in ("r1-aime", "qwq-aime"):
        name = {"r1-aime": "DeepSeek-R1", "qwq-aime": "QwQ-32B"}[source]
        path = traces / "reasoningflow_aime24" / f"{name}_aime2024_responses.jsonl"
        for line in path.read_text().split("\n"):
            if line.strip():
                rec = json.loads(line)
                thinking, answer, closed = split_thinking(rec["response"])
                if closed and answer:
                    out.append((f"{source}/{rec['question_id']}", rec["question"], thinking, answer))
    elif source == "qwq-misguided":
        data = json.loads((traces / "misguided_attention" / "output_queries_QwQ-32b.json").read_text())
        for rec in data["results"]:
            for k, (thinking, answer) in enumerate(zip(rec["thinking"], rec["output"])):
                if thinking and answer and answer.strip():
                    out.append((f"{source}/{rec['prompt_id']}#{k}", rec["prompt"], thinking.strip(), answer.strip()))
    else:
        raise ValueError(f"unknown source {source!r}")
    return out


def final_answer(question: str, thinking: str, answer: str) -> str | None:
    """The final value the pipeline protects (the answer's last box), for the same units as `thinktrim refine`."""
    from thinktrim.data.trace import Trace
    from thinktrim.refine.answer_mentions import final_value

    value = final_value(Trace("bench", question, thinking, answer))
    return value.text if value else None


def fit(tokenizer: Any, question: str, thinking: str, answer: str, max_tokens: int) -> tuple[str, int] | None:
    """The longest prefix of `thinking` ending at a step boundary whose scored sequence fits `max_tokens`."""
    from thinktrim.lm.scoring.sequence import scoring_token_ids
    from thinktrim.lm.scoring.types import ScoringTask
    from thinktrim.refine.annotate import annotate_steps

    ends = [s.end for s in annotate_steps(thinking, final_answer(question, thinking, answer))]
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


def eligible_chains(
    tokenizer: Any, traces: Path, source: str, max_tokens: int, min_units: int, min_fill: float
) -> Iterator[tuple[str, Any, int]]:
    """(id, task with all functional units as removals, units) of each chain of `source`, in file order, cut
    to fit `max_tokens`, filling at least `min_fill` of it and keeping at least `min_units` units."""
    from thinktrim.lm.scoring.types import ScoringTask
    from thinktrim.refine.annotate import annotate_steps
    from thinktrim.refine.classify import unit_spans

    for cid, question, thinking, answer in read_source(source, traces):
        fitted = fit(tokenizer, question, thinking, answer, max_tokens)
        if fitted is None or fitted[1] < min_fill * max_tokens:
            continue
        cut = thinking[: fitted[0]]
        spans = unit_spans(annotate_steps(cut, final_answer(question, cut, answer)))
        if len(spans) >= max(min_units, 1):
            yield cid, ScoringTask(question, cut, answer, tuple(spans)), len(spans)


def pick_chains(
    tokenizer: Any, traces: Path, specs: list[tuple[str, int, bool]], units: int, min_units: int, min_fill: float
) -> list[Chain]:
    """For each (source, max tokens, long) the first unused eligible chain; `units` of its units are scored."""
    used: set[str] = set()
    chains = []
    for source, max_tokens, long in specs:
        for cid, task, n_units in eligible_chains(tokenizer, traces, source, max_tokens, min_units, min_fill):
            if cid not in used:
                chains.append(
                    Chain(cid, replace(task, removals=tuple(spread(list(task.removals), units))), n_units, long)
                )
                used.add(cid)
                break
        else:
            raise SystemExit(f"no {source} chain fits {max_tokens} tokens with >= {min_units} functional units")
    return chains


def survey(
    tokenizer: Any, traces: Path, specs: list[tuple[str, int, bool]], min_units: int, min_fill: float
) -> list[list[Any]]:
    """Rows (source, budget, chains, units median, bound min / median / max, share of chains with bound >= 2)
    over every eligible chain: the speed-up prefix reuse alone allows on real data."""
    import statistics

    from thinktrim.lm.scoring.engine import make_plan

    rows = []
    for source, max_tokens in dict.fromkeys((s, t) for s, t, _ in specs):
        bounds, units = [], []
        for _, task, n_units in eligible_chains(tokenizer, traces, source, max_tokens, min_units, min_fill):
            plan = make_plan(tokenizer, task)
            bounds.append(plan.naive_tokens / plan.minimum_tokens)
            units.append(n_units)
        if bounds:
            rows.append(
                [
                    source,
                    max_tokens,
                    len(bounds),
                    statistics.median(units),
                    min(bounds),
                    statistics.median(bounds),
                    max(bounds),
                    sum(b >= 2 for b in bounds) / len(bounds),
                ]
            )
    return rows


def worker(conn: Any, kind: str, args: argparse.Namespace) -> None:
    """Child process: load one scorer, then score each task sent until None arrives."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from thinktrim.lm.load import load_causal_lm
    from thinktrim.lm.scoring.engine import CachedScorer
    from thinktrim.lm.scoring.naive import NaiveScorer
    from thinktrim.lm.scoring.types import ScoringTask

    if args.model.startswith("random:"):
        from random_model import build_random_model

        lm, tokenizer = build_random_model(args.model, device=args.device, dtype=args.dtype)
    else:
        lm, tokenizer = load_causal_lm(args.model, device=args.device, dtype=args.dtype)
    scorer: Any = (
        NaiveScorer(lm, tokenizer)
        if kind == "naive"
        else CachedScorer(lm, tokenizer, max_batch_tokens=args.max_batch_tokens, batch_size=args.batch_size)
    )
    param = next(scorer.model.parameters())
    cuda = param.device.type == "cuda"
    config = scorer.model.config.get_text_config(decoder=True)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    shape = {
        "params": sum(p.numel() for n, p in scorer.model.named_parameters() if "embed" not in n and "lm_head" not in n),
        "layers": config.num_hidden_layers,
        "attn_width": config.num_attention_heads * head_dim,
    }
    batching = f", batches of <= {scorer.batch_size} rows" if kind == "engine" else ""
    # one small task first, so one-off set-up (kernel selection, allocator growth) is timed for neither method
    scorer.score(ScoringTask("What is 1 + 1?", "One plus one is 2.\n\nWait, check: 2.", "2", ((0, 19),)))
    conn.send((f"{kind}: {param.device} {param.dtype} {torch.get_num_threads()} threads{batching}", shape))
    while (task := conn.recv()) is not None:
        plain_tps, answer_s = plain_forward_throughput(scorer, task) if kind == "naive" else (None, None)
        before = scorer.tokens_computed
        if cuda:
            torch.cuda.synchronize()
        start, cpu = time.perf_counter(), time.process_time()
        result = scorer.score(task)
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        conn.send(
            {
                "result": result,
                "seconds": seconds,
                "cpu_s": time.process_time() - cpu,
                "tokens": scorer.tokens_computed - before,
                "peak_mb": peak / 2**20,
                "plain_tps": plain_tps,
                "answer_s": answer_s,
            }
        )


def plain_forward_throughput(scorer: Any, task: Any) -> tuple[float, float]:
    """(tokens/s of a plain forward of the full sequence with a single logit row, seconds of the answer's
    logits and log-softmax): the model's own speed, without scoring overhead, from which the minimum-work time
    is built. Each is the best of two timings (the stricter baseline)."""
    import torch

    from thinktrim.lm.scoring.naive import answer_nll
    from thinktrim.lm.scoring.sequence import scoring_token_ids

    ids, m = scoring_token_ids(scorer.tokenizer, task, None)
    device = scorer.model.device
    input_ids = torch.tensor([ids], device=device)
    head = scorer.model.get_output_embeddings()
    hidden = torch.randn(m, head.in_features, device=device, dtype=head.weight.dtype)

    def timed(fn: Any) -> float:
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    with torch.inference_mode():
        scorer.model(input_ids=input_ids[:, :64], use_cache=False, logits_to_keep=1)  # warm-up
        forward = min(
            timed(lambda: scorer.model(input_ids=input_ids, use_cache=False, logits_to_keep=1)) for _ in range(2)
        )
        logits = min(timed(lambda: answer_nll(head(hidden), input_ids[0, -m:])) for _ in range(2))
    return len(ids) / forward, logits


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
    p.add_argument("--quick", action="store_true", help="the 2K-token chains only, no survey")
    p.add_argument(
        "--sources",
        default="r1-aime,qwq-misguided",
        help="one short chain from each (r1-aime, qwq-aime, qwq-misguided; repeat for more)",
    )
    p.add_argument("--max-tokens", type=int, default=2000, help="token budget of a short chain")
    p.add_argument("--long-sources", default="r1-aime,qwq-aime", help="one long chain from each")
    p.add_argument("--long-tokens", type=int, default=8000, help="token budget of the long chains (0: none)")
    p.add_argument("--min-units", type=int, default=10, help="functional units a chain must have")
    p.add_argument("--units", type=int, default=0, help="functional units scored per chain (0: all)")
    p.add_argument("--no-survey", action="store_true", help="skip the bound survey over all eligible chains")
    p.add_argument("--naive-sample", type=int, default=2, help="naive variants on the long chain (0: all)")
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads per scorer (0: torch's default); 1 is steadier on a busy machine",
    )
    p.add_argument("--traces", type=Path, default=TRACES, help="folder of ../shared/data/traces")
    p.add_argument(
        "--model",
        default="embedded",
        help="embedded, a model folder or hub id, or random:SHAPE (bench/random_model.py, e.g. "
        "random:qwen2.5-7b: real shape, random weights, for speed on a GPU)",
    )
    p.add_argument(
        "--batch-size", type=int, default=None, help="engine rows per suffix batch (default: 1 on CPU, 16 on GPU)"
    )
    p.add_argument("--max-batch-tokens", type=int, default=16384, help="engine key/value tokens per suffix batch")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    args = p.parse_args(argv)
    if args.quick:
        args.long_tokens, args.no_survey = 0, True

    import multiprocessing as mp

    from tqdm import tqdm

    from thinktrim.lm.load import load_tokenizer
    from thinktrim.lm.scoring.engine import make_plan
    from thinktrim.table import print_table

    tokenizer = load_tokenizer("embedded" if args.model.startswith("random:") else args.model)
    specs = [(src.strip(), args.max_tokens, False) for src in args.sources.split(",") if src.strip()]
    if args.long_tokens:
        specs += [(src.strip(), args.long_tokens, True) for src in args.long_sources.split(",") if src.strip()]
    if not args.no_survey:
        print_table(
            "Minimum-work bound over all eligible chains (naive tokens ÷ minimum tokens, all units)",
            ["source", "budget tok", "chains", "units (median)", "bound min", "bound median", "bound max", "share ≥ 2"],
            survey(tokenizer, args.traces, specs, args.min_units, 0.85),
        )
    chains = pick_chains(tokenizer, args.traces, specs, args.units, args.min_units, min_fill=0.85)
    chains.sort(key=lambda c: len(make_plan(tokenizer, c.task).full))  # ascending: RSS high-water = this chain

    ctx = mp.get_context("spawn")
    conns, procs = {}, []
    for kind in ("naive", "engine"):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker, daemon=True, args=(child, kind, args))
        proc.start()
        conns[kind] = parent
        procs.append(proc)
    ready = [conns[k].recv() for k in conns]
    devices, shape = [r[0] for r in ready], ready[0][1]
    load_start = os.getloadavg()

    rows_work: list[list[Any]] = []
    rows_time: list[list[Any]] = []
    totals = {
        "naive_s": 0.0,
        "engine_s": 0.0,
        "min_s": 0.0,
        "min_flops_s": 0.0,
        "naive_cpu": 0.0,
        "engine_cpu": 0.0,
        "dpir": 0.0,
    }
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
        # every exact method computes each sequence's answer logits once: that time is part of the minimum
        answers_s = (len(plan.variants) + 1) * naive["answer_s"]
        min_s = plan.minimum_tokens / naive["plain_tps"] + answers_s
        # the same bound weighed by FLOPs: suffix tokens sit late in the sequence and attend to more keys
        plain_flops_s = flops(shape, [(0, len(plan.full))]) * naive["plain_tps"] / len(plan.full)
        min_flops = flops(shape, [(0, len(plan.full))] + [(r, len(v)) for v, r in zip(plan.variants, plan.reuse)])
        min_flops_s = min_flops / plain_flops_s + answers_s
        name = chain.name + (" ~" if keep is not None else "")
        rows_work.append(
            [
                name,
                len(plan.full),
                plan.answer_tokens,
                f"{len(plan.variants)}/{chain.units}",
                plan.naive_tokens,
                engine["tokens"],
                plan.minimum_tokens,
                plan.naive_tokens / plan.minimum_tokens,
            ]
        )
        naive_cpu = naive["cpu_s"] * plan.naive_tokens / naive["tokens"]
        rows_time.append(
            [
                name,
                naive_s,
                engine["seconds"],
                naive_tps,
                engine["tokens"] / engine["seconds"],
                naive_s / engine["seconds"],
                naive_cpu / engine["cpu_s"],
                engine["seconds"] / min_s,
                engine["seconds"] / min_flops_s,
                naive["peak_mb"],
                engine["peak_mb"],
                dpir,
            ]
        )
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
    rows_time.append(
        [
            "overall",
            totals["naive_s"],
            totals["engine_s"],
            None,
            None,
            totals["naive_s"] / totals["engine_s"],
            totals["naive_cpu"] / totals["engine_cpu"],
            totals["engine_s"] / totals["min_s"],
            totals["engine_s"] / totals["min_flops_s"],
            max(r[9] for r in rows_time),
            max(r[10] for r in rows_time),
            totals["dpir"],
        ]
    )
    load_end = os.getloadavg()
    print_table(
        "PIR scoring work (tokens)",
        ["chain", "seq tok", "answer tok", "units scored/all", "naive tok", "engine tok", "min tok", "bound ×"],
        rows_work,
    )
    print_table(
        "PIR scoring time and memory",
        [
            "chain",
            "naive s",
            "engine s",
            "naive tok/s",
            "engine tok/s",
            "speed-up ×",
            "speed-up cpu ×",
            "÷ min work",
            "÷ min FLOPs",
            "naive peak MB",
            "engine peak MB",
            "max |ΔPIR|",
        ],
        rows_time,
        caption=(
            "~ naive ran the full chain + a sample of variants; its time is extrapolated by tokens. "
            f"{'; '.join(devices)}. load average at start {load_start[0]:.2f}, end {load_end[0]:.2f} "
            f"({os.cpu_count()} cores)."
        ),
    )
    print_table(
        "Targets",
        ["target", "measured", "met"],
        targets(rows_time[:-1], [c.long for c in chains]),
        caption="set for the embedded model in fp32 on a 2-core CPU; in bf16, |ΔPIR| is bf16 rounding. The "
        "speed-up cannot exceed a chain's bound × the share of naive time spent on logits outside the answer.",
    )


def targets(rows: list[list[Any]], long: list[bool]) -> list[list[Any]]:
    """The issue's four targets against this run's rows (speed-up is per chain, next to its work bound)."""
    speed = [r[5] for r in rows]
    met = sum(s >= 2 for s in speed)
    dpir = max(r[11] for r in rows)
    ratio = max(r[7] for r in rows)
    peaks = [r[10] for r, is_long in zip(rows, long) if is_long]
    out = [
        ["max |ΔPIR| ≤ 1e-4", f"{dpir:.2g}", dpir <= 1e-4],
        ["speed-up ≥ 2× per chain", f"{met}/{len(rows)}: " + ", ".join(f"{s:.2f}×" for s in speed), met == len(rows)],
        ["engine ≤ 1.25 × minimum-work time", f"worst {ratio:.2f}", ratio <= 1.25],
    ]
    if peaks:
        out.append(["peak memory < 4 GB on the long chains", f"{max(peaks):,.0f} MB", max(peaks) < 4096])
    return [[t, m, "yes" if ok else "no"] for t, m, ok in out]


if __name__ == "__main__":
    main()
