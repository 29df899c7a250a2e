"""Every config dataclass checks its settings in one place: built from Python, from a YAML file or from the command
line, a wrong type or a value out of range gets the same one-line error naming the setting."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import yaml
from typer.testing import CliRunner

import thinktrim
from thinktrim.cli import app
from thinktrim.config import Config, ConfigError, _all_settings, _strip_optional

HERE = Path(__file__).parent


def all_configs() -> list[type]:
    for module in pkgutil.walk_packages(thinktrim.__path__, "thinktrim."):
        importlib.import_module(module.name)
    found, todo = [], list(Config.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return sorted({c for c in found if c.__module__.startswith("thinktrim.")}, key=lambda c: c.__qualname__)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("inputs")
    pool = root / "pool.jsonl"
    pool.write_text(json.dumps({"question": "1+1?", "answer": "2"}) + "\n")
    run = root / "eval-run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"model": "embedded", "benchmarks": ["gsm8k"], "generation": {}}))
    return {"pool": str(pool), "run": str(run), "root": str(root)}


def base_settings(cls: type, files: dict[str, str]) -> dict[str, Any]:
    """The least a config needs to be valid (its required arguments)."""
    name = cls.__name__
    return {
        "RefineConfig": {"input": files["pool"]},
        "RefineMergeConfig": {"output_dir": files["root"]},
        "EvalConfig": {"data": files["pool"]},
        "GradeConfig": {"file": files["pool"]},
        "CompareConfig": {"runs": [files["run"]]},
        "EvalMergeConfig": {"output_dir": files["root"]},
        "CurateConfig": {"pools": [files["pool"]]},
        "TrainConfig": {"data": [files["pool"]]},
        "SampleConfig": {"data": files["pool"]},
        "BuildConfig": {"run": files["run"]},
        "FitConfig": {"data": [files["pool"]]},
        "ReportConfig": {"inputs": [files["run"]]},
    }.get(name, {})


# The command whose options carry each config's settings (nested configs through the command that nests them).
COMMANDS = {
    "RefineConfig": ["refine"], "RefineMergeConfig": ["refine-merge"], "EvalConfig": ["eval"],
    "GradeConfig": ["eval", "grade"], "CompareConfig": ["eval", "compare"], "EvalMergeConfig": ["eval", "merge"],
    "CurateConfig": ["curate"], "TrainConfig": ["train", "sft"], "SampleConfig": ["train", "o1-pruner", "sample"],
    "BuildConfig": ["train", "o1-pruner", "build"], "FitConfig": ["train", "o1-pruner", "fit"],
    "ReportConfig": ["report"],
    "GenerationConfig": ["eval"], "ExtractionPolicy": ["eval"], "ParallelConfig": ["refine"],
    "InputConfig": ["refine"], "SegmentConfig": ["refine"], "ClassifyConfig": ["refine"], "JudgeConfig": ["refine"],
    "ModelRunSettings": ["curate"], "ModelSettings": ["train", "sft"], "OptimSettings": ["train", "sft"],
    "O1OptimSettings": ["train", "o1-pruner", "fit"],
}
PREFIX = {"JudgeConfig": "judge_"}
HOST = {"GenerationConfig": "EvalConfig", "ExtractionPolicy": "EvalConfig", "ParallelConfig": "RefineConfig",
        "InputConfig": "RefineConfig", "SegmentConfig": "RefineConfig", "ClassifyConfig": "RefineConfig",
        "JudgeConfig": "RefineConfig", "ModelSettings": "TrainConfig", "OptimSettings": "TrainConfig",
        "O1OptimSettings": "FitConfig", "ModelRunSettings": "CurateConfig"}
OWN_REQUIRED = {"JudgeConfig": {"url": "http://127.0.0.1:9/v1", "model": "m"}}


def bad_values(cls: type) -> list[tuple[str, Any, str]]:
    """(setting, value, why) for a wrong type and an out-of-range value of `cls`'s own settings."""
    hints = typing.get_type_hints(cls)
    out: list[tuple[str, Any, str]] = []
    fields = [f for f in dataclasses.fields(cls) if f.init and f.metadata.get("cli", True)
              and not f.metadata.get("argument")]
    for f in fields:
        tp, _ = _strip_optional(hints[f.name])
        if tp in (int, float):
            out.append((f.name, "ten", "type"))
            break
        if tp is bool:
            out.append((f.name, "maybe", "type"))
            break
    for f in fields:
        tp, _ = _strip_optional(hints[f.name])
        if tp in (int, float) and ("min" in f.metadata or "above" in f.metadata):
            low = f.metadata.get("min", f.metadata.get("above"))
            out.append((f.name, low - 1, "range"))
            break
        if get_origin(tp) is Literal:
            out.append((f.name, "bogus", "range"))
            break
    return out


CASES = [(cls, *bad) for cls in all_configs() for bad in bad_values(cls)]


def test_every_config_is_covered() -> None:
    configs = all_configs()
    assert len(configs) >= 20
    for cls in configs:
        assert cls.__name__ in COMMANDS, f"{cls.__name__}: add it to COMMANDS"
        kinds = {why for c, _, _, why in CASES if c is cls}
        typed = any(_strip_optional(tp)[0] in (int, float, bool) for _, _, tp in _all_settings(cls))
        assert "type" in kinds or not typed, f"{cls.__name__}: no setting to give a wrong type"
        assert "range" in kinds or cls.__name__ in ("ExtractionPolicy", "CompareConfig", "EvalMergeConfig",
                                                     "RefineMergeConfig", "ModelSettings") or \
            any(f.metadata.get("check") for f in dataclasses.fields(cls)), f"{cls.__name__}: nothing out of range"


@pytest.mark.parametrize(("cls", "name", "value", "why"), CASES,
                         ids=[f"{c.__name__}.{n}-{w}" for c, n, _, w in CASES])
def test_same_one_line_error_from_python_yaml_and_cli(cls, name, value, why, files, tmp_path) -> None:
    setting = PREFIX.get(cls.__name__, "") + name
    host = next(c for c in all_configs() if c.__name__ == HOST.get(cls.__name__, cls.__name__))
    base = base_settings(host, files)
    if cls.__name__ == "JudgeConfig":  # an optional part: its other required settings given
        base = {**base, "judge_url": "http://127.0.0.1:9/v1", "judge_model": "m"}

    # Python: the config itself (a nested one on its own, with its own name for the setting)
    with pytest.raises(ConfigError) as direct:
        cls(**{**(base if host is cls else OWN_REQUIRED.get(cls.__name__, {})), name: value})
    assert direct.value.setting == name and "\n" not in str(direct.value)
    message = direct.value.message
    assert str(direct.value) == f"{name}: {message}"
    # Python, through the command's config with flat settings
    with pytest.raises(ConfigError) as flat:
        host(**{**base, setting: value})
    assert str(flat.value) == f"{setting}: {message}"

    # YAML
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({**base, setting: value}))
    with pytest.raises(ConfigError) as from_yaml:
        host.from_yaml(path)
    assert str(from_yaml.value) == f"{path}: {setting}: {message}"

    # the command line: one line, the option's flag, the same message (a flag of its own, true or false, cannot
    # be given a wrong type there)
    if _strip_optional(typing.get_type_hints(cls)[name])[0] is bool:
        return
    flag = next(f.metadata.get("flag", "--" + s.replace("_", "-")) for s, f, _ in _all_settings(host) if s == setting)
    args = [*COMMANDS[cls.__name__]]
    for key, v in base.items():
        arg = next(f for s, f, _ in _all_settings(host) if s == key)
        if arg.metadata.get("argument"):
            args += list(v) if isinstance(v, list) else [v]
        else:
            args += ["--" + key.replace("_", "-"), str(v)]
    result = CliRunner().invoke(app, [*args, flag, str(value)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [f"error: {flag}: {message}"]


def test_setting_name_is_data_not_parsed() -> None:
    """A check's message may start with anything: the setting comes from the field, not from the text."""
    from thinktrim.lm.generation.types import GenerationConfig

    with pytest.raises(ConfigError) as e:
        GenerationConfig(temperature=-1)
    assert (e.value.setting, e.value.message) == ("temperature", "must be a finite number >= 0, got -1.0")


def test_old_names_still_work_with_a_warning(tmp_path) -> None:
    from thinktrim.evaluate.config import EvalConfig
    from thinktrim.refine.config import RefineConfig

    with pytest.warns(FutureWarning, match="dtype is now called precision"):
        assert RefineConfig(input="x.jsonl", dtype="float32").precision == "fp32"
    path = tmp_path / "old.yaml"
    path.write_text("benchmarks: [gsm8k]\ndtype: bfloat16\n")
    with pytest.warns(FutureWarning, match=f"{path}: dtype is now called precision"):
        assert EvalConfig.from_yaml(path).precision == "bf16"
    data = tmp_path / "d.jsonl"
    data.write_text('{"question": "q", "answer": "1"}\n')
    result = CliRunner().invoke(app, ["eval", "--data", str(data), "--output", str(tmp_path / "x"), "--limit", "0"])
    assert result.stderr.strip().splitlines() == [
        "warning: --output is now called --output-dir; the old name goes in the next release",
        "error: --limit: must be >= 1, got 0"]


def test_literals_list_their_choices() -> None:
    from thinktrim.data.inputs import InputConfig

    with pytest.raises(ConfigError, match=r"file_format: 'xml' is not one of auto, jsonl, json, parquet"):
        InputConfig(file_format="xml")
    assert get_args(typing.get_type_hints(InputConfig)["on_error"]) == ("raise", "skip")
