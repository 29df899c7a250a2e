"""The LLM judge against a real OpenAI-compatible server (llama.cpp serving the embedded model)."""

import json
from pathlib import Path

import pytest

from thinktrim.data.trace import StepKind
from thinktrim.refine.annotate import annotate_steps
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.judge import JudgeConfig, LLMJudge, load_prompt, parse_verdict
from thinktrim.refine.outputs import write_outputs
from thinktrim.refine.pipeline import score_all
from thinktrim.refine.segment import SegmentConfig

THINKING = (
    "We need the sum of 17 and 25. Adding the tens gives 30 and the ones give 12.\n\n"
    "So 17 + 25 = 42.\n\n"
    "Let me see whether 42 - 25 gives back 17: yes, 42 - 25 = 17, so the sum holds.\n\n"
    "Next we multiply 42 by 2 to get 84.\n\n"
)
USER_PROMPT = (
    "Classify the reasoning step. Modes: progressive, verification, multi_method, error_correction. "
    'Reply with JSON only: {"mode": "...", "checks_step": null}'
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
    with pytest.raises(ValueError, match="judge scope: 'some'"):
        JudgeConfig(base_url="http://127.0.0.1:1", model="m", scope="some")


def test_prompt_file(tmp_path: Path) -> None:
    assert "verification" in load_prompt() and '"checks_step"' in load_prompt()  # the shipped one
    mine = tmp_path / "p.txt"
    mine.write_text(USER_PROMPT + "\n")
    assert load_prompt(mine) == USER_PROMPT
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(ValueError, match=r"judge_prompt: .*empty\.txt is empty"):
        load_prompt(tmp_path / "empty.txt")
    with pytest.raises(ValueError, match=r"judge_prompt: cannot read .*missing\.txt"):
        load_prompt(tmp_path / "missing.txt")


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


@pytest.mark.slow
def test_judge_labels_every_step_with_the_users_prompt(llama_server: str, llama_server_api_key: str) -> None:
    judge = LLMJudge(JudgeConfig(base_url=llama_server + "/v1", model="smollm2", api_key=llama_server_api_key,
                                 timeout_s=120, concurrency=2, scope="all", prompt=USER_PROMPT))
    one_per_paragraph = SegmentConfig(target_sentences=1, max_sentences=2)
    thinking = THINKING.replace("Let me see whether", "Let me check whether")
    marked = annotate_steps(thinking, "The answer is \\boxed{84}.", one_per_paragraph)
    steps = annotate_steps(thinking, "The answer is \\boxed{84}.", one_per_paragraph, judge=judge)
    assert judge.failures == 0 and judge.calls == len(steps) - 1  # every step but the first, once each
    assert all(s.marker == "judge" for s in steps[1:])
    # the marked steps are compared: (markers' mode, judge's mode)
    assert [m for m, _ in judge.last_comparison] == [s.kind.value for s in marked[1:] if s.marker is not None]
    assert judge.last_comparison, "the check step is marked, so at least one comparison"


@pytest.mark.slow
def test_judge_vs_markers_agreement_in_stats_json(
    llama_server: str, llama_server_api_key: str, tiny_sample: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", llama_server_api_key)
    prompt = tmp_path / "prompt.txt"
    prompt.write_text(USER_PROMPT)
    out = tmp_path / "out"
    cfg = RefineConfig(input=str(tiny_sample), output_dir=str(out), ratios=(0.5,),
                       judge_url=llama_server + "/v1", judge_model="smollm2", judge_scope="all",
                       judge_prompt=str(prompt), judge_timeout=120)
    score_all(cfg)
    stats = write_outputs(cfg)
    ann = json.loads((out / "annotations.jsonl").read_text().split("\n")[0])
    pairs = ann["judge_vs_markers"]
    agreement = stats["judge_vs_markers"]
    assert agreement["steps_compared"] == len(pairs) > 0
    assert agreement["agreement"] == sum(m == j for m, j in pairs) / len(pairs)
    assert sum(agreement["markers_to_judge"].values()) == len(pairs)


def test_unreachable_judge_keeps_steps_progressive() -> None:
    judge = LLMJudge(JudgeConfig(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2, retries=1))
    steps = annotate_steps(THINKING, "84", judge=judge)
    assert judge.failures >= 1
    assert all(s.kind is StepKind.PROGRESSIVE for s in steps)
