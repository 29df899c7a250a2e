"""Training files → prompt/completion rows in refine's think template, every drop counted."""

import json

import pytest

from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT, assistant_text, to_messages
from thinktrim.data.formats import read_records
from thinktrim.train.data import REJECTED, UNCLOSED, file_sha256, read_training_data

from .conftest import SAMPLE


def test_rows_are_refines_messages_split_at_the_assistant_turn() -> None:
    data = read_training_data([str(SAMPLE)], DEFAULT_SYSTEM_PROMPT)
    traces = [r.trace for r in read_records(SAMPLE)]
    assert len(data.rows) == len(traces) == 6
    for row, trace in zip(data.rows, traces):
        assert row["prompt"] + row["completion"] == to_messages(trace, DEFAULT_SYSTEM_PROMPT)
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        content = row["completion"][0]["content"]
        assert content == assistant_text(trace) and content.startswith("<think>\n") and "\n</think>\n\n" in content
    f = data.files[0]
    assert (f.records, f.examples, f.sha256) == (6, 6, file_sha256(SAMPLE))


def test_mixed_files_unclosed_chains_rejects_and_limit(tmp_path, sample_records) -> None:
    # refine's llamafactory/*.jsonl: messages written with to_messages; read back, the same conversation
    lf = tmp_path / "lf.jsonl"
    traces = [r.trace for r in read_records(SAMPLE)]
    lf.write_text("".join(json.dumps({"messages": to_messages(t, DEFAULT_SYSTEM_PROMPT)}) + "\n" for t in traces[:2]))
    odd = tmp_path / "odd.jsonl"
    unclosed = {**sample_records[0], "id": "cut", "response": sample_records[0]["response"].split("</think>")[0]}
    odd.write_text(json.dumps(unclosed) + "\n" + '{"question": 3, "response": "x</think>y"}\n')
    data = read_training_data([str(lf), str(odd)], DEFAULT_SYSTEM_PROMPT, on_error="skip")
    assert [r["prompt"] + r["completion"] for r in data.rows] == [to_messages(t, DEFAULT_SYSTEM_PROMPT)
                                                                  for t in traces[:2]]
    assert data.dropped == {UNCLOSED: 1, REJECTED: 1}
    assert data.rejects[0]["location"] == f"{odd}:2" and data.rejects[0]["field"] == "question"
    assert [f.examples for f in data.files] == [2, 0]
    assert len(read_training_data([str(SAMPLE)], None, limit=4).rows) == 4
    assert read_training_data([str(SAMPLE)], None).rows[0]["prompt"][0]["role"] == "user"  # no system prompt


def test_bad_input_names_file_line_and_field(tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "response": "a</think>b"}\n{"question": 3, "response": "x</think>y"}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: field 'question'"):
        read_training_data([str(bad)], None)
    with pytest.raises(ValueError, match="no such file"):
        read_training_data([str(tmp_path / "none.jsonl")], None)
    only_unclosed = tmp_path / "u.jsonl"
    only_unclosed.write_text('{"question": "q", "response": "thinking with no end"}\n')
    with pytest.raises(ValueError, match=r"no training example left \(1 thinking never closed"):
        read_training_data([str(only_unclosed)], None)
