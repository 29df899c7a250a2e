import pytest

from thinktrim.config import ConfigError as SettingError
from thinktrim.refine.config import RefineConfig


def test_defaults_and_normalisation() -> None:
    cfg = RefineConfig(input="x.jsonl", ratios=(0.5, 0.2, 0.2))
    assert cfg.ratios == (0.2, 0.5) and cfg.scorer == "engine" and cfg.overlong == "skip"
    assert RefineConfig(input="x.jsonl", ratios="0.5, 0.2").ratios == (0.2, 0.5)  # as typed on the command line
    judged = RefineConfig.from_mapping({"input": "x.jsonl", "ratios": 0.3, "judge_url": "http://h/v1",
                                        "judge_model": "m",
                                        "judge_timeout": 5})
    assert judged.judge.timeout == 5.0 and RefineConfig(input="x.jsonl").judge is None
    assert cfg.dataset_name == "x"
    assert "Algorithm 1" in RefineConfig.help_of("scope") and "judge of step kinds" in RefineConfig.help_of("judge_url")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scope": "global"}, "scope: 'global' is not one of chain, dataset"),
        ({"ratios": (0.0,)}, "ratios"),
        ({"ratios": (1.5,)}, "ratios"),
        ({"overlong": "truncate"}, "overlong"),
        ({"answer_target": "final"}, "answer_target"),
        ({"limit": 0}, "limit"),
        ({"judge_url": "http://127.0.0.1:1"}, "judge_model"),
        ({"judge_url": "127.0.0.1:1", "judge_model": "m"}, "judge_url: expected an http"),
        ({"limit": "ten"}, "limit: expected an integer, got 'ten'"),
        ({"limit": True}, "limit: expected an integer"),
        ({"ratios": "0.2,x"}, "ratios: expected numbers"),
        ({"ratios": [0.2, None]}, "ratios: expected numbers"),
        ({"ratios": float("nan")}, r"ratios: must be in \(0, 1\], got nan"),
        ({"whole_response_as_thinking": "yes"}, "whole_response_as_thinking: expected true or false"),
        ({"target_sentences": 0}, "target_sentences: must be >= 1"),
        ({"device": "gpu"}, "device: 'gpu' is not a device"),
        ({"precision": "float8"}, "precision: 'float8' is not one of"),
        ({"dtype": "float8"}, "precision: 'float8' is not one of"),  # the old name, for one release
        ({"target_sentences": 5, "max_sentences": 2}, r"max_sentences: must be >= target_sentences \(5\), got 2"),
        ({"markers": "missing.yaml"}, "markers: missing.yaml: no such file"),
        ({"layout": "q=question"}, "layout: 'q=question' is not ROLE=FIELD"),
        ({"model": " "}, "model: must not be empty"),
    ],
)
def test_bad_settings_name_the_setting(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        RefineConfig.from_mapping({"input": "x.jsonl", **kwargs})


def test_yaml_config_with_overrides(tmp_path) -> None:
    f = tmp_path / "refine.yaml"
    f.write_text("input: data.jsonl\nratios: [0.3, 0.8]\nscope: dataset\n")
    cfg = RefineConfig.from_yaml(f, scope="chain")
    assert cfg.ratios == (0.3, 0.8) and cfg.scope == "chain" and cfg.input == "data.jsonl"
    f.write_text("input: data.jsonl\nratio: 0.3\n")
    with pytest.raises(ValueError, match=r"refine\.yaml: unknown settings \['ratio'\]"):
        RefineConfig.from_yaml(f)
    f.write_text("input: data.jsonl\nscope: [chain]\n")
    with pytest.raises(SettingError, match=r"refine\.yaml: scope: expected one of chain, dataset") as bad:
        RefineConfig.from_yaml(f)
    assert (bad.value.setting, bad.value.source) == ("scope", str(f))
