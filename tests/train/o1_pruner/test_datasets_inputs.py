"""`train o1-pruner sample | build | fit` on Hugging Face datasets: a DatasetDict save_to_disk folder with two
splits (the chosen one read, the other not), a hub id in the local cache with a subset, and --start/--end; the
part read is recorded in run.json, build.json and train.json.

The tiny random Llama samples and trains: these tests check what is read and recorded, not what is learnt.
"""

import json
from pathlib import Path

import datasets
import pytest
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.errors import UserError
from thinktrim.train.o1_pruner.examples import read_reward_data

pytestmark = pytest.mark.slow
TRAIN = [{"q": "What is 1+1?", "a": "2"}, {"q": "What is 2+2?", "a": "4"}]
TEST = [{"q": "What is 7+1?", "a": "8"}, {"q": "What is 3+3?", "a": "6"}, {"q": "What is 5+4?", "a": "9"}]


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def save_splits(folder: Path, splits: dict[str, list[dict]]) -> Path:
    datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()}).save_to_disk(
        str(folder))
    return folder


def reward_rows(tag: str, advantages: list[float]) -> list[dict]:
    """Rows of build's shape (prompt and completion as messages, an advantage), the completions marked `tag`."""
    return [{"id": f"q{i}#0", "prompt": [{"role": "user", "content": f"What is {i}+{i}?"}],
             "completion": [{"role": "assistant", "content": f"{tag}: \\boxed{{{2 * i}}}"}],
             "finish_reason": "stop", "advantage": a} for i, a in enumerate(advantages)]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_sample_and_build_read_the_chosen_split_and_range(tiny_model_dir, tmp_path) -> None:
    folder = save_splits(tmp_path / "sums", {"train": TRAIN, "test": TEST})
    samples, built = tmp_path / "samples", tmp_path / "built"
    invoke("train", "o1-pruner", "sample", "--data", str(folder), "--split", "test", "--start", "1",
           "--question-field", "q", "--answer-field", "a", "--kind", "number", "--model", str(tiny_model_dir),
           "--device", "cpu", "-n", "2", "--max-new-tokens", "4", "--seed", "0", "--grade-processes", "0",
           "--system-prompt", "", "-o", str(samples))
    run = json.loads((samples / "run.json").read_text(encoding="utf-8"))
    assert (run["data"], run["split"], run["subset"], run["start"]) == (str(folder.resolve()), "test", None, 1)
    # the ids are positions, the same in both splits: the questions tell which split was sampled
    assert [r["question_id"] for r in jsonl(samples / "reference.jsonl")] == ["sums-1", "sums-2"]

    invoke("train", "o1-pruner", "build", str(samples), "-o", str(built), "--keep", "2")
    problems = jsonl(built / "problems.jsonl")
    assert [p["prompt"][-1]["content"] for p in problems] == [r["q"] for r in TEST[1:]]
    assert [(p["id"], p["answer"]) for p in problems] == [("sums-1", "6"), ("sums-2", "9")]
    assert {r["prompt"][-1]["content"] for r in jsonl(built / "o1_pruner.jsonl")} == {r["q"] for r in TEST[1:]}
    summary = json.loads((built / "build.json").read_text(encoding="utf-8"))
    assert summary["problems_source"] == {"benchmarks": [], "data": str(folder.resolve()), "split": "test",
                                          "subset": None, "start": 1, "end": None, "limit": None}


def test_fit_trains_on_the_chosen_split_of_a_datasets_folder(tiny_model_dir, tmp_path) -> None:
    folder = save_splits(tmp_path / "rewards", {"first": reward_rows("first", [1.0, -1.0]),
                                                "second": reward_rows("second", [0.5, -0.5, 1.0])})
    out = tmp_path / "out"
    args = ["train", "o1-pruner", "fit", str(folder), "-o", str(out), "--model", str(tiny_model_dir),
            "--max-steps", "1", "--global-batch-size", "1", "--per-device-batch-size", "1", "--save-strategy", "no"]

    unsplit = CliRunner().invoke(app, args)  # two splits and no --split: one line naming them
    assert unsplit.exit_code == 2, unsplit.output
    assert f"error: {folder}: holds the splits first, second; name one with --split" in unsplit.output

    output = invoke(*args, "--split", "second", "--end", "2")
    assert "Objective (offline PPO-clip)" in output
    record = json.loads((out / "train.json").read_text(encoding="utf-8"))
    assert (record["config"]["split"], record["config"]["subset"], record["config"]["end"]) == ("second", None, 2)
    (file,) = record["data"]["files"]
    assert file["path"] == str(folder.resolve()) and (file["records"], file["examples"]) == (2, 2)
    assert record["data"]["examples_read"] == 2 and record["objective"]["examples"] == 2
    assert record["reference"]["computed"] == 2
    # the rows trained on are the second split's: its advantages (0.5, -0.5), not the first's (1, -1)
    assert record["objective"]["positive_advantage"] == record["objective"]["negative_advantage"] == 1
    assert record["objective"]["advantage_mean"] == 0.0
    stored = {r["key"] for r in jsonl(out / record["reference"]["file"])}
    assert stored == {"1:q0#0", "1:q1#0"}


def test_fit_reads_a_cached_hub_id_with_a_subset(tmp_path, monkeypatch) -> None:
    from tests.data.test_hf_inputs import cache_hub_dataset

    cache = tmp_path / "hf"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src = tmp_path / "rewards.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in reward_rows("hub", [1.0, -1.0, 2.0])), encoding="utf-8")
    cache_hub_dataset(cache, "someone/Rewards", {"train": src}, subset="small")

    data = read_reward_data(["someone/Rewards"], "advantage", subset="small", split="train", start=1)
    assert [r["advantage"] for r in data.rows] == [-1.0, 2.0]
    assert [r["completion"] for r in data.rows] == ["hub: \\boxed{2}", "hub: \\boxed{4}"]
    assert data.files[0].path == "someone/Rewards" and data.files[0].records == 2
    with pytest.raises(UserError, match="someone/Rewards"):
        read_reward_data(["someone/Rewards"], "advantage", subset="large", split="train")
