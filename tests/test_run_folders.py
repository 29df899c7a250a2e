"""One run per output folder, one command per folder, and a failed start leaves the folder as it was.

Real processes throughout: a run is paused (SIGSTOP) while it holds its folder so a second one meets it for
sure, killed with SIGKILL to show no stale lock is left, and every command is pointed at another's folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thinktrim.data.run_folder import LOCK_FILE, OWNER_FILE, claim_output_folder

CLI = [sys.executable, "-m", "thinktrim.cli"]
SAMPLE = Path(__file__).parents[1] / "src" / "thinktrim" / "data" / "samples" / "thought_anchors_sample.jsonl"


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> str:
    """The runs here test folders, not models: a random 2-layer model that loads in a second."""
    return str(tiny_model_dir)


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The run's single `error:` line; fails the test unless it exited 2 with exactly that."""
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and lines and lines[-1].startswith("error: "), proc.stderr[-2000:]
    errors = [x for x in lines if x.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-2000:]
    return errors[0]


def tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` → sha256 of its bytes (the lock file aside: it is rewritten by each holder)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LOCK_FILE}


def held_by_other_process(folder: Path) -> bool:
    path = folder / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def start_and_wait_for_lock(args: list[str | Path], folder: Path, timeout: float = 120) -> subprocess.Popen:
    proc = subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while not held_by_other_process(folder):
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the first run never took its folder"
        time.sleep(0.05)
    return proc


# ---------------------------------------------------------------- in-process: the claim itself


def test_a_claim_marks_the_folder_and_a_nested_claim_is_a_no_op(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    with claim_output_folder(out, "eval") as held:
        assert held.created == tmp_path / "a"
        with claim_output_folder(out, "eval") as inner:  # curate's own eval runs: the same process
            assert inner is held
        (out / "x" / "samples.jsonl").parent.mkdir()
        (out / "x" / "samples.jsonl").write_text("{}\n")
    assert json.loads((out / OWNER_FILE).read_text())["kind"] == "eval"
    refused = r"made by `thinktrim eval`, not `thinktrim curate`"
    with pytest.raises(ValueError, match=refused), claim_output_folder(out, "curate"):
        pass


def test_a_failure_before_any_work_undoes_only_what_the_run_created(tmp_path: Path) -> None:
    new = tmp_path / "new" / "run"
    with pytest.raises(RuntimeError), claim_output_folder(new, "eval"):
        (new / "run.json").write_text("{}")
        raise RuntimeError("the model would not load")
    assert not (tmp_path / "new").exists()  # the parents it made are gone too

    mine = tmp_path / "mine"
    mine.mkdir()
    with claim_output_folder(mine, "refine"):
        (mine / "annotations.jsonl").write_text('{"id": "1"}\n')
    before = tree(mine)
    with pytest.raises(KeyboardInterrupt), claim_output_folder(mine, "refine"):
        (mine / "stats.json").write_text("{}")
        raise KeyboardInterrupt
    assert tree(mine) == before  # the earlier run's files stay, the new one is gone

    with pytest.raises(RuntimeError), claim_output_folder(mine, "refine"):
        with (mine / "annotations.jsonl").open("a") as f:
            f.write('{"id": "2"}\n')  # resumable work done: kept for the rerun
        (mine / "stats.json").write_text("{}")
        raise RuntimeError("the second chain failed")
    assert (mine / "stats.json").exists() and "2" in (mine / "annotations.jsonl").read_text()


def test_foreign_files_need_force_and_the_folder_is_untouched_when_refused(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "stats.json").write_text('{"mine": true}')
    refused = r"holds files thinktrim did not write \(stats.json\).*--force"
    with pytest.raises(ValueError, match=refused), claim_output_folder(out, "refine"):
        pass
    assert sorted(p.name for p in out.iterdir()) == ["stats.json"]  # no lock or marker left behind
    with claim_output_folder(out, "refine", force=True):
        pass
    assert (out / OWNER_FILE).exists()


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    for path in (tmp_path / "f", tmp_path / "f" / "sub"):
        with pytest.raises(ValueError, match=r"--output-dir .*f(/sub)?: (.*f )?is a file, not a folder"), \
                claim_output_folder(path, "refine"):
            pass


# ---------------------------------------------------------------- real processes


@pytest.mark.slow
@pytest.mark.parametrize("command", ["refine", "eval"])
def test_a_second_run_into_a_held_folder_stops_at_once_and_the_first_finishes(tmp_path: Path, command: str,
                                                                                tiny: str) -> None:
    out = tmp_path / "same"
    args = {"refine": ["refine", SAMPLE, "-o", out, "--ratios", "0.5", "--limit", "2", "--model", tiny],
            "eval": ["eval", "--benchmark", "gsm8k", "--limit", "2", "-n", "1", "--max-new-tokens", "8", "-o", out,
                     "--model", tiny]}
    first = start_and_wait_for_lock(args[command], out)
    try:
        first.send_signal(signal.SIGSTOP)  # held, mid-run: the second run meets it for sure
        started = time.monotonic()
        second = run(*args[command])
        took = time.monotonic() - started
    finally:
        first.send_signal(signal.SIGCONT)
    line = one_error_line(second)
    assert f"{out}: in use by another run (thinktrim {command}, pid {first.pid}" in line
    assert took < 30  # at once: no model was loaded, nothing was scored
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    if command == "refine":
        assert run("refine-check", out).returncode == 0
        ids = [json.loads(x)["id"] for x in (out / "annotations.jsonl").read_text().splitlines()]
        assert len(ids) == len(set(ids)) == 2
    else:
        results = json.loads((out / "results.json").read_text())
        assert results["overall"]["samples"] == 2


@pytest.mark.slow
def test_kill_9_leaves_no_stale_lock_and_the_rerun_resumes(tmp_path: Path, tiny: str) -> None:
    out = tmp_path / "out"
    args = ["refine", SAMPLE, "-o", out, "--ratios", "0.5", "--model", tiny]
    first = start_and_wait_for_lock(args, out)
    annotations = out / "annotations.jsonl"
    deadline = time.monotonic() + 300
    while not (annotations.exists() and annotations.read_bytes().count(b"\n") >= 1):
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    first.kill()  # mid-run: chains are left to score
    first.wait()
    assert annotations.read_bytes().count(b"\n") < 6
    assert held_by_other_process(out) is False  # the OS dropped the lock with the process
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ids = [json.loads(x)["id"] for x in annotations.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 6  # nothing lost, nothing twice
    assert run("refine-check", out).returncode == 0


@pytest.fixture(scope="module")
def refine_folder(tmp_path_factory, tiny: str) -> Path:
    out = tmp_path_factory.mktemp("cross") / "refined"
    proc = run("refine", SAMPLE, "-o", out, "--ratios", "0.5", "--limit", "1", "--model", tiny)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


@pytest.mark.slow
def test_every_other_command_refuses_a_refine_folder_and_leaves_it_whole(refine_folder: Path, tmp_path: Path,
                                                                          tiny: str) -> None:
    before = tree(refine_folder)
    refined = refine_folder / "refined_r0.5.jsonl"
    eval_run = tmp_path / "eval_run"
    eval_run.mkdir()
    # enough for build's option check (an eval run record); build must stop earlier
    (eval_run / "run.json").write_text('{"benchmarks": ["gsm8k"], "generation": {"n": 2}}')
    commands = {
        "curate": ["curate", refined, "-o", refine_folder],
        "train sft": ["train", "sft", refined, "-o", refine_folder, "--max-steps", "1"],
        "train o1-pruner build": ["train", "o1-pruner", "build", eval_run, "-o", refine_folder],
        "eval": ["eval", "--benchmark", "gsm8k", "--limit", "1", "-n", "1", "--max-new-tokens", "4", "-o",
                 refine_folder],
    }
    for command, args in commands.items():
        line = one_error_line(run(*args))
        assert f"made by `thinktrim refine`, not `thinktrim {command}`" in line, (command, line)
        assert tree(refine_folder) == before, command
    assert run("refine-check", refine_folder).returncode == 0
    # and refine resumes its own folder as before
    proc = run("refine", SAMPLE, "-o", refine_folder, "--ratios", "0.5", "--limit", "1", "--model", tiny)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.slow
def test_refine_and_curate_refuse_eval_and_curate_folders(tmp_path: Path) -> None:
    pool = tmp_path / "pool.jsonl"
    pool.write_text(SAMPLE.read_text())
    curated = tmp_path / "curated"
    proc = run("curate", pool, "-o", curated, "--no-decontaminate")
    assert proc.returncode == 0, proc.stderr[-2000:]
    before = tree(curated)
    other_pool = tmp_path / "other.jsonl"
    other_pool.write_text("".join(SAMPLE.read_text().splitlines(keepends=True)[:3]))
    line = one_error_line(run("curate", other_pool, "-o", curated, "--no-decontaminate"))
    assert "holds a curation of other pools (pool.jsonl)" in line
    line = one_error_line(run("refine", SAMPLE, "-o", curated))
    assert "made by `thinktrim curate`, not `thinktrim refine`" in line
    line = one_error_line(run("eval", "--benchmark", "gsm8k", "--limit", "1", "-o", curated))
    assert "made by `thinktrim curate`, not `thinktrim eval`" in line
    assert tree(curated) == before


@pytest.mark.slow
def test_a_users_own_files_are_refused_unless_forced(tmp_path: Path, tiny: str) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "stats.json").write_text('{"my": "numbers"}')
    args = ["refine", SAMPLE, "-o", out, "--ratios", "0.5", "--limit", "1", "--model", tiny]
    line = one_error_line(run(*args))
    assert "holds files thinktrim did not write (stats.json)" in line and "--force" in line
    assert sorted(p.name for p in out.iterdir()) == ["stats.json"]
    proc = run(*args, "--force")
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.slow
def test_a_model_that_will_not_load_leaves_the_folder_as_it_was(tmp_path: Path, tiny: str) -> None:
    new = tmp_path / "runs" / "new"
    not_a_model = tmp_path / "not_a_model"
    not_a_model.mkdir()
    (not_a_model / "config.json").write_text('{"model_type": "nonsense"}')
    args = ["eval", "--benchmark", "gsm8k", "--limit", "1", "-n", "1", "--max-new-tokens", "4"]
    one_error_line(run(*args, "--model", not_a_model, "-o", new))
    assert not (tmp_path / "runs").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    one_error_line(run(*args, "--model", not_a_model, "-o", empty))
    assert list(empty.iterdir()) == []
    proc = run(*args, "--model", tiny, "-o", empty)  # the corrected command runs
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.slow
def test_the_input_is_recognised_by_content_not_by_its_spelling(tmp_path: Path, tiny: str) -> None:
    (tmp_path / "x.jsonl").write_bytes(SAMPLE.read_bytes())
    args = ["-o", "out", "--ratios", "0.5", "--limit", "2", "--model", tiny]
    assert run("refine", "./x.jsonl", *args, cwd=tmp_path).returncode == 0
    annotations = (tmp_path / "out" / "annotations.jsonl").read_bytes()
    proc = run("refine", tmp_path / "x.jsonl", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / "annotations.jsonl").read_bytes() == annotations  # resumed, nothing rescored
    saved = json.loads((tmp_path / "out" / "run.json").read_text())
    assert saved["input"] == str(tmp_path / "x.jsonl")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run("refine-check", tmp_path / "out", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr


def test_folders_from_before_the_owner_file_are_recognised_by_their_files(tmp_path: Path) -> None:
    for record in ("run.json", "config.json"):  # eval's record, and its name before
        old_eval = tmp_path / f"old_eval_{record}"
        (old_eval / "gsm8k").mkdir(parents=True)
        (old_eval / record).write_text("{}")
        (old_eval / "gsm8k" / "samples.jsonl").write_text("")
        with claim_output_folder(old_eval, "eval"):  # resumes: no --force needed
            pass
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')  # a model folder is not an eval run
    with pytest.raises(ValueError, match=r"holds files thinktrim did not write \(config.json\)"), \
            claim_output_folder(model, "eval"):
        pass
