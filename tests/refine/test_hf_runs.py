"""refine → train sft from Hugging Face datasets (a save_to_disk folder, a hub id in the local cache), and index
ranges (--start/--end) on refine, recorded in run.json and handled on reruns as --limit is.

The tiny random Llama scores: these tests check what is read and written, not how good the pruning is.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.data.formats import read_records
from thinktrim.refine.verify import check_refined

from .conftest import trimmed

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, [*args])
    assert result.exit_code == 0, result.output
    return result.output


def refine_args(source: str, out: Path, model: Path, *extra: str) -> list[str]:
    return ["refine", source, "-o", str(out), "--model", str(model), "--device", "cpu", "--ratios", "0.5",
            "--on-error", "skip", *extra]


def train_args(data: str, out: Path, model: Path, *extra: str) -> list[str]:
    return ["train", "sft", data, "-o", str(out), "--model", str(model), "--max-steps", "1", "--max-length", "128",
            "--overlong", "truncate", "--global-batch-size", "1", "--save-strategy", "no", *extra]


@pytest.fixture(scope="module")
def traces_dataset(tmp_path_factory, sample_records) -> Path:
    """Four real traces (thought-anchors layout, ids) saved as a DatasetDict folder with a train split."""
    tmp = tmp_path_factory.mktemp("hf")
    src = tmp / "traces.jsonl"
    src.write_text("".join(json.dumps(trimmed(r, 1200)) + "\n" for r in sample_records[2:6]), encoding="utf-8")
    folder = tmp / "traces_ds"
    built = datasets.Dataset.from_json(str(src), cache_dir=str(tmp / "build"))
    datasets.DatasetDict({"train": built}).save_to_disk(str(folder))
    return folder


def test_refine_a_datasets_folder_then_train_on_the_refined_parquet(traces_dataset, tiny_model_dir, tmp_path) -> None:
    out = tmp_path / "out"
    invoke(*refine_args(str(traces_dataset), out, tiny_model_dir, "--split", "train"))
    refined = out / "refined_r0.5.parquet"
    source = datasets.load_from_disk(str(traces_dataset))["train"]
    assert pq.read_schema(refined).remove_metadata() == source.features.arrow_schema.remove_metadata()
    rows = pq.read_table(refined).to_pylist()
    assert [r["id"] for r in rows] == source["id"]
    assert all(len(r["response"]) <= len(s) for r, s in zip(rows, source["response"]))
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["input"] == str(traces_dataset.resolve()) and run["split"] == "train"
    assert run["input_fingerprint"]["rows"] == 4

    assert check_refined(out) == []
    invoke(*refine_args(str(traces_dataset), out, tiny_model_dir, "--split", "train"))  # resumes, same input

    model = tmp_path / "model"
    invoke(*train_args(str(refined), model, tiny_model_dir))
    record = json.loads((model / "train.json").read_text(encoding="utf-8"))
    assert record["training"]["steps"] == 1 and record["data"]["files"][0]["sha256"]


def test_refine_and_train_from_a_cached_hub_id(tiny_model_dir, tmp_path, monkeypatch) -> None:
    from tests.data.test_hf_inputs import cache_hub_dataset

    cache = tmp_path / "hf-datasets"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache_hub_dataset(cache, "GAIR/LIMO", {"train": FIXTURES / "limo.jsonl"})
    out = tmp_path / "out"
    invoke(*refine_args("GAIR/LIMO", out, tiny_model_dir, "--split", "train", "--end", "2"))
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["input"] == "GAIR/LIMO" and run["end"] == 2 and run["ids"] == ["LIMO-0", "LIMO-1"]
    rows = pq.read_table(out / "refined_r0.5.parquet").to_pylist()
    assert len(rows) == 2 and set(rows[0]) == {"question", "solution", "answer"}

    model = tmp_path / "model"
    invoke(*train_args("GAIR/LIMO", model, tiny_model_dir, "--split", "train", "--start", "1"))
    record = json.loads((model / "train.json").read_text(encoding="utf-8"))
    assert record["data"]["files"][0]["path"] == "GAIR/LIMO"

    missing = CliRunner().invoke(app, refine_args("GAIR/LIMO-2", tmp_path / "o2", tiny_model_dir))
    assert missing.exit_code == 2
    assert "GAIR/LIMO-2: no such file, and not in the local Hugging Face datasets cache" in missing.output


def test_ranges_compose_with_limit_and_reruns_keep_the_cache(tiny_model_dir, tmp_path, sample_records) -> None:
    src = tmp_path / "runs.jsonl"
    src.write_text("".join(json.dumps(trimmed(r, 1200)) + "\n" for r in sample_records[:6]), encoding="utf-8")
    ids = [r["id"] for r in sample_records[:6]]
    out = tmp_path / "out"
    invoke(*refine_args(str(src), out, tiny_model_dir, "--start", "1", "--end", "4"))
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert (run["start"], run["end"], run["ids"]) == (1, 4, ids[1:4])
    assert [r.trace.id for r in read_records(out / "refined_r0.5.jsonl")] == ids[1:4]
    scored = (out / "annotations.jsonl").read_text(encoding="utf-8").splitlines()

    # another range into the same folder: the chains already scored are reused, the outputs hold its own only
    invoke(*refine_args(str(src), out, tiny_model_dir, "--start", "3", "--end", "6", "--limit", "2"))
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert (run["start"], run["end"], run["limit"], run["ids"]) == (3, 6, 2, ids[3:5])
    again = (out / "annotations.jsonl").read_text(encoding="utf-8").splitlines()
    assert again[: len(scored)] == scored and len(again) == 4  # ids[3] not rescored, ids[4] added
    assert [r.trace.id for r in read_records(out / "refined_r0.5.jsonl")] == ids[3:5]

    bad = CliRunner().invoke(app, refine_args(str(src), out, tiny_model_dir, "--start", "4", "--end", "4"))
    assert bad.exit_code == 2 and "--end: must be above --start (4), got 4" in bad.output


def test_a_json_column_keeps_its_features_and_jsonl_output_is_there_too(tiny_model_dir, tmp_path) -> None:
    folder = tmp_path / "messages_ds"
    datasets.Dataset.from_json(str(FIXTURES / "messages.jsonl"), cache_dir=str(tmp_path / "c")).save_to_disk(
        str(folder))
    features = datasets.load_from_disk(str(folder)).features  # messages: List(Json()), content str or parts
    out = tmp_path / "out"
    invoke(*refine_args(str(folder), out, tiny_model_dir))
    refined = out / "refined_r0.5.parquet"
    assert datasets.Dataset.from_parquet(str(refined), cache_dir=str(tmp_path / "c2")).features == features
    got = list(read_records(refined))
    assert [r.layout for r in got] == ["messages"] * 2 and check_refined(out) == []
    source = {r.trace.id.split("-")[-1]: r.trace for r in read_records(folder)}
    assert [r.trace.question for r in got] == [t.question for t in source.values()]

    as_jsonl = tmp_path / "jsonl"
    invoke(*refine_args(str(folder), as_jsonl, tiny_model_dir, "--output-format", "jsonl"))
    rows = [json.loads(x) for x in (as_jsonl / "refined_r0.5.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["messages"][0] for r in rows] == [json.loads(x)["messages"][0] for x in
                                                (FIXTURES / "messages.jsonl").read_text().splitlines() if x.strip()]


def test_a_range_of_a_datasets_folder_in_shards_merges_to_the_range(traces_dataset, tiny_model_dir, tmp_path) -> None:
    out = tmp_path / "out"
    for shard in ("0/2", "1/2"):
        invoke(*refine_args(str(traces_dataset), out, tiny_model_dir, "--start", "1", "--end", "4", "--shard", shard))
    invoke("refine-merge", str(out))
    ids = datasets.load_from_disk(str(traces_dataset))["train"]["id"]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["ids"] == ids[1:4] and (run["start"], run["end"]) == (1, 4)
    assert [r["id"] for r in pq.read_table(out / "refined_r0.5.parquet").to_pylist()] == ids[1:4]
    assert check_refined(out) == []


def test_refined_copy_as_a_datasets_folder(traces_dataset, tiny_model_dir, tmp_path) -> None:
    """--output-format datasets writes refined_r0.5/ with save_to_disk under the input's features; it is checked,
    trained on, and replaced by a Parquet copy when a rerun asks for Parquet (no stale folder left)."""
    out = tmp_path / "out"
    invoke(*refine_args(str(traces_dataset), out, tiny_model_dir, "--split", "train", "--output-format", "datasets"))
    refined = out / "refined_r0.5"
    source = datasets.load_from_disk(str(traces_dataset))["train"]
    copy = datasets.load_from_disk(str(refined))
    assert copy.features == source.features and copy["id"] == source["id"]
    assert all(len(r) <= len(s) for r, s in zip(copy["response"], source["response"]))
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert stats["files"] == {"r0.5": "refined_r0.5"} and "refined_r0.5" in stats["outputs"]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".refined")]  # no staging or temporary folder
    assert check_refined(out) == []

    model = tmp_path / "model"
    invoke(*train_args(str(refined), model, tiny_model_dir))
    assert json.loads((model / "train.json").read_text(encoding="utf-8"))["training"]["steps"] == 1

    invoke(*refine_args(str(traces_dataset), out, tiny_model_dir, "--split", "train", "--output-format", "parquet"))
    assert not refined.exists() and (out / "refined_r0.5.parquet").is_file()
    assert check_refined(out) == []
