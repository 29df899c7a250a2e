"""Real `thinktrim` processes write only inside their output folder, whatever the names they are given, and
their files follow the umask (0644 under 022, 0600 under 077) like any other tool's.

Hostile names reach paths through refine's --name (the LLaMA-Factory files), eval's --data stem and --model
(the benchmark folder, the default run folder) and report's input folder names (the --png files). Each case
snapshots the whole temporary tree before and after the run: nothing outside the output folder may appear or
change.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from thinktrim.data.paths import is_safe_file_name

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "thinktrim.cli"]
SAMPLE = Path(__file__).parents[1] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"
Tree = dict[str, tuple[int, str | None]]


def tree(root: Path) -> Tree:
    """Every path under `root`: its mode and, for a file, the hash of its bytes."""
    out: Tree = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else None
        out[str(p.relative_to(root))] = (stat.S_IMODE(st.st_mode), digest)
    return out


def changed_outside(before: Tree, after: Tree, *allowed: str) -> list[str]:
    """Paths that appeared, vanished or changed and are not under one of the `allowed` folders."""
    touched = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    return sorted(k for k in touched if not any(k == a or k.startswith(a + "/") for a in allowed))


def assert_modes(folder: Path, umask: int) -> None:
    """The folder and everything in it have the modes `open()` and `mkdir()` give under `umask`."""
    paths = [folder, *folder.rglob("*")]
    assert len(paths) > 3
    wrong = {str(p.relative_to(folder.parent)): oct(stat.S_IMODE(p.stat().st_mode)) for p in paths
             if stat.S_IMODE(p.stat().st_mode) != (0o777 if p.is_dir() else 0o666) & ~umask}
    assert not wrong, f"umask {umask:03o}: {wrong}"


def run(args: list[str], cwd: Path, umask: int) -> subprocess.CompletedProcess:
    proc = subprocess.run([*CLI, *args], cwd=cwd, umask=umask, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def tiny_trace() -> str:
    """One real trace with its thinking cut at a paragraph break near 1,000 characters: quick to score."""
    record = json.loads(SAMPLE.read_text(encoding="utf-8").splitlines()[3])
    thinking, answer = record["response"].split("</think>", 1)
    cut = max(m.end() for m in re.finditer(r"\n\n", thinking) if m.end() <= 1000)
    return json.dumps({**record, "response": thinking[:cut] + "</think>" + answer}) + "\n"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, make_tiny_llama) -> Path:
    """A 2-layer random Llama saved as a model folder: loads and runs faster than the embedded model."""
    folder = tmp_path_factory.mktemp("tiny-model")
    model, tokenizer = make_tiny_llama()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def refine_runs(tmp_path_factory, tiny_model: Path) -> dict:
    """refine under umask 022 with --name ../../evil, rerun there with a --config name holding NUL and `/..`;
    then under umask 077 with --name <absolute path>, whose file (`<path>_r0.5.jsonl`) already exists."""
    root = tmp_path_factory.mktemp("refine")
    work = root / "a" / "b"
    work.mkdir(parents=True)
    data = work / "tiny.jsonl"
    data.write_text(tiny_trace(), encoding="utf-8")
    (root / "victim_r0.5.jsonl").write_text("precious\n", encoding="utf-8")
    (work / "names.yaml").write_text('name: "x\\0y/../z"\n', encoding="utf-8")
    common = ["--ratios", "0.5", "--device", "cpu", "--model", str(tiny_model)]
    before = tree(root)
    run(["refine", str(data), "-o", "out022", "--name", "../../evil", *common], work, 0o022)
    first = sorted(p.name for p in (work / "out022" / "llamafactory").iterdir())
    run(["refine", str(data), "-o", "out022", "--config", "names.yaml", *common], work, 0o022)
    run(["refine", str(data), "-o", str(work / "out077"), "--name", str(root / "victim"), *common], work, 0o077)
    return {"root": root, "work": work, "before": before, "after": tree(root), "first": first}


def test_refine_names_stay_inside_the_output_folder(refine_runs: dict) -> None:
    root, work = refine_runs["root"], refine_runs["work"]
    assert changed_outside(refine_runs["before"], refine_runs["after"], "a/b/out022", "a/b/out077") == []
    assert (root / "victim_r0.5.jsonl").read_text(encoding="utf-8") == "precious\n"
    for out in ("out022", "out077"):
        folder = work / out / "llamafactory"
        info = json.loads((folder / "dataset_info.json").read_text(encoding="utf-8"))
        messages = sorted(p.name for p in folder.glob("*.jsonl"))
        assert messages == sorted(entry["file_name"] for entry in info.values()) and len(messages) == 1
        assert is_safe_file_name(messages[0]), messages
        assert list(info) == [messages[0].removesuffix(".jsonl")]
    # the first run's file (for ../../evil) was in the folder; the rerun under another name replaced it
    assert [n for n in refine_runs["first"] if "evil" in n and is_safe_file_name(n)] != []
    assert "x_y_.._z" in next((work / "out022" / "llamafactory").glob("*.jsonl")).name
    assert "victim" in next((work / "out077" / "llamafactory").glob("*.jsonl")).name


@pytest.mark.parametrize(("out", "umask"), [("out022", 0o022), ("out077", 0o077)])
def test_refine_outputs_follow_the_umask(refine_runs: dict, out: str, umask: int) -> None:
    assert_modes(refine_runs["work"] / out, umask)


@pytest.fixture(scope="module")
def eval_runs(tmp_path_factory, tiny_model: Path) -> dict:
    """eval --data DIR/...jsonl -o DIR/run under umask 077 (a file whose stem is `..`, beside a graded.jsonl of
    the user's); eval --model .. (a tiny model one folder up, default output folder) under umask 022."""
    root = tmp_path_factory.mktemp("eval")
    data_dir = root / "d"
    data_dir.mkdir()
    (data_dir / "...jsonl").write_text(json.dumps({"question": "What is 2+3?", "answer": "5"}) + "\n",
                                       encoding="utf-8")
    (data_dir / "graded.jsonl").write_text('{"mine": true}\n', encoding="utf-8")
    shutil.copytree(tiny_model, root / "m")
    (root / "m" / "work").mkdir()
    quick = ["-n", "1", "--max-new-tokens", "4", "--device", "cpu", "--grade-processes", "0"]
    before = tree(root)
    run(["eval", "--data", str(data_dir / "...jsonl"), "-o", str(data_dir / "run"), "--model", str(tiny_model),
         *quick], data_dir, 0o077)
    run(["eval", "--model", "..", "--benchmark", "gsm8k", "--limit", "1", *quick], root / "m" / "work", 0o022)
    return {"root": root, "before": before, "after": tree(root)}


def test_eval_names_stay_inside_the_output_folder(eval_runs: dict) -> None:
    root = eval_runs["root"]
    assert changed_outside(eval_runs["before"], eval_runs["after"], "d/run", "m/work/eval-out") == []
    assert (root / "d" / "graded.jsonl").read_text(encoding="utf-8") == '{"mine": true}\n'
    (bench,) = json.loads((root / "d" / "run" / "results.json").read_text(encoding="utf-8"))["benchmarks"]
    assert is_safe_file_name(bench) and (root / "d" / "run" / bench / "graded.jsonl").is_file()
    (folder,) = (root / "m" / "work" / "eval-out").iterdir()
    assert is_safe_file_name(folder.name) and (folder / "gsm8k" / "samples.jsonl").is_file()


def test_eval_outputs_follow_the_umask(eval_runs: dict) -> None:
    assert_modes(eval_runs["root"] / "d" / "run", 0o077)
    assert_modes(eval_runs["root"] / "m" / "work" / "eval-out", 0o022)


@pytest.fixture(scope="module")
def report_runs(tmp_path_factory, refine_runs: dict, eval_runs: dict) -> dict:
    """report --png on a refine folder named `-rf` (umask 022), and on the umask-077 runs (umask 077)."""
    root = tmp_path_factory.mktemp("report")
    shutil.copytree(refine_runs["work"] / "out022", root / "-rf")
    (eval_run,) = (eval_runs["root"] / "m" / "work" / "eval-out").iterdir()
    before = tree(root)
    run(["report", "./-rf", str(eval_run), "-o", "rep022/report.html", "--png", "rep022/png"], root, 0o022)
    run(["report", str(refine_runs["work"] / "out077"), str(eval_runs["root"] / "d" / "run"),
         "-o", "rep077/report.html", "--png", "rep077/png"], root, 0o077)
    return {"root": root, "before": before, "after": tree(root)}


def test_report_files_stay_inside_and_follow_the_umask(report_runs: dict) -> None:
    root = report_runs["root"]
    assert changed_outside(report_runs["before"], report_runs["after"], "rep022", "rep077") == []
    pngs = sorted(p.name for p in (root / "rep022" / "png").iterdir())
    assert any(n.endswith("_pir.png") for n in pngs) and all(is_safe_file_name(n) for n in pngs), pngs
    assert (root / "rep022" / "report.html").is_file() and (root / "rep077" / "report.html").is_file()
    assert_modes(root / "rep022", 0o022)
    assert_modes(root / "rep077", 0o077)


def test_train_outputs_follow_the_umask(tiny_model: Path, tmp_path: Path) -> None:
    """A LoRA run, merged, with a checkpoint per step: safetensors writes its files 0600 (the model, the adapter,
    the checkpoints' weights); under umask 022 every file of the output folder is 0644 all the same."""
    out = tmp_path / "model"
    run(["train", "sft", str(SAMPLE), "-o", str(out), "--model", str(tiny_model), "--lora", "--max-steps", "2",
         "--max-length", "128", "--overlong", "truncate", "--global-batch-size", "1", "--save-strategy", "steps",
         "--save-steps", "1", "--device", "cpu"], tmp_path, 0o022)
    weights = {p.relative_to(out).as_posix() for p in out.rglob("*.safetensors")}
    assert {"model.safetensors", "adapter/adapter_model.safetensors"} <= weights
    assert any(w.startswith("checkpoints/checkpoint-2/") for w in weights), weights
    assert_modes(out, 0o022)
