"""The README's YAML examples load in the config of the command they are written for."""

import re
from pathlib import Path

import pytest
import yaml

from thinktrim.config import Config

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
FOR_COMMAND = re.compile(r"^# \S+ — thinktrim ([a-z0-9 -]+?) --config")


def config_class(command: str) -> type[Config]:
    from thinktrim.curate.config import CurateConfig
    from thinktrim.evaluate.config import EvalConfig
    from thinktrim.refine.config import RefineConfig
    from thinktrim.report.config import ReportConfig
    from thinktrim.train.config import TrainConfig
    from thinktrim.train.o1_pruner.config import BuildConfig, FitConfig, SampleConfig

    classes = {"refine": RefineConfig, "eval": EvalConfig, "report": ReportConfig, "curate": CurateConfig,
               "train sft": TrainConfig, "train o1-pruner sample": SampleConfig,
               "train o1-pruner build": BuildConfig, "train o1-pruner fit": FitConfig}
    assert command in classes, f"a README YAML block for `thinktrim {command}`: add its config class here"
    return classes[command]


def yaml_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def test_the_readme_has_yaml_examples_for_refine_and_eval() -> None:
    commands = [m.group(1) for m in (FOR_COMMAND.match(b) for b in yaml_blocks()) if m]
    assert {"refine", "eval"} <= set(commands), commands


@pytest.mark.parametrize("block", yaml_blocks(), ids=lambda b: b.splitlines()[0][:40])
def test_readme_yaml_loads(block: str) -> None:
    match = FOR_COMMAND.match(block)
    assert match, f"a README YAML block must start with '# FILE.yaml — thinktrim COMMAND --config': {block[:80]!r}"
    data = yaml.safe_load(block)
    config = config_class(match.group(1)).from_mapping(data, source="README.md")
    settings = config.to_dict()
    names = set(settings) | {k for v in settings.values() if isinstance(v, dict) for k in v}
    for name, value in data.items():  # every setting written reached the config (flat or nested)
        assert name.replace("-", "_") in names or isinstance(value, dict), name
