"""The fit stage on a tiny random Llama: r = 1 at step 0 (also for files that share ids), one step moves the
samples the advantage's way, the stored reference pass resumes, over-long samples are truncated as the released
code does, and bad rows are one clear line (or rejects)."""

import json

import pytest
import torch
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.errors import UserError
from thinktrim.train.model import placement
from thinktrim.train.o1_pruner.config import FitConfig
from thinktrim.train.o1_pruner.examples import read_reward_data
from thinktrim.train.o1_pruner.fit import build_trainer

pytestmark = pytest.mark.slow
QUESTIONS = ["What is 2 + 3?", "Name a prime above ten.", "What is half of 10?", "How many legs has a cat?"]
COMPLETIONS = ["2 + 3 = 5. \\boxed{5}", "Eleven is a prime: \\boxed{11}", "Ten halved is five, \\boxed{5}.",
               "A cat walks on four legs, so \\boxed{4}"]
ADVANTAGES = [1.5, -1.0, 0.5, -1.0]


def write_data(path, advantages=ADVANTAGES, completions=COMPLETIONS) -> str:
    rows = [{"id": f"q{i}#0", "prompt": [{"role": "user", "content": q}], "finish_reason": "stop",
             "completion": [{"role": "assistant", "content": c}], "advantage": a}
            for i, (q, c, a) in enumerate(zip(QUESTIONS, completions, advantages))]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def make(tmp_path, model, data=None, **settings):
    tmp_path.mkdir(exist_ok=True)
    data = data or [write_data(tmp_path / "data.jsonl")]
    cfg = FitConfig.from_mapping({"data": data, "output_dir": str(tmp_path / "out"),
                                  "model": str(model), "lr_scheduler": "constant", "warmup_ratio": 0,
                                  "save_strategy": "no", **settings})
    data = read_reward_data(cfg.data, cfg.advantage_field)
    trainer, _, extra = build_trainer(cfg, data, placement(cfg.model_settings))
    return trainer, extra


def row_logps(trainer, dataset):
    """Each example's mean completion log-prob under the trainer's model now, scored one at a time."""
    with torch.no_grad():
        return [trainer.completion_logps(trainer.model, trainer.data_collator([dataset[i]])).item()
                for i in range(len(dataset))]


def ratios(trainer):
    ds = trainer.train_dataset
    out = []
    for i in range(len(ds)):
        batch = trainer.data_collator([ds[i]])
        with torch.no_grad():
            _, outputs = trainer.compute_loss(trainer.model, batch, return_outputs=True)
        out.append(outputs["ratio"])
    return torch.cat(out)


def test_ratio_is_exactly_one_at_step_0_and_a_step_follows_the_advantage(tiny_model_dir, tmp_path) -> None:
    trainer, extra = make(tmp_path, tiny_model_dir, per_device_batch_size=1, global_batch_size=4, max_steps=1,
                          learning_rate=1e-3)
    assert extra["reference"]["computed"] == 4 and extra["reference"]["tokens_per_second"] > 0
    assert torch.equal(ratios(trainer), torch.ones(4))  # policy and reference are the same weights
    before = trainer.train_dataset["ref_logp"]
    assert row_logps(trainer, trainer.train_dataset) == before  # the stored pass is the loss's own statistic
    trainer.train()
    after = row_logps(trainer, trainer.train_dataset)
    moved = [a - b for a, b in zip(after, before)]
    for change, advantage in zip(moved, ADVANTAGES):
        assert (change > 0) == (advantage > 0), (moved, ADVANTAGES)
    assert trainer.state.log_history[0]["ratio"] == 1.0 and trainer.state.log_history[0]["clipped"] == 0.0


def test_batched_reference_pass_and_resident_references_agree(tiny_model_dir, tmp_path) -> None:
    batched, extra = make(tmp_path / "a", tiny_model_dir, per_device_batch_size=2, global_batch_size=2)
    assert (ratios(batched) - 1).abs().max() < 1e-5  # the pass padded other batches: rounding only
    resident, extra = make(tmp_path / "b", tiny_model_dir, lora=True, reference="resident")
    assert extra["reference"] == {"mode": "resident", "second_model": False}  # LoRA: the base is adapters-off
    assert torch.equal(ratios(resident), torch.ones(4))
    full, extra = make(tmp_path / "c", tiny_model_dir, reference="resident")
    assert extra["reference"]["second_model"] and torch.equal(ratios(full), torch.ones(4))


def test_two_build_outputs_over_the_same_problems_keep_their_own_references(tiny_model_dir, tmp_path) -> None:
    # Two builds over the same problems: the same ids (`question_id#sample`), other samples. Keyed by id alone,
    # one row would be scored against the other's reference (r != 1 at step 0, its gradient clipped away).
    tmp_path.mkdir(exist_ok=True)
    first = write_data(tmp_path / "first.jsonl")
    second = write_data(tmp_path / "second.jsonl", completions=[f"Briefly: {c}" for c in COMPLETIONS])
    trainer, extra = make(tmp_path, tiny_model_dir, data=[first, second], per_device_batch_size=1,
                          global_batch_size=1)
    assert extra["reference"]["computed"] == 8
    assert torch.equal(ratios(trainer), torch.ones(8))
    assert len(set(trainer.train_dataset["key"])) == 8


def test_an_id_twice_in_one_file_is_one_line_or_a_reject(tmp_path) -> None:
    data = tmp_path / "data.jsonl"
    write_data(data)
    lines = data.read_text().splitlines()
    data.write_text("\n".join([*lines, lines[0]]) + "\n")
    with pytest.raises(UserError) as e:
        read_reward_data([str(data)], "advantage")
    assert str(e.value) == (f"{data}:5: field 'id': 'q0#0' repeats the id on {data}:1 (ids key the stored "
                            "reference log-probs)")
    skipped = read_reward_data([str(data)], "advantage", on_error="skip")
    assert len(skipped.rows) == 4 and skipped.rejects[0]["field"] == "id"


# The lowest advantage on the longest sample, as build's rewards make it: ~150 tokens against ~55 for the rest.
LONG = "Eleven is a prime: " + "ten is even, so I check eleven once more. " * 12 + "\\boxed{11}"


def test_fit_truncates_over_long_samples_by_default_and_reports_the_advantage_mean(tiny_model_dir,
                                                                                  tmp_path) -> None:
    tmp_path.mkdir(exist_ok=True)
    data = write_data(tmp_path / "long.jsonl", completions=[COMPLETIONS[0], LONG, *COMPLETIONS[2:]])
    _, extra = make(tmp_path / "default", tiny_model_dir, data=[data], max_length=100)
    assert (extra["lengths"]["policy"], extra["lengths"]["truncated"]) == ("truncate", 1)
    objective = extra["objective"]
    assert objective["examples"] == 4 and objective["advantage_mean"] == pytest.approx(0.0)  # as build z-scored
    assert (objective["share_cut"], objective["share_dropped"]) == (0.25, 0.0)
    _, extra = make(tmp_path / "skip", tiny_model_dir, data=[data], max_length=100, overlong="skip")
    objective = extra["objective"]
    assert objective["examples"] == 3 and objective["advantage_mean"] == pytest.approx(1 / 3)  # shifted
    assert (objective["share_cut"], objective["share_dropped"]) == (0.0, 0.25)
    args = ["train", "o1-pruner", "fit", data, "-o", str(tmp_path / "cli"), "--model", str(tiny_model_dir),
            "--max-length", "100", "--max-steps", "1", "--global-batch-size", "1", "--save-strategy", "no"]
    printed = CliRunner().invoke(app, [*args, "--overlong", "skip"])
    assert printed.exit_code == 0, printed.output
    text = " ".join(printed.output.split())
    assert "mean A" in text and "+0.333" in text and "25.0" in text
    assert "--overlong skip dropped 1 over-long sample" in text


def test_a_killed_reference_pass_resumes_from_its_store(tiny_model_dir, tmp_path) -> None:
    first, extra = make(tmp_path, tiny_model_dir, per_device_batch_size=1, global_batch_size=1)
    store = tmp_path / "out" / extra["reference"]["file"]
    lines = store.read_text().splitlines()
    assert len(lines) == 4
    store.write_text("\n".join(lines[:2]) + "\n" + lines[2][:15])  # what a kill while appending leaves
    again, extra = make(tmp_path, tiny_model_dir, per_device_batch_size=1, global_batch_size=1)
    assert (extra["reference"]["reused"], extra["reference"]["computed"]) == (2, 2)
    assert again.train_dataset["ref_logp"] == first.train_dataset["ref_logp"]
    assert len(store.read_text().splitlines()) == 4  # nothing lost, nothing twice
    _, extra = make(tmp_path, tiny_model_dir, per_device_batch_size=1, global_batch_size=1, max_length=40,
                    overlong="truncate")  # other tokens: another file, the stale one removed
    assert extra["reference"]["computed"] == 4 and not store.exists()


def test_bad_rows_are_one_line_or_rejects(tiny_model_dir, tmp_path) -> None:
    data = tmp_path / "data.jsonl"
    write_data(data)
    lines = data.read_text().splitlines()
    lines[1] = lines[1].replace('"advantage": -1.0', '"advantage": "high"')
    data.write_text("\n".join(lines) + "\n")
    args = ["train", "o1-pruner", "fit", str(data), "-o", str(tmp_path / "out"), "--model", str(tiny_model_dir),
            "--max-steps", "1", "--global-batch-size", "1", "--save-strategy", "no"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {data}:2: field 'advantage': expected a finite number, got 'high'"
    skipped = CliRunner().invoke(app, [*args, "--on-error", "skip"])
    assert skipped.exit_code == 0, skipped.output
    record = json.loads((tmp_path / "out" / "train.json").read_text())
    assert record["data"]["dropped"] == {"malformed record (see rejects.jsonl)": 1}
    assert json.loads((tmp_path / "out" / "rejects.jsonl").read_text())["field"] == "advantage"
    assert record["objective"] == {"epsilon": 0.2, "examples": 3, "positive_advantage": 2, "negative_advantage": 1,
                                   "advantage_mean": pytest.approx(1 / 3), "overlong": "truncate",
                                   "share_cut": 0.0, "share_dropped": 0.0}
    again = CliRunner().invoke(app, [*args, "--on-error", "skip"])
    assert "already holds this run's model" in again.output


def test_kill_9_mid_fit_resumes_with_the_stored_reference(tiny_model_dir, tmp_path) -> None:
    import subprocess
    import sys

    from safetensors.torch import load_file

    from ..conftest import kill_at_first_checkpoint

    data = write_data(tmp_path / "data.jsonl")

    def args(out):
        return ["train", "o1-pruner", "fit", data, "-o", str(out), "--model", str(tiny_model_dir),
                "--global-batch-size", "1", "--max-steps", "12", "--save-strategy", "steps", "--save-steps", "3",
                "--learning-rate", "1e-3"]

    out = tmp_path / "killed"
    command = [sys.executable, "-m", "thinktrim.cli", *args(out)]
    kill_at_first_checkpoint(command, out)

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    record = json.loads((out / "train.json").read_text())
    assert record["training"]["resumed_from"] is not None and record["training"]["steps"] == 12
    assert (record["reference"]["reused"], record["reference"]["computed"]) == (4, 0)  # the starting model's
    whole = CliRunner().invoke(app, args(tmp_path / "unbroken"))
    assert whole.exit_code == 0, whole.output
    resumed, unbroken = load_file(out / "model.safetensors"), load_file(tmp_path / "unbroken" / "model.safetensors")
    for name, tensor in unbroken.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    # the per-step log: every step once, the steps before the checkpoint kept from the killed run
    whole_log = json.loads((tmp_path / "unbroken" / "train.json").read_text())["log"]
    assert [e["step"] for e in record["log"]] == [e["step"] for e in whole_log] == list(range(1, 13))
    assert [e["loss"] for e in record["log"]] == pytest.approx([e["loss"] for e in whole_log], rel=1e-4)
