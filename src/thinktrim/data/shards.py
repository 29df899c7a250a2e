"""Shards of a run: which items one process of N takes, and where each shard keeps its resumable store.

An item goes to shard `blake2b(id) mod N`: the same on every machine and Python (`hash()` is salted per
process), so N processes given the same input split it without talking to each other. Shard i of N writes
under `<output>/shards/i-of-N/`; a merge command reads every shard back and names the ones missing or
unfinished (`find_shards`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from thinktrim.errors import UserError

SHARDS_DIR = "shards"
_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
_FOLDER = re.compile(r"(\d+)-of-(\d+)")


def shard_of(key: str, count: int) -> int:
    """The shard (0 … count-1) an item with this id belongs to."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (written `index/count`, numbered from 0)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not (self.count >= 1 and 0 <= self.index < self.count):
            raise UserError(f"{self.index}/{self.count} is not a shard: expected i/N with 0 <= i < N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`"1/4"` → Shard(1, 4); UserError saying what is expected otherwise."""
        m = _SPEC.fullmatch(text)
        if not m:
            raise UserError(f"{text!r} is not a shard: expected i/N, e.g. 0/4 (shards are numbered from 0)")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, key: str) -> bool:
        return shard_of(key, self.count) == self.index

    def folder(self, out: str | Path) -> Path:
        """Where this shard of a run writing to `out` keeps its store."""
        return Path(out) / SHARDS_DIR / f"{self.index}-of-{self.count}"


def find_shards(out: str | Path) -> dict[int, Path]:
    """Shard index → folder of the sharded run under `out`; UserError naming what is wrong: no shards, shards
    of different counts (two sharded runs mixed in one folder), or missing ones."""
    root = Path(out) / SHARDS_DIR
    found: dict[int, dict[int, Path]] = {}
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        m = _FOLDER.fullmatch(path.name)
        if m and path.is_dir():
            found.setdefault(int(m.group(2)), {})[int(m.group(1))] = path
    if not found:
        raise UserError(f"{root}: no shard folders (i-of-N); run the command with --shard i/N first")
    if len(found) > 1:
        counts = ", ".join(f"{n} ({len(f)} found)" for n, f in sorted(found.items()))
        raise UserError(f"{root} holds shards of runs split {counts} ways; remove the folders of the run you do "
                        "not want to merge")
    ((count, folders),) = found.items()
    missing = [Shard(i, count) for i in range(count) if i not in folders]
    if missing:
        names = ", ".join(str(s) for s in missing)
        raise UserError(f"{root}: shard(s) {names} missing (no {missing[0].folder(out).name} folder); run the "
                        f"command with --shard {missing[0]} (and the others), then merge again")
    return folders
