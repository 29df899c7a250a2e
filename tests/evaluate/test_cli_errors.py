"""Bad input to `thinktrim eval`, `eval grade` and `eval compare` gets one `error:` line naming the file or
option, and exit code 2: never a traceback. Nothing here loads a model."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app

runner = CliRunner()
SRC = Path(__file__).parents[2] / "src"


def _one_error(result, *expected: str) -> str:
    """The single error line of a failed command, which must name each of `expected`."""
    output = result.output if hasattr(result, "output") else result.stdout + result.stderr
    code = result.exit_code if hasattr(result, "exit_code") else result.returncode
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in output, output
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


def _run(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture()
def responses(tmp_path: Path) -> Path:
    path = tmp_path / "responses.jsonl"
    rows = [{"question_id": str(i), "response": f"So \\boxed{{{i}}}.", "answer": str(i)} for i in range(40)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "What is 1+1?", "answer": "2"}\n', encoding="utf-8")
    return path


def test_grade_output_that_is_a_folder_or_below_a_file(tmp_path: Path, responses: Path) -> None:
    folder = tmp_path / "graded"
    folder.mkdir()
    _one_error(_run("eval", "grade", responses, "-o", folder, "--grade-processes", "0"), "--output", str(folder))
    _one_error(_run("eval", "grade", responses, "-o", responses / "x.jsonl"), "--output", str(responses))


def test_grade_input_that_is_missing_a_folder_empty_or_not_utf8(tmp_path: Path) -> None:
    _one_error(_run("eval", "grade", tmp_path / "none.jsonl"), "none.jsonl", "no such file")
    _one_error(_run("eval", "grade", tmp_path), str(tmp_path), "folder")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    _one_error(_run("eval", "grade", empty), "empty.jsonl", "no records")
    for name in ("bin.json", "bin.jsonl"):
        (tmp_path / name).write_bytes(b"\xff\xfe[{}]\n")
        _one_error(_run("eval", "grade", tmp_path / name), name, "UTF-8")


def test_grade_options(tmp_path: Path, responses: Path) -> None:
    _one_error(_run("eval", "grade", responses, "--grade-processes", "-1"), "--grade-processes")
    _one_error(_run("eval", "grade", responses, "--tokenizer", tmp_path / "no" / "such"), "--tokenizer", "no/such")
    _one_error(_run("eval", "grade", responses, "--kind", "letter"), "--kind", "letter")
    _one_error(_run("eval", "grade", responses, "--benchmark", "nope"), "nope")
    _one_error(_run("eval", "grade", responses, "--benchmark", "gpqa-diamond", "--path", tmp_path / "no.jsonl"),
               "no.jsonl")
    _one_error(_run("eval", "grade", responses, "--response-field", "text"), "responses.jsonl:1", "'text'")


def test_eval_run_folder_that_is_a_file_or_below_one(questions: Path) -> None:
    common = ("eval", "--data", questions, "--device", "cpu", "-n", "1", "--max-new-tokens", "4")
    _one_error(_run(*common, "-o", questions), "--output-dir", str(questions))
    _one_error(_run(*common, "-o", questions / "run"), str(questions))


def test_eval_options_fail_before_any_model_loads(tmp_path: Path, questions: Path) -> None:
    common = ("eval", "--data", questions, "-o", tmp_path / "run")
    _one_error(_run(*common, "--model", tmp_path / "no" / "model"), "--model", "no/model", "no such folder")
    _one_error(_run(*common, "--grade-processes", "-1"), "--grade-processes", "-1")
    _one_error(_run(*common, "--device", "gpu0"), "device", "gpu0")
    _one_error(_run(*common, "--limit", "0"), "limit")
    _one_error(_run(*common, "--threads", "0"), "--threads: must be >= 1, got 0")
    _one_error(_run("eval", "--data", tmp_path, "-o", tmp_path / "run"), "data", str(tmp_path))
    _one_error(_run(*common, "--question-field", "q"), "q.jsonl:1", "'q'")
    _one_error(_run(*common, "--baseline", tmp_path), "baseline", "results.json")
    assert not (tmp_path / "run" / "run.json").exists()  # nothing was started


def test_compare_inputs_that_are_not_runs(tmp_path: Path) -> None:
    _one_error(_run("eval", "compare", tmp_path), str(tmp_path), "no results.json")
    not_a_run = tmp_path / "other.json"
    not_a_run.write_text("{}")
    _one_error(_run("eval", "compare", not_a_run), "other.json", "not the results.json")
    broken = tmp_path / "broken" / "results.json"
    broken.parent.mkdir()
    broken.write_text("{")
    _one_error(_run("eval", "compare", broken.parent), "results.json:1", "invalid JSON")


# ----------------------------------------------------------------------------------- unreadable, full disk


def _unprivileged(args: list[str]) -> subprocess.CompletedProcess:
    """Run the CLI where a chmod-000 file cannot be read: as root, without the capabilities that let root
    read any file (setpriv); as another user, directly."""
    cmd = [sys.executable, "-m", "thinktrim.cli", *args]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"),
                    reason="running as root, and without setpriv root reads chmod-000 files")
def test_unreadable_inputs(tmp_path: Path, responses: Path) -> None:
    responses.chmod(0)
    results = tmp_path / "run" / "results.json"
    results.parent.mkdir()
    results.write_text("{}")
    results.chmod(0)
    try:
        _one_error(_unprivileged(["eval", "grade", str(responses)]), str(responses), "Permission denied")
        _one_error(_unprivileged(["eval", "compare", str(results.parent)]), "results.json", "Permission denied")
        _one_error(_unprivileged(["eval", "--data", str(responses), "-o", str(tmp_path / "r")]), str(responses),
                   "Permission denied")
    finally:
        responses.chmod(0o644)
        results.chmod(0o644)


@pytest.fixture()
def full_disk(tmp_path: Path):
    """A 64 KiB tmpfs (needs root and mount rights; skipped elsewhere)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tiny tmpfs here (needs root and mount rights)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_names_the_output(full_disk: Path, tmp_path: Path, questions: Path) -> None:
    big = tmp_path / "big.jsonl"
    rows = [{"question_id": str(i), "response": "x" * 200 + f" \\boxed{{{i}}}", "answer": str(i)} for i in range(400)]
    big.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = full_disk / "graded.jsonl"
    _one_error(_run("eval", "grade", big, "-o", out, "--grade-processes", "0"), str(out), "No space left")
    assert not out.exists()  # the atomic write left nothing half-written
    (full_disk / "filler").write_bytes(b"\0" * (64 * 1024 - 4096 * 2))  # leave too little for a run folder
    run = full_disk / "run"
    _one_error(_run("eval", "--data", questions, "-o", run, "--device", "cpu"), str(run), "No space left")
