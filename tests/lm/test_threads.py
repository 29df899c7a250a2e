"""Shared cores: the CLI makes torch's idle OpenMP threads sleep (unless the user chose), and --threads applies.

The wait policy is read by the OpenMP runtime itself (OMP_DISPLAY_ENV=VERBOSE makes it print what it took), in
fresh processes: it only counts if it is set before torch is first imported.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from thinktrim.evaluate.config import EvalConfig
from thinktrim.lm.threads import use_threads
from thinktrim.refine.config import RefineConfig

SRC = Path(__file__).resolve().parents[2] / "src"


def _python(code: str, policy: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(OMP_DISPLAY_ENV="VERBOSE", PYTHONPATH=str(SRC))
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                          timeout=120)


def _runtime_settings(stderr: str) -> dict[str, str]:
    """What the OpenMP runtime says it took (`  NAME = 'value'` lines); {} if it prints nothing."""
    return dict(re.findall(r"^\s*(OMP_WAIT_POLICY|GOMP_SPINCOUNT)\s*=\s*'([^']*)'", stderr, re.M))


IMPORT_ORDER = ("import os, sys; import thinktrim.cli; "
                "print('torch' in sys.modules, os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))")
# The console script's path: `thinktrim refine …` whose run loads torch (threads) and then fails on the input.
CLI_RUN = "import sys; from thinktrim.cli import main; main(sys.argv[1:])"


def test_the_cli_sets_passive_wait_before_torch_is_imported(tmp_path: Path) -> None:
    run = _python(IMPORT_ORDER, None)
    assert run.stdout.split() == ["False", "PASSIVE", "3000"], run.stderr
    run = _python(CLI_RUN, None, "refine", str(tmp_path / "missing.jsonl"), "--threads", "1")
    assert run.returncode == 2 and "error:" in run.stderr and "missing.jsonl" in run.stderr, run.stderr
    seen = _runtime_settings(run.stderr)
    if not seen:
        pytest.skip("torch's OpenMP runtime does not report its settings (OMP_DISPLAY_ENV)")
    assert seen["OMP_WAIT_POLICY"] == "PASSIVE"
    if "GOMP_SPINCOUNT" in seen:  # GNU OpenMP: a short spin (PASSIVE alone would be 0, the default 300000)
        assert seen["GOMP_SPINCOUNT"] == "3000"


def test_the_cli_leaves_the_users_wait_policy_alone(tmp_path: Path) -> None:
    assert _python(IMPORT_ORDER, "active").stdout.split() == ["False", "active", "None"]
    run = _python(CLI_RUN, "active", "refine", str(tmp_path / "missing.jsonl"))
    assert run.returncode == 2, run.stderr
    seen = _runtime_settings(run.stderr)
    if not seen:
        pytest.skip("torch's OpenMP runtime does not report its settings (OMP_DISPLAY_ENV)")
    assert seen["OMP_WAIT_POLICY"] == "ACTIVE"
    if "GOMP_SPINCOUNT" in seen:
        assert int(seen["GOMP_SPINCOUNT"]) > 0


def test_without_the_cli_nothing_changes() -> None:
    """A library import leaves the process environment as it found it (README: Configuration)."""
    run = _python("import os, thinktrim.lm.load, thinktrim.evaluate.run; print(os.environ.get('OMP_WAIT_POLICY'))",
                  None)
    assert run.stdout.split() == ["None"], run.stderr


def test_threads_is_one_setting_of_every_model_command() -> None:
    from thinktrim.curate.config import CurateConfig
    from thinktrim.lm.parallel import WORKER_THREADS_HELP
    from thinktrim.train.config import ModelSettings
    from thinktrim.train.o1_pruner.config import SampleConfig

    helps = {cls.__name__: cls.help_of("threads")
             for cls in (RefineConfig, EvalConfig, ModelSettings, CurateConfig, SampleConfig)}
    base = helps["ModelSettings"]
    assert helps["CurateConfig"] == helps["SampleConfig"] == base, helps
    # the commands with Ray workers say what the count means there, after the same text
    assert helps["RefineConfig"] == helps["EvalConfig"] == f"{base} {WORKER_THREADS_HELP}", helps
    assert RefineConfig(input="x.jsonl").threads is None
    with pytest.raises(ValueError, match="threads: must be >= 1, got 0"):
        RefineConfig(input="x.jsonl", threads=0)


def test_use_threads_sets_torchs_count() -> None:
    import torch

    before = torch.get_num_threads()
    try:
        assert use_threads(1) == 1 == torch.get_num_threads()
        assert use_threads(None) == 1  # None keeps what is set
        with pytest.raises(ValueError, match="threads: must be >= 1"):
            use_threads(0)
    finally:
        torch.set_num_threads(before)
