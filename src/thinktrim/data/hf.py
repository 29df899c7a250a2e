"""Hugging Face `datasets` as inputs: a `save_to_disk` folder, or a hub dataset id already in the local cache.

`datasets` opens and decodes them (its features: a `Json` column comes back as objects); the rows are read from
the dataset's Arrow files BATCH_ROWS at a time through a memory map whose pages are given back as soon as their
rows are decoded (`dataset_rows`), so a 100K-row dataset never sits in memory as Python objects, nor stays
resident as touched pages of a map. Nothing is ever downloaded: a hub id the cache lacks is one error line
saying how to fetch it (the hub is switched off for the load, as with HF_HUB_OFFLINE=1, whatever the
environment says)."""

from __future__ import annotations

import hashlib
import mmap
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from thinktrim.errors import UserError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
BATCH_ROWS = 64


def is_save_to_disk(path: str | Path) -> bool:
    """A folder `Dataset.save_to_disk` (state.json) or `DatasetDict.save_to_disk` (dataset_dict.json) wrote."""
    p = Path(path)
    return p.is_dir() and ((p / "state.json").is_file() or (p / "dataset_dict.json").is_file())


def is_hub_id(source: str | Path) -> bool:
    """`owner/name` that is no path on disk and has no file extension: a hub dataset id."""
    s = str(source)
    return not Path(s).exists() and HUB_ID.match(s) is not None and Path(s).suffix.lower() not in (
        ".jsonl", ".json", ".parquet", ".pq", ".ndjson")


def is_dataset_source(source: str | Path) -> bool:
    """Whether `source` is read with `datasets` (a save_to_disk folder or a hub id) rather than as a file."""
    return is_save_to_disk(source) or is_hub_id(source)


@contextmanager
def _hub_off() -> Iterator[None]:
    """The hub switched off in `datasets` and `huggingface_hub` for the block: a cached load only (without the
    "Using the latest cached version … (offline mode is enabled)" warnings that would follow from it)."""
    import datasets.config as dconfig
    import huggingface_hub.constants as hconst
    from datasets.utils import logging as dlogging

    before = dconfig.HF_HUB_OFFLINE, hconst.HF_HUB_OFFLINE, dlogging.get_verbosity()
    dconfig.HF_HUB_OFFLINE = hconst.HF_HUB_OFFLINE = True
    dlogging.set_verbosity_error()
    try:
        yield
    finally:
        dconfig.HF_HUB_OFFLINE, hconst.HF_HUB_OFFLINE = before[:2]
        dlogging.set_verbosity(before[2])


def _pick_split(ds: Any, source: str, split: str | None) -> Any:
    """The split of a DatasetDict (`--split`, or its only one); a Dataset as it is."""
    import datasets

    if not isinstance(ds, datasets.DatasetDict):
        if split is not None and str(ds.split or split) != split:
            raise UserError(f"{source}: holds one split ({ds.split}); --split {split} names another")
        return ds
    names = list(ds)
    if split is None:
        if len(names) == 1:
            return ds[names[0]]
        raise UserError(f"{source}: holds the splits {', '.join(names)}; name one with --split")
    if split not in ds:
        raise UserError(f"{source}: no split {split!r} (it has {', '.join(names)}); name one with --split")
    return ds[split]


def open_dataset(source: str | Path, split: str | None = None, subset: str | None = None) -> Any:
    """The `datasets.Dataset` a save_to_disk folder or a cached hub id holds (one split of it)."""
    import datasets

    s = str(source)
    datasets.disable_progress_bars()
    if is_save_to_disk(s):
        if subset is not None:
            raise UserError(f"{s}: a save_to_disk folder has no subsets (--subset {subset})")
        try:
            ds = datasets.load_from_disk(s)
        except (OSError, ValueError) as e:
            raise UserError(f"{s}: not a readable datasets folder ({e})") from None
        return _pick_split(ds, s, split)
    if not is_hub_id(s):
        raise UserError(f"{s}: no such file, datasets folder or hub dataset id")
    fetch = (f"fetch it first, e.g. `python -c \"import datasets; datasets.load_dataset('{s}'"
             + (f", '{subset}'" if subset else "") + ")\"` (with the hub reachable)")
    try:
        with _hub_off():
            ds = datasets.load_dataset(s, subset, split=split)
    except (ConnectionError, FileNotFoundError) as e:
        if "not cached" in str(e) or "Couldn't reach" in str(e) or "offline" in str(e).lower():
            raise UserError(f"{s}: no such file, and not in the local Hugging Face datasets cache as a hub dataset; "
                            f"{fetch}") from None
        raise UserError(f"{s}: {e}") from None
    except ValueError as e:  # an unknown split or subset: datasets names the ones there are
        raise UserError(f"{s}: {str(e).splitlines()[0]}") from None
    return _pick_split(ds, s, split)


def dataset_label(source: str | Path, split: str | None, ds: Any) -> str:
    """How locations name the dataset: `GAIR/LIMO:train`."""
    name = split or (str(ds.split) if getattr(ds, "split", None) else None)
    return f"{source}:{name}" if name else str(source)


def dataset_rows(ds: Any, start: int = 0, end: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(0-based index, row) of the rows start…end-1, decoded by the dataset's features (a `Json` column comes back
    as objects) BATCH_ROWS at a time; the rows before `start` are never decoded.

    A dataset that is its Arrow files as written (a save_to_disk folder, a cached hub dataset: no indices mapping,
    same columns) is read from those files through a map of our own whose pages are let go once their rows are
    read (`_mapped_slices`), and the dataset itself (its own map of the files) is released before the first row:
    a whole pass over a memory map leaves every page it touched resident, so reading a 100K-row dataset would
    otherwise hold as much memory as the file is big (bench/datasets_read.py)."""
    return _rows(ds, _plain_files(ds), start, end)


def read_dataset(ds: Any, start: int = 0, end: int | None = None, id_keys: tuple[str, ...] = ()
                 ) -> tuple[Iterator[tuple[int, dict[str, Any]]], str | None]:
    """`dataset_rows` and `unique_id_column` (of `id_keys`; None without), the dataset's files looked at once."""
    files = _plain_files(ds)
    unique = _unique_id_column(ds, files, id_keys, start, end) if id_keys else None
    return _rows(ds, files, start, end), unique


def _rows(ds: Any, files: list[str] | None, start: int, end: int | None) -> Iterator[tuple[int, dict[str, Any]]]:
    """`dataset_rows`, from the dataset's plain files (`_plain_files`) when it has them."""
    from datasets.features.features import require_decoding

    stop = len(ds) if end is None else min(end, len(ds))
    if start >= stop:
        return
    features = ds.features
    decode = any(require_decoding(f) for f in features.values())
    if files is not None:
        batches: Iterator[Any] = _mapped_slices(files, start, stop, BATCH_ROWS)
    else:  # an in-memory or re-indexed dataset: through `datasets`, BATCH_ROWS at a time
        part = ds if (start, stop) == (0, len(ds)) else ds.select(range(start, stop))  # contiguous: a slice
        batches = (b for t in part.with_format("arrow").iter(batch_size=BATCH_ROWS) for b in t.to_batches())
    del ds  # what is read from here on is the files: the dataset's map of them goes with it
    index = start
    for batch in batches:
        for row in _decoded(features, batch) if decode else batch.to_pylist():
            yield index, row
            index += 1


def _plain_files(ds: Any) -> list[str] | None:
    """The dataset's Arrow files, when its rows are simply theirs in order (no indices mapping, same columns)."""
    import pyarrow as pa

    files = [c["filename"] for c in ds.cache_files]
    if ds._indices is not None or not files or not all(Path(f).is_file() for f in files):
        return None
    try:
        schemas = [pa.ipc.open_stream(f).schema for f in files]
    except (pa.ArrowInvalid, OSError):
        return None
    if any(s.names != ds.column_names for s in schemas) or ds.data.num_rows != len(ds):
        return None
    return files


def _mapped_slices(files: list[str], start: int, stop: int, rows: int) -> Iterator[Any]:
    """Rows start…stop-1 of the Arrow stream files in order, as record batches of at most `rows` rows.

    Each file is mapped read-only and its batches are zero-copy views of the map; when the next slice is asked
    for, the pages touched so far are given back (MADV_DONTNEED: clean file pages, read again from the page cache
    if touched again), so what stays resident is one slice's pages, not the file."""
    import pyarrow as pa

    offset = 0
    for f in files:
        with open(f, "rb") as fh:  # the map outlives the descriptor; it closes when its last view goes
            view = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        release = getattr(view, "madvise", None) if hasattr(mmap, "MADV_DONTNEED") else None
        for batch in pa.ipc.open_stream(pa.BufferReader(pa.py_buffer(view))):
            first, offset = offset, offset + batch.num_rows
            lo, hi = max(start, first) - first, min(stop, offset) - first
            for at in range(lo, hi, rows):  # a file's batches hold 1,000 rows: decode fewer at once
                yield batch.slice(at, min(rows, hi - at))
                if release is not None:  # the rows before are read: their pages can go
                    release(mmap.MADV_DONTNEED)
            if offset >= stop:
                return


def unique_id_column(ds: Any, keys: tuple[str, ...], start: int = 0, end: int | None = None) -> str | None:
    """The column every record's id comes from, when it holds distinct ids and no nulls in rows start…end-1: the
    first of `keys` (the reader's id fields, in order) that is a column, when those before it cannot be read from
    a row at all. A reader can then skip its table of the ids seen (12 MiB at 100K rows,
    bench/datasets_read.py); None when a Python check is still needed. The column alone is read, a slice at a
    time as the rows are (`_mapped_slices`), and only a 64-bit hash of each id is kept while it is checked."""
    return _unique_id_column(ds, _plain_files(ds), keys, start, end)


def _unique_id_column(ds: Any, files: list[str] | None, keys: tuple[str, ...], start: int,
                      end: int | None) -> str | None:
    import numpy as np
    import pyarrow as pa
    from datasets import Value

    key = next((k for k in keys if k in ds.column_names), None)
    if key is None or files is None or any("." in k for k in keys[:keys.index(key)]):
        return None
    feature = ds.features[key]
    kind = getattr(feature, "pa_type", None)
    if not isinstance(feature, Value) or kind is None or not (
            pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)):
        return None
    stop = len(ds) if end is None else min(end, len(ds))
    hashes = np.fromiter((hash(v) for part in _mapped_slices(files, start, stop, 1 << 30)
                          for v in part.column(key).to_pylist()), dtype=np.int64, count=max(stop - start, 0))
    hashes.sort()  # distinct hashes: distinct ids (a None or a collision sends the reader to its own check)
    distinct = ds.data.column(key).slice(start, max(stop - start, 0)).null_count == 0 and not (
        hashes[1:] == hashes[:-1]).any()
    return key if distinct else None


def _decoded(features: Any, batch: Any) -> list[dict[str, Any]]:
    columns = features.decode_batch(batch.to_pydict())
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*(columns[n] for n in names))]


def dataset_fingerprint(ds: Any) -> dict[str, Any]:
    """What the dataset's contents were when a run read it: sha256 of its Arrow files' bytes (in order), rows."""
    digest = hashlib.sha256()
    size = 0
    for cache in ds.cache_files:
        with open(cache["filename"], "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
    if not ds.cache_files:  # an in-memory dataset: its own fingerprint
        digest.update(str(ds._fingerprint).encode())
    return {"sha256": digest.hexdigest(), "size": size, "rows": len(ds)}


def dataset_features(ds: Any) -> Any:
    """The dataset's `datasets.Features`: what a refined Parquet copy is written under (`RecordWriter`), so it
    keeps the input's types and reads back as the same dataset."""
    return ds.features


def features_to_decode(schema: Any) -> Any:
    """The `datasets.Features` a Parquet file's metadata records, when some column needs them to read back as
    written (a `Json` column is stored as text); None for any other file."""
    if not (schema.metadata and b"huggingface" in schema.metadata):
        return None
    import datasets
    from datasets.features.features import require_decoding

    try:
        features = datasets.Features.from_arrow_schema(schema)
    except (ValueError, TypeError, KeyError):
        return None
    return features if any(require_decoding(f) for f in features.values()) else None


def decode_rows(features: Any, batch: Any) -> list[dict[str, Any]]:
    """A record batch's rows decoded by `features` (`features_to_decode`)."""
    return _decoded(features, batch)



def source_fingerprint(source: str | Path, split: str | None = None, subset: str | None = None) -> dict[str, Any]:
    """`store.file_fingerprint` of a file, `dataset_fingerprint` of the part of a datasets input read."""
    from thinktrim.data.store import file_fingerprint

    if is_dataset_source(source):
        return dataset_fingerprint(open_dataset(source, split, subset))
    return file_fingerprint(source)


def source_key(source: str | Path) -> str:
    """How a run record names its input: a file or folder by its absolute path, a hub id as it is."""
    return str(source) if is_hub_id(source) else str(Path(source).resolve())
