"""The LLM judge against a real OpenAI-compatible server (llama.cpp serving the embedded model)."""

import pytest

from thinktrim.data.trace import StepKind
from thinktrim.refine.annotate import annotate_steps
from thinktrim.refine.judge import JudgeConfig, LLMJudge, parse_verdict
from thinktrim.refine.segment import SegmentConfig

THINKING = (
    "We need the sum of 17 and 25. Adding the tens gives 30 and the ones give 12.\n\n"
    "So 17 + 25 = 42.\n\n"
    "Let me see whether 42 - 25 gives back 17: yes, 42 - 25 = 17, so the sum holds.\n\n"
    "Next we multiply 42 by 2 to get 84.\n\n"
)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"mode": "verification", "checks_step": 1}', (StepKind.VERIFICATION, 1)),
        ('{"mode": "Error correction", "checks_step": null}', (StepKind.ERROR_CORRECTION, None)),
        ('```json\n{"mode": "multi-method", "checks_step": 0}```', (StepKind.MULTI_METHOD, 0)),
        ('{"mode": "progressive", "checks_step": 7}', (StepKind.PROGRESSIVE, None)),  # link must precede
        ('{"mode": "summary"}', None),
        ("not json", None),
        ('["verification"]', None),
    ],
)
def test_parse_verdict(content: str, expected) -> None:
    assert parse_verdict(content, 3) == expected


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="response_format"):
        JudgeConfig(base_url="http://127.0.0.1:1", model="m", response_format="xml")


@pytest.mark.slow
def test_judge_labels_unmarked_steps_through_a_real_server(llama_server: str, llama_server_api_key: str) -> None:
    judge = LLMJudge(JudgeConfig(base_url=llama_server + "/v1", model="smollm2", api_key=llama_server_api_key,
                                 timeout_s=120, concurrency=2))

    one_per_paragraph = SegmentConfig(target_sentences=1, max_sentences=2)
    steps = annotate_steps(THINKING, "84", one_per_paragraph, judge=judge)
    assert len(steps) == 4
    assert "".join(s.text(THINKING) for s in steps) == THINKING
    assert judge.calls >= 2 and judge.failures == 0  # the schema-constrained server always answers validly
    judged = [s for s in steps[1:] if s.marker == "judge"]
    assert judged, "every unmarked step after the first goes to the judge"
    for s in steps:
        if s.kind.is_functional and not s.protected:
            assert s.link is not None and steps[s.link].kind is StepKind.PROGRESSIVE


def test_unreachable_judge_keeps_steps_progressive() -> None:
    judge = LLMJudge(JudgeConfig(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2, retries=1))
    steps = annotate_steps(THINKING, "84", judge=judge)
    assert judge.failures >= 1
    assert all(s.kind is StepKind.PROGRESSIVE for s in steps)
