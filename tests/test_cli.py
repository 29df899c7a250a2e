"""The `thinktrim` entry point: usage errors are one line and exit code 2, like every other bad input; and the
bad inputs of every command that once failed otherwise, each a row with its exact line (issue 19, section 5)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["refine", "--nope"], "error: No such option: --nope"),
        (["eval", "grade"], "error: missing argument FILE"),
        (["refine", "x.jsonl", "--limit", "abc"], "error: --limit: expected an integer, got 'abc'"),
        (["train-nothing"], "error: No such command 'train-nothing'."),
    ],
)
def test_usage_errors_are_one_line(args, expected) -> None:
    run = subprocess.run([sys.executable, "-m", "thinktrim.cli", *args], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run
    assert run.stderr.startswith(expected) and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "Traceback" not in run.stderr


def test_help_and_version_exit_zero() -> None:
    for args in (["--help"], ["--version"], ["refine", "--help"], ["eval", "--help"]):
        run = subprocess.run([sys.executable, "-m", "thinktrim.cli", *args], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and run.stdout, (args, run.stderr)


# ------------------------------------------------------------------------------------- the remaining bad inputs
# One class per row, each seen failing before (a traceback, several lines, the option unnamed, or no error at
# all): the exact line and exit status of the real command, run as a user runs it (a process, in its folder).

SAMPLE = Path(__file__).parents[1] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"
LR_SCHEDULERS = "linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup, inverse_sqrt"
MINIMAL_RUN = {"config": {"generation": {"n": 1}}, "benchmarks": {}, "overall": {"metrics": {}}}
DUPLICATES = [{"question_id": "1", "response": "\\boxed{1}", "answer": "1"},
              {"question_id": "1", "response": "\\boxed{2}", "answer": "1"}]


def _write(folder: Path, name: str, content: object) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, list):
        path.write_text("".join(json.dumps(row) + "\n" for row in content), encoding="utf-8")
    elif isinstance(content, dict):
        path.write_text(json.dumps(content), encoding="utf-8")
    else:
        path.write_text(str(content), encoding="utf-8")


def _bad_inputs(folder: Path) -> None:
    """The files the rows below point at."""
    _write(folder, "traces.jsonl", SAMPLE.read_text(encoding="utf-8").splitlines()[0] + "\n")
    _write(folder, "empty.jsonl", "")
    _write(folder, "notes.txt", "not a folder\n")
    _write(folder, "config_only/config.json", {"model_type": "llama"})  # no tokenizer, no weights
    _write(folder, "no_type/config.json", {})
    _write(folder, "run/results.json", MINIMAL_RUN)
    _write(folder, "listed/results.json", {**MINIMAL_RUN, "benchmarks": {"gsm8k": [0.5, 120]}})
    _write(folder, "unnumbered/results.json", {**MINIMAL_RUN, "overall": {"metrics": {"acc:avg@n=1": "high"}}})
    _write(folder, "tab.yaml", "verification:\n\tweight: 0.2\n")
    _write(folder, "duplicates.jsonl", DUPLICATES)
    _write(folder, "graded/results.json", {**MINIMAL_RUN, "benchmarks": {"sums": {"questions": 1, "metrics": {}}}})
    _write(folder, "graded/sums/graded.jsonl", "[1, 2]\n")


NOT_A_RESULTS = "not the results.json of a `thinktrim eval` run"
SECTION_5 = {  # case -> (arguments, the one stderr line, exit status, what must not exist afterwards)
    "model folder without a tokenizer (refine)": (
        "refine traces.jsonl -o out --model config_only",
        "error: --model: config_only: no tokenizer in this folder (none of tokenizer.json, tokenizer.model, "
        "spiece.model, vocab.json, vocab.txt …), so it is not a complete model folder; save the tokenizer beside "
        "the model (tokenizer.save_pretrained(folder))", 2, "out"),
    "model folder whose config names no model (eval)": (
        "eval --data traces.jsonl --answer-field gt_answer -o run2 --model no_type",
        "error: --model: no_type: no_type/config.json names no model_type, so this is not a model folder (a Hugging "
        "Face model folder holds the config.json, tokenizer and weights save_pretrained writes)", 2, "run2"),
    "report --png is a file": (
        "report run -o r.html --png notes.txt",
        "error: --png notes.txt: is a file; give a folder for the PNG figures", 2, "r.html"),
    "report --png below a file": (
        "report run -o r.html --png notes.txt/figures",
        "error: --png notes.txt/figures: notes.txt is a file, not a folder", 2, "r.html"),
    "results.json of the wrong shape (eval compare)": (
        "eval compare run listed",
        f"error: listed/results.json: {NOT_A_RESULTS} (benchmarks.gsm8k is a list, expected a mapping)", 2, ""),
    "results.json of the wrong shape (report)": (
        "report unnumbered -o r.html",
        f"error: unnumbered/results.json: {NOT_A_RESULTS} (overall.metrics.acc:avg@n=1 is a string, expected a "
        "number)", 2, "r.html"),
    "curate an empty file": (
        "curate empty.jsonl -o curated",
        "error: empty.jsonl: no records", 2, "curated/stats.json"),
    "--contamination-files missing": (
        "curate traces.jsonl -o curated --contamination-files nope.jsonl",
        "error: --contamination-files nope.jsonl: no such file", 2, "curated/stats.json"),
    "YAML with a tab in --quality-keywords": (
        "curate traces.jsonl -o curated --quality-keywords tab.yaml",
        "error: --quality-keywords tab.yaml:2: invalid YAML in 'weight' (found character '\\t' that cannot start "
        "any token; YAML indents with spaces, not tabs)", 2, "curated/stats.json"),
    "bad --lr-scheduler (train sft), before any model loads": (
        "train sft traces.jsonl -o sft --lr-scheduler bogus",
        f"error: --lr-scheduler: 'bogus' is not one of {LR_SCHEDULERS}", 2, "sft"),
    "bad --lr-scheduler (o1-pruner fit), before any model loads": (
        "train o1-pruner fit traces.jsonl -o fit --lr-scheduler warmup_stable_decay",
        f"error: --lr-scheduler: 'warmup_stable_decay' is not one of {LR_SCHEDULERS}", 2, "fit"),
    "eval grade: two records of one id, no sample field": (
        "eval grade duplicates.jsonl",
        "error: duplicates.jsonl:2: question_id='1' sample 0 was already read at duplicates.jsonl:1; records of one "
        "question need a distinct `sample` field (or put the samples in a list)", 2, ""),
}


# Classes the bad-input sweep (bench/bad_inputs.py) found beside section 5's; {tmp} is the folder they run in.
SWEEP_FINDINGS = {
    "a JSONL line of a run folder that is not an object (report)": (
        "report graded -o r.html",
        "error: graded/sums/graded.jsonl:1: expected a JSON object, got list", 2, "r.html"),
    "--judge-prompt missing": (
        "refine traces.jsonl -o out --judge-url http://127.0.0.1:9/v1 --judge-model m --judge-prompt nope.txt",
        "error: --judge-prompt: nope.txt: no such file", 2, "out"),
    "curate difficulty model that is no model, before the cheap steps run": (
        "curate traces.jsonl -o curated --stage1-model config_only",
        "error: --stage1-model: config_only: no tokenizer in this folder (none of tokenizer.json, tokenizer.model, "
        "spiece.model, vocab.json, vocab.txt …), so it is not a complete model folder; save the tokenizer beside "
        "the model (tokenizer.save_pretrained(folder))", 2, "curated/audit.jsonl"),
    "eval --data empty": (
        "eval --data empty.jsonl -o run2 --device cpu",
        "error: --data {tmp}/empty.jsonl: no records", 2, "run2/results.json"),
}


def _cli(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "thinktrim.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def _assert_one_line(run: subprocess.CompletedProcess, line: str, status: int) -> None:
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    assert (run.returncode, run.stderr.strip().splitlines()) == (status, [line]), run.stderr


@pytest.mark.parametrize("case", [*SECTION_5, *SWEEP_FINDINGS])
def test_remaining_bad_inputs_are_one_exact_line(case: str, tmp_path: Path) -> None:
    args, line, status, not_written = SECTION_5.get(case) or SWEEP_FINDINGS[case]
    _bad_inputs(tmp_path)
    _assert_one_line(_cli(args.split(), tmp_path), line.replace("{tmp}", str(tmp_path.resolve())), status)
    if not_written:
        assert not (tmp_path / not_written).exists(), f"{not_written} was written"


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"),
                    reason="running as root, and without setpriv root writes into read-only folders")
def test_report_png_in_a_read_only_folder_is_refused_before_the_page_is_written(tmp_path: Path) -> None:
    _bad_inputs(tmp_path)
    (tmp_path / "figures").mkdir(mode=0o555)
    cmd = [sys.executable, "-m", "thinktrim.cli", "report", "run", "-o", "r.html", "--png", "figures"]
    if os.geteuid() == 0:  # root ignores file modes; a user does not
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    _assert_one_line(run, "error: --png figures: cannot write there (Permission denied)", 2)
    assert not (tmp_path / "r.html").exists()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, make_tiny_llama) -> Path:
    model, tokenizer = make_tiny_llama(max_positions=4096)
    folder = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def refined(tiny_model: Path, tmp_path_factory) -> Path:
    """A finished refine folder (three real traces, ratio 0.3) scored by the tiny model."""
    folder = tmp_path_factory.mktemp("refined")
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()[2:5]]
    _write(folder, "traces.jsonl", records)
    run = _cli(["refine", "traces.jsonl", "-o", "out", "--model", str(tiny_model), "--ratios", "0.3", "--device",
                "cpu"], folder, timeout=600)
    assert run.returncode == 0, run.stderr
    return folder / "out"


INCOMPLETE = "error: out: incomplete refine output: {} (run.json promises {}); the run did not finish writing: " \
             "rerun the same `thinktrim refine` command"


@pytest.mark.parametrize(("removed", "line"), [
    (["refined_r0.3.jsonl", "stats.json"], INCOMPLETE.format("refined_r0.3.*, stats.json missing", "them")),
    (["stats.json"], INCOMPLETE.format("stats.json missing", "it")),
    (["llamafactory/dataset_info.json"], INCOMPLETE.format("llamafactory/dataset_info.json missing", "it")),
    (["one chain of refined_r0.3.jsonl"], "error: out: incomplete refine output: refined_r0.3.jsonl holds 2 of the "
                                         "3 chains run.json names; rerun the same `thinktrim refine` command"),
])
def test_refine_check_refuses_a_folder_missing_what_run_json_promises(refined: Path, tmp_path: Path,
                                                                      removed: list[str], line: str) -> None:
    out = tmp_path / "out"
    shutil.copytree(refined, out)
    assert _cli(["refine-check", "out"], tmp_path).returncode == 0  # complete: passes
    for name in removed:
        if name.startswith("one chain"):
            path = out / "refined_r0.3.jsonl"
            path.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]),
                            encoding="utf-8")
        else:
            (out / name).unlink()
    _assert_one_line(_cli(["refine-check", "out"], tmp_path), line, 2)


def test_ctrl_c_in_eval_says_how_to_continue_and_the_rerun_does(tiny_model: Path, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) while generating: exit 130 and refine's line;
    the same command then finishes with every sample stored once."""
    # enough batches left after the first is stored that the signal always lands mid-run, even on a fast machine
    _write(tmp_path, "sums.jsonl", [{"question": f"What is {i}+3?", "answer": str(i + 3)} for i in range(6)])
    args = [sys.executable, "-m", "thinktrim.cli", "eval", "--data", "sums.jsonl", "-o", "run", "--model",
            str(tiny_model), "-n", "16", "--max-new-tokens", "150", "--batch-size", "4", "--grade-processes", "0",
            "--device", "cpu"]
    with (tmp_path / "stderr.txt").open("w") as err:
        proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        samples = tmp_path / "run" / "sums" / "samples.jsonl"
        deadline = time.monotonic() + 300
        while not (samples.is_file() and samples.stat().st_size):
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=120) == 130
    stderr = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted: rerun the same command to continue where it stopped"
    rerun = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    keys = [json.loads(line)["key"] for line in samples.read_text(encoding="utf-8").splitlines()]
    assert len(keys) == len(set(keys)) == 6 * 16  # every sample of every question, once
