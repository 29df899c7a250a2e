"""One family of user errors and one handler at the command line (issue 20).

What the user can fix (`thinktrim.errors.UserError`, and an OSError the environment raised) is one `error: …`
line and exit status 2; `--debug` or THINKTRIM_DEBUG=1 adds its traceback. Anything else is a bug in thinktrim:
it keeps its traceback and another exit status, even when it is a ValueError or a RuntimeError.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app, main
from thinktrim.errors import DEBUG_ENV, MissingExtra, UserError, debug_enabled, os_error_message

SRC = Path(__file__).resolve().parents[1] / "src" / "thinktrim"
BUG = "too many values to unpack (expected 2)"


def thinktrim_exe() -> str:
    """The installed console script, as a user runs it (beside this interpreter, in the venv)."""
    exe = Path(sys.executable).parent / "thinktrim"
    if not exe.exists():
        pytest.skip("the thinktrim console script is not installed beside this interpreter")
    return str(exe)


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    """Responses to grade whose first record has no `response` field: the user's to fix."""
    path = tmp_path / "responses.jsonl"
    path.write_text(json.dumps({"question_id": "1", "answer": "5"}) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """No THINKTRIM_DEBUG from the caller's shell; whatever a test sets is undone after it."""
    monkeypatch.setenv(DEBUG_ENV, "")


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, DEBUG_ENV: "", **env}
    return subprocess.run([thinktrim_exe(), *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120)


GRADE_ERROR = "error: responses.jsonl:1: field 'response' missing, or not a string or a list of strings"


def test_a_user_error_is_one_line_and_exit_2(bad_file: Path) -> None:
    proc = run_cli(["eval", "grade", bad_file.name, "--grade-processes", "0"], bad_file.parent)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.strip().splitlines() == [GRADE_ERROR]


@pytest.mark.parametrize(("flag", "env"), [(["--debug"], {}), ([], {DEBUG_ENV: "1"})], ids=["--debug", DEBUG_ENV])
def test_debug_shows_the_traceback_of_a_user_error(bad_file: Path, flag: list[str], env: dict[str, str]) -> None:
    proc = run_cli([*flag, "eval", "grade", bad_file.name, "--grade-processes", "0"], bad_file.parent, **env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert lines[0] == "Traceback (most recent call last):", proc.stderr
    assert any(line.startswith("thinktrim.errors.UserError: responses.jsonl:1:") for line in lines), proc.stderr
    assert lines[-1] == GRADE_ERROR  # the one line still ends it


def test_a_bug_keeps_its_traceback_in_a_real_process(bad_file: Path) -> None:
    """A ValueError that is no UserError (here from a grading function that has a bug) is not dressed up as
    bad input: Python's own traceback and exit status 1, through `thinktrim.cli.main` as the console script
    runs it."""
    code = ("import sys, thinktrim.evaluate.records as records\n"
            "def buggy(*args, **kwargs):\n"
            f"    raise ValueError({BUG!r})\n"
            "records.grade_file = buggy\n"
            "from thinktrim.cli import main\n"
            "main(sys.argv[1:])\n")
    proc = subprocess.run([sys.executable, "-c", code, "eval", "grade", bad_file.name, "--grade-processes", "0"],
                          cwd=bad_file.parent, env={**os.environ, DEBUG_ENV: ""}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback (most recent call last):" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"ValueError: {BUG}"
    assert "error:" not in proc.stderr


@pytest.mark.parametrize("bug", [ValueError(BUG), RuntimeError("shape mismatch: [2, 3] vs [3, 2]"), KeyError("k")])
def test_a_bug_propagates_in_process(bad_file: Path, monkeypatch: pytest.MonkeyPatch, quiet: None,
                                     bug: Exception) -> None:
    import thinktrim.evaluate.records as records

    def buggy(*args: object, **kwargs: object) -> None:
        raise bug

    monkeypatch.setattr(records, "grade_file", buggy)
    args = ["eval", "grade", str(bad_file), "--grade-processes", "0"]
    with pytest.raises(type(bug)) as raised:
        CliRunner().invoke(app, args, catch_exceptions=False)
    assert raised.value is bug
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and result.exception is bug  # not 2, and nothing printed as a user error
    assert "error:" not in result.stderr
    with pytest.raises(type(bug)):
        main(args)


def test_a_user_error_in_process(bad_file: Path, quiet: None) -> None:
    result = CliRunner().invoke(app, ["eval", "grade", str(bad_file), "--grade-processes", "0"],
                                catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {bad_file}:1: field 'response' missing, or not a string "
                                                  "or a list of strings"]
    with pytest.raises(SystemExit) as exited:
        main(["eval", "grade", str(bad_file), "--grade-processes", "0"])
    assert exited.value.code == 2


def test_debug_flag_reaches_the_environment(bad_file: Path, quiet: None) -> None:
    """`--debug` is put in the environment, so processes the command starts (accelerate, Ray workers) see it."""
    result = CliRunner().invoke(app, ["--debug", "eval", "grade", str(bad_file), "--grade-processes", "0"],
                                catch_exceptions=False)
    assert result.exit_code == 2
    assert os.environ[DEBUG_ENV] == "1" and debug_enabled()
    assert "Traceback" in result.stderr and result.stderr.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "out/graded.jsonl"),
         "error: out/graded.jsonl: Permission denied"),
        (OSError(errno.ENOSPC, "No space left on device", "out/graded.jsonl"),
         "error: out/graded.jsonl: No space left on device (the disk is full)"),
        (OSError(errno.EXDEV, "Invalid cross-device link", "a.tmp", None, "a"),  # os.replace's two names
         "error: a.tmp -> a: Invalid cross-device link"),
    ],
)
def test_an_environment_error_is_one_line_naming_the_file(bad_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                          quiet: None, error: OSError, line: str) -> None:
    import thinktrim.evaluate.records as records

    def failing(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(records, "grade_file", failing)
    result = CliRunner().invoke(app, ["eval", "grade", str(bad_file), "--grade-processes", "0"],
                                catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [line]


def test_an_unwritable_output_is_one_line(tmp_path: Path) -> None:
    """A real OSError from the environment: the output's folder is a file."""
    (tmp_path / "responses.jsonl").write_text(json.dumps({"question_id": "1", "response": "\\boxed{5}",
                                                          "answer": "5"}) + "\n", encoding="utf-8")
    (tmp_path / "blocker").write_text("a file, not a folder\n", encoding="utf-8")
    proc = run_cli(["eval", "grade", "responses.jsonl", "-o", "blocker/graded.jsonl", "--grade-processes", "0"],
                   tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "blocker/graded.jsonl" in lines[0], proc.stderr


def test_a_damaged_parquet_file_is_one_line_naming_it(tmp_path: Path) -> None:
    """pyarrow reports damage past the footer as an OSError or a ValueError naming no file; the reader turns it
    into a record error naming the file and where reading stopped."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"question": f"q{i} " * 50, "response": f"r{i} " * 200} for i in range(2000)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "traces.parquet", row_group_size=500, compression="NONE")
    data = bytearray((tmp_path / "traces.parquet").read_bytes())
    data[len(data) // 2: len(data) // 2 + 4000] = b"\xff" * 4000  # the footer stays readable
    (tmp_path / "traces.parquet").write_bytes(bytes(data))
    proc = run_cli(["refine", "traces.parquet", "-o", "out"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert re.fullmatch(r"error: traces\.parquet\[\d+\]: not a readable Parquet file from here on \(.+\)", line), line


def test_debug_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, on in (("", False), ("0", False), ("false", False), ("off", False), ("1", True), ("yes", True)):
        monkeypatch.setenv(DEBUG_ENV, value)
        assert debug_enabled() is on, value
    assert os_error_message(FileNotFoundError("x.jsonl: no such benchmark file")) == "x.jsonl: no such benchmark file"


# ------------------------------------------------------------------------------------------ the family itself


def _classes() -> dict[str, tuple[str, list[str]]]:
    """Every class defined in src: name -> (module file, base names as written)."""
    out: dict[str, tuple[str, list[str]]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                out[node.name] = (str(path.relative_to(SRC)), bases)
    return out


def user_error_classes() -> set[str]:
    classes = _classes()
    family = {"UserError"}
    grew = True
    while grew:
        grown = {name for name, (_, bases) in classes.items() if family & set(bases)}
        grew = not grown <= family
        family |= grown
    return family - {"UserError"}


def test_user_facing_exception_classes_are_user_errors() -> None:
    from thinktrim.config import ConfigError
    from thinktrim.data.annotation import AnnotationVersionError
    from thinktrim.data.benchmarks import UnknownBenchmarkError
    from thinktrim.data.layouts import RecordError
    from thinktrim.executor.ray_workers import WorkerFailure
    from thinktrim.lm.openai_http import ServerError
    from thinktrim.train.lengths import OverlongError

    for cls in (ConfigError, AnnotationVersionError, UnknownBenchmarkError, RecordError, WorkerFailure, ServerError,
                OverlongError, MissingExtra):
        assert issubclass(cls, UserError) and cls.__name__ in user_error_classes(), cls
    # still what callers caught before
    assert issubclass(UnknownBenchmarkError, KeyError) and issubclass(MissingExtra, ImportError)
    assert issubclass(ServerError, RuntimeError) and issubclass(WorkerFailure, RuntimeError)
    assert str(UnknownBenchmarkError("unknown benchmark 'x'")) == "unknown benchmark 'x'"  # no KeyError quotes


def test_every_user_error_class_is_raised() -> None:
    """A subclass nobody raises is dead weight, or a sign that code raises something else for that case."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))
    family = user_error_classes()
    assert len(family) >= 8, family
    unused = [name for name in family
              if not re.search(rf"(?<!class )\b{name}\(", text.replace(f"class {name}(", ""))]
    assert not unused, unused


def test_one_handler_prints_errors() -> None:
    """Only the handler (`thinktrim.errors`) and click's usage errors (`thinktrim.cli.main`) write `error:`;
    no command catches its own set of exceptions any more."""
    printing = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                      if re.search(r"""["']error: """, p.read_text(encoding="utf-8")))
    assert printing == ["cli.py", "errors.py"]
    for path in SRC.rglob("cli.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {getattr(n, "name", None) for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert "fail" not in names, path
        handlers = [n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)]
        caught = {ast.unparse(h.type) for h in handlers if h.type is not None}
        assert not caught & {"ValueError", "RuntimeError", "OSError"} and not any("(" in c for c in caught), \
            (path, caught)
