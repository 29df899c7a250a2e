"""The Python API (`import thinktrim`): each command's function end to end on the embedded model, returning what
it wrote; and importing the package stays light."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import thinktrim
from thinktrim.refine.verify import check_refined  # binds the subpackage `thinktrim.refine` before any call

SAMPLE = Path(thinktrim.__file__).parent / "data" / "samples" / "thought_anchors_sample.jsonl"


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def as_json(value: dict) -> dict:
    """`value` as it reads back from a JSON file (tuples become lists)."""
    return json.loads(json.dumps(value))


@pytest.mark.slow
def test_refine_from_python(tmp_path: Path) -> None:
    out = tmp_path / "refined"
    run = thinktrim.refine(thinktrim.RefineConfig(input=str(SAMPLE), output_dir=str(out), ratios=(0.5,), limit=1))
    assert isinstance(run, thinktrim.RefineResult)
    assert run.output_dir == out and run.scored_into == out and run.shard is None
    assert run.stats == read_json(out / "stats.json")
    assert run.files == {"r0.5": out / "refined_r0.5.jsonl"}
    assert len(jsonl_rows(run.files["r0.5"])) == 1 and len(jsonl_rows(out / "annotations.jsonl")) == 1
    assert run.stats["chains"] == 1 and sum(run.stats["status"].values()) == 1
    assert all((out / name).is_file() for name in run.stats["outputs"])
    assert check_refined(out) == []  # the refined chain is its steps minus whole functional units
    # The subpackage stays a package: its modules are still reachable as attributes.
    assert thinktrim.refine.verify.check_refined is check_refined


@pytest.mark.slow
def test_evaluate_from_python(tmp_path: Path) -> None:
    out = tmp_path / "eval"
    cfg = thinktrim.EvalConfig(benchmarks=("gsm8k",), limit=1, output_dir=str(out), device="cpu", grade_processes=0,
                               generation=thinktrim.GenerationConfig(n=1, max_new_tokens=16))
    results = thinktrim.evaluate(cfg)
    assert as_json(results) == read_json(out / "results.json")
    samples = jsonl_rows(out / "gsm8k" / "samples.jsonl")
    assert len(samples) == 1 and 1 <= samples[0]["tokens"] <= 16
    bench = results["benchmarks"]["gsm8k"]
    assert (bench["questions"], bench["samples"]) == (1, 1)
    assert bench["metrics"]["tokens:mean"] == samples[0]["tokens"]
    assert len(jsonl_rows(out / "gsm8k" / "graded.jsonl")) == 1


def test_every_public_name_resolves() -> None:
    for name in thinktrim.__all__:
        assert getattr(thinktrim, name) is not None, name
    for command in (thinktrim.refine, thinktrim.evaluate, thinktrim.curate, thinktrim.train_sft,
                    thinktrim.o1_pruner_sample, thinktrim.o1_pruner_build, thinktrim.o1_pruner_fit):
        assert callable(command)
    assert set(thinktrim.__all__) <= set(dir(thinktrim))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        thinktrim.nope  # noqa: B018


def test_import_and_configs_do_not_load_torch() -> None:
    code = ("import sys, thinktrim; assert 'torch' not in sys.modules, 'import thinktrim'; "
            "[getattr(thinktrim, n) for n in ('RefineConfig', 'EvalConfig', 'GenerationConfig', 'CurateConfig', "
            "'TrainConfig', 'SampleConfig', 'BuildConfig', 'FitConfig', 'refine', 'evaluate', 'curate')]; "
            "assert 'torch' not in sys.modules, 'the config classes'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_readme_example_uses_public_names() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    code = "".join(re.findall(r"```python\n(.*?)```", section, re.S))
    used = set(re.findall(r"\bthinktrim\.(\w+)", code))
    assert {"refine", "evaluate", "RefineConfig", "EvalConfig"} <= used <= set(thinktrim.__all__)
    listed = set(re.findall(r"^\| `(\w+)` \| `(\w+)` \|", section, re.M))
    parts = {"RefineResult", "GenerationConfig", "InputConfig", "JudgeConfig", "UserError", "ConfigError"}
    assert {name for pair in listed for name in pair} == set(thinktrim.__all__) - {"__version__", *parts}
    assert all(f"`{name}`" in section for name in parts)
