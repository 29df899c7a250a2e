"""Names that become paths stay one harmless file name; files written follow the umask (thinktrim.data.paths).

The CLI runs that show it end to end (refine, eval, report under hostile names and umasks 022/077) are in
tests/test_output_paths.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thinktrim.data.paths import MAX_NAME_BYTES, current_umask, is_safe_file_name, safe_file_name

HOSTILE = ["..", ".", "../../x", "../../evil_name", "/abs/victim", "/", "a/b", "a\\b", "a_b", "x\x00y", "x\ny",
           "\x1b[31mred", ".hidden", "-rf", "--force", "...", "a\udcffb", "é" * 200, "é" * 199 + "x", "😀" * 80,
           " ", ""]
SAFE = ["gsm8k", "math500", "thought_anchors_sample", "olymmath-easy", "Qwen2.5-7B-Instruct", "runs", "données",
        "my data", "a..b", "x" * MAX_NAME_BYTES]


def well_formed(name: str) -> None:
    """What every name safe_file_name returns must be: one component a shell or `ls` treats as a plain file."""
    assert name and name not in (".", "..")
    assert not name.startswith((".", "-"))
    assert "/" not in name and "\\" not in name
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name), repr(name)
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_names_become_one_plain_component(text: str) -> None:
    name = safe_file_name(text, "data")
    well_formed(name)
    assert safe_file_name(name, "data") == name  # a second pass changes nothing
    assert Path("/srv/out", name).parent == Path("/srv/out")


def test_different_names_stay_different_and_safe_ones_unchanged() -> None:
    names = [safe_file_name(t, "data") for t in HOSTILE]
    assert len(set(names)) == len(HOSTILE), names
    assert names[HOSTILE.index("")] == "data"  # no name at all: the fallback
    assert safe_file_name("..", "data").startswith("data-")  # nothing usable left: the fallback, made distinct
    assert safe_file_name("a/b", "data") != safe_file_name("a\\b", "data") != safe_file_name("a_b", "data")
    for text in SAFE:
        assert is_safe_file_name(text) and safe_file_name(text, "data") == text
    long = safe_file_name("é" * 200, "data")
    assert long.startswith("é" * 50) and len(long.encode("utf-8")) <= MAX_NAME_BYTES
    with pytest.raises(ValueError, match="fallback"):
        safe_file_name("x", "../up")


@given(st.text(min_size=1, max_size=300))
def test_any_text_gives_a_well_formed_name(text: str) -> None:
    name = safe_file_name(text, "fallback")
    well_formed(name)
    assert name == text or not is_safe_file_name(text)


def test_the_names_are_real_files_inside_the_folder(tmp_path: Path) -> None:
    """Creating a file under each name creates exactly those entries in the folder and nothing anywhere else."""
    folder = tmp_path / "out"
    folder.mkdir()
    names = {safe_file_name(t, "data") for t in HOSTILE}
    for name in names:
        (folder / name).write_text("x", encoding="utf-8")
        assert (folder / name).resolve().parent == folder.resolve()
    assert {p.name for p in folder.iterdir()} == names
    assert {p.name for p in tmp_path.iterdir()} == {"out"}


MODES_SCRIPT = r"""
import json, os, stat, sys, tempfile
from pathlib import Path
import torch
from safetensors.torch import save_file
from thinktrim.data.paths import current_umask, follow_umask
from thinktrim.data.store import JsonlStore, atomic_open, write_json

root = Path(sys.argv[1])
write_json(root / "written" / "stats.json", {"a": 1})
with atomic_open(root / "written" / "blob.bin", "wb") as f:
    f.write(b"x")
with JsonlStore(root / "written" / "store.jsonl") as s:
    s.append({"id": 1})
lib = Path(tempfile.mkdtemp(dir=root, prefix="lib-"))  # 0700, as mkdtemp makes it
save_file({"w": torch.zeros(2)}, str(lib / "model.safetensors"))  # 0600, as safetensors writes it
before = {"dir": stat.S_IMODE(lib.stat().st_mode), "file": stat.S_IMODE((lib / "model.safetensors").stat().st_mode)}
(lib / "run.sh").write_text("#!/bin/sh\n")
os.chmod(lib / "run.sh", 0o700)
(root / "outside.txt").write_text("not ours")
os.chmod(root / "outside.txt", 0o640)
(lib / "link").symlink_to(root / "outside.txt")  # chmod through it would change a file outside
shared = root / "shared"
shared.mkdir()
os.chmod(shared, 0o2750)  # a folder the user set up (set-group-id): its own mode is theirs
save_file({"w": torch.zeros(2)}, str(shared / "model.safetensors"))
follow_umask(lib)
follow_umask(shared, contents_only=True)
modes = {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in root.rglob("*") if not p.is_symlink()}
print(json.dumps({"umask": current_umask(), "before": before, "modes": modes, "lib": lib.name}))
"""


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    """In a process started with the umask: atomic_open, JsonlStore and follow_umask (after safetensors and
    mkdtemp) give what `open()`/`mkdir()` would."""
    proc = subprocess.run([sys.executable, "-c", MODES_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          umask=umask, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)
    assert got["umask"] == umask
    assert got["before"] == {"dir": 0o700, "file": 0o600}  # what the libraries do on their own
    file, folder, lib = 0o666 & ~umask, 0o777 & ~umask, got["lib"]
    assert got["modes"] == {
        "written": folder, "written/stats.json": file, "written/blob.bin": file, "written/store.jsonl": file,
        lib: folder, f"{lib}/model.safetensors": file, f"{lib}/run.sh": 0o777 & ~umask,
        "shared": 0o2750, "shared/model.safetensors": file, "outside.txt": 0o640,
    }


def test_current_umask_is_the_process_umask() -> None:
    mask = os.umask(0o027)
    try:
        assert current_umask() == 0o027
    finally:
        os.umask(mask)
    assert current_umask() == mask
