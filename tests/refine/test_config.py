import pytest

from thinktrim.refine.config import RefineConfig, help_of


def test_defaults_and_normalisation() -> None:
    cfg = RefineConfig(input="x.jsonl", ratios=(0.5, 0.2, 0.2))
    assert cfg.ratios == (0.2, 0.5) and cfg.scorer == "engine" and cfg.overlong == "skip"
    assert cfg.dataset_name == "x"
    assert "Algorithm 1" in help_of("scope")


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
    ],
)
def test_bad_settings_name_the_setting(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        RefineConfig(input="x.jsonl", **kwargs)


def test_yaml_config_with_overrides(tmp_path) -> None:
    f = tmp_path / "refine.yaml"
    f.write_text("input: data.jsonl\nratios: [0.3, 0.8]\nscope: dataset\n")
    cfg = RefineConfig.from_yaml(f, scope="chain")
    assert cfg.ratios == (0.3, 0.8) and cfg.scope == "chain" and cfg.input == "data.jsonl"
    f.write_text("input: data.jsonl\nratio: 0.3\n")
    with pytest.raises(ValueError, match=r"refine\.yaml: unknown settings \['ratio'\]"):
        RefineConfig.from_yaml(f)
