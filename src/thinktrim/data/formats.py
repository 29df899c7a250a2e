"""Reading and writing long-CoT datasets: JSONL, JSON and Parquet files in any layout of `layouts.py`.

`read_records` streams `SourceRecord`s (a `Trace` plus the raw record it came from); `with_thinking` puts a
refined thinking back into the raw record in place, so the output keeps the input's layout and every other
field untouched; `write_records` writes records atomically. Training data is built by `chat.py`
(`to_messages` / `to_sharegpt`); layouts, and `RecordError`, are `layouts.py`'s.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from thinktrim.data.layouts import (
    RecordError,
    check_layout,
    detect_layout,
    lookup_field,
    parse_record,
)
from thinktrim.data.store import atomic_folder, atomic_open
from thinktrim.data.trace import Trace
from thinktrim.errors import UserError

FILE_FORMATS: tuple[str, ...] = ("jsonl", "json", "parquet")
DATASETS_FOLDER = "datasets"  # an output format: a `datasets` save_to_disk folder (RecordWriter)
ID_KEYS: tuple[str, ...] = ("id", "question_id", "uid", "idx", "unique_id", "prompt_id")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class SourceRecord:
    """One input record: its trace, the record as read, its layout and where it is (`file.jsonl:12`).

    `container_key` is the key its JSON file keeps the record list under (`{"data": [...]}`), None for a bare
    list and for JSONL and Parquet: what a writer that mirrors the file passes as `json_key`.
    """

    trace: Trace
    raw: dict[str, Any]
    layout: str
    location: str
    container_key: str | None = None


def detect_format(path: str | Path, file_format: str = "auto") -> str:
    """The file format, from the extension unless given."""
    if file_format != "auto":
        if file_format not in FILE_FORMATS:
            raise UserError(f"file_format={file_format!r}: expected auto or one of {', '.join(FILE_FORMATS)}")
        return file_format
    fmt = _EXTENSIONS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UserError(
            f"{path}: cannot tell the file format from the extension {Path(path).suffix!r}; "
            f"name one of {', '.join(FILE_FORMATS)} (--format)"
        )
    return fmt


# ------------------------------------------------------------------------------------------------ reading


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(1-based line, decoded value or RecordError); split on b'\\n' only, since U+2028 is data."""
    with path.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as e:
                yield lineno, RecordError(None, None, None, f"not UTF-8 ({e.reason} at byte {e.start})")
            except json.JSONDecodeError as e:
                yield lineno, RecordError(None, None, None, f"invalid JSON ({e.msg} at column {e.colno})")


def _json_list(path: Path) -> tuple[list[Any], str | None]:
    """The records of a JSON file (a list, or an object holding exactly one list) and that object's key."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise RecordError(str(path), None, None, f"not UTF-8 ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise RecordError(str(path), e.lineno, None, f"invalid JSON ({e.msg} at column {e.colno})") from None
    if isinstance(data, list):
        return data, None
    if isinstance(data, dict):
        lists = [k for k, v in data.items() if isinstance(v, list)]
        if len(lists) == 1:
            return data[lists[0]], lists[0]
        keys = ", ".join(data) or "none"
        raise RecordError(
            str(path), None, None, f"expected a list of records or an object holding one list (keys: {keys})"
        )
    raise RecordError(str(path), None, None, f"expected a list of records, got {type(data).__name__}")


def json_container_key(path: str | Path) -> str | None:
    """The key a JSON file keeps its record list under (`{"data": [...]}`), None for a bare list.

    It parses the whole file: a writer that mirrors records it has read takes `SourceRecord.container_key`."""
    return _json_list(Path(path))[1]


def pa_schema_type() -> type:
    import pyarrow as pa

    return pa.Schema


def _parquet_rows(path: Path) -> Iterator[tuple[int, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from thinktrim.data.hf import decode_rows, features_to_decode

    try:
        file = pq.ParquetFile(path)
        batches = file.iter_batches(batch_size=256)
    except pa.ArrowException as e:
        raise RecordError(str(path), None, None, f"not a readable Parquet file ({e})") from None
    features = features_to_decode(file.schema_arrow)  # a file `datasets` wrote with Json (or other) features
    index = 0
    while True:
        try:  # a file damaged past its footer fails here, as pyarrow's OSError or ValueError naming no file
            batch = next(batches, None)
            rows = [] if batch is None else batch.to_pylist() if features is None else decode_rows(features, batch)
        except (pa.ArrowException, OSError) as e:
            raise RecordError(str(path), index, None, f"not a readable Parquet file from here on ({e})",
                              unit="record") from None
        if batch is None:
            return
        for row in rows:
            yield index, row
            index += 1


def _rows(path: Path, fmt: str) -> tuple[Iterator[tuple[int, Any]], str | None]:
    """The file's (position, row) pairs, and the key a JSON file keeps them under (None for the others)."""
    if fmt == "jsonl":
        return _jsonl_rows(path), None
    if fmt == "json":
        rows, key = _json_list(path)
        return enumerate(rows), key
    return _parquet_rows(path), None


def _location(path: Path, fmt: str, pos: int) -> str:
    return f"{path}:{pos}" if fmt == "jsonl" else f"{path}[{pos}]"


def _dataset_input(path: str | Path, split: str | None, subset: str | None, start: int = 0, end: int | None = None,
                   id_keys: tuple[str, ...] = ()) -> tuple[Iterator[tuple[int, Any]], str, str | None]:
    """The rows of a datasets folder or cached hub id (see `hf.py`), the label its locations carry, and the id
    column among `id_keys` found distinct (`hf.unique_id_column`; None without id_keys)."""
    from thinktrim.data.hf import dataset_label, open_dataset, read_dataset

    ds = open_dataset(path, split, subset)
    rows, unique = read_dataset(ds, start, end, id_keys)
    return rows, dataset_label(path, split, ds), unique


def output_format(path: str | Path, file_format: str = "auto") -> str:
    """The format a file derived from this input is written in: the input's, Parquet for a `datasets` one."""
    from thinktrim.data.hf import is_dataset_source

    if file_format == "auto" and is_dataset_source(path):
        return "parquet"
    return detect_format(path, file_format)


def read_rows(path: str | Path, file_format: str = "auto", split: str | None = None,
              subset: str | None = None, start: int = 0, end: int | None = None) -> Iterator[tuple[int, str, Any]]:
    """(position, location, decoded row) of every row of a JSONL, JSON or Parquet file, whatever its layout,
    or of a `datasets` folder or cached hub id (`split`, `subset`: which part of it); `start`/`end`: only the rows
    at 0-based indexes start…end-1 (a datasets input never decodes the rows before).

    The position is the 1-based line (JSONL) or the 0-based index; the location `file:line` or `file[index]`.
    An undecodable JSONL line comes as a RecordError in its place.
    """
    from thinktrim.data.hf import is_dataset_source

    if is_dataset_source(path):
        rows, label, _ = _dataset_input(path, split, subset, start, end)
        for pos, raw in rows:
            yield pos, f"{label}[{pos}]", raw
        return
    path = Path(path)
    fmt = detect_format(path, file_format)
    for pos, raw in islice(_rows(path, fmt)[0], start, end):
        yield pos, _location(path, fmt, pos), raw


def read_objects(path: str | Path, file_format: str = "auto", split: str | None = None,
                 subset: str | None = None) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """`read_rows` for callers that take any layout but need JSON objects: a row that does not decode or is
    not an object raises UserError naming its location."""
    for pos, where, raw in read_rows(path, file_format, split, subset):
        if isinstance(raw, RecordError):
            raise UserError(f"{where}: {raw.reason}")
        if not isinstance(raw, dict):
            raise UserError(f"{where}: expected a JSON object, got {type(raw).__name__}")
        yield pos, where, raw


def _record_id(
    raw: dict[str, Any], stem: str, pos: int, keys: tuple[str, ...] = ID_KEYS
) -> tuple[str, str | None]:
    """(id, the field it came from): the first id-like field, else `{file stem}-{line or index}`."""
    for key in keys:
        value = lookup_field(raw, key)[1]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise RecordError(None, None, key, f"expected a string or an integer, got {type(value).__name__}")
        if isinstance(value, str) and not value.strip():
            raise RecordError(None, None, key, "empty id")
        return str(value), key
    return f"{stem}-{pos}", None


def read_records(
    path: str | Path,
    layout: str = "auto",
    file_format: str = "auto",
    on_error: Literal["raise", "skip"] = "raise",
    whole_response_as_thinking: bool = False,
    id_stem: str | None = None,
    split: str | None = None,
    subset: str | None = None,
    start: int = 0,
    end: int | None = None,
) -> Iterator[SourceRecord | RecordError]:
    """Stream the records of a dataset file as `SourceRecord`s.

    The layout is detected from the first valid record (or forced by `layout`, which may also name the fields
    itself: `question=KEY,response=KEY`, see `layouts.field_layout`) and every record is checked against it.
    A bad record raises a `RecordError` naming file, line/index and field; with `on_error="skip"` the error is
    yielded instead, so the caller can write it to a rejects file and go on. A file that cannot
    be read as a whole (a JSON file that does not parse) always raises.

    A chain that never closes its thinking has `thinking_closed=False`, its whole response as `thinking` and
    an empty answer; with `whole_response_as_thinking` it is also marked `meta["whole_response_as_thinking"]`,
    the user's consent to refine it anyway.

    Records without an id field get `{id_stem}-{line or index}`, the stem defaulting to the file's; pass the
    input's stem to read a derived file (a refined copy) under the input's ids.

    `path` may also be a `datasets` save_to_disk folder or a hub id in the local cache (`hf.py`), read a batch
    at a time from its Arrow files; `split` and `subset` pick the part of it, locations read `GAIR/LIMO:train[3]`.

    `start`/`end` read only the records (valid or not) at 0-based indexes start…end-1 in input order (a JSONL
    file's blank lines are no records); ids, duplicates and layout detection see only those.
    """
    from thinktrim.data.hf import is_dataset_source

    fields = check_layout(layout)
    id_keys = (fields.id,) if fields is not None and fields.id else ID_KEYS
    if on_error not in ("raise", "skip"):
        raise UserError(f"on_error={on_error!r}: expected 'raise' or 'skip'")
    label: str | None = None
    unique_ids: str | None = None  # an id column found distinct beforehand: no table of the ids seen is kept
    if is_dataset_source(path):
        rows, label, unique_ids = _dataset_input(path, split, subset, start, end, id_keys)
        container_key, fmt, path = None, "dataset", Path(path)
    else:
        path = Path(path)
        fmt = detect_format(path, file_format)
        rows, container_key = _rows(path, fmt)
        if start or end is not None:
            rows = islice(rows, start, end)
    unit: Literal["line", "record"] = "line" if fmt == "jsonl" else "record"
    chosen = None if layout == "auto" else layout
    def location(pos: int) -> str:
        return f"{label}[{pos}]" if label is not None else _location(path, fmt, pos)

    seen: dict[str, int] = {}  # id -> position: the location is built again only for a duplicate's message
    for pos, raw in rows:
        where = location(pos)
        try:
            if isinstance(raw, RecordError):
                raise raw
            this_layout = chosen or detect_layout(raw)
            parsed = parse_record(raw, this_layout)
            rid, id_key = _record_id(raw, path.stem if id_stem is None else id_stem, pos, id_keys)
            if unique_ids is None and rid in seen:
                raise RecordError(None, None, id_key or "id", f"duplicate id {rid!r} (first at {location(seen[rid])})")
        except RecordError as e:
            err = e.at(label or str(path), pos, unit)
            if on_error == "raise":
                raise err from None
            yield err
            continue
        chosen = this_layout
        if unique_ids is None:
            seen[rid] = pos
        meta: dict[str, Any] = {"layout": this_layout, "location": where, "split": parsed.split, **parsed.meta}
        if whole_response_as_thinking and not parsed.closed:
            meta["whole_response_as_thinking"] = True
        trace = Trace(rid, parsed.question, parsed.thinking, parsed.response, parsed.closed, meta)
        yield SourceRecord(trace, raw, this_layout, where, container_key)


# ------------------------------------------------------------------------------------------------ writing


def with_thinking(record: SourceRecord, new_thinking: str) -> dict[str, Any]:
    """The raw record with its thinking replaced in place: same layout, markers, whitespace and fields."""
    parsed = parse_record(record.raw, record.layout)
    out = copy.deepcopy(record.raw)
    *parents, last = parsed.slot
    holder: Any = out
    for key in parents:
        holder = holder[key]
    if parsed.joined:  # several s1K trajectories were read joined; the refined one is written as one
        holder[last] = [new_thinking]
        return out
    text, (start, end) = holder[last], parsed.span
    holder[last] = text[:start] + new_thinking + text[end:]
    return out


class RecordWriter:
    """Writes records one at a time as JSONL, JSON (a list, or `{json_key: [...]}`), Parquet or a `datasets`
    save_to_disk folder (`DATASETS_FOLDER`), atomically: the file or folder appears, whole, only when the block
    ends without an error.

    Parquet goes out in row groups of `batch_rows` under `schema` (the input's, so types survive); without a
    schema the rows are held and their types inferred at the end, as `pyarrow.Table.from_pylist` does. A
    `datasets.Features` schema (a datasets input's) writes through `datasets`' own ParquetWriter, which encodes
    each row by its features (a `Json` column, an image) and keeps them in the file's metadata. A datasets folder
    is written by `datasets` itself (`Dataset.save_to_disk`, so `load_from_disk` reads it back under the same
    features): with a schema the rows stream to an Arrow file first, without one they are held and typed at the
    end, as for Parquet.
    """

    def __init__(self, path: str | Path, file_format: str = "auto", json_key: str | None = None,
                 schema: Any = None, batch_rows: int = 1024) -> None:
        self.path = Path(path)
        self.format = file_format if file_format == DATASETS_FOLDER else detect_format(path, file_format)
        self.json_key, self.schema, self.batch_rows = json_key, schema, batch_rows
        self.count = 0
        self._stack = ExitStack()
        self._rows: list[dict[str, Any]] = []
        self._writer: Any = None  # rows stream to: datasets' ParquetWriter or ArrowWriter, or pyarrow's ParquetWriter
        self._folder: Path | None = None

    def __enter__(self) -> RecordWriter:
        if self.format == DATASETS_FOLDER:
            self._enter_folder()
            return self
        binary = self.format == "parquet"
        self._file = self._stack.enter_context(atomic_open(self.path, "wb" if binary else "w"))
        if self.format == "json":
            self._file.write(f"{{{json.dumps(self.json_key)}: [" if self.json_key is not None else "[")
        if binary and self.schema is not None and not isinstance(self.schema, pa_schema_type()):
            from datasets.arrow_writer import ParquetWriter as FeaturesWriter

            self._writer = FeaturesWriter(features=self.schema, stream=self._file, writer_batch_size=self.batch_rows)
            self._stack.callback(self._writer.close)
        elif binary and self.schema is not None:
            import pyarrow.parquet as pq

            self._writer = self._stack.enter_context(pq.ParquetWriter(self._file, self.schema))
        return self

    def _enter_folder(self) -> None:
        from thinktrim.data.hf import is_save_to_disk

        if self.path.is_symlink() or (self.path.exists() and not is_save_to_disk(self.path)):
            raise UserError(f"{self.path}: exists and is not a datasets folder an earlier run wrote; not replaced "
                            "(move it away, or write to another folder)")
        self._folder = self._stack.enter_context(atomic_folder(self.path))
        if self.schema is not None:  # rows stream to an Arrow file under the input's features
            import datasets
            from datasets.arrow_writer import ArrowWriter

            features = self.schema if isinstance(self.schema, datasets.Features) else \
                datasets.Features.from_arrow_schema(self.schema)
            staging = self._folder / ".rows"  # not the folder itself: a dataset cannot be saved over its own file
            staging.mkdir()
            self._writer = ArrowWriter(features=features, path=str(staging / "rows.arrow"),
                                        writer_batch_size=self.batch_rows)
            self._stack.callback(self._writer.close)

    def write(self, record: dict[str, Any]) -> None:
        if self._writer is not None and hasattr(self._writer, "finalize"):  # datasets' writers: they batch
            self._writer.write(record)
        elif self.format in ("parquet", DATASETS_FOLDER):
            self._rows.append(record)
            if self._writer is not None and len(self._rows) >= self.batch_rows:
                self._flush_parquet()
        elif self.format == "jsonl":
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:  # one record a line keeps big JSON files diffable
            self._file.write(("\n" if self.count == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
        self.count += 1

    def _flush_parquet(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            try:
                self._finish()
            except BaseException as e:
                self._stack.__exit__(type(e), e, e.__traceback__)  # drops the partial file
                raise
        self._stack.__exit__(exc_type, exc, tb)  # closes the file: into place, or dropped after an error

    def _finish(self) -> None:
        if self.format == DATASETS_FOLDER:
            self._finish_folder()
        elif self.format == "json":
            self._file.write(("\n" if self.count else "") + ("]}\n" if self.json_key is not None else "]\n"))
        elif hasattr(self._writer, "finalize"):
            self._writer.finalize(close_stream=False)
        elif self._writer is not None:
            self._flush_parquet()
        elif self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(self._rows), self._file)

    def _finish_folder(self) -> None:
        """`save_to_disk` into the temporary folder (which `atomic_folder` then puts in place), quietly: the
        command's own progress bar is the one shown."""
        import datasets

        assert self._folder is not None
        if self._writer is not None:
            self._writer.finalize()
            self._writer.close()
            dataset = datasets.Dataset.from_file(str(self._folder / ".rows" / "rows.arrow"))
        else:
            dataset = datasets.Dataset.from_list(self._rows)
        bars = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            dataset.save_to_disk(str(self._folder))
        finally:
            if bars:
                datasets.enable_progress_bars()
        del dataset  # its map of the staging file, before the file goes
        shutil.rmtree(self._folder / ".rows", ignore_errors=True)


def write_records(
    path: str | Path, records: Iterable[dict[str, Any]], file_format: str = "auto", json_key: str | None = None
) -> int:
    """Write records atomically as JSONL, JSON (a list, or `{json_key: [...]}`) or Parquet; returns the count."""
    with RecordWriter(path, file_format, json_key) as writer:
        for record in records:
            writer.write(record)
    return writer.count


def llamafactory_dataset_info(file_name: str, style: Literal["sharegpt", "messages"] = "sharegpt") -> dict:
    """The `dataset_info.json` entry for a file written with `to_sharegpt` or `to_messages`."""
    if style == "sharegpt":
        return {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "system": "system"},
        }
    if style == "messages":
        return {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "messages"},
            "tags": {
                "role_tag": "role",
                "content_tag": "content",
                "user_tag": "user",
                "assistant_tag": "assistant",
                "system_tag": "system",
            },
        }
    raise ValueError(f"style={style!r}: expected 'sharegpt' or 'messages'")
