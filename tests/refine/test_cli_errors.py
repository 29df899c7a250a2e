"""Bad input to `thinktrim refine` / `refine-check` gets one `error: …` line naming the file, line, field or
option, and exit status 2: never a traceback, never a silent success. Run on the real CLI (in process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app

SAMPLE = Path(__file__).parents[2] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A folder of good and bad files to point options at."""
    (tmp_path / "good.jsonl").write_text(SAMPLE.read_text(encoding="utf-8").split("\n")[0] + "\n", encoding="utf-8")
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "blank.jsonl").write_text("\n\n", encoding="utf-8")
    (tmp_path / "empty.json").write_text("[]", encoding="utf-8")
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe\x00\x01binary")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00\x01binary")
    (tmp_path / "binary.parquet").write_bytes(b"\xff\xfe\x00\x01binary")
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    (tmp_path / "all_bad.jsonl").write_text('{"question": "q"}\n', encoding="utf-8")
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "model_folder").mkdir()
    (tmp_path / "bad.yaml").write_text("ratios: [0.2\n", encoding="utf-8")
    (tmp_path / "list.yaml").write_text("- 0.2\n", encoding="utf-8")
    (tmp_path / "unknown.yaml").write_text("ratio: 0.2\n", encoding="utf-8")
    (tmp_path / "types.yaml").write_text("limit: ten\n", encoding="utf-8")
    (tmp_path / "ratios.yaml").write_text("ratios: 0.2,x\n", encoding="utf-8")
    (tmp_path / "flag.yaml").write_text("whole_response_as_thinking: 'yes'\n", encoding="utf-8")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "markers_str.yaml").write_text("verification:\n  opening: wait\n", encoding="utf-8")
    (tmp_path / "markers_kind.yaml").write_text("progression:\n  opening: [x]\n", encoding="utf-8")
    return tmp_path


REFINE_CASES = {  # arguments after `refine` -> what the one error line must contain
    "missing input": ("nope.jsonl", "nope.jsonl: no such file"),
    "input is a folder": ("a_folder", "a_folder: is a folder"),
    "empty input": ("empty.jsonl", "empty.jsonl: no records"),
    "blank lines only": ("blank.jsonl", "blank.jsonl: no records"),
    "empty JSON list": ("empty.json", "empty.json: no records"),
    "only bad records, skipped": ("all_bad.jsonl --on-error skip", "all_bad.jsonl: no valid records (1 rejected"),
    "binary JSONL": ("binary.jsonl", "binary.jsonl:1: not UTF-8"),
    "binary JSON": ("binary.json", "binary.json: not UTF-8"),
    "binary Parquet": ("binary.parquet", "binary.parquet: not a readable Parquet file"),
    "unknown extension": ("notes.txt", "notes.txt: cannot tell the file format"),
    "output is a file": ("good.jsonl -o notes.txt", "--output-dir notes.txt: is a file"),
    "output under a file": ("good.jsonl -o notes.txt/out", "notes.txt is a file"),
    "ratios not numbers": ("good.jsonl --ratios 0.2,abc", "--ratios: expected numbers"),
    "ratio out of range": ("good.jsonl --ratios 0,1.5", "--ratios: must be in (0, 1], got 0.0"),
    "ratio NaN": ("good.jsonl --ratios nan", "--ratios: must be in (0, 1], got nan"),
    "unknown scope": ("good.jsonl --scope all", "--scope: 'all' is not one of chain, dataset"),
    "unknown format": ("good.jsonl --format xml", "--format: 'xml' is not one of"),
    "bad layout map": ("good.jsonl --layout q=question", "--layout: 'q=question' is not ROLE=FIELD"),
    "unknown layout": ("good.jsonl --layout limo2", "--layout: expected auto, one of"),
    "layout fields missing": ("good.jsonl --layout question=nope,response=response", "good.jsonl:1: field 'nope'"),
    "bad device": ("good.jsonl --device gpu", "--device: 'gpu' is not a device"),
    "bad precision": ("good.jsonl --precision f8", "--precision: 'f8' is not one of"),
    "zero batch": ("good.jsonl --max-batch-tokens 0", "--max-batch-tokens: must be >= 1"),
    "zero context": ("good.jsonl --max-context 0", "--max-context: must be >= 1"),
    "zero limit": ("good.jsonl --limit 0", "--limit: must be >= 1"),
    "negative timeout": ("good.jsonl --judge-timeout -1", "--judge-timeout: must be a finite number > 0, got -1.0"),
    "judge without model": ("good.jsonl --judge-url http://127.0.0.1:9/v1", "--judge-model: required"),
    "judge URL scheme": ("good.jsonl --judge-url localhost:9 --judge-model m", "--judge-url: expected an http://"),
    "unreachable judge": ("good.jsonl --judge-url http://127.0.0.1:9/v1 --judge-model m -o out",
                          "--judge-url http://127.0.0.1:9/v1: cannot connect"),
    "missing model folder": ("good.jsonl --model /no/such/folder -o out",
                             "--model: /no/such/folder: no such folder; models are loaded from a local folder"),
    "folder that is no model": ("good.jsonl --model model_folder -o out", "model_folder: no config.json"),
    "hub id not cached": ("good.jsonl --model thinktrim-test/not-cached -o out",
                          "not in the local Hugging Face cache; models are loaded from a local folder"),
    "markers missing": ("good.jsonl --markers nope.yaml", "nope.yaml: no such file"),
    "markers a folder": ("good.jsonl --markers a_folder", "a_folder: is a folder"),
    "markers bad YAML": ("good.jsonl --markers bad.yaml", "bad.yaml:2: invalid YAML"),
    "markers binary": ("good.jsonl --markers binary.yaml", "binary.yaml: not UTF-8"),
    "markers a string": ("good.jsonl --markers markers_str.yaml", "verification.opening must be a list"),
    "markers unknown kind": ("good.jsonl --markers markers_kind.yaml", "markers_kind.yaml: unknown kind 'progression'"),
    "config missing": ("good.jsonl --config nope.yaml", "nope.yaml: no such file"),
    "config bad YAML": ("good.jsonl --config bad.yaml", "bad.yaml:2: invalid YAML"),
    "config not a mapping": ("good.jsonl --config list.yaml", "list.yaml: expected a mapping of settings"),
    "config unknown key": ("good.jsonl --config unknown.yaml", "unknown.yaml: unknown settings ['ratio']"),
    "config wrong type": ("good.jsonl --config types.yaml", "types.yaml: limit: expected an integer, got 'ten'"),
    "config bad ratios": ("good.jsonl --config ratios.yaml", "ratios.yaml: ratios: expected numbers"),
    "config wrong flag": ("good.jsonl --config flag.yaml", "flag.yaml: whole_response_as_thinking: expected true"),
    "config binary": ("good.jsonl --config binary.yaml", "binary.yaml: not UTF-8"),
    "option overrides config": ("good.jsonl --config types.yaml --limit 0", "--limit: must be >= 1"),
}


def run_cli(args: list[str], cwd: Path):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(app, args)
    finally:
        os.chdir(old)


def assert_one_error_line(result, expected: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, (result.exit_code, result.output)
    err = result.stderr.strip()
    assert "Traceback" not in result.output and "\n" not in err, err
    assert err.startswith("error: ") and expected in err, err


@pytest.mark.parametrize("case", list(REFINE_CASES))
def test_refine_bad_input_is_one_line(files: Path, case: str) -> None:
    args, expected = REFINE_CASES[case]
    result = run_cli(["refine", *args.split(), *([] if " -o " in f" {args} " else ["-o", "out"])], files)
    assert_one_error_line(result, expected)
    if "-o out" in args or " -o " not in f" {args} ":
        assert not (files / "out").exists(), "nothing is written when an option is wrong"


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (None, "nope: no such folder"),
        ("file", "is a file; expected a `thinktrim refine` output folder"),
        ("empty", "no annotations.jsonl: not a `thinktrim refine` output folder"),
        ("binary", "annotations.jsonl:1: not UTF-8"),
        ("not json", "annotations.jsonl:2: invalid JSON"),
        ("no steps", "annotations.jsonl:1: not an annotation record"),
        ("bad run.json", "run.json: not a thinktrim run file"),
    ],
)
def test_refine_check_bad_folder_is_one_line(files: Path, setup: str | None, expected: str) -> None:
    target = files / "nope"
    if setup == "file":
        target = files / "notes.txt"
    elif setup is not None:
        target = files / "checked"
        target.mkdir()
        annotations = target / "annotations.jsonl"
        record = {"id": "a", "status": "scored", "answer_target": "response", "steps": []}
        if setup == "binary":
            annotations.write_bytes(b"\xff\xfe\n")
        elif setup == "not json":
            annotations.write_text(json.dumps(record) + "\n{oops\n", encoding="utf-8")
        elif setup == "no steps":
            annotations.write_text(json.dumps({"id": "a"}) + "\n", encoding="utf-8")
        elif setup == "bad run.json":
            annotations.write_text(json.dumps(record) + "\n", encoding="utf-8")
            (target / "run.json").write_text("{", encoding="utf-8")
    assert_one_error_line(run_cli(["refine-check", str(target)], files), expected)


def test_corrupt_annotations_in_the_output_folder(files: Path) -> None:
    (files / "out").mkdir()
    (files / "out" / "annotations.jsonl").write_text('{"no id": 1}\n', encoding="utf-8")
    result = run_cli(["refine", "good.jsonl", "-o", "out"], files)
    assert_one_error_line(result, "out/annotations.jsonl:1: not a record of this store")


@pytest.mark.slow
def test_full_disk_is_one_line_and_the_run_resumes(files: Path, tmp_path: Path) -> None:
    """ENOSPC on a tiny tmpfs (needs root and mount; skipped elsewhere): one line naming the file being written,
    no partial output file left, and once space is free the same command finishes without rescoring."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(disk)],
                                                       capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        record = json.loads((files / "good.jsonl").read_text(encoding="utf-8"))
        thinking, answer = record["response"].split("</think>", 1)
        cut = thinking.index("\n\n", 900)
        big = {**record, "response": thinking[:cut] + "</think>" + answer, "notes": "x" * 40_000}
        data = files / "big.jsonl"
        data.write_text(json.dumps(big) + "\n", encoding="utf-8")
        filler = disk / "filler"
        filler.write_bytes(b"\0" * 80_000)  # leaves room for run.json and the annotations, not the outputs
        cmd = [sys.executable, "-m", "thinktrim.cli", "refine", str(data), "-o", str(disk / "out"), "--ratios", "0.5"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        err = proc.stderr.strip().splitlines()[-1]
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert err.startswith("error: ") and "No space left on device (the disk is full)" in err, err
        assert "refined_r0.5.jsonl" in err or "llamafactory" in err or "stats.json" in err, err
        assert not [p for p in (disk / "out").rglob(".*.tmp")], "no partial file is left behind"
        annotations = (disk / "out" / "annotations.jsonl").read_text(encoding="utf-8")
        filler.unlink()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert (disk / "out" / "annotations.jsonl").read_text(encoding="utf-8") == annotations
        assert run_cli(["refine-check", str(disk / "out")], files).exit_code == 0
    finally:
        subprocess.run(["umount", str(disk)], check=False)
