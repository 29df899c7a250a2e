import dataclasses

import pytest

from thinktrim.config import ConfigError
from thinktrim.lm.generation.factory import make_generator
from thinktrim.lm.generation.types import Completion, GenerationConfig, GeneratorBase, Job, cut_at_stop


def test_defaults_are_valid_and_every_field_is_documented() -> None:
    config = GenerationConfig()
    assert (config.max_new_tokens, config.temperature, config.top_p, config.n) == (512, 0.7, 1.0, 1)
    for f in dataclasses.fields(GenerationConfig):
        assert f.metadata.get("help"), f"GenerationConfig.{f.name} has no help"


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_new_tokens", 0), ("max_new_tokens", 1.5), ("temperature", -0.1), ("temperature", float("nan")),
     ("top_p", 0.0), ("top_p", 1.01), ("n", 0), ("seed", -1), ("batch_size", 0)],
)
def test_invalid_values_name_the_parameter_and_value(name: str, value: object) -> None:
    with pytest.raises(ConfigError) as e:
        GenerationConfig(**{name: value})
    assert e.value.setting == name and str(e.value).startswith(f"{name}: ")
    assert repr(value) in str(e.value) or str(value) in str(e.value)


def test_normalisation() -> None:
    config = GenerationConfig(stop="###", temperature=0, top_p=1)
    assert config.stop == ("###",)
    assert config.greedy and isinstance(config.temperature, float)
    assert not GenerationConfig(temperature=0.7).greedy


def test_job_validation() -> None:
    job = Job([{"role": "user", "content": "hi"}], [3, 4])
    assert job.samples == (3, 4) and job.chat() == [{"role": "user", "content": "hi"}]
    with pytest.raises(ValueError, match=r"Job\.samples"):
        Job([{"role": "user", "content": "hi"}], ())
    with pytest.raises(ValueError, match=r"Job\.messages"):
        Job([{"text": "hi"}], (0,))


def test_cut_at_stop_takes_the_earliest_stop() -> None:
    assert cut_at_stop("a b ### c END d", ("END", "###")) == ("a b ", True)
    assert cut_at_stop("no stops here", ("###",)) == ("no stops here", False)
    assert cut_at_stop("text", ()) == ("text", False)


def test_generate_is_built_on_stream_in_order() -> None:
    class Echo(GeneratorBase):
        """Streams completions in reverse order: `generate` must still put each in its place."""

        def stream(self, jobs, config):
            items = [(j, s) for j, job in enumerate(jobs) for s in job.samples]
            for j, s in reversed(items):
                yield j, s, Completion(f"{jobs[j].chat()[-1]['content']}#{s}", 1, "stop")

    out = Echo().generate([[{"role": "user", "content": q}] for q in ("a", "b")], GenerationConfig(n=3))
    assert [[c.text for c in row] for row in out] == [["a#0", "a#1", "a#2"], ["b#0", "b#1", "b#2"]]


def test_make_generator_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="--backend: unknown backend 'tgi'"):
        make_generator("tgi")
    with pytest.raises(ValueError, match="--base-url is required"):
        make_generator("openai", "m")
    with pytest.raises(ValueError, match="--base-url"):
        make_generator("openai", "m", base_url="localhost:8000")
