"""Hugging Face `datasets` as inputs: a `save_to_disk` folder, or a hub dataset id already in the local cache.

Rows are read from the dataset's Arrow files (memory-mapped) a batch at a time, so a 100K-row dataset never
sits in memory as Python objects. Nothing is ever downloaded: a hub id the cache lacks is one error line saying
how to fetch it (the hub is switched off for the load, as with HF_HUB_OFFLINE=1, whatever the environment says).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from thinktrim.errors import UserError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
BATCH_ROWS = 256


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
    """The hub switched off in `datasets` and `huggingface_hub` for the block: a cached load only."""
    import datasets.config as dconfig
    import huggingface_hub.constants as hconst

    before = dconfig.HF_HUB_OFFLINE, hconst.HF_HUB_OFFLINE
    dconfig.HF_HUB_OFFLINE = hconst.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        dconfig.HF_HUB_OFFLINE, hconst.HF_HUB_OFFLINE = before


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
            raise UserError(f"{s}: not in the local Hugging Face datasets cache; {fetch}") from None
        raise UserError(f"{s}: {e}") from None
    except ValueError as e:  # an unknown split or subset: datasets names the ones there are
        raise UserError(f"{s}: {str(e).splitlines()[0]}") from None
    return _pick_split(ds, s, split)


def dataset_label(source: str | Path, split: str | None, ds: Any) -> str:
    """How locations name the dataset: `GAIR/LIMO:train`."""
    name = split or (str(ds.split) if getattr(ds, "split", None) else None)
    return f"{source}:{name}" if name else str(source)


def dataset_rows(ds: Any, start: int = 0, end: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(0-based index, row) of the rows start…end-1, decoded from Arrow a batch of BATCH_ROWS at a time by the
    dataset's features (a `Json` column comes back as objects); the rows outside the range are never decoded."""
    stop = len(ds) if end is None else min(end, len(ds))
    if start >= stop:
        return
    part = ds if (start, stop) == (0, len(ds)) else ds.select(range(start, stop))  # contiguous: a slice
    index = start
    for batch in part.with_format(None).iter(batch_size=BATCH_ROWS):
        columns = list(batch)
        for values in zip(*(batch[c] for c in columns)):
            yield index, dict(zip(columns, values))
            index += 1


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
    columns = features.decode_batch(batch.to_pydict())
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*(columns[n] for n in names))]


def source_fingerprint(source: str | Path, split: str | None = None, subset: str | None = None) -> dict[str, Any]:
    """`store.file_fingerprint` of a file, `dataset_fingerprint` of the part of a datasets input read."""
    from thinktrim.data.store import file_fingerprint

    if is_dataset_source(source):
        return dataset_fingerprint(open_dataset(source, split, subset))
    return file_fingerprint(source)


def source_key(source: str | Path) -> str:
    """How a run record names its input: a file or folder by its absolute path, a hub id as it is."""
    return str(source) if is_hub_id(source) else str(Path(source).resolve())
