"""The embedded model end to end: sample GSM8K (and a few one-line sums it can answer, so the reference has an
accuracy and AES is defined) → build → fit → eval → `eval compare` with AES; and the same reward driving TRL's
GRPOTrainer for 2 steps on build's problems.jsonl."""

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app

pytestmark = pytest.mark.slow
SUMS = [("What is 2+3?", "5"), ("What is 9+8?", "17")]
# One sampling setting for the reference's samples and both evaluations, so AES compares like with like.
SAMPLING = ["--benchmark", "gsm8k", "--question-field", "q", "--answer-field", "a", "--kind", "number", "--limit",
            "2", "-n", "3", "--max-new-tokens", "48", "--seed", "0", "--grade-processes", "0",
            "--system-prompt", ""]  # no system prompt: the sums are answered in a few tokens


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A sample run of the embedded model (K = 3) and the reward dataset built from it (every sample kept)."""
    root = tmp_path_factory.mktemp("o1")
    sums = root / "sums.jsonl"
    sums.write_text("".join(json.dumps({"q": q, "a": a}) + "\n" for q, a in SUMS), encoding="utf-8")
    output = invoke("train", "o1-pruner", "sample", "--data", str(sums), *SAMPLING, "-o", str(root / "samples"))
    assert "Reference (per problem, over K samples)" in output
    reference = [json.loads(line) for line in (root / "samples" / "reference.jsonl").read_text().splitlines()]
    assert len(reference) == 4 and all(r["samples"] == 3 for r in reference)
    assert any(r["ref_accuracy"] > 0 for r in reference)  # the sums
    assert invoke("train", "o1-pruner", "build", str(root / "samples"), "-o", str(root / "data"), "--keep", "3")
    return root


def test_sample_build_fit_then_eval_compare_prints_aes(built) -> None:
    rows = [json.loads(line) for line in (built / "data" / "o1_pruner.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and {r["question_id"] for r in rows} >= {"gsm8k-0", "gsm8k-1"}
    advantages = [r["advantage"] for r in rows]
    assert math.isclose(sum(advantages), 0, abs_tol=1e-9) and max(advantages) > 0 > min(advantages)
    summary = json.loads((built / "data" / "build.json").read_text())
    assert summary["examples"] == 12 and summary["reference_model"] == "embedded"

    out = built / "model"
    output = invoke("train", "o1-pruner", "fit", str(built / "data" / "o1_pruner.jsonl"), "-o", str(out),
                    "--max-steps", "2", "--global-batch-size", "2", "--per-device-batch-size", "2",
                    "--save-strategy", "no")
    assert "Objective (offline PPO-clip)" in output
    record = json.loads((out / "train.json").read_text())
    assert record["training"]["steps"] == 2 and record["saved"] == "full"
    assert record["reference"]["mode"] == "precomputed" and record["reference"]["computed"] == 12
    assert len((out / record["reference"]["file"]).read_text().splitlines()) == 12  # stored, one per example

    invoke("eval", "--model", str(out), "--data", str(built / "sums.jsonl"), *SAMPLING, "-o", str(built / "eval"))
    assert "AES" in invoke("eval", "compare", str(built / "samples"), str(built / "eval"))
    compared = json.loads(invoke("eval", "compare", str(built / "samples"), str(built / "eval"), "--json"))
    trained = [r for r in compared if r["run"] == "eval" and r["benchmark"] == "sums"]
    assert len(trained) == 1 and isinstance(trained[0]["AES vs first"], float), compared  # ΔAcc, ΔLen defined


def test_the_reward_drives_trl_grpo_for_two_steps(built, tmp_path) -> None:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from thinktrim.lm.load import resolve_model
    from thinktrim.train.o1_pruner.reward import CLIP_HIGH, CLIP_LOW, get_length_harmonizing_reward

    problems = [json.loads(line) for line in (built / "data" / "problems.jsonl").read_text().splitlines()]
    path = resolve_model("embedded")
    args = GRPOConfig(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=2, num_generations=2,
                      max_completion_length=16, use_cpu=True, report_to="none", logging_steps=1,
                      save_strategy="no", seed=0)
    trainer = GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(path), args=args,
                          reward_funcs=get_length_harmonizing_reward(), train_dataset=Dataset.from_list(problems),
                          processing_class=AutoTokenizer.from_pretrained(path))
    trainer.train()
    logged = [h for h in trainer.state.log_history if "rewards/length_harmonizing_reward/mean" in h]
    assert len(logged) == 2 and trainer.state.global_step == 2
    for h in logged:
        assert CLIP_LOW <= h["rewards/length_harmonizing_reward/mean"] <= CLIP_HIGH
