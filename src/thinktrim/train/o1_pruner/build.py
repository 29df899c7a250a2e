"""The reward dataset: every kept sample as a prompt/completion row with its reward and advantage.

The prompt is the very conversation the sample answered (eval's `chat_messages` with the run's system prompt)
and the completion the very text the model generated after it, so `fit` trains on exactly what was sampled.
Rows keep `finish_reason`: a sample that stopped by itself ends its turn (fit appends the end-of-turn token), one
cut at the token limit does not. `problems.jsonl` holds one row per problem with the columns the on-policy reward
(`reward.LengthHarmonizingReward`) reads, ready for TRL's GRPOTrainer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thinktrim.data.chat import chat_messages
from thinktrim.data.store import write_json, write_jsonl
from thinktrim.train.o1_pruner.config import BuildConfig
from thinktrim.train.o1_pruner.reward import (
    clip_reward,
    distribution,
    kept_samples,
    length_harmonizing_reward,
    z_scores,
)
from thinktrim.train.o1_pruner.sample import SampleRun, read_run

DATASET_FILE = "o1_pruner.jsonl"
PROBLEMS_FILE = "problems.jsonl"
SUMMARY_FILE = "build.json"
PROBLEM_SETTINGS = ("benchmarks", "data", "split", "subset", "start", "end", "limit")


def reward_rows(run: SampleRun, cfg: BuildConfig) -> list[dict[str, Any]]:
    """The kept samples of every problem with R (raw and clipped) and the advantage (z-scored clipped R)."""
    rows = []
    for problem in run.problems:
        ref = problem.reference
        prompt = chat_messages(problem.item.question, run.system_prompt)
        for index in kept_samples(problem.item.id, len(problem.samples), cfg.keep, cfg.seed):
            s = problem.samples[index]
            raw = length_harmonizing_reward(int(s["tokens"]), s["correct"], ref.mean_length, ref.accuracy, cfg.lam)
            rows.append({
                "id": s["key"], "question_id": problem.item.id, "sample": s["sample"], "prompt": prompt,
                "completion": [{"role": "assistant", "content": s["response"]}],
                "finish_reason": s["finish_reason"], "tokens": int(s["tokens"]), "correct": s["correct"],
                "ref_mean_length": ref.mean_length, "ref_accuracy": ref.accuracy,
                "reward_raw": raw, "reward": clip_reward(raw, cfg.clip_low, cfg.clip_high),
            })
    for row, advantage in zip(rows, z_scores([r["reward"] for r in rows])):
        row["advantage"] = advantage
    return rows


def problem_rows(run: SampleRun) -> list[dict[str, Any]]:
    """One row per problem: the prompt, the gold answer and its kind, L̄_ref and Ā_ref (GRPO's dataset)."""
    rows = []
    for problem in run.problems:
        ref = problem.reference
        rows.append({"id": problem.item.id, "prompt": chat_messages(problem.item.question, run.system_prompt),
                     "answer": problem.item.answer, "kind": problem.item.kind, "ref_mean_length": ref.mean_length,
                     "ref_accuracy": ref.accuracy, "ref_samples": ref.samples})
    return rows


def problems_source(run: SampleRun) -> dict[str, Any]:
    """Where the sample run read its problems (benchmarks, or --data with its split, subset and range): the
    problems were read again from there, as the run read them (`read_run`)."""
    return {k: run.config.get(k) for k in PROBLEM_SETTINGS}


def summary(run: SampleRun, rows: list[dict[str, Any]], cfg: BuildConfig) -> dict[str, Any]:
    refs = [p.reference for p in run.problems]
    problems = len(refs)
    raw = [r["reward_raw"] for r in rows]
    return {
        "run": str(run.folder), "problems_source": problems_source(run), "reference_model": run.config.get("model"),
        "system_prompt": run.system_prompt,
        "sampling": run.config.get("generation"), "settings": cfg.to_dict(),
        "problems": problems, "samples_per_problem": run.samples_per_problem, "examples": len(rows),
        "problems_all_correct": sum(r.all_correct for r in refs), "problems_all_wrong": sum(r.all_wrong for r in refs),
        "share_all_correct": sum(r.all_correct for r in refs) / problems if problems else 0.0,
        "share_all_wrong": sum(r.all_wrong for r in refs) / problems if problems else 0.0,
        "reference_mean_length": distribution([r.mean_length for r in refs]),
        "reference_accuracy": distribution([r.accuracy for r in refs]),
        "reward_raw": distribution(raw), "reward": distribution([r["reward"] for r in rows]),
        "clipped_low": sum(x < cfg.clip_low for x in raw), "clipped_high": sum(x > cfg.clip_high for x in raw),
        "advantage": distribution([r["advantage"] for r in rows]),
        "kept_correct": sum(r["correct"] for r in rows),
        "kept_truncated": sum(r["finish_reason"] == "length" for r in rows),
        "positive_advantage": sum(r["advantage"] > 0 for r in rows),
    }


def run_build(cfg: BuildConfig) -> dict[str, Any]:
    """Read the run, write o1_pruner.jsonl, problems.jsonl and build.json (atomically); the summary."""
    from thinktrim.data.run_folder import claim_output_folder

    with claim_output_folder(cfg.output_dir, "train o1-pruner build", force=cfg.force):
        run = read_run(cfg.run)
        rows = reward_rows(run, cfg)
        out = Path(cfg.output_dir)
        record = summary(run, rows, cfg)
        write_jsonl(out / DATASET_FILE, rows)
        write_jsonl(out / PROBLEMS_FILE, problem_rows(run))
        write_json(out / SUMMARY_FILE, record)
    return record
