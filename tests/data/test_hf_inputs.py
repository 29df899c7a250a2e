"""Hugging Face datasets as inputs: save_to_disk folders and hub ids in the local cache, read as files are.

The hub cache is built by `datasets` itself, offline: the packaged JSON builder prepares the fixture file into
`HF_DATASETS_CACHE` under the hub id's cache name (`GAIR___limo/default/0.0.0/<commit>`), which is where
`datasets.load_dataset("GAIR/LIMO")` puts a downloaded dataset and where it finds it again with HF_HUB_OFFLINE=1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from thinktrim.data.formats import read_records
from thinktrim.data.hf import dataset_fingerprint, is_dataset_source, open_dataset
from thinktrim.data.layouts import LAYOUTS
from thinktrim.errors import UserError

FIXTURES = Path(__file__).parent / "fixtures"


def cache_hub_dataset(cache: Path, repo_id: str, files: dict[str, Path], subset: str = "default") -> Path:
    """Prepare `files` (split → JSONL) into `cache` as the Arrow cache of hub dataset `repo_id` (subset
    `subset`), with the JSON builder `load_dataset` uses for a hub repo of JSONL files; returns its folder."""
    from datasets.naming import camelcase_to_snakecase
    from datasets.packaged_modules.json.json import Json

    # named as a hub load names it (datasets.load: dataset_name=camelcase_to_snakecase(the repo's name))
    builder = Json(cache_dir=str(cache), dataset_name=camelcase_to_snakecase(repo_id.split("/")[1]), config_name=subset,
                   config_id=subset, hash="0123456789abcdef0123456789abcdef01234567",
                   data_files={split: str(p) for split, p in files.items()})
    builder.repo_id = repo_id  # the namespace of its cache folder (`GAIR___limo`), as a hub load gives it
    builder._cache_dir = builder._build_cache_dir()
    builder.download_and_prepare()
    return Path(builder.cache_dir)


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HF datasets cache, the one `datasets` reads for this test (HF_DATASETS_CACHE)."""
    cache = tmp_path / "hf-datasets"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def traces(items) -> list[tuple]:
    return [(r.layout, r.trace.question, r.trace.thinking, r.trace.response, r.trace.thinking_closed) for r in items]


def save_to_disk(src: Path, folder: Path) -> Path:
    datasets.Dataset.from_json(str(src), cache_dir=str(folder.parent / "build-cache")).save_to_disk(str(folder))
    return folder


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_save_to_disk_folder_reads_as_its_jsonl_does(tmp_path: Path, layout: str) -> None:
    src = FIXTURES / f"{layout}.jsonl"
    folder = save_to_disk(src, tmp_path / f"{layout}_ds")
    assert is_dataset_source(folder)
    got = list(read_records(folder))
    assert traces(got) == traces(read_records(src))
    assert [r.location for r in got] == [f"{folder}:train[{i}]" for i in range(len(got))]  # Dataset.split
    assert all(r.layout == layout for r in got)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_cached_hub_id_reads_offline_as_its_jsonl_does(hub_cache: Path, layout: str) -> None:
    src = FIXTURES / f"{layout}.jsonl"
    cache_hub_dataset(hub_cache, f"someone/{layout}-data", {"train": src})
    got = list(read_records(f"someone/{layout}-data", split="train"))
    assert traces(got) == traces(read_records(src))
    assert got[1].location == f"someone/{layout}-data:train[1]"


def test_splits_subsets_and_what_is_not_cached(hub_cache: Path, tmp_path: Path) -> None:
    limo, s1k = FIXTURES / "limo.jsonl", FIXTURES / "s1k.jsonl"
    test = tmp_path / "test.jsonl"
    test.write_text(limo.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    cache_hub_dataset(hub_cache, "GAIR/LIMO", {"train": limo, "test": test})
    cache_hub_dataset(hub_cache, "simplescaling/s1K-1.1", {"train": s1k}, subset="main")
    assert len(list(read_records("GAIR/LIMO", split="test"))) == 1
    with pytest.raises(UserError, match="holds the splits train, test; name one with --split"):
        list(read_records("GAIR/LIMO"))
    assert [r.layout for r in read_records("simplescaling/s1K-1.1", subset="main")] == ["s1k"] * 2
    with pytest.raises(UserError, match=r"^nobody/nothing: no such file, and not in the local Hugging Face datasets"):
        list(read_records("nobody/nothing"))
    ds = datasets.DatasetDict({"train": datasets.Dataset.from_json(str(limo), cache_dir=str(tmp_path / "c"))})
    ds.save_to_disk(str(tmp_path / "dict"))
    assert len(list(read_records(tmp_path / "dict"))) == 3  # its only split
    with pytest.raises(UserError, match="no split 'dev'"):
        list(read_records(tmp_path / "dict", split="dev"))


def test_index_ranges_read_records_in_input_order(tmp_path: Path) -> None:
    rows = [json.loads(x) for x in (FIXTURES / "limo.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    many = tmp_path / "many.jsonl"
    many.write_text("".join(json.dumps({**rows[i % 3], "id": f"r{i}"}) + "\n" for i in range(10)), encoding="utf-8")
    folder = save_to_disk(many, tmp_path / "many_ds")
    for source in (many, folder):
        assert [r.trace.id for r in read_records(source, start=3, end=6)] == ["r3", "r4", "r5"]
        assert [r.trace.id for r in read_records(source, start=8)] == ["r8", "r9"]
        assert list(read_records(source, start=20)) == []


def test_fingerprint_follows_contents(tmp_path: Path) -> None:
    a = dataset_fingerprint(open_dataset(save_to_disk(FIXTURES / "limo.jsonl", tmp_path / "a")))
    b = dataset_fingerprint(open_dataset(save_to_disk(FIXTURES / "limo.jsonl", tmp_path / "b")))
    c = dataset_fingerprint(open_dataset(save_to_disk(FIXTURES / "s1k.jsonl", tmp_path / "c")))
    assert a == b and a["sha256"] != c["sha256"] and a["rows"] == 3


def test_a_folder_that_is_no_dataset_is_refused(tmp_path: Path) -> None:
    from thinktrim.data.inputs import check_source

    with pytest.raises(ValueError, match="no datasets save_to_disk folder"):
        check_source(str(tmp_path))


def test_rows_stream_across_files_and_batches_and_fall_back_in_memory(tmp_path: Path) -> None:
    from thinktrim.data.hf import dataset_rows

    rows = [{"i": i, "obj": {"k": [i] * (i % 3)}} for i in range(23)]
    built = datasets.Dataset.from_list(rows)
    built.save_to_disk(str(tmp_path / "sharded"), num_shards=3)  # three Arrow files, read one after another
    on_disk = open_dataset(tmp_path / "sharded")
    assert len(on_disk.cache_files) == 3
    for ds in (on_disk, built, on_disk.select([5, 1, 7])):  # streamed files; in memory; re-indexed
        expected = [dict(ds[i]) for i in range(len(ds))]
        assert [row for _, row in dataset_rows(ds)] == expected
        for start, end in ((0, 1), (2, 9), (7, None), (1, 2), (len(ds), None)):
            got = list(dataset_rows(ds, start, end))
            assert got == list(enumerate(expected))[start:end], (start, end)


def test_ranges_across_batches_that_straddle_the_decoding_slices(tmp_path: Path) -> None:
    """Files of 150-row record batches, read BATCH_ROWS (64) rows at a time: every range comes back whole."""
    from thinktrim.data.hf import dataset_rows

    rows = [{"i": i} for i in range(400)]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"), num_shards=2, max_shard_size=None)
    ds = open_dataset(tmp_path / "ds")
    for start, end in ((0, None), (63, 65), (149, 301), (150, 151), (199, 400), (399, None), (10, 10)):
        assert [r["i"] for _, r in dataset_rows(ds, start, end)] == list(range(400))[start:end], (start, end)


def _rss_mib() -> float:
    """This process's resident set now (Linux: /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc/self/status")
def test_a_pass_over_a_dataset_holds_a_few_rows_not_its_file(tmp_path: Path) -> None:
    """A 48 MiB dataset (record batches of 1,000 rows, 24 MiB each) read row by row: the process grows by a few
    MiB at most. A plain memory map would leave all 48 MiB resident by the end of the pass, and reading a whole
    record batch at a time would hold 24 MiB."""
    from thinktrim.data.hf import dataset_rows

    build = ("import datasets, sys; datasets.disable_progress_bars(); datasets.Dataset.from_list([{'id': f'r{i}', "
             "'text': 'x' * 24_000} for i in range(2000)]).save_to_disk(sys.argv[1])")
    subprocess.run([sys.executable, "-c", build, str(tmp_path / "big")], check=True)  # its memory is not ours
    datasets.Dataset.from_list([{"id": "r", "text": "x"}]).save_to_disk(str(tmp_path / "small"))
    assert len(list(dataset_rows(open_dataset(tmp_path / "small")))) == 1  # the code that reads: loaded
    rows = dataset_rows(open_dataset(tmp_path / "big"))
    before, most = _rss_mib(), 0.0
    for i, (_, row) in enumerate(rows):
        assert len(row["text"]) == 24_000
        if i % 50 == 0:
            most = max(most, _rss_mib() - before)
    assert i == 1999
    assert most < 10, f"the process grew by {most:.1f} MiB during the pass"


@pytest.mark.parametrize("ids, unique", [
    (["a", "b", "c", "d"], True),
    ([3, 1, 2, 0], True),
    (["a", "b", "a", "d"], False),  # a duplicate: the reader's own check names both places
    (["a", None, "c", "d"], False),  # a missing id: the next id field or the position gives it
])
def test_an_id_column_found_distinct_spares_the_table_of_ids(tmp_path: Path, ids: list, unique: bool) -> None:
    from thinktrim.data.hf import unique_id_column

    rows = [{"id": i, "question": f"q{n}", "response": f"<think>t{n}</think>{n}"} for n, i in enumerate(ids)]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    ds = open_dataset(tmp_path / "ds")
    assert unique_id_column(ds, ("id", "question_id")) == ("id" if unique else None)
    assert unique_id_column(ds, ("question_id", "id")) == ("id" if unique else None)  # not a column: no id there
    assert unique_id_column(ds, ("meta.id", "id")) is None  # a dotted field could give some rows their id
    assert unique_id_column(ds, ("question",)) == "question"
    if not unique and ids[2] == "a":
        assert unique_id_column(ds, ("id",), start=1) == "id"  # the range alone is distinct
        with pytest.raises(UserError, match=r"duplicate id 'a' \(first at .*ds\[0\]\)"):
            list(read_records(tmp_path / "ds"))
    else:
        got = [r.trace.id for r in read_records(tmp_path / "ds")]
        assert got == [str(i) if i is not None else "ds-1" for i in ids]
