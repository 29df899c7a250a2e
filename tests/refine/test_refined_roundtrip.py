"""A refined chain whose last step was removed reads back exactly as it was written, in every layout.

The white space between two steps opens the later step, so dropping the last step leaves no white space at
the end of the kept text; the reader strips edge white space (it belongs to the tags), so the two must agree
or `refine-check` reports a valid chain as "not the original steps minus functional units".
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from thinktrim.data.chat import to_messages
from thinktrim.data.formats import read_records, with_thinking, write_records
from thinktrim.data.thinking import split_thinking
from thinktrim.data.trace import StepKind
from thinktrim.refine.classify import MarkerLexicon
from thinktrim.refine.prune import refined_thinking
from thinktrim.refine.segment import segment
from thinktrim.refine.verify import removable_subsequence

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"
LAYOUT_FILES = ["limo.jsonl", "s1k.jsonl", "messages.jsonl", "sharegpt.jsonl", "alpaca.jsonl", "response.jsonl",
                "response.json", "response.parquet"]
SPLIT = MarkerLexicon.load().split_regex()


def _own_layouts(tmp_path: Path) -> list[tuple[Path, str]]:
    """Files in layouts of the user's own (field maps) and OpenAI messages with `reasoning_content`."""
    (src,) = [r for r in read_records(FIXTURES / "response.jsonl") if r.trace.id == "llama-8b-correct-6998"]
    t = src.trace
    nested = tmp_path / "nested.json"
    run = {"think": f"\n{t.thinking}\n\n", "final": t.response}
    nested.write_text(json.dumps([{"Ask": t.question, "runs": [run]}]))
    joined = tmp_path / "joined.jsonl"
    joined.write_text(json.dumps({"Ask": t.question, "out": f"<think>  {t.thinking}\t</think> {t.response}"}) + "\n")
    reasoning = tmp_path / "reasoning.jsonl"
    reasoning.write_text(json.dumps({"messages": [
        {"role": "user", "content": t.question},
        {"role": "assistant", "reasoning_content": t.thinking + "\n", "content": t.response},
    ]}) + "\n")
    return [(nested, "question=Ask,thinking=runs.0.think,response=runs.0.final"),
            (joined, "question=Ask,response=out"), (reasoning, "auto")]


def _cases(tmp_path: Path) -> list[tuple[Path, str]]:
    return [(FIXTURES / name, "auto") for name in LAYOUT_FILES] + _own_layouts(tmp_path)


def test_removing_the_last_step_round_trips_in_every_layout(tmp_path: Path) -> None:
    checked = 0
    for path, layout in _cases(tmp_path):
        records = list(read_records(path, layout=layout))
        refined_rows, expected = [], []
        for rec in records:
            thinking = rec.trace.thinking
            steps = segment(thinking, None, SPLIT)
            assert len(steps) > 2, path
            # the last step is a functional unit the pruner removed (progressive steps are kept)
            steps[-1] = replace(steps[-1], kind=StepKind.VERIFICATION, unit=0)
            kept = refined_thinking(thinking, steps, {0})
            assert kept == kept.strip() and kept != thinking
            refined_rows.append(with_thinking(rec, kept))
            expected.append((kept, [s.text(thinking) for s in steps]))
            if rec.trace.thinking_closed:  # the training export carries it unchanged too
                content = to_messages(rec.trace, None, thinking=kept)[-1]["content"]
                assert split_thinking(content)[0] == kept
        out = tmp_path / f"refined_{path.name}"
        write_records(out, refined_rows, json_key="data" if path.name == "response.json" else None)
        again = list(read_records(out, layout=layout, id_stem=path.stem))
        assert len(again) == len(records)
        for rec, (kept, texts) in zip(again, expected):
            assert rec.trace.thinking == kept, (path.name, rec.trace.id)
            assert removable_subsequence(rec.trace.thinking, texts, [False] * (len(texts) - 1) + [True])
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize("gap", ["\n\n", " ", "\n \t\n", "  "])
def test_the_white_space_between_steps_opens_the_later_step(gap: str) -> None:
    thinking = f"First we add 2 and 3.{gap}Wait, let me check that sum.{gap}Alternatively, count up from 2."
    steps = segment(thinking, None, SPLIT)
    assert [s.text(thinking) for s in steps] == [
        "First we add 2 and 3.", f"{gap}Wait, let me check that sum.", f"{gap}Alternatively, count up from 2."]
