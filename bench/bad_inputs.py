"""Bad inputs a user would give, run against the real CLI: does each one meet the standard?

The standard (README, Robustness): bad input is one `error: …` line on stderr naming the file, option or setting,
exit status 2, no traceback, nothing lost; Ctrl-C ends with exit 130 and "interrupted: rerun the same command to
continue where it stopped"; a run killed (SIGINT or `kill -9`) and rerun with the same command finishes. Each case
runs `python -m thinktrim.cli …` in a fresh folder with tiny inputs and, where a model is needed, a 2-layer random
Llama (64 wide, the embedded tokenizer) saved as a model folder, so the sweep stays within minutes on 2 cores.

Case kinds:
  error      one invocation: exit 2, exactly one non-empty stderr line, starting `error: ` (and naming what the
             case expects, e.g. the option), no `Traceback`, and the case's own check (e.g. another command's
             folder left byte for byte as it was);
  safe       a questionable input the command may refuse (as `error`) or accept safely (exit 0 and the check);
  ok         an ordinary use that must work (exit 0 and the check), e.g. a run folder read from another folder;
  interrupt  started, then SIGINT to its process group (a terminal's Ctrl-C) once it is working: exit 130, the
             last stderr line "interrupted: rerun …", no traceback; then the same command again must finish (0);
  kill       the same with SIGKILL (nothing printed, nothing to judge but the rerun, which must finish);
  parallel   a second run into the same folder while the first one works: one finishes, the other is refused
             with one `error:` line (exit 2), and the folder checks out;
  recover    a folder a killed run could leave behind: the same command must finish.

    .venv/bin/python bench/bad_inputs.py                        # the working tree's thinktrim (as installed)
    .venv/bin/python bench/bad_inputs.py --src /tmp/before/src  # another checkout's source, via PYTHONPATH
    .venv/bin/python bench/bad_inputs.py --only report          # the cases whose name contains "report"

Progress bars (tqdm lines) printed before the outcome are not counted as message lines. Cases that write into
read-only folders run without root's capability to ignore file modes (setpriv), as a
user would. Fixtures (the tiny model, a finished refine/eval/curate/build folder) are made once per sweep with
the code under test; the tiny model is cached in /tmp/thinktrim-bad-inputs/tiny.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"
CACHE = Path(tempfile.gettempdir()) / "thinktrim-bad-inputs"
INTERRUPTED = "interrupted: rerun"


# ------------------------------------------------------------------------------------------------ running


@dataclass
class Env:
    """How to run the CLI under test."""

    src: str | None = None

    def environ(self) -> dict[str, str]:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "120", "OMP_NUM_THREADS": "1",
               "TOKENIZERS_PARALLELISM": "false"}
        if self.src:
            env["PYTHONPATH"] = self.src
        return env

    def argv(self, args: list[str], unprivileged: bool = False) -> list[str]:
        cmd = [sys.executable, "-m", "thinktrim.cli", *args]
        if unprivileged and os.geteuid() == 0:  # root ignores file modes; a user does not
            cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
        return cmd

    def run(self, args: list[str], cwd: Path, timeout: float = 300, unprivileged: bool = False
            ) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(self.argv(args, unprivileged), cwd=cwd, env=self.environ(), capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(e.cmd, -999, _text(e.stdout), _text(e.stderr) + "\n[timed out]")

    def start(self, args: list[str], cwd: Path, log: str) -> subprocess.Popen:
        """A process in its own group (signals go to it and its workers, as a terminal's Ctrl-C does), with
        SIGINT handled as in a terminal even when this sweep runs in the background (where it is ignored)."""
        with open(cwd / f".{log}.out", "w") as out, open(cwd / f".{log}.err", "w") as err:
            return subprocess.Popen(self.argv(args), cwd=cwd, env=self.environ(), stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, start_new_session=True,
                                    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _text(b: bytes | str | None) -> str:
    return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")


PROGRESS = re.compile(r"^[^|]{0,80}:\s+\d+%\|")  # a tqdm bar: "generate:  38%|███▊  | 1352/3600 […]"


def stderr_lines(err: str) -> list[str]:
    """Non-empty lines but progress bars: a bar is the status of work done before the outcome (a terminal
    redraws it in place), not part of the message judged."""
    lines = [line.rsplit("\r", 1)[-1].replace("\x1b[A", "") for line in err.replace("\r\n", "\n").split("\n")]
    return [line for line in lines if line.strip() and not PROGRESS.match(line)]


def error_verdict(rc: int, out: str, err: str) -> str | None:
    """Why a finished invocation misses the bad-input standard, or None when it meets it."""
    lines = stderr_lines(err)
    if "Traceback" in out or "Traceback" in err:
        return "traceback"
    if rc != 2:
        return f"exit {rc}, expected 2"
    if len(lines) != 1:
        return f"{len(lines)} stderr lines, expected 1"
    if not lines[0].startswith("error: "):
        return "the stderr line does not start with `error: `"
    return None


def first_line(err: str) -> str:
    lines = stderr_lines(err)
    errors = [line for line in lines if line.startswith(("error:", INTERRUPTED))]
    tb = [line for line in lines if not line.startswith(" ")]
    return (errors or tb[-1:] or lines[-1:] or [""])[0]


# ------------------------------------------------------------------------------------------------ fixtures


def trimmed(record: dict, max_chars: int) -> dict:
    """The record with its thinking cut at the last paragraph break before `max_chars` (answer kept)."""
    thinking, answer = record["response"].split("</think>", 1)
    cut = [m.end() for m in re.finditer(r"\n\n", thinking) if m.end() <= max_chars]
    return {**record, "response": thinking[: cut[-1]] + "</think>" + answer}


def jsonl(rows: list) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


RECORDS = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
TRACES = jsonl([trimmed(r, 1500) for r in RECORDS[2:5]])
LONG = jsonl([{**r, "id": f"{r['id']}-{k}"} for k in range(2) for r in RECORDS])  # ~15 s to score
ARITH = jsonl([{"question": "What is 2+3?", "answer": "5"}, {"question": "What is 10 minus 4?", "answer": "6"}])
MANY = jsonl([{"question_id": str(i), "response": f"So it is $\\frac{{{i}}}{{{i + 1}}}$: \\boxed{{{i}/{i + 1}}}.",
               "answer": f"\\frac{{{i}}}{{{i + 1}}}"} for i in range(20000)])  # ~15 s to grade on 2 cores
RESPONSES = jsonl([{"question_id": str(i), "response": f"So \\boxed{{{i}}}.", "answer": str(i)} for i in range(4)])


class Fixtures:
    """Finished output folders and the tiny model, made on first use (with the code under test)."""

    def __init__(self, root: Path, env: Env) -> None:
        self.root, self.env = root, env
        root.mkdir(parents=True, exist_ok=True)
        self.made: dict[str, str] = {}
        for name, text in (("traces.jsonl", TRACES), ("arith.jsonl", ARITH), ("responses.jsonl", RESPONSES),
                           ("long.jsonl", LONG), ("many.jsonl", MANY)):
            (root / name).write_text(text, encoding="utf-8")

    def __getitem__(self, name: str) -> str:
        if name not in self.made:
            self.made[name] = str(getattr(self, "make_" + name)())
        return self.made[name]

    def _cli(self, name: str, args: str) -> Path:
        proc = self.env.run(shlex.split(args.format_map(self)), self.root, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"fixture {name}: `thinktrim {args}` failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        return self.root / name

    def make_F(self) -> Path:
        return self.root

    def make_tiny(self) -> Path:
        target = CACHE / "tiny"
        if (target / "model.safetensors").is_file():
            return target
        code = (
            "import sys, torch\n"
            "from transformers import LlamaConfig, LlamaForCausalLM\n"
            "from thinktrim.lm.load import load_tokenizer\n"
            "tok = load_tokenizer('embedded'); torch.manual_seed(0)\n"
            "cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,\n"
            "    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,\n"
            "    bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)\n"
            "LlamaForCausalLM(cfg).save_pretrained(sys.argv[1]); tok.save_pretrained(sys.argv[1])\n"
        )
        tmp = CACHE / f".tiny-{os.getpid()}"
        subprocess.run([sys.executable, "-c", code, str(tmp)], check=True, env=self.env.environ(),
                       capture_output=True)
        os.replace(tmp, target)
        return target

    def make_refine_out(self) -> Path:
        return self._cli("refine_out", "refine {F}/traces.jsonl -o refine_out --model {tiny} --ratios 0.3 "
                                       "--device cpu")

    def make_eval_run(self) -> Path:
        return self._cli("eval_run", "eval --data {F}/arith.jsonl -o eval_run --model {tiny} -n 2 "
                                     "--max-new-tokens 4 --grade-processes 0 --device cpu")

    def make_eval_run_n1(self) -> Path:
        return self._cli("eval_run_n1", "eval --data {F}/arith.jsonl -o eval_run_n1 --model {tiny} -n 1 "
                                        "--max-new-tokens 4 --grade-processes 0 --device cpu")

    def make_o1_data(self) -> Path:
        return self._cli("o1_data", "train o1-pruner build {eval_run} -o o1_data --keep 2")

    def make_curate_out(self) -> Path:
        return self._cli("curate_out", "curate {F}/traces.jsonl -o curate_out --grade-processes 0")

    def make_sft_out(self) -> Path:
        return self._cli("sft_out", "train sft {refine_out}/refined_r0.3.jsonl -o sft_out --model {tiny} "
                                    "--max-steps 1 --device cpu")


# ------------------------------------------------------------------------------------------------ cases


Prep = Callable[[Path, Fixtures], None]
Check = Callable[[Path, Fixtures, Env], "str | None"]


@dataclass
class Case:
    name: str
    args: str  # after `thinktrim`; {fixture} is replaced by its path, the rest split like a shell would
    prep: Prep | None = None
    kind: str = "error"
    check: Check | None = None  # a reason the outcome misses the standard beyond the exit and stderr, or None
    unprivileged: bool = False  # run without root's capability to ignore file modes
    wait_for: str = ""  # interrupt/kill/parallel: a glob (relative to the case folder) that shows it is working
    delay: float = 0.3  # seconds from then (or from the start, without wait_for) to the signal
    args2: str = ""  # parallel: the second command (default: the same)
    expect: str = ""  # error: text the error line must contain (the option or file it has to name)
    timeout: float = 300


def write(name: str, text: str | bytes) -> Prep:
    def prep(cwd: Path, fx: Fixtures) -> None:
        path = cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return prep


def copy(fixture: str, name: str) -> Prep:
    def prep(cwd: Path, fx: Fixtures) -> None:
        src = Path(fx[fixture])
        if src.is_dir():
            shutil.copytree(src, cwd / name, symlinks=True)
        else:
            shutil.copy2(src, cwd / name)
    return prep


def mkdir(name: str, mode: int | None = None) -> Prep:
    def prep(cwd: Path, fx: Fixtures) -> None:
        (cwd / name).mkdir(parents=True, exist_ok=True)
        if mode is not None:
            (cwd / name).chmod(mode)
    return prep


def chmod(name: str, mode: int) -> Prep:
    def prep(cwd: Path, fx: Fixtures) -> None:
        (cwd / name).chmod(mode)
    return prep


def remove(name: str) -> Prep:
    def prep(cwd: Path, fx: Fixtures) -> None:
        path = cwd / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return prep


def edit(name: str, change: Callable[[str], str]) -> Prep:
    def prep(cwd: Path, fx: Fixtures) -> None:
        path = cwd / name
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    return prep


def cli(args: str, where: str = "") -> Prep:
    """Run a (good) command first (in the subfolder `where`), e.g. one shard of a sharded run."""
    def prep(cwd: Path, fx: Fixtures) -> None:
        (cwd / where).mkdir(parents=True, exist_ok=True)
        proc = fx.env.run(shlex.split(args.format_map(fx)), cwd / where, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"prep `thinktrim {args}` failed: {first_line(proc.stderr)}")
    return prep


def steps(*preps: Prep) -> Prep:
    def prep(cwd: Path, fx: Fixtures) -> None:
        for p in preps:
            p(cwd, fx)
    return prep


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (a lock or ownership file thinktrim keeps aside)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".thinktrim")}


def unchanged(name: str) -> tuple[Prep, Check]:
    """Copy a fixture folder to `name`, and check afterwards that the command left it as it was."""
    before: dict[str, dict[str, str]] = {}

    def prep(cwd: Path, fx: Fixtures) -> None:
        copy(name, name)(cwd, fx)
        before[str(cwd)] = digest(cwd / name)

    def check(cwd: Path, fx: Fixtures, env: Env) -> str | None:
        after = digest(cwd / name)
        changed = sorted(k for k in set(before[str(cwd)]) | set(after) if before[str(cwd)].get(k) != after.get(k))
        return f"{name} changed: {', '.join(changed[:4])}" if changed else None

    return prep, check


def absent(*patterns: str) -> Check:
    """Nothing matching these globs (relative to the case folder) was written."""
    def check(cwd: Path, fx: Fixtures, env: Env) -> str | None:
        there = [str(p.relative_to(cwd)) for n in patterns for p in cwd.glob(n)]
        return f"written anyway: {', '.join(there)}" if there else None
    return check


def file_unchanged(name: str, text: str) -> Check:
    def check(cwd: Path, fx: Fixtures, env: Env) -> str | None:
        return None if (cwd / name).read_text(encoding="utf-8") == text else f"{name} was overwritten"
    return check


def refine_checks(folder: str) -> Check:
    def check(cwd: Path, fx: Fixtures, env: Env) -> str | None:
        proc = env.run(["refine-check", folder], cwd)
        if proc.returncode == 0:
            return None
        return f"refine-check {folder}: exit {proc.returncode}: {first_line(proc.stderr)}"
    return check


def eval_complete(folder: str, samples: int) -> Check:
    """results.json is there and every sample is stored exactly once."""
    def check(cwd: Path, fx: Fixtures, env: Env) -> str | None:
        if not (cwd / folder / "results.json").is_file():
            return f"{folder}/results.json missing"
        keys = [json.loads(line).get("key") for f in (cwd / folder).glob("*/samples.jsonl")
                for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
        if len(keys) != samples or len(set(keys)) != len(keys):
            return f"{len(keys)} samples stored ({len(set(keys))} distinct), expected {samples}"
        return None
    return check


def train_finished(folder: str) -> Check:
    def check(cwd: Path, fx: Fixtures, env: Env) -> str | None:
        return None if (cwd / folder / "train.json").is_file() else f"{folder}/train.json missing"
    return check


TAB_YAML = "ratios:\n\t- 0.2\n"
NOT_A_RESULTS = json.dumps({"config": {"generation": 1}, "benchmarks": {"x": [1, 2]}, "overall": "no"})
BIN = b"\x00\xff\xfe\x01binary\x00\x9c"
MODEL_CONFIG_ONLY = steps(mkdir("m"), lambda cwd, fx: shutil.copy(Path(fx["tiny"]) / "config.json", cwd / "m"))
MODEL_EMPTY_CONFIG = write("m/config.json", "{}")
MODEL_BAD_CONFIG = steps(lambda cwd, fx: shutil.copytree(fx["tiny"], cwd / "m"), write("m/config.json", "{oops"))
DUP_NO_SAMPLE = jsonl([{"question_id": "1", "response": "\\boxed{1}", "answer": "1"},
                       {"question_id": "1", "response": "\\boxed{2}", "answer": "1"}])
REFINE = "refine traces.jsonl -o out --model {tiny} --device cpu"
EVAL = "eval --data arith.jsonl -o run --model {tiny} --max-new-tokens 4 --grade-processes 0 --device cpu"
SFT = "train sft {refine_out}/refined_r0.3.jsonl -o sft --model {tiny} --max-steps 1 --device cpu"
FIT = "train o1-pruner fit {o1_data}/o1_pruner.jsonl -o fit --model {tiny} --max-steps 1 --device cpu"
LONG_REFINE = "refine {F}/long.jsonl -o out --model {tiny} --device cpu --ratios 0.3"
LONG_EVAL = ("eval --data {F}/arith.jsonl -o run --model {tiny} -n 8 --max-new-tokens 150 --batch-size 4 "
             "--grade-processes 0 --device cpu")
LONG_SFT = ("train sft {refine_out}/refined_r0.3.jsonl -o sft --model {tiny} --device cpu --max-steps 12 "
            "--save-strategy steps --save-steps 1 --global-batch-size 1")
TRACES_PREP = write("traces.jsonl", TRACES)


def other_folder(command: str, fixture: str) -> Case:
    """`command` with its output folder (OUT) set to a copy of another command's finished folder."""
    prep, check = unchanged(fixture)
    words = command.split()
    name = " ".join(words[:2] if words[0] == "train" else words[:1])
    return Case(f"{name}: -o another command's folder ({fixture})", command.replace("OUT", fixture),
                prep=steps(TRACES_PREP, prep), check=check, expect=fixture)


def cases() -> list[Case]:
    tab = write("bad.yaml", TAB_YAML)
    c: list[Case] = []

    # ---- refine: the input file
    c += [
        Case("refine: missing input", "refine nope.jsonl -o out"),
        Case("refine: input is a folder", "refine data -o out", prep=mkdir("data")),
        Case("refine: empty input", "refine e.jsonl -o out", prep=write("e.jsonl", "")),
        Case("refine: blank-lines input", "refine e.jsonl -o out", prep=write("e.jsonl", "\n \n")),
        Case("refine: binary input", "refine b.jsonl -o out", prep=write("b.jsonl", BIN)),
        Case("refine: JSON object, not records", "refine o.json -o out", prep=write("o.json", '{"a": 1}')),
        Case("refine: JSON list of strings", "refine o.json -o out", prep=write("o.json", '["a", "b"]')),
        Case("refine: JSONL line that is a list", "refine l.jsonl -o out", prep=write("l.jsonl", "[1, 2]\n")),
        Case("refine: record without a response", "refine r.jsonl -o out",
             prep=write("r.jsonl", '{"question": "q"}\n')),
        Case("refine: response is a number", "refine r.jsonl -o out",
             prep=write("r.jsonl", '{"question": "q", "response": 5}\n')),
        Case("refine: question is a list", "refine r.jsonl -o out",
             prep=write("r.jsonl", json.dumps({**json.loads(TRACES.splitlines()[0]), "question": ["a"]}) + "\n")),
        Case("refine: truncated last line", "refine t.jsonl -o out", prep=write("t.jsonl", TRACES[:-40])),
        Case("refine: CSV file", "refine t.csv -o out", prep=write("t.csv", "question,response\nq,r\n")),
        Case("refine: JSONL named .parquet", "refine t.parquet -o out", prep=write("t.parquet", TRACES)),
        Case("refine: unreadable input (chmod 000)", "refine t.jsonl -o out",
             prep=steps(write("t.jsonl", TRACES), chmod("t.jsonl", 0)), unprivileged=True),
    ]
    # ---- refine: options and files they name
    c += [
        Case("refine: -o is the input file", "refine traces.jsonl -o traces.jsonl", prep=TRACES_PREP,
             check=file_unchanged("traces.jsonl", TRACES)),
        Case("refine: -o below a file", "refine traces.jsonl -o traces.jsonl/out", prep=TRACES_PREP),
        Case("refine: --ratios 1.5", "refine traces.jsonl -o out --ratios 1.5", prep=TRACES_PREP),
        Case("refine: --ratios empty", "refine traces.jsonl -o out --ratios ,", prep=TRACES_PREP),
        Case("refine: --limit -1", "refine traces.jsonl -o out --limit -1", prep=TRACES_PREP),
        Case("refine: --target-sentences 0", "refine traces.jsonl -o out --target-sentences 0", prep=TRACES_PREP),
        Case("refine: --shard 2/2", "refine traces.jsonl -o out --shard 2/2", prep=TRACES_PREP),
        Case("refine: --shard abc", "refine traces.jsonl -o out --shard abc", prep=TRACES_PREP),
        Case("refine: --device cuda without a GPU", REFINE.replace("cpu", "cuda"), prep=TRACES_PREP),
        Case("refine: --precision fp8", REFINE + " --precision fp8", prep=TRACES_PREP),
        Case("refine: --layout names missing fields", "refine traces.jsonl -o out --layout question=q,response=r",
             prep=TRACES_PREP),
        Case("refine: --format parquet on JSONL", "refine traces.jsonl -o out --format parquet", prep=TRACES_PREP),
        Case("refine: --markers with a tab", "refine traces.jsonl -o out --markers bad.yaml",
             prep=steps(TRACES_PREP, tab), expect='bad.yaml:2'),
        Case("refine: --markers is a folder", "refine traces.jsonl -o out --markers d",
             prep=steps(TRACES_PREP, mkdir("d"))),
        Case("refine: --config with a tab", "refine traces.jsonl -o out --config bad.yaml",
             prep=steps(TRACES_PREP, tab), expect='bad.yaml:2'),
        Case("refine: --config is a JSON list", "refine traces.jsonl --config c.yaml",
             prep=steps(TRACES_PREP, write("c.yaml", "[1, 2]\n"))),
        Case("refine: --config ratios a mapping", "refine traces.jsonl -o out --config c.yaml",
             prep=steps(TRACES_PREP, write("c.yaml", "ratios: {a: 1}\n"))),
        Case("refine: --judge-prompt missing", "refine traces.jsonl -o out --judge-url http://127.0.0.1:9/v1 "
             "--judge-model m --judge-prompt nope.txt", prep=TRACES_PREP),
        Case("refine: --judge-url unreachable", REFINE + " --judge-url http://127.0.0.1:9/v1 --judge-model m",
             prep=TRACES_PREP),
        Case("refine: --name with a slash", REFINE + " --name ../../escape", prep=TRACES_PREP, kind="safe",
             check=absent("escape*", "out/escape*")),
        Case("refine: --max-context 8 with --overlong error", REFINE + " --max-context 8 --overlong error",
             prep=TRACES_PREP),
        Case("refine: duplicate chain ids", "refine d.jsonl -o out --model {tiny} --device cpu",
             prep=write("d.jsonl", TRACES.splitlines()[0] + "\n" + TRACES.splitlines()[0] + "\n")),
    ]
    # ---- refine: models
    c += [
        Case("refine: --model folder with config.json only", REFINE.replace("{tiny}", "m"),
             prep=steps(TRACES_PREP, MODEL_CONFIG_ONLY), expect='--model: m'),
        Case("refine: --model folder with an empty config.json", REFINE.replace("{tiny}", "m"),
             prep=steps(TRACES_PREP, MODEL_EMPTY_CONFIG), expect='--model: m'),
        Case("refine: --model folder with a broken config.json", REFINE.replace("{tiny}", "m"),
             prep=steps(TRACES_PREP, MODEL_BAD_CONFIG), expect='--model: m'),
        Case("refine: --model is a file", REFINE.replace("{tiny}", "traces.jsonl"), prep=TRACES_PREP),
        Case("refine: --model hub id not cached", REFINE.replace("{tiny}", "nobody/nothing-here"), prep=TRACES_PREP),
    ]
    # ---- refine: folders, interruptions, two runs
    c += [
        other_folder("refine traces.jsonl -o OUT --model {tiny} --device cpu", "eval_run"),
        other_folder("refine traces.jsonl -o OUT --model {tiny} --device cpu", "curate_out"),
        other_folder("refine traces.jsonl -o OUT --model {tiny} --device cpu", "o1_data"),
        Case("refine: rerun into a folder with another input", "refine t2.jsonl -o refine_out --model {tiny} "
             "--device cpu", prep=steps(copy("refine_out", "refine_out"),
                                        write("t2.jsonl", TRACES.splitlines()[1] + "\n"))),
        Case("refine: read-only output folder", REFINE, prep=steps(TRACES_PREP, mkdir("out", 0o555)),
             unprivileged=True),
        Case("refine: corrupt annotations.jsonl in the folder", REFINE,
             prep=steps(TRACES_PREP, copy("refine_out", "out"), write("out/annotations.jsonl", "{oops\n"))),
        Case("refine: torn last annotation (kill -9 mid-write)", REFINE.replace("traces.jsonl", "{F}/traces.jsonl")
             + " --ratios 0.3", kind="recover",
             prep=steps(TRACES_PREP, copy("refine_out", "out"),
                        edit("out/annotations.jsonl", lambda t: t[: len(t) - 50]),
                        remove("out/refined_r0.3.jsonl")),
             check=refine_checks("out")),
        Case("refine: Ctrl-C while scoring, then rerun", LONG_REFINE, kind="interrupt",
             wait_for="out/annotations.jsonl", check=refine_checks("out")),
        Case("refine: kill -9 while scoring, then rerun", LONG_REFINE, kind="kill",
             wait_for="out/annotations.jsonl", check=refine_checks("out")),
        Case("refine: two runs into one folder", LONG_REFINE, kind="parallel", wait_for="out",
             expect="--output-dir out",
             check=refine_checks("out")),
    ]
    # ---- refine-merge
    c += [
        Case("refine-merge: missing folder", "refine-merge nope"),
        Case("refine-merge: empty folder", "refine-merge d", prep=mkdir("d")),
        Case("refine-merge: a file", "refine-merge traces.jsonl", prep=TRACES_PREP),
        Case("refine-merge: finished unsharded folder", "refine-merge refine_out",
             prep=copy("refine_out", "refine_out")),
        Case("refine-merge: one shard of two", "refine-merge out",
             prep=steps(TRACES_PREP, cli(REFINE + " --shard 0/2")), expect='1-of-2'),
        Case("refine-merge: --scope bad", "refine-merge d --scope all", prep=mkdir("d")),
    ]
    # ---- refine-check
    c += [
        Case("refine-check: missing folder", "refine-check nope"),
        Case("refine-check: a file", "refine-check traces.jsonl", prep=TRACES_PREP),
        Case("refine-check: empty folder", "refine-check d", prep=mkdir("d")),
        Case("refine-check: an eval run folder", "refine-check eval_run", prep=copy("eval_run", "eval_run")),
        Case("refine-check: refined_r0.3.jsonl missing", "refine-check out",
             prep=steps(copy("refine_out", "out"), remove("out/refined_r0.3.jsonl")), expect='refined_r0.3'),
        Case("refine-check: stats.json missing", "refine-check out",
             prep=steps(copy("refine_out", "out"), remove("out/stats.json")), expect='stats.json'),
        Case("refine-check: refined file lacks a chain", "refine-check out",
             prep=steps(copy("refine_out", "out"),
                        edit("out/refined_r0.3.jsonl", lambda t: "".join(t.splitlines(True)[:-1]))),
                            expect='refined_r0.3.jsonl'),
        Case("refine-check: llamafactory/ missing", "refine-check out",
             prep=steps(copy("refine_out", "out"), remove("out/llamafactory")), expect='llamafactory'),
        Case("refine-check: annotations torn mid-line", "refine-check out",
             prep=steps(copy("refine_out", "out"), edit("out/annotations.jsonl", lambda t: t[: len(t) // 2]))),
        Case("refine-check: run.json a JSON list", "refine-check out",
             prep=steps(copy("refine_out", "out"), write("out/run.json", "[]"))),
        Case("refine-check: run.json ids not a list", "refine-check out",
             prep=steps(copy("refine_out", "out"),
                        edit("out/run.json", lambda t: json.dumps({**json.loads(t), "ids": 5}))), expect='run.json'),
    ]
    # ---- eval
    c += [
        Case("eval: --data missing", EVAL.replace("arith.jsonl", "nope.jsonl")),
        Case("eval: --data a folder", EVAL.replace("arith.jsonl", "d"), prep=mkdir("d")),
        Case("eval: --data empty", EVAL.replace("arith.jsonl", "e.jsonl"), prep=write("e.jsonl", "")),
        Case("eval: --data binary", EVAL.replace("arith.jsonl", "b.jsonl"), prep=write("b.jsonl", BIN)),
        Case("eval: --data without the question field", EVAL.replace("arith.jsonl", "q.jsonl"),
             prep=write("q.jsonl", '{"q": "1+1", "answer": "2"}\n')),
        Case("eval: --data question is a number", EVAL.replace("arith.jsonl", "q.jsonl"),
             prep=write("q.jsonl", '{"question": 7, "answer": "2"}\n')),
        Case("eval: --data answer is a mapping", EVAL.replace("arith.jsonl", "q.jsonl"),
             prep=write("q.jsonl", '{"question": "1+1?", "answer": {"x": 2}}\n')),
        Case("eval: unknown --benchmark", "eval --benchmark nope -o run"),
        Case("eval: gpqa-diamond without --path", "eval --benchmark gpqa-diamond -o run"),
        Case("eval: -n 0", EVAL + " -n 0", prep=write("arith.jsonl", ARITH)),
        Case("eval: --temperature -1", EVAL + " --temperature -1", prep=write("arith.jsonl", ARITH)),
        Case("eval: --top-p 2", EVAL + " --top-p 2", prep=write("arith.jsonl", ARITH)),
        Case("eval: --max-new-tokens 0", EVAL.replace("--max-new-tokens 4", "--max-new-tokens 0"),
             prep=write("arith.jsonl", ARITH)),
        Case("eval: --shard 0/0", EVAL + " --shard 0/0", prep=write("arith.jsonl", ARITH)),
        Case("eval: --config with a tab", EVAL + " --config bad.yaml", prep=steps(write("arith.jsonl", ARITH), tab),
             expect='bad.yaml:2'),
        Case("eval: --config unknown key", EVAL + " --config c.yaml",
             prep=steps(write("arith.jsonl", ARITH), write("c.yaml", "temprature: 0.5\n"))),
        Case("eval: --backend openai without --base-url", EVAL + " --backend openai",
             prep=write("arith.jsonl", ARITH)),
        Case("eval: --base-url unreachable", EVAL.replace("{tiny}", "m") + " --backend openai --base-url "
             "http://127.0.0.1:9/v1", prep=write("arith.jsonl", ARITH)),
        Case("eval: --model folder with config.json only", EVAL.replace("{tiny}", "m"),
             prep=steps(write("arith.jsonl", ARITH), MODEL_CONFIG_ONLY), expect='--model: m'),
        Case("eval: --model folder with an empty config.json", EVAL.replace("{tiny}", "m"),
             prep=steps(write("arith.jsonl", ARITH), MODEL_EMPTY_CONFIG), expect='--model: m'),
        Case("eval: --baseline not a run", EVAL + " --baseline d", prep=steps(write("arith.jsonl", ARITH), mkdir("d"))),
        Case("eval: --baseline results.json of the wrong shape", EVAL + " --baseline b",
             prep=steps(write("arith.jsonl", ARITH), write("b/results.json", NOT_A_RESULTS)), expect='--baseline'),
        Case("eval: -o a file", EVAL.replace("-o run", "-o arith.jsonl"), prep=write("arith.jsonl", ARITH),
             check=file_unchanged("arith.jsonl", ARITH)),
        Case("eval: read-only run folder", EVAL, prep=steps(write("arith.jsonl", ARITH), mkdir("run", 0o555)),
             unprivileged=True),
        Case("eval: rerun with other settings", EVAL.replace("-o run", "-o eval_run").replace("tokens 4", "tokens 9"),
             prep=steps(write("arith.jsonl", ARITH), copy("eval_run", "eval_run"))),
        Case("eval: run.json of the run broken", EVAL.replace("-o run", "-o eval_run"),
             prep=steps(write("arith.jsonl", ARITH), copy("eval_run", "eval_run"), write("eval_run/run.json", "{"))),
        Case("eval: torn last sample (kill -9 mid-write)",
             "eval --data arith.jsonl -o eval_run --model {tiny} -n 2 --max-new-tokens 4 --grade-processes 0 "
             "--device cpu", kind="recover",
             prep=steps(write("arith.jsonl", ARITH), copy("eval_run", "eval_run"),
                        edit("eval_run/arith/samples.jsonl", lambda t: t[: len(t) - 30]),
                            remove("eval_run/results.json")),
             check=eval_complete("eval_run", 4)),
        Case("eval: Ctrl-C while generating, then rerun", LONG_EVAL, kind="interrupt",
             wait_for="run/arith/samples.jsonl", check=eval_complete("run", 16)),
        Case("eval: kill -9 while generating, then rerun", LONG_EVAL, kind="kill",
             wait_for="run/arith/samples.jsonl", check=eval_complete("run", 16)),
        Case("eval: two runs into one folder", LONG_EVAL, kind="parallel", wait_for="run", expect="--output-dir run",
             check=eval_complete("run", 16)),
    ]
    prep, check = unchanged("refine_out")
    c.append(Case("eval: -o another command's folder (refine_out)", EVAL.replace("-o run", "-o refine_out"),
                  prep=steps(write("arith.jsonl", ARITH), prep), check=check))
    # ---- eval grade
    grade = "eval grade {file} --grade-processes 0"
    c += [
        Case("eval grade: missing file", grade.format(file="nope.jsonl")),
        Case("eval grade: a folder", grade.format(file="d"), prep=mkdir("d")),
        Case("eval grade: empty file", grade.format(file="e.jsonl"), prep=write("e.jsonl", "")),
        Case("eval grade: binary file", grade.format(file="b.json"), prep=write("b.json", BIN)),
        Case("eval grade: no response field", grade.format(file="r.jsonl"),
             prep=write("r.jsonl", '{"question_id": "1", "answer": "1"}\n')),
        Case("eval grade: response is a number", grade.format(file="r.jsonl"),
             prep=write("r.jsonl", '{"question_id": "1", "response": 1, "answer": "1"}\n')),
        Case("eval grade: no answer field", grade.format(file="r.jsonl"),
             prep=write("r.jsonl", '{"question_id": "1", "response": "\\\\boxed{1}"}\n')),
        Case("eval grade: one id twice, no sample field", grade.format(file="r.jsonl"),
             prep=write("r.jsonl", DUP_NO_SAMPLE), expect='r.jsonl:2'),
        Case("eval grade: unknown --benchmark", grade.format(file="responses.jsonl") + " --benchmark nope",
             prep=write("responses.jsonl", RESPONSES)),
        Case("eval grade: -o a folder", grade.format(file="responses.jsonl") + " -o d",
             prep=steps(write("responses.jsonl", RESPONSES), mkdir("d"))),
        Case("eval grade: -o in a read-only folder", grade.format(file="responses.jsonl") + " -o ro/g.jsonl",
             prep=steps(write("responses.jsonl", RESPONSES), mkdir("ro", 0o555)), unprivileged=True),
        Case("eval grade: --tokenizer folder with config.json only",
             grade.format(file="responses.jsonl") + " --tokenizer m",
             prep=steps(write("responses.jsonl", RESPONSES), MODEL_CONFIG_ONLY), expect='--tokenizer: m'),
        Case("eval grade: --grade-processes -1", "eval grade responses.jsonl --grade-processes -1",
             prep=write("responses.jsonl", RESPONSES)),
        Case("eval grade: Ctrl-C while grading in worker processes, then rerun",
             "eval grade {F}/many.jsonl --grade-processes 2 -o graded.jsonl", kind="interrupt", delay=5,
             check=lambda cwd, fx, env: None if (cwd / "graded.jsonl").is_file() else "graded.jsonl missing"),
        Case("eval grade: --config with a tab", grade.format(file="responses.jsonl") + " --config bad.yaml",
             prep=steps(write("responses.jsonl", RESPONSES), tab), expect='bad.yaml:2'),
    ]
    # ---- eval merge / compare
    c += [
        Case("eval merge: missing folder", "eval merge nope"),
        Case("eval merge: empty folder", "eval merge d", prep=mkdir("d")),
        Case("eval merge: a file", "eval merge arith.jsonl", prep=write("arith.jsonl", ARITH)),
        Case("eval merge: finished unsharded run", "eval merge eval_run", prep=copy("eval_run", "eval_run")),
        Case("eval merge: shards run with other settings", "eval merge run", expect="max_new_tokens",
             prep=steps(write("arith.jsonl", ARITH), cli(EVAL + " --shard 0/2"),
                        cli(EVAL.replace("tokens 4", "tokens 5") + " --shard 1/2"))),
        Case("eval merge: one shard of two", "eval merge run",
             prep=steps(write("arith.jsonl", ARITH), cli(EVAL + " --shard 0/2")), expect='1-of-2'),
        Case("eval compare: missing folder", "eval compare nope"),
        Case("eval compare: results.json of the wrong shape", "eval compare b", prep=write("b/results.json",
                                                                                          NOT_A_RESULTS),
                                                                                              expect='results.json'),
        Case("eval compare: results.json a JSON list", "eval compare b", prep=write("b/results.json", "[]")),
        Case("eval compare: results.json binary", "eval compare b", prep=write("b/results.json", BIN)),
        Case("eval compare: a refine folder", "eval compare refine_out", prep=copy("refine_out", "refine_out")),
        Case("eval compare: a good run and a wrong-shape one", "eval compare {eval_run} b",
             prep=write("b/results.json", json.dumps({"config": {}, "benchmarks": {}, "overall": {}})),
                 expect='results.json'),
        Case("eval compare: benchmarks of the wrong type", "eval compare {eval_run} b",
             prep=lambda cwd, fx: write("b/results.json", json.dumps(
                 {**json.loads((Path(fx["eval_run"]) / "results.json").read_text()), "benchmarks": []}))(cwd, fx),
                     expect='results.json'),
    ]
    # ---- curate
    cur = "curate {pool} -o out --grade-processes 0"
    c += [
        Case("curate: missing pool", cur.format(pool="nope.jsonl")),
        Case("curate: empty pool", cur.format(pool="e.jsonl"), prep=write("e.jsonl", ""),
             check=absent("out/stats.json"), expect='e.jsonl'),
        Case("curate: the second of two pools empty", "curate traces.jsonl e.jsonl -o out --grade-processes 0",
             prep=steps(TRACES_PREP, write("e.jsonl", "")), check=absent("out/stats.json"), expect="e.jsonl"),
        Case("curate: a folder as pool", cur.format(pool="d"), prep=mkdir("d")),
        Case("curate: binary pool", cur.format(pool="b.jsonl"), prep=write("b.jsonl", BIN)),
        Case("curate: pool record without a question", cur.format(pool="r.jsonl"),
             prep=write("r.jsonl", '{"response": "x</think>y"}\n')),
        Case("curate: --contamination-files missing", cur.format(pool="traces.jsonl") +
             " --contamination-files nope.jsonl", prep=TRACES_PREP, expect='--contamination-files'),
        Case("curate: --contamination-files NAME=missing", cur.format(pool="traces.jsonl") +
             " --contamination-files gpqa-diamond=nope.jsonl", prep=TRACES_PREP, expect='--contamination-files'),
        Case("curate: --contamination-files unknown NAME=", cur.format(pool="traces.jsonl") +
             " --contamination-files nobench=nope.jsonl", prep=TRACES_PREP, expect='--contamination-files'),
        Case("curate: --contamination-files a folder", cur.format(pool="traces.jsonl") +
             " --contamination-files d", prep=steps(TRACES_PREP, mkdir("d")), expect='--contamination-files'),
        Case("curate: --quality-keywords with a tab", cur.format(pool="traces.jsonl") + " --quality-keywords bad.yaml",
             prep=steps(TRACES_PREP, tab), expect='--quality-keywords bad.yaml:2'),
        Case("curate: --quality-keywords missing", cur.format(pool="traces.jsonl") + " --quality-keywords nope.yaml",
             prep=TRACES_PREP),
        Case("curate: --quality-keywords a list", cur.format(pool="traces.jsonl") + " --quality-keywords q.yaml",
             prep=steps(TRACES_PREP, write("q.yaml", "- a\n- b\n"))),
        Case("curate: --quality-fn no such module", cur.format(pool="traces.jsonl") + " --quality-fn nomod:f",
             prep=TRACES_PREP),
        Case("curate: --near-threshold 2", cur.format(pool="traces.jsonl") + " --near-threshold 2", prep=TRACES_PREP),
        Case("curate: --top 0", cur.format(pool="traces.jsonl") + " --top 0", prep=TRACES_PREP),
        Case("curate: --benchmarks nope", cur.format(pool="traces.jsonl") + " --benchmarks nope", prep=TRACES_PREP),
        Case("curate: -o a file", "curate traces.jsonl -o traces.jsonl", prep=TRACES_PREP,
             check=file_unchanged("traces.jsonl", TRACES)),
        Case("curate: --stage1-run not a run", cur.format(pool="traces.jsonl") + " --stage1-run d",
             prep=steps(TRACES_PREP, mkdir("d"))),
        Case("curate: --stage1-model folder with config.json only", cur.format(pool="traces.jsonl") +
             " --stage1-model m --stage1-samples 1 --max-new-tokens 4 --device cpu",
             prep=steps(TRACES_PREP, MODEL_CONFIG_ONLY), expect='--stage1-model'),
        other_folder("curate traces.jsonl -o OUT --grade-processes 0", "eval_run"),
        Case("curate: Ctrl-C while sampling, then rerun", "curate {F}/traces.jsonl -o out --grade-processes 0 "
             "--no-decontaminate --no-verify-chains --stage1-model {tiny} --stage1-samples 4 --max-new-tokens 300 "
             "--batch-size 4 --device cpu", kind="interrupt", wait_for="out/difficulty/stage1/*/samples.jsonl",
             check=absent()),
    ]
    # ---- report
    c += [
        Case("report: missing input", "report nope -o r.html"),
        Case("report: an empty folder", "report d -o r.html", prep=mkdir("d")),
        Case("report: --png is a file", "report {refine_out} -o r.html --png traces.jsonl", prep=TRACES_PREP,
             check=absent("r.html"), expect='--png'),
        Case("report: --png below a file", "report {refine_out} -o r.html --png traces.jsonl/figs", prep=TRACES_PREP,
             check=absent("r.html"), expect='--png'),
        Case("report: --png read-only folder", "report {refine_out} -o r.html --png figs",
             prep=mkdir("figs", 0o555), unprivileged=True, check=absent("r.html"), expect='--png'),
        Case("report: results.json of the wrong shape", "report b -o r.html",
             prep=write("b/results.json", NOT_A_RESULTS), expect='results.json'),
        Case("report: an unreadable run folder (chmod 000)", "report run -o r.html", unprivileged=True,
             prep=steps(copy("eval_run", "run"), chmod("run/arith/graded.jsonl", 0)), expect="graded.jsonl"),
        Case("report: -o not .html", "report {refine_out} -o r.txt"),
        Case("report: -o a folder", "report {refine_out} -o d.html", prep=mkdir("d.html")),
        Case("report: -o in a read-only folder", "report {refine_out} -o ro/r.html", prep=mkdir("ro", 0o555),
             unprivileged=True),
        Case("report: --baseline not an eval run", "report {eval_run} -o r.html --baseline d", prep=mkdir("d")),
        Case("report: refine folder with broken annotations", "report out -o r.html",
             prep=steps(copy("refine_out", "out"), write("out/annotations.jsonl", "{oops\n"))),
        Case("report: --viewer-limit 0", "report {refine_out} -o r.html --viewer-limit 0"),
        Case("report: graded.jsonl of the wrong shape", "report run -o r.html",
             prep=steps(copy("eval_run", "run"), write("run/arith/graded.jsonl", "[1, 2]\n"))),
    ]
    # ---- train sft
    c += [
        Case("train sft: missing data", SFT.replace("{refine_out}/refined_r0.3.jsonl", "nope.jsonl")),
        Case("train sft: empty data", SFT.replace("{refine_out}/refined_r0.3.jsonl", "e.jsonl"),
             prep=write("e.jsonl", "")),
        Case("train sft: data a folder", SFT.replace("{refine_out}/refined_r0.3.jsonl", "d"), prep=mkdir("d")),
        Case("train sft: binary data", SFT.replace("{refine_out}/refined_r0.3.jsonl", "b.jsonl"),
             prep=write("b.jsonl", BIN)),
        Case("train sft: no chain closes its thinking", SFT.replace("{refine_out}/refined_r0.3.jsonl", "u.jsonl"),
             prep=write("u.jsonl", '{"question": "q", "response": "<think>never closed"}\n')),
        Case("train sft: resume with other data", SFT.replace("{refine_out}/refined_r0.3.jsonl", "{F}/long.jsonl")
             .replace("-o sft", "-o sft_out"), prep=copy("sft_out", "sft_out")),
        Case("train sft: read-only output folder", SFT, prep=mkdir("sft", 0o555), unprivileged=True),
        Case("train sft: --lr-scheduler bogus", SFT + " --lr-scheduler bogus", expect='--lr-scheduler'),
        Case("train sft: --recipe nope", SFT + " --recipe nope"),
        Case("train sft: --learning-rate -1", SFT + " --learning-rate -1"),
        Case("train sft: batch not a multiple", SFT + " --global-batch-size 3 --per-device-batch-size 2"),
        Case("train sft: --model folder with config.json only", SFT.replace("{tiny}", "m"), prep=MODEL_CONFIG_ONLY,
             expect='--model: m'),
        Case("train sft: --accelerate-config missing", SFT + " --accelerate-config nope.yaml"),
        Case("train sft: --accelerate-config with a tab", SFT + " --accelerate-config bad.yaml", prep=tab,
             expect='bad.yaml:2'),
        Case("train sft: --config with a tab", SFT + " --config bad.yaml", prep=tab, expect='bad.yaml:2'),
        other_folder(SFT.replace("-o sft", "-o OUT"), "eval_run"),
        other_folder(SFT.replace("-o sft", "-o OUT"), "curate_out"),
        Case("train sft: Ctrl-C while training, then rerun", LONG_SFT, kind="interrupt",
             wait_for="sft/checkpoints/checkpoint-*/*", check=train_finished("sft")),
        Case("train sft: two runs into one folder", LONG_SFT, kind="parallel", wait_for="sft",
             expect="--output-dir sft",
             check=train_finished("sft")),
        Case("train sft: kill -9 while training, then rerun", LONG_SFT, kind="kill",
             wait_for="sft/checkpoints/checkpoint-*/*", check=train_finished("sft")),
    ]
    # ---- train o1-pruner sample / build / fit
    same_run = unchanged("eval_run")
    sample = ("train o1-pruner sample --data arith.jsonl -o s --model {tiny} -n 2 --max-new-tokens 4 "
              "--grade-processes 0 --device cpu")
    c += [
        Case("o1 sample: Ctrl-C while sampling, then rerun", LONG_EVAL.replace("eval ", "train o1-pruner sample ")
             .replace("-o run", "-o s"), kind="interrupt", wait_for="s/arith/samples.jsonl",
             check=eval_complete("s", 16)),
        Case("o1 sample: --data missing", sample.replace("arith.jsonl", "nope.jsonl")),
        Case("o1 sample: -n 1", sample.replace("-n 2", "-n 1"), prep=write("arith.jsonl", ARITH)),
        Case("o1 sample: --model folder with config.json only", sample.replace("{tiny}", "m"),
             prep=steps(write("arith.jsonl", ARITH), MODEL_CONFIG_ONLY), expect='--model: m'),
        Case("o1 sample: --data without answers", sample, prep=write("arith.jsonl", '{"question": "1+1?"}\n')),
        other_folder(sample.replace("-o s", "-o OUT").replace("arith.jsonl", "{F}/arith.jsonl"), "refine_out"),
        Case("o1 build: missing run", "train o1-pruner build nope -o b"),
        Case("o1 build: a refine folder", "train o1-pruner build {refine_out} -o b", expect='refine_out'),
        Case("o1 build: an eval run with -n 1", "train o1-pruner build {eval_run_n1} -o b", expect='n=1'),
        Case("o1 build: --keep 0", "train o1-pruner build {eval_run} -o b --keep 0"),
        Case("o1 build: graded.jsonl broken", "train o1-pruner build run -o b",
             prep=steps(copy("eval_run", "run"), write("run/arith/graded.jsonl", "{oops\n")), expect='graded.jsonl'),
        Case("o1 build: -o the run itself", "train o1-pruner build eval_run -o eval_run", prep=same_run[0],
             check=same_run[1], expect='eval_run'),
        Case("o1 build: a run made in another folder (relative --data)", "train o1-pruner build sub/run -o b",
             kind="ok", prep=steps(write("sub/arith.jsonl", ARITH), cli("eval --data arith.jsonl -o run --model {tiny} "
                                   "-n 2 --max-new-tokens 4 --grade-processes 0 --device cpu", where="sub"))),
        Case("o1 fit: missing data", FIT.replace("{o1_data}/o1_pruner.jsonl", "nope.jsonl")),
        Case("o1 fit: data without an advantage",
             FIT.replace("{o1_data}/o1_pruner.jsonl", "{eval_run}/arith/samples.jsonl")),
        Case("o1 fit: --lr-scheduler bogus", FIT + " --lr-scheduler bogus", expect='--lr-scheduler'),
        Case("o1 fit: --epsilon -1", FIT + " --epsilon -1"),
        Case("o1 fit: --advantage-field nope", FIT + " --advantage-field nope"),
        Case("o1 fit: --model folder with config.json only", FIT.replace("{tiny}", "m"), prep=MODEL_CONFIG_ONLY,
             expect='--model: m'),
    ]
    # ---- usage
    c += [
        Case("usage: unknown command", "refine-all x"),
        Case("usage: unknown option", "eval --nope"),
        Case("usage: --limit not a number", "refine x.jsonl --limit ten"),
    ]
    return c


# ------------------------------------------------------------------------------------------------ judging


@dataclass
class Outcome:
    case: Case
    rc: int
    reason: str | None  # None: meets the standard
    line: str
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def wait_until(cwd: Path, pattern: str, proc: subprocess.Popen, timeout: float = 240) -> bool:
    """Until `pattern` matches a non-empty file or any folder under cwd (no pattern: at once); False when the
    process ended first."""
    if not pattern:
        return proc.poll() is None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.is_dir() or p.stat().st_size > 0 for p in cwd.glob(pattern)):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def finish(proc: subprocess.Popen, timeout: float = 300) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()


def logs(cwd: Path, log: str) -> tuple[str, str]:
    return ((cwd / f".{log}.out").read_text(errors="replace"), (cwd / f".{log}.err").read_text(errors="replace"))


def run_case(case: Case, cwd: Path, fx: Fixtures, env: Env) -> Outcome:
    args = shlex.split(case.args.format_map(fx))
    if case.prep:
        case.prep(cwd, fx)
    if case.kind in ("error", "recover", "safe", "ok"):
        proc = env.run(args, cwd, case.timeout, case.unprivileged)
        if case.kind == "error" or (case.kind == "safe" and proc.returncode != 0):
            reason = error_verdict(proc.returncode, proc.stdout, proc.stderr)
            if reason is None and case.expect and case.expect not in first_line(proc.stderr):
                reason = f"the error line does not name {case.expect!r}"
        else:
            reason = None if proc.returncode == 0 else f"exit {proc.returncode}, expected 0"
        if reason is None and case.check:
            reason = case.check(cwd, fx, env)
        return Outcome(case, proc.returncode, reason, first_line(proc.stderr))
    if case.kind in ("interrupt", "kill"):
        proc = env.start(args, cwd, "first")
        if not wait_until(cwd, case.wait_for, proc):
            rc = finish(proc)
            return Outcome(case, rc, f"ended ({rc}) before it was interrupted", first_line(logs(cwd, "first")[1]))
        time.sleep(case.delay)
        if proc.poll() is not None:
            rc = finish(proc)
            return Outcome(case, rc, f"ended ({rc}) before it was interrupted", first_line(logs(cwd, "first")[1]))
        os.killpg(proc.pid, signal.SIGINT if case.kind == "interrupt" else signal.SIGKILL)
        rc = finish(proc, 120)
        out, err = logs(cwd, "first")
        line = first_line(err)
        reason = None
        if case.kind == "interrupt":
            last = (stderr_lines(err) or [""])[-1]
            if "Traceback" in out + err:
                reason = "traceback on Ctrl-C"
            elif rc != 130:
                reason = f"exit {rc} on Ctrl-C, expected 130"
            elif not last.startswith(INTERRUPTED):
                reason = f"last line on Ctrl-C is {last[:60]!r}" if last else "nothing said on Ctrl-C"
        again = env.run(args, cwd, 600)
        if reason is None and again.returncode != 0:
            reason = f"the rerun exited {again.returncode}: {first_line(again.stderr)}"
        if reason is None and case.check:
            reason = case.check(cwd, fx, env)
        return Outcome(case, rc, reason, line)
    if case.kind == "parallel":
        first = env.start(args, cwd, "first")
        if not wait_until(cwd, case.wait_for, first):
            rc = finish(first)
            return Outcome(case, rc, f"the first run ended ({rc}) before the second started", "")
        second = env.start(shlex.split((case.args2 or case.args).format_map(fx)), cwd, "second")
        rc2 = finish(second, 600)
        overlapped = first.poll() is None
        rc1 = finish(first, 600)
        (o1, e1), (o2, e2) = logs(cwd, "first"), logs(cwd, "second")
        refused = [(o, e) for rc, o, e in ((rc1, o1, e1), (rc2, o2, e2)) if rc != 0]
        line = first_line(refused[0][1]) if refused else ""
        if sorted((rc1, rc2)) != [0, 2]:
            reason = f"exits {rc1} and {rc2}, expected one 0 and one 2" + ("" if overlapped else
                                                                           " (the first ended before the second)")
        else:
            reason = error_verdict(2, *refused[0])
            if reason is None and case.expect and case.expect not in line:
                reason = f"the refusal does not name {case.expect!r}"
        if reason is None and case.check:
            reason = case.check(cwd, fx, env)
        return Outcome(case, rc2, reason, line)
    raise ValueError(case.kind)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:60]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", help="source folder to test (PYTHONPATH); default: the installed thinktrim")
    parser.add_argument("--only", help="run only the cases whose name contains this text (case-insensitive)")
    parser.add_argument("--keep", action="store_true", help="keep the case folders (printed at the end)")
    args = parser.parse_args()
    env = Env(args.src)
    where = subprocess.run([sys.executable, "-c", "import thinktrim; print(thinktrim.__file__)"], env=env.environ(),
                           capture_output=True, text=True, check=True).stdout.strip()
    if args.src and not Path(where).resolve().is_relative_to(Path(args.src).resolve()):
        sys.exit(f"--src {args.src}: thinktrim still imports from {where}")
    print(f"thinktrim under test: {where}")
    CACHE.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bad-inputs-"))
    fx = Fixtures(root / "fixtures", env)
    selected = [c for c in cases() if not args.only or args.only.lower() in c.name.lower()]
    outcomes: list[Outcome] = []
    start = time.monotonic()
    for i, case in enumerate(selected):
        cwd = root / "cases" / f"{i:03d}-{slug(case.name)}"
        cwd.mkdir(parents=True)
        t0 = time.monotonic()
        try:
            outcome = run_case(case, cwd, fx, env)
        except Exception as e:  # a fixture or preparation that failed: the case cannot be judged
            outcome = Outcome(case, -1, f"could not run: {' '.join(str(e).split())[:160]}", "")
        outcome.seconds = time.monotonic() - t0
        outcomes.append(outcome)
        verdict = "MEETS" if outcome.reason is None else "FAILS"
        print(f"{i + 1:3d} {verdict:5s} rc={outcome.rc:<4d} {outcome.seconds:5.1f}s  {case.name}", flush=True)
        if outcome.reason:
            print(f"          why: {outcome.reason}", flush=True)
        print(f"          stderr: {outcome.line[:160]}", flush=True)
        for p in cwd.rglob("*"):  # let the next sweep (and rm) clean up what the read-only cases made
            if p.is_dir():
                p.chmod(0o755)
    met = sum(o.reason is None for o in outcomes)
    print()
    print(f"{'case':62s} {'rc':>4s}  {'verdict':7s} first stderr line")
    for o in outcomes:
        print(f"{o.case.name[:62]:62s} {o.rc:4d}  {'MEETS' if o.reason is None else 'FAILS':7s} {o.line[:110]}")
    print()
    failing = [o for o in outcomes if o.reason is not None]
    if failing:
        print("Failing:")
        for o in failing:
            print(f"  {o.case.name}: {o.reason}")
        print()
    print(f"{met} of {len(outcomes)} meet the standard ({time.monotonic() - start:.0f} s)")
    if args.keep:
        print(f"case folders: {root / 'cases'}")
    else:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
