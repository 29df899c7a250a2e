"""eval --data from a datasets folder and a cached hub id (--split, --subset), and --start/--end ranges: the
range is recorded beside --limit, and a rerun with another range scores exactly its own questions."""

import json
from pathlib import Path

import datasets
import pytest

from thinktrim.errors import UserError
from thinktrim.evaluate.run import evaluate

from .conftest import eval_config

pytestmark = pytest.mark.slow

QUESTIONS = [{"q": "What is 2+3?", "a": "5"}, {"q": "What is 9+8?", "a": "17"}, {"q": "What is 4+4?", "a": "8"},
             {"q": "What is 1+1?", "a": "2"}]


def _config(out: Path, data: str, **kw):
    return eval_config(out, benchmarks=(), data=data, question_field="q", answer_field="a", kind="number",
                       n=1, max_new_tokens=6, temperature=0, system_prompt="", **{"limit": None, **kw})


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "sums"
    src = tmp_path / "src.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in QUESTIONS), encoding="utf-8")
    built = datasets.Dataset.from_json(str(src), cache_dir=str(tmp_path / "c"))
    datasets.DatasetDict({"test": built}).save_to_disk(str(folder))
    return folder


def test_a_datasets_folder_with_ranges(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    out = tmp_path / "run"
    first = evaluate(_config(out, str(folder), split="test", start=1, end=3))
    inputs = first["benchmarks"]["sums"]["inputs"]
    assert inputs["ids"] == ["sums-1", "sums-2"] and (inputs["start"], inputs["end"]) == (1, 3)
    # another range into the same folder: sums-2 is reused, sums-3 generated, the results hold these two only
    again = evaluate(_config(out, str(folder), split="test", start=2, limit=2))
    section = again["benchmarks"]["sums"]
    assert section["inputs"]["ids"] == ["sums-2", "sums-3"] and section["questions"] == 2
    assert again["generation"]["generated"] == 1
    assert again["config"]["start"] == 2 and again["config"]["split"] == "test"
    with pytest.raises(UserError, match="no split 'train'"):
        evaluate(_config(tmp_path / "run2", str(folder), split="train"))


def test_a_cached_hub_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.data.test_hf_inputs import cache_hub_dataset

    cache = tmp_path / "hf"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    src = tmp_path / "sums.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in QUESTIONS), encoding="utf-8")
    cache_hub_dataset(cache, "someone/Sums", {"test": src}, subset="easy")
    result = evaluate(_config(tmp_path / "run", "someone/Sums", subset="easy", split="test", end=1))
    assert result["benchmarks"]["Sums"]["inputs"]["ids"] == ["Sums-0"]
    assert result["config"]["data"] == "someone/Sums"
