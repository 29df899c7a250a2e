"""The one path from a config dataclass to a command: options, YAML, type checks, errors."""

from dataclasses import dataclass, field
from typing import Literal

import pytest
import typer
from typer.testing import CliRunner

from thinktrim.config import Config, ConfigError, command, field_help, from_mapping, to_dict


@dataclass
class Sampling(Config):
    temperature: float = field(default=0.7, metadata={"help": "Sampling temperature."})
    stop: tuple[str, ...] = field(default=(), metadata={"help": "Stop strings."})


@dataclass
class Demo(Config):
    """Demo command.

    Second paragraph, not shown as the command's help."""

    inputs: tuple[str, ...] = field(default=(), metadata={"help": "Input files.", "argument": True})
    output_dir: str = field(default="out", metadata={"help": "Output folder.", "short": "-o"})
    ratios: tuple[float, ...] = field(default=(0.2, 0.3), metadata={"help": "Ratios."})
    scope: Literal["chain", "dataset"] = field(default="chain", metadata={"help": "Scope."})
    limit: int | None = field(default=None, metadata={"help": "Limit.", "min": 1})
    workers: int | None = field(default=None, metadata={"help": "Workers.", "min": 1})
    skip: bool = field(default=False, metadata={"help": "Skip bad records."})
    file_format: str = field(default="auto", metadata={"help": "File format.", "flag": "--format"})
    secret: str = field(default="x", metadata={"help": "YAML only.", "cli": False})
    sampling: Sampling = field(default_factory=Sampling, metadata={"help": "Sampling."})


def run_cli(*args: str) -> tuple[int, str, Demo | None]:
    seen: list[Demo] = []
    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("demo")(command(Demo, seen.append))
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["demo", *args])
    return result.exit_code, result.output, (seen[0] if seen else None)


def test_options_come_from_the_fields() -> None:
    code, out, cfg = run_cli("a.jsonl", "b.jsonl", "-o", "res", "--ratios", "0.5,0.1", "--limit", "3", "--skip",
                             "--format", "json", "--temperature", "0.1", "--scope", "dataset")
    assert code == 0, out
    assert cfg == Demo(inputs=("a.jsonl", "b.jsonl"), output_dir="res", ratios=(0.5, 0.1), scope="dataset", limit=3,
                       skip=True, file_format="json", sampling=Sampling(temperature=0.1))


def test_help_shows_defaults_and_help_texts_once() -> None:
    code, out, _ = run_cli("--help")
    assert code == 0
    for text in ("Demo command.", "Output folder.", "0.2,0.3", "--format", "--temperature", "--no-skip", "--config"):
        assert text in out, text
    assert "Second paragraph" not in out and "--secret" not in out


def test_yaml_under_command_line(tmp_path) -> None:
    f = tmp_path / "demo.yaml"
    f.write_text("ratios: [0.9]\nscope: dataset\nsampling: {temperature: 0.3}\nlimit: 5\nsecret: y\n")
    code, out, cfg = run_cli("a.jsonl", "--config", str(f), "--limit", "2")
    assert code == 0, out
    assert cfg.ratios == (0.9,) and cfg.scope == "dataset" and cfg.limit == 2 and cfg.secret == "y"
    assert cfg.sampling.temperature == 0.3
    f.write_text("temperature: 0.4\nstop: [END]\n")  # nested settings may be written flat
    assert run_cli("a.jsonl", "--config", str(f))[2].sampling == Sampling(temperature=0.4, stop=("END",))


@pytest.mark.parametrize(
    ("args", "yaml_text", "message"),
    [
        (["--limit", "0"], None, "error: --limit: must be >= 1, got 0"),
        (["--workers", "0"], None, "error: --workers: must be >= 1, got 0"),
        ([], "workers: -2\n", "bad.yaml: workers: must be >= 1, got -2"),
        (["--ratios", "0.1,b"], None, "error: --ratios: expected numbers (a list, or comma-separated), got '0.1,b'"),
        ([], "ratio: [0.9]\n", "unknown settings ['ratio']"),
        ([], "limit: many\n", "limit: expected an integer, got 'many'"),
        ([], "scope: global\n", "scope: 'global' is not one of chain, dataset"),
        ([], "- a\n- b\n", "expected a mapping of settings, got list"),
        ([], "ratios: [0.2\n", "invalid YAML"),
        ([], "sampling: 3\n", "sampling: expected a mapping of Sampling settings"),
    ],
)
def test_bad_settings_are_one_line(tmp_path, args, yaml_text, message) -> None:
    if yaml_text is not None:
        f = tmp_path / "bad.yaml"
        f.write_text(yaml_text)
        args = [*args, "--config", str(f)]
    code, out, cfg = run_cli("a.jsonl", *args)
    assert code == 2 and cfg is None
    assert message in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1, out


def test_arguments_may_come_from_the_file(tmp_path) -> None:
    f = tmp_path / "demo.yaml"
    f.write_text("inputs: [a.jsonl, b.jsonl]\n")
    assert run_cli("--config", str(f))[2].inputs == ("a.jsonl", "b.jsonl")
    code, out, cfg = run_cli()
    assert code == 2 and cfg is None and "error: missing argument INPUTS" in out


def test_from_mapping_and_to_dict_round_trip() -> None:
    cfg = Demo(inputs=("a",), ratios=(0.5,), sampling=Sampling(stop=("x",)))
    data = to_dict(cfg)
    assert data["ratios"] == [0.5] and data["sampling"] == {"temperature": 0.7, "stop": ["x"]}
    assert from_mapping(Demo, data) == cfg
    assert Demo.from_mapping({"output-dir": "o"}).output_dir == "o"
    with pytest.raises(ConfigError, match=r"run\.json: limit: must be >= 1"):
        from_mapping(Demo, {"limit": 0}, "run.json")


def test_field_help_reaches_nested_fields() -> None:
    assert field_help(Demo, "scope") == "Scope." and Demo.help_of("temperature") == "Sampling temperature."
    with pytest.raises(KeyError):
        field_help(Demo, "nope")
