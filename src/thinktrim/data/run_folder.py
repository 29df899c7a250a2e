"""An output folder belongs to one run at a time, and to one command for good.

People start two jobs into one folder, point one command at another's folder, or at a folder of their own
files. Each command therefore writes through `claim_output_folder`:

- `.thinktrim.lock` is locked (`flock`, exclusive) while the run writes. The OS drops the lock when the
  process dies, so `kill -9` never leaves a stale one; a second run into the folder stops at once and names
  the process that holds it.
- `.thinktrim.json` records which command made the folder; another command refuses it. A folder with files
  thinktrim did not write is refused too, unless it is empty or the user passes `--force`.
- A run that fails before it did any resumable work (a model that will not load, a bad option found late)
  leaves the folder as it found it: what it created is removed, so the corrected command runs.

A process may claim a folder it already holds (e.g. `curate` running eval into its own folder): the inner
claim is a no-op.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinktrim import __version__
from thinktrim.errors import UserError

LOCK_FILE = ".thinktrim.lock"
OWNER_FILE = ".thinktrim.json"

# Which commands may write into a folder made by a command: a folder kind and the commands of that kind.
FOLDER_KINDS = {
    "refine": ("refine", "refine-merge"),
    "eval": ("eval", "eval merge", "train o1-pruner sample"),
    "curate": ("curate",),
    "train sft": ("train sft",),
    "train o1-pruner build": ("train o1-pruner build",),
    "train o1-pruner fit": ("train o1-pruner fit",),
}
# Folders written before `.thinktrim.json` existed, recognised by files only that command writes (every pattern
# of one group matches), so a rerun of such a run still resumes. A model folder's lone config.json is no eval run.
# Eval's record is run.json; config.json, its name before, is read for one release.
_SIGNATURES = {
    "refine": (("annotations.jsonl",),),
    "eval": (("run.json", "results.json"), ("run.json", "*/samples.jsonl"),
             ("config.json", "results.json"), ("config.json", "*/samples.jsonl")),
    "curate": (("audit.jsonl",),),
    "train sft": (("train.json",), ("run.json", "checkpoints")),
    "train o1-pruner build": (("build.json", "o1_pruner.jsonl"),),
}
# The files whose growth means resumable work was done: a failed run that wrote none of them is rolled back.
WORK_FILES = {
    "refine": ("annotations.jsonl", "shards/*/annotations.jsonl"),
    "eval": ("*/samples.jsonl", "shards/*/*/samples.jsonl"),
    "curate": ("difficulty/*/*/samples.jsonl",),
    "train sft": ("checkpoints/checkpoint-*",),
    "train o1-pruner fit": ("checkpoints/checkpoint-*", "reference-*.jsonl"),
    "train o1-pruner build": (),
}


def kind_of(command: str) -> str:
    for kind, commands in FOLDER_KINDS.items():
        if command in commands:
            return kind
    raise KeyError(command)


@dataclass
class HeldFolder:
    """A claimed output folder and what was there before the claim, so a failed run can be undone."""

    path: Path  # the output folder
    command: str
    locked: Path  # the folder whose lock this run holds: `path`, or a shard's own folder inside it
    created: Path | None  # the top-most folder of `locked` this claim created, else None
    entries: frozenset[str]  # names in `locked` before the claim
    before: dict[str, int] = field(default_factory=dict)  # work files → size, before the claim
    lock_fd: int | None = None

    def did_work(self) -> bool:
        """Whether a work file of this command is new or grew since the claim."""
        return any(self.before.get(rel, -1) < size for rel, size in _work_sizes(self.path, self.command).items())

    def roll_back(self) -> None:
        """Remove what this run created in the folder it locked (the folder itself, when the claim made it).
        Only what the lock guards is touched: never what another run (another shard) may be writing."""
        if self.created is not None:
            shutil.rmtree(self.created, ignore_errors=True)
            return
        for entry in self.locked.iterdir():
            if entry.name not in self.entries:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


_held: dict[Path, HeldFolder] = {}


@contextmanager
def claim_output_folder(path: str | Path, command: str, *, force: bool = False, option: str = "--output-dir",
                        lock_at: str | Path | None = None) -> Iterator[HeldFolder]:
    """Hold `path` for `command` while the block runs (see the module's docstring); UserError naming the folder
    when another run holds it, another command made it, or it holds files thinktrim did not write.

    `lock_at`: a subfolder to lock instead of `path` (a shard's folder: the shards of one run write side by
    side into one output folder).
    """
    path = Path(path)
    locked = Path(lock_at) if lock_at is not None else path
    key = locked.resolve()
    if key in _held:  # this process holds it already: nested use (curate's own eval runs)
        yield _held[key]
        return
    _check_is_folder(path, option)
    created = _make_folder(locked)
    # Nothing is undone when the lock is refused: the folder, even one this call created, is the other run's.
    fd = _lock(locked, command, option)
    if created is not None and locked != path:
        created = locked  # other shards may be writing beside it: undo only this shard's own folder
    held = HeldFolder(path, command, locked, created, frozenset(os.listdir(locked)) - {LOCK_FILE},
                      _work_sizes(path, command), fd)
    try:
        _check_owner(path, command, force, option)
    except BaseException:
        held.roll_back()
        _release(held)
        raise
    _held[key] = held
    try:
        yield held
    except BaseException as e:
        if _is_failure(e) and not held.did_work():
            held.roll_back()
        raise
    finally:
        del _held[key]
        _release(held)


def _is_failure(e: BaseException) -> bool:
    """Whether an exception ends the run as failed: not `SystemExit(0)` / `typer.Exit(0)`."""
    code = getattr(e, "exit_code", getattr(e, "code", 1))
    return code not in (0, None)


def _check_is_folder(path: Path, option: str) -> None:
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                what = "is a file" if p == path else f"{p} is a file"
                raise UserError(f"{option} {path}: {what}, not a folder")
            return


def _make_folder(path: Path) -> Path | None:
    """Create `path` and its missing parents; the top-most one created, or None when it existed."""
    top = None
    for p in (path, *path.parents):
        if p.exists():
            break
        top = p
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None
    return top


def _lock(folder: Path, command: str, option: str) -> int:
    """The descriptor of `folder`'s lock file, locked; UserError naming the holder when another run has it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _read_holder(fd)
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise UserError(f"{option} {folder}: in use by another run ({holder}); wait for it to finish, "
                                "or choose another folder") from None
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else a run removed the file between our open and lock: take the new one
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"thinktrim {command}, pid {os.getpid()} on {socket.gethostname()}\n".encode())
    return fd


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 400, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "a thinktrim process"


def _release(held: HeldFolder) -> None:
    if held.lock_fd is not None:
        os.close(held.lock_fd)  # closing the last descriptor drops the flock
        held.lock_fd = None


def folder_owner(path: Path) -> str | None:
    """The folder kind that made `path`: from `.thinktrim.json`, else from a file only that command writes."""
    try:
        owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8")).get("kind")
        if isinstance(owner, str):
            return owner
    except (OSError, ValueError, AttributeError):
        pass
    for kind, groups in _SIGNATURES.items():
        if any(all(next(path.glob(pattern), None) is not None for pattern in group) for group in groups):
            return kind
    return None


def _check_owner(path: Path, command: str, force: bool, option: str) -> None:
    kind = kind_of(command)
    owner = folder_owner(path)
    if owner is not None and owner != kind:
        raise UserError(f"{option} {path}: made by `thinktrim {owner}`, not `thinktrim {command}`; a folder holds "
                        "one command's outputs: choose another folder")
    foreign = sorted(set(os.listdir(path)) - {LOCK_FILE, OWNER_FILE, "shards"})
    if owner is None and foreign and not force:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise UserError(f"{option} {path}: holds files thinktrim did not write ({shown}); choose an empty or new "
                        "folder, or pass --force to write into it anyway")
    if owner is None:
        from thinktrim.data.store import write_json

        write_json(path / OWNER_FILE, {"kind": kind, "command": command, "thinktrim_version": __version__})


def _work_sizes(path: Path, command: str) -> dict[str, int]:
    """Relative path → size (a folder counts as 1) of the work files of `command` under `path`."""
    sizes: dict[str, int] = {}
    if not path.is_dir():
        return sizes
    for pattern in WORK_FILES.get(kind_of(command), ()):
        for p in path.glob(pattern):
            with suppress(OSError):
                sizes[str(p.relative_to(path))] = 1 if p.is_dir() else p.stat().st_size
    return sizes


FORCE_HELP = ("Write into an output folder that holds files thinktrim did not write (never into another command's "
              "folder, nor one a running run holds).")


def force_field() -> Any:
    """The `force` setting, declared once for every command that writes an output folder."""
    return field(default=False, metadata={"help": FORCE_HELP})
