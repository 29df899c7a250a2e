"""Atomic writes and append-only JSONL stores that survive a kill -9 and resume without duplicates."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from thinktrim.data.paths import file_mode, follow_umask
from thinktrim.errors import UserError


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Write to a temporary file beside `path` and rename it over `path` only if the block succeeds; the file
    gets the mode a plain `open()` gives a new one (0666 less the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _naming(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with _naming(path), os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            os.fchmod(f.fileno(), file_mode())  # mkstemp's 0600 would survive the rename: no one else could read
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """A temporary folder beside `path`, put in its place only if the block succeeds: a folder written as a whole
    (a `datasets` save_to_disk copy) appears whole or not at all, and one an earlier run left there is replaced
    only then. Its files get the modes plain `open()`/`mkdir()` give (the team can read them)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _naming(path):
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        with _naming(path):
            yield tmp
            follow_umask(tmp)
            if path.is_dir() and not path.is_symlink():  # the earlier copy goes aside, then away, once this is in
                aside = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
                os.replace(path, aside / path.name)
                os.replace(tmp, path)
                shutil.rmtree(aside, ignore_errors=True)
            else:
                os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Give an OSError without a file name (a failed write: a full disk) the name of the file being written."""
    try:
        yield
    except OSError as e:
        if e.filename is None and e.errno is not None:
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """What a file's contents were when a run read it: sha256 of its bytes, plus size and mtime for people."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    st = os.stat(path)
    return {"sha256": digest.hexdigest(), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_open(path) as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with atomic_open(path) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


class JsonlStore:
    """An append-only JSONL file of records keyed by a field, for resumable runs.

    Each record is written as one line and fsync'ed, so a killed run leaves at most one partial last line;
    opening the store drops that line (truncating the file to the last complete record) and remembers which
    keys are done, so a rerun skips them: nothing lost, nothing duplicated.
    """

    def __init__(self, path: str | Path, key: str = "id") -> None:
        self.path = Path(path)
        self.key = key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[str] = set()
        self._recover()
        self._file = self.path.open("a", encoding="utf-8")

    def _recover(self) -> None:
        self.done, good = self._scan(self.path, self.key)
        if self.path.exists() and good < self.path.stat().st_size:  # drop the torn write
            with self.path.open("r+b") as f:
                f.truncate(good)

    @staticmethod
    def _scan(path: Path, key: str) -> tuple[set[str], int]:
        """The keys of the complete records and the length of the part holding them."""
        if not path.exists():
            return set(), 0
        data = path.read_bytes()
        good = data.rfind(b"\n") + 1  # everything after the last newline is a torn write
        keys = set()
        for lineno, line in enumerate(data[:good].split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                keys.add(str(json.loads(line.decode("utf-8"))[key]))
            except (ValueError, KeyError, TypeError):  # undecodable, not JSON, not an object, no key
                raise UserError(f"{path}:{lineno}: not a record of this store (a JSON object with "
                                f"'{key}'); move the file away or use another folder") from None
        return keys, good

    @classmethod
    def stored_keys(cls, path: str | Path, key: str = "id") -> set[str]:
        """The keys a store at `path` holds, read without opening (or repairing) it."""
        return cls._scan(Path(path), key)[0]

    @classmethod
    def complete_part(cls, path: str | Path, key: str = "id") -> tuple[set[str], int]:
        """The keys a store at `path` holds and the byte length of the lines holding them (a torn last line
        left out), read without opening (or repairing) it: what a merge of several stores copies."""
        return cls._scan(Path(path), key)

    def __contains__(self, key: object) -> bool:
        return str(key) in self.done

    def append(self, record: dict[str, Any]) -> None:
        k = str(record[self.key])
        if k in self.done:
            raise ValueError(f"{self.path}: record {self.key}={k!r} is already stored")
        with _naming(self.path):
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        self.done.add(k)

    def close(self) -> None:
        with _naming(self.path):
            self._file.close()

    def __enter__(self) -> JsonlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def records(self) -> Iterator[dict[str, Any]]:
        self._file.flush()
        yield from read_jsonl_records(self.path)


def copy_head(src: str | Path, dst: IO[bytes], size: int) -> None:
    """Append the first `size` bytes of the file `src` to `dst` (the complete lines of a store, by
    `JsonlStore.complete_part`), a block at a time."""
    with open(src, "rb") as f:
        while size > 0:
            block = f.read(min(size, 1 << 20))
            if not block:
                raise UserError(f"{src}: shorter than the {size} bytes left to copy (it changed while read)")
            dst.write(block)
            size -= len(block)


def numbered_jsonl_records(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(1-based line number, decoded value) for each non-blank line, naming file and line on bad JSON.

    Splits on '\\n' only: U+2028 inside a string is data, not a line break.
    """
    for lineno, _, value in located_jsonl_records(path):
        yield lineno, value


def located_jsonl_records(path: str | Path) -> Iterator[tuple[int, int, Any]]:
    """(1-based line number, byte offset of the line, decoded value) for each non-blank line: the offset lets
    a caller keep a small index and read one record back later (`jsonl_record_at`)."""
    offset = 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if raw.strip():
                yield lineno, offset, decode_jsonl_line(raw, f"{path}:{lineno}")
            offset += len(raw)


def jsonl_record_at(f: IO[bytes], offset: int, where: str) -> Any:
    """The record on the line starting at byte `offset` of an open JSONL file."""
    f.seek(offset)
    return decode_jsonl_line(f.readline(), where)


def decode_jsonl_line(raw: bytes, where: str) -> Any:
    """One JSONL line decoded; UserError starting with `where` (file and line) when it is not UTF-8 JSON."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise UserError(f"{where}: not UTF-8 ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{where}: invalid JSON ({e.msg} at column {e.colno})") from e


def read_jsonl_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """Read a JSONL file of records (JSON objects), naming file and line on a malformed line or one that holds
    another JSON value (a list, a number): its readers look fields up, and would fail without naming the line."""
    for lineno, record in numbered_jsonl_records(path):
        if not isinstance(record, dict):
            raise UserError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
        yield record


def read_json_object(path: str | Path, what: str = "thinktrim run file") -> dict[str, Any]:
    """A JSON object from `path` ({} when the file does not exist); a UserError naming the file otherwise."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a {what} ({e}); remove it or use a new output folder") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a {what} (expected a JSON object)")
    return data


def changed_settings(previous: dict[str, Any], current: dict[str, Any], keys: Iterable[str]) -> list[str]:
    """`key=old → new` for each of `keys` whose value differs: what a resumed run must not change."""
    return [f"{k}={previous.get(k)!r} → {current.get(k)!r}" for k in keys if previous.get(k) != current.get(k)]
