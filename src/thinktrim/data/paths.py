"""Names that become parts of paths, and the modes of the files thinktrim writes.

A dataset name, a model name, the stem of a data file or a run's name ends up as a file or folder name inside
an output folder. Taken as is, `..`, `/abs/victim` or `a/b` would write outside it (or over another file), a
leading `-` reads as an option to the next shell command and a leading `.` hides the file. `safe_file_name`
turns any string into one harmless path component, leaving names that already are one (`gsm8k`, `math500`,
`thought_anchors_sample`) unchanged, and keeps different names apart with a hash of the original.

Files written through a temporary file (`tempfile.mkstemp`: mode 0600, kept by the rename) or by a library that
does the same (safetensors) would be unreadable by the rest of a team on a shared disk; `follow_umask` gives
them the mode a plain `open()` would have.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import unicodedata
from pathlib import Path

MAX_NAME_BYTES = 120  # UTF-8 bytes: room left for suffixes (`_r0.5.jsonl`) under the usual 255-byte limit
_HASH_CHARS = 8

_umask_lock = threading.Lock()


def _unsafe(ch: str) -> bool:
    """A character that must not appear in a file name: a separator, NUL, a control or a lone surrogate."""
    return ch in "/\\" or unicodedata.category(ch) in ("Cc", "Cs")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]


def _clip(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits in `max_bytes`."""
    size = 0
    for end, ch in enumerate(text):
        size += len(ch.encode("utf-8"))
        if size > max_bytes:
            return text[:end]
    return text


def _cleaned(text: str) -> str:
    return "".join("_" if _unsafe(ch) else ch for ch in text).lstrip(".-")


def is_safe_file_name(name: str) -> bool:
    """Whether `name` is already what `safe_file_name` makes: it would come back unchanged."""
    return bool(name) and _cleaned(name) == name and len(name.encode("utf-8")) <= MAX_NAME_BYTES


def safe_file_name(text: str, fallback: str) -> str:
    """`text` as a single, harmless path component: no `/`, `\\`, NUL or control character, not `.`, `..` or
    empty, not starting with `.` or `-`, at most MAX_NAME_BYTES UTF-8 bytes.

    A name that already is one comes back unchanged; any other gets a short hash of `text` appended, so two
    different names do not end up as the same file. `fallback` (itself a safe name) stands for an empty one.
    """
    if not is_safe_file_name(fallback):
        raise ValueError(f"safe_file_name: fallback {fallback!r} is not a safe file name")
    if is_safe_file_name(text):
        return text
    if not text:
        return fallback
    suffix = f"-{_digest(text)}"
    return _clip(_cleaned(text) or fallback, MAX_NAME_BYTES - len(suffix)) + suffix


def current_umask() -> int:
    """The process's umask: Linux reports it in /proc/self/status; elsewhere it is read by setting it and
    back (under a lock; a file another thread creates meanwhile gets the stricter placeholder 077)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode `open(path, "w")` gives a new file: 0666 less the umask."""
    return 0o666 & ~current_umask()


def follow_umask(path: str | Path, contents_only: bool = False) -> None:
    """Give `path` and everything under it the mode a plain `open()` / `mkdir()` would have: for files a
    library wrote as 0600 (safetensors) and folders `mkdtemp` made (0700). `contents_only` leaves the folder
    itself as it is (an output folder the user made, with the mode they chose). An executable file stays
    executable, set-group-id and sticky bits stay, links are left alone."""
    mask = current_umask()
    root = Path(path)
    if not contents_only:
        _set_mode(root, mask)
    if root.is_dir() and not root.is_symlink():
        for folder, dirs, files in os.walk(root):
            for name in (*dirs, *files):
                _set_mode(Path(folder) / name, mask)


def _set_mode(path: Path, mask: int) -> None:
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode):
        return
    full = 0o777 if stat.S_ISDIR(st.st_mode) or st.st_mode & stat.S_IXUSR else 0o666
    mode = stat.S_IMODE(st.st_mode)
    wanted = (full & ~mask) | (mode & ~0o777)
    if mode != wanted:
        os.chmod(path, wanted)
