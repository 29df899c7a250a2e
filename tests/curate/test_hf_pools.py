"""curate reads datasets folders (and cached hub ids, as refine does) as pools, and --start/--end ranges."""

from __future__ import annotations

import json
from pathlib import Path

import datasets

from thinktrim.curate.config import CurateConfig
from thinktrim.curate.pipeline import curate
from thinktrim.data.formats import read_rows

from .conftest import FIXTURES, read_jsonl


def run(pools, out: Path, **kw) -> dict:
    kw.setdefault("verify_chains", False)
    kw.setdefault("grade_processes", 0)
    return curate(CurateConfig(pools=tuple(map(str, pools)), output_dir=str(out), **kw), progress=False)


def test_a_datasets_folder_pool_curates_as_its_jsonl_does(tmp_path: Path) -> None:
    for name in ("limo", "messages", "s1k"):
        folder = tmp_path / f"{name}_ds"
        datasets.Dataset.from_json(str(FIXTURES / f"{name}.jsonl"), cache_dir=str(tmp_path / "c")).save_to_disk(
            str(folder))
        from_file = run([FIXTURES / f"{name}.jsonl"], tmp_path / f"{name}-file")
        from_folder = run([folder], tmp_path / f"{name}-folder")
        assert from_folder["outputs"] == {"curated.parquet": from_file["kept"]}, name
        kept = read_jsonl(tmp_path / f"{name}-file" / "curated.jsonl")
        written = tmp_path / f"{name}-folder" / "curated.parquet"
        # the rows as the file had them (datasets adds no column; a Json column reads back as objects), under
        # the folder's own features
        assert [raw for _, _, raw in read_rows(written)] == kept, name
        features = datasets.load_from_disk(str(folder)).features
        assert datasets.Dataset.from_parquet(str(written), cache_dir=str(tmp_path / "c")).features == features


def test_ranges_take_records_in_pool_order(tmp_path: Path) -> None:
    whole = run([FIXTURES / "limo.jsonl"], tmp_path / "whole")
    part = run([FIXTURES / "limo.jsonl"], tmp_path / "part", start=1)
    assert whole["steps"]["read"]["in"] == 3 and part["steps"]["read"]["in"] == 2
    kept = {r["question"] for r in read_jsonl(tmp_path / "part" / "curated.jsonl")}
    first = read_jsonl(FIXTURES / "limo.jsonl")[0]["question"]
    assert first not in kept and len(kept) == part["kept"]
    again = run([FIXTURES / "limo.jsonl"], tmp_path / "part", end=2)  # another range, same folder: its own
    assert again["steps"]["read"]["in"] == 2
    run_file = json.loads((tmp_path / "part" / "run.json").read_text(encoding="utf-8"))
    assert (run_file["config"]["inputs"]["start"], run_file["config"]["inputs"]["end"]) == (0, 2)
