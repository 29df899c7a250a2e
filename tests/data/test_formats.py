"""Readers and writers of long-CoT datasets, on real traces in every layout (fixtures/README.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from thinktrim.data.chat import to_messages, to_sharegpt
from thinktrim.data.formats import (
    SourceRecord,
    json_container_key,
    llamafactory_dataset_info,
    read_records,
    with_thinking,
    write_records,
)
from thinktrim.data.layouts import LAYOUTS, FieldLayout, RecordError, detect_layout, field_layout, lookup_field
from thinktrim.data.thinking import split_thinking
from thinktrim.errors import UserError

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "traces"
AIME = SHARED / "reasoningflow_aime24"
FILES = [(layout, f"{layout}.jsonl") for layout in LAYOUTS] + [
    ("response", "response.json"),
    ("response", "response.parquet"),
]


def _records(name: str, **kw: object) -> list[SourceRecord]:
    return list(read_records(FIXTURES / name, **kw))  # type: ignore[arg-type]


def _raw_rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))["data"]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


# ------------------------------------------------------------------------------------ layouts and splits


@pytest.mark.parametrize(("layout", "name"), FILES)
def test_each_layout_is_detected_and_split_as_expected(layout: str, name: str) -> None:
    records = _records(name)
    expected = EXPECTED[layout]
    assert [r.trace.id for r in records] == list(expected)
    for rec in records:
        t, e = rec.trace, expected[rec.trace.id]
        assert rec.layout == layout == t.meta["layout"]
        assert t.question.strip() and "<think>" not in t.question
        assert (len(t.thinking), t.thinking[:60], t.thinking[-60:]) == (
            e["thinking_len"],
            e["thinking_head"],
            e["thinking_tail"],
        )
        assert (len(t.response), t.response[:60], t.response[-60:]) == (
            e["answer_len"],
            e["answer_head"],
            e["answer_tail"],
        )
        assert t.thinking_closed is e["closed"]
        assert t.meta.get("answer_field") == e.get("answer_field")
        assert t.meta.get("system") == e.get("system")
        for marker in ("<think>", "</think>", "<|end_of_thought|>", "<|begin_of_solution|>"):
            assert marker not in t.thinking and marker not in t.response


def test_locations_ids_and_split_kinds() -> None:
    limo = _records("limo.jsonl")
    assert [r.location for r in limo] == [f"{FIXTURES / 'limo.jsonl'}:{i}" for i in (1, 2, 3)]
    assert [r.trace.meta["split"] for r in limo] == ["final-answer", "final-answer", "boxed-paragraph"]
    assert limo[0].trace.response.startswith("**Final Answer**\nThe number of x-intercepts is \\boxed{2865}")
    assert limo[2].trace.response == "\\[\n\\boxed{188743314}\n\\]"  # no Final Answer line: the boxed paragraph
    assert [r.location for r in _records("response.parquet")][2] == f"{FIXTURES / 'response.parquet'}[2]"
    assert [r.trace.meta["split"] for r in _records("sharegpt.jsonl")] == ["</think>", "<|end_of_thought|>"]
    msgs = _records("messages.jsonl")
    assert msgs[1].trace.meta["split"] == "reasoning_content"
    assert msgs[1].trace.question.startswith("A man with his sheep")  # list-of-parts user content
    assert [r.trace.meta["split"] for r in _records("response.jsonl")] == ["</think>", "</think>", "unclosed"]


def test_forced_layout_and_format() -> None:
    assert len(_records("response.jsonl", layout="response")) == 3
    with pytest.raises(RecordError, match=r"messages\.jsonl:1: field 'question': missing"):
        _records("messages.jsonl", layout="limo")
    with pytest.raises(ValueError, match="layout='openai'"):
        _records("messages.jsonl", layout="openai")


def test_format_override_and_unknown_extension(tmp_path: Path) -> None:
    txt = tmp_path / "traces.txt"
    shutil.copy(FIXTURES / "alpaca.jsonl", txt)
    with pytest.raises(ValueError, match=r"traces\.txt: cannot tell the file format"):
        list(read_records(txt))
    recs = list(read_records(txt, file_format="jsonl"))
    assert [r.trace.id for r in recs] == ["0", "1"]


def test_unclosed_limo_solution_and_whole_response_flag(tmp_path: Path) -> None:
    row = _raw_rows(FIXTURES / "limo.jsonl")[2]
    row["solution"] = row["solution"][: row["solution"].rindex("\n\n\\[\n\\boxed")]  # no closing part
    path = tmp_path / "limo.jsonl"
    write_records(path, [row], "jsonl")
    (rec,) = read_records(path)
    assert not rec.trace.thinking_closed and rec.trace.response == ""
    assert rec.trace.thinking == row["solution"].strip()
    assert "whole_response_as_thinking" not in rec.trace.meta
    (rec,) = read_records(path, whole_response_as_thinking=True)
    assert rec.trace.meta["whole_response_as_thinking"] is True and not rec.trace.thinking_closed
    closed = _records("response.jsonl", whole_response_as_thinking=True)
    assert ["whole_response_as_thinking" in r.trace.meta for r in closed] == [False, False, True]


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("<think>\nA\n</think>\n\nB", ("A", "B", True)),
        ("A </think> B", ("A", "B", True)),  # QwQ: no opening marker
        ("A </think> B <think> C", ("A", "B <think> C", True)),  # an opening after the closing is text
        ("pre <think> A", ("A", "", False)),  # never closed
        ("just an answer", ("just an answer", "", False)),  # no marker at all: a cut-off chain
        ("<think></think>B", ("", "B", True)),
        (
            "<|begin_of_thought|>\nA\n<|end_of_thought|>\n\n<|begin_of_solution|>\nB\n<|end_of_solution|>\n",
            ("A", "B", True),
        ),
        ("<|begin_of_thought|>A<|end_of_thought|> B", ("A", "B", True)),
        ("<|begin_of_thought|>A", ("A", "", False)),
    ],
)
def test_split_thinking_table(response: str, expected: tuple[str, str, bool]) -> None:
    assert split_thinking(response) == expected


_MARKERS = (
    "<think>",
    "</think>",
    "<|begin_of_thought|>",
    "<|end_of_thought|>",
    "<|begin_of_solution|>",
    "<|end_of_solution|>",
)
_plain = st.text(alphabet=st.characters(codec="utf-8"), max_size=200).filter(
    lambda s: not any(m in s for m in _MARKERS)
)


@given(thinking=_plain, answer=_plain, opening=st.booleans(), style=st.sampled_from(["think", "thought"]))
def test_split_thinking_inverts_joining(thinking: str, answer: str, opening: bool, style: str) -> None:
    if style == "think":
        text = ("<think>" if opening else "") + thinking + "</think>" + answer
    else:
        text = ("<|begin_of_thought|>" if opening else "") + thinking + "<|end_of_thought|>"
        text += "<|begin_of_solution|>" + answer + "<|end_of_solution|>"
    assert split_thinking(text) == (thinking.strip(), answer.strip(), True)


# --------------------------------------------------------------------------------------- writing back


@pytest.mark.parametrize(("layout", "name"), FILES)
def test_unchanged_thinking_round_trips_exactly(tmp_path: Path, layout: str, name: str) -> None:
    src = FIXTURES / name
    records = list(read_records(src))
    rows = [with_thinking(r, r.trace.thinking) for r in records]
    assert rows == [r.raw for r in records] == _raw_rows(src)
    out = tmp_path / name
    fmt = src.suffix.lstrip(".")
    assert {r.container_key for r in records} == {json_container_key(src) if fmt == "json" else None}
    assert write_records(out, rows, fmt, json_key=records[0].container_key) == len(rows)
    if fmt == "parquet":
        assert pq.read_table(out).to_pylist() == _raw_rows(src)
    else:  # the fixtures were written the same way: byte for byte
        assert out.read_bytes() == src.read_bytes()


def test_files_read_one_after_another_are_written_back_under_their_own_container_key(tmp_path: Path) -> None:
    """The key comes with each file's records: reading another file in between changes nothing."""
    rows = json.loads((FIXTURES / "response.json").read_text(encoding="utf-8"))["data"]
    files = {key: tmp_path / f"{key}.json" for key in ("data", "results")}
    for key, path in files.items():
        path.write_text(json.dumps({"meta": {"n": len(rows)}, key: rows}), encoding="utf-8")
    records = {key: list(read_records(path)) for key, path in files.items()}  # both read before any is written
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(rows), encoding="utf-8")
    assert [r.container_key for r in read_records(bare)] == [None] * len(rows)
    for key, recs in records.items():
        assert [r.container_key for r in recs] == [key] * len(rows)
        out = tmp_path / "out" / f"{key}.json"
        write_records(out, [with_thinking(r, _refine(r.trace.thinking)) for r in recs], json_key=recs[0].container_key)
        assert list(json.loads(out.read_text(encoding="utf-8"))) == [key]
        assert [r.trace.id for r in read_records(out)] == [r.trace.id for r in recs]


def _refine(thinking: str) -> str:
    """A refined chain: the thinking without its middle paragraphs (an exact join of original spans)."""
    parts = thinking.split("\n\n")
    return thinking if len(parts) < 3 else parts[0] + "\n\n" + parts[-1]


@pytest.mark.parametrize(("layout", "name"), FILES)
def test_refined_thinking_is_written_back_in_the_same_layout(tmp_path: Path, layout: str, name: str) -> None:
    records = list(read_records(FIXTURES / name))
    out = tmp_path / f"refined_{name}"  # read back under the input's ids
    fmt = out.suffix.lstrip(".")
    write_records(out, [with_thinking(r, _refine(r.trace.thinking)) for r in records], fmt, json_key="data")
    again = list(read_records(out, id_stem=Path(name).stem))
    assert len(again) == len(records)
    for old, new in zip(records, again):
        assert new.layout == layout and new.trace.id == old.trace.id
        assert new.trace.thinking == _refine(old.trace.thinking) != old.trace.thinking
        assert (new.trace.question, new.trace.response) == (old.trace.question, old.trace.response)
        assert new.trace.thinking_closed == old.trace.thinking_closed
        assert new.trace.meta.get("split") == old.trace.meta.get("split")
        for key in old.raw:  # every other field untouched
            if key not in ("solution", "thinking_trajectories", "messages", "conversations", "output", "response"):
                assert new.raw[key] == old.raw[key], key
    if layout == "s1k":
        assert all(len(r.raw["thinking_trajectories"]) == 1 for r in again)  # list shape kept
    if layout == "messages":
        assert again[1].raw["messages"][1]["content"] == records[1].raw["messages"][1]["content"]


def test_several_s1k_trajectories_are_joined_and_written_as_one(tmp_path: Path) -> None:
    row = _raw_rows(FIXTURES / "s1k.jsonl")[0]
    (whole,) = row["thinking_trajectories"]
    cut = whole.index("\n\n", len(whole) // 2)
    row["thinking_trajectories"] = [whole[:cut], whole[cut:]]
    path = tmp_path / "s1k.jsonl"
    write_records(path, [row], "jsonl")
    (rec,) = read_records(path)
    assert rec.trace.thinking == whole.strip() and rec.trace.meta["trajectories"] == 2
    assert with_thinking(rec, "short")["thinking_trajectories"] == ["short"]


def test_write_records_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n", encoding="utf-8")

    def rows():
        yield {"a": 1}
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_records(out, rows(), "jsonl")
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    assert write_records(tmp_path / "empty.json", [], "auto") == 0
    assert json.loads((tmp_path / "empty.json").read_text(encoding="utf-8")) == []


# ------------------------------------------------------------------------------------- training exports


def test_training_exports_carry_the_refined_thinking() -> None:
    closed, _, unclosed = (r.trace for r in _records("response.jsonl"))
    msgs = to_messages(closed, "SYS", thinking="short")
    assert [m["role"] for m in msgs] == ["system", "user", "assistant"]
    assert msgs[1]["content"] == closed.question
    assert msgs[2]["content"] == "<think>\nshort\n</think>\n\n" + closed.response
    assert split_thinking(msgs[2]["content"]) == ("short", closed.response, True)
    assert [m["role"] for m in to_messages(closed, None)] == ["user", "assistant"]
    assert split_thinking(to_messages(closed, None)[1]["content"]) == (closed.thinking, closed.response, True)
    assert to_messages(unclosed, None)[1]["content"] == "<think>\n" + unclosed.thinking  # no invented end
    sg = to_sharegpt(closed, "SYS", thinking="short")
    assert sg == {
        "conversations": [
            {"from": "human", "value": closed.question},
            {"from": "gpt", "value": msgs[2]["content"]},
        ],
        "system": "SYS",
    }
    assert llamafactory_dataset_info("train.json")["columns"] == {"messages": "conversations", "system": "system"}
    assert llamafactory_dataset_info("m.jsonl", "messages")["tags"]["assistant_tag"] == "assistant"


# -------------------------------------------------------------------------------------------- bad input


def _broken(tmp_path: Path, edit: dict[int, object], name: str = "response.jsonl") -> Path:
    """The fixture with some lines replaced (a dict is re-encoded, a string written as is)."""
    lines = (FIXTURES / name).read_text(encoding="utf-8").split("\n")
    for lineno, new in edit.items():
        lines[lineno - 1] = new if isinstance(new, str) else json.dumps(new, ensure_ascii=False)
    path = tmp_path / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _row(n: int, name: str = "response.jsonl", **changes: object) -> dict:
    row = _raw_rows(FIXTURES / name)[n - 1]
    for key, value in changes.items():
        if value is ...:
            del row[key]
        else:
            row[key] = value
    return row


@pytest.mark.parametrize(
    ("line", "row", "message"),
    [
        (2, '{"question_id": "x", "question": "Q", "resp', r"response\.jsonl:2: invalid JSON"),
        (3, _row(3, question=...), r"response\.jsonl:3: field 'question': missing"),
        (1, _row(1, question=12), r"response\.jsonl:1: field 'question': expected a string, got int"),
        (2, _row(2, question="  \n"), r"response\.jsonl:2: field 'question': empty"),
        (3, _row(3, response=["a", "b"]), r"response\.jsonl:3: field 'response': expected a string, got list"),
        (
            3,
            _row(3, question_id="llama-8b-correct-6998"),
            r"response\.jsonl:3: field 'question_id': duplicate id 'llama-8b-correct-6998' \(first at .*:1\)",
        ),
        (2, _row(2, question_id={"a": 1}), r"response\.jsonl:2: field 'question_id': expected a string or an int"),
        (1, "[1, 2]", r"response\.jsonl:1: expected a JSON object, got list"),
    ],
)
def test_bad_record_names_file_line_and_field(tmp_path: Path, line: int, row: object, message: str) -> None:
    path = _broken(tmp_path, {line: row})
    with pytest.raises(RecordError, match=message) as info:
        list(read_records(path))
    assert info.value.path == str(path) and info.value.line == line
    items = list(read_records(path, on_error="skip"))  # the rest still comes through
    errors = [i for i in items if isinstance(i, RecordError)]
    assert [e.line for e in errors] == [line] and len(items) == 3
    assert errors[0].location == f"{path}:{line}"


def test_skip_yields_every_error_and_keeps_going(tmp_path: Path) -> None:
    path = _broken(tmp_path, {1: "{not json", 2: _row(2, response=...)})
    items = list(read_records(path, on_error="skip"))
    assert [type(i).__name__ for i in items] == ["RecordError", "RecordError", "SourceRecord"]
    assert items[0].line == 1 and "invalid JSON" in items[0].reason
    assert items[1].line == 2 and "no known layout fits" in items[1].reason  # detected from the first valid
    assert items[2].trace.id == "heavy_feather_modified-cut"


def test_chat_layout_errors(tmp_path: Path) -> None:
    row = _row(1, "messages.jsonl")
    row["messages"] = row["messages"][:2]
    path = _broken(tmp_path, {1: row}, "messages.jsonl")
    with pytest.raises(RecordError, match=r"messages\.jsonl:1: field 'messages': no assistant turn"):
        list(read_records(path))
    row = _row(2, "sharegpt.jsonl")
    row["conversations"][1]["value"] = None
    path = _broken(tmp_path, {2: row}, "sharegpt.jsonl")
    with pytest.raises(RecordError, match=r"sharegpt\.jsonl:2: field 'conversations\[1\]\.value': expected a str"):
        list(read_records(path))


def test_json_and_parquet_errors_name_the_record_index(tmp_path: Path) -> None:
    rows = _raw_rows(FIXTURES / "response.json")
    rows[1]["question"] = None
    write_records(tmp_path / "bad.json", rows, "json", json_key="data")
    with pytest.raises(RecordError, match=r"bad\.json\[1\]: field 'question': missing"):
        list(read_records(tmp_path / "bad.json"))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "bad.parquet")
    items = list(read_records(tmp_path / "bad.parquet", on_error="skip"))
    assert [i.location for i in items] == [f"{tmp_path / 'bad.parquet'}[{i}]" for i in range(3)]
    assert isinstance(items[1], RecordError) and items[1].unit == "record"
    (tmp_path / "broken.json").write_text('{"data": [\n{"question": 1},\n', encoding="utf-8")
    with pytest.raises(RecordError, match=r"broken\.json:3: invalid JSON"):
        list(read_records(tmp_path / "broken.json", on_error="skip"))  # a broken file is not a record


def test_record_error_survives_pickling() -> None:
    import pickle

    err = RecordError("d.jsonl", 3, "question", "missing")
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.location, back.field) == ("d.jsonl:3: field 'question': missing", "d.jsonl:3", "question")


def test_no_layout_fits() -> None:
    with pytest.raises(RecordError, match=r"no known layout fits its keys \(foo, text\); layouts: limo"):
        detect_layout({"text": "x", "foo": 1})


@pytest.mark.skipif(not (SHARED / "misguided_attention").exists(), reason="../shared data not present")
def test_misguided_attention_results_file_is_not_a_layout() -> None:
    """Its `output` is a list of three runs: a clear error, not a silent pick of one."""
    path = SHARED / "misguided_attention" / "output_queries_QwQ-32b.json"
    with pytest.raises(RecordError, match=r"\[0\]: field 'output': expected a string, got list"):
        next(read_records(path))
    assert json_container_key(path) == "results"
    # ... and read through a field map that picks one run explicitly
    layout = "question=prompt,thinking=thinking.1,response=output.1,id=prompt_id"
    first = next(read_records(path, layout=layout))
    assert first.container_key == "results"
    raw = json.loads(path.read_text(encoding="utf-8"))["results"][0]
    assert first.trace.id == raw["prompt_id"] and first.trace.thinking == raw["thinking"][1].strip()
    assert first.trace.response == raw["output"][1].strip() and first.trace.thinking_closed


# ------------------------------------------------------------------------------ layouts of the user's own


def test_field_layout_spec() -> None:
    spec = field_layout("question=Q, response=out.0.text ,answer=gold,id=meta.id")
    assert spec == FieldLayout(question="Q", response="out.0.text", answer="gold", id="meta.id")
    assert field_layout("response") is None  # a layout name, not a field map
    for bad, message in [("question=q", "needs question=FIELD and response=FIELD"),
                         ("response=r", "needs question=FIELD"),
                         ("question=q,answr=a,response=r", "'answr=a' is not ROLE=FIELD"),
                         ("question=q,response=", "'response=' is not ROLE=FIELD"),
                         ("question=q,response=r,question=p", "question is given twice")]:
        with pytest.raises(ValueError, match=message):
            field_layout(bad)
    with pytest.raises(ValueError, match="question=KEY,response=KEY"):
        next(read_records(FIXTURES / "limo.jsonl", layout="nonsense"))


def test_field_layout_of_problems_without_chains(tmp_path: Path) -> None:
    path = tmp_path / "problems.jsonl"
    path.write_text(json.dumps({"uid": "p1", "problem": "What is 6*7?", "gold": 42}) + "\n", encoding="utf-8")
    (record,) = read_records(path, layout="question=problem,answer=gold,id=uid")
    t = record.trace
    assert (t.id, t.question, t.thinking, t.response, t.thinking_closed) == ("p1", "What is 6*7?", "", "", False)
    assert t.meta["split"] == "no-chain" and t.meta["answer_field"] == "42"


def test_lookup_field_prefers_a_whole_key_then_walks_a_path() -> None:
    record = {"a.b": 1, "a": {"b": 2, "c": [{"d": "x"}, {"d": "y"}]}}
    assert lookup_field(record, "a.b") == (("a.b",), 1)
    assert lookup_field(record, "a.c.1.d") == (("a", "c", 1, "d"), "y")
    assert lookup_field(record, "a.c.-1.d") == (("a", "c", 1, "d"), "y")
    assert lookup_field(record, "a.c.5.d")[1] is None and lookup_field(record, "nope")[1] is None


def test_field_layout_reads_and_writes_back_in_place(tmp_path: Path) -> None:
    rows = [{"Question ID": "x1", "Ask": "What is 2+2?", "Model (response)": "<think>2+2 is 4.</think> It is 4.",
             "Gold": 4.0},
            {"Question ID": "x2", "Ask": "What is 3+3?", "Model (response)": "3+3 is 6, no close", "Gold": 6}]
    path = tmp_path / "sat.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    layout = "question=Ask,response=Model (response),answer=Gold,id=Question ID"
    got = list(read_records(path, layout=layout))
    assert [r.trace.id for r in got] == ["x1", "x2"] and got[0].layout == layout
    first = got[0].trace
    assert (first.thinking, first.response, first.thinking_closed) == ("2+2 is 4.", "It is 4.", True)
    assert got[0].trace.meta["answer_field"] == "4" and not got[1].trace.thinking_closed
    assert with_thinking(got[0], "4.") == {**rows[0], "Model (response)": "<think>4.</think> It is 4."}
    with pytest.raises(RecordError, match=r"sat.json\[1\]: field 'Ask': expected a string, got int"):
        rows[1]["Ask"] = 5
        path.write_text(json.dumps(rows), encoding="utf-8")
        list(read_records(path, layout=layout))
    with pytest.raises(RecordError, match=r"sat.json\[0\]: field 'Nope': missing"):
        list(read_records(path, layout="question=Nope,response=Model (response)"))


# ----------------------------------------------------------------------------------- the real AIME files


@pytest.mark.skipif(not AIME.exists(), reason="../shared/data/traces/reasoningflow_aime24 not present")
@pytest.mark.parametrize(
    ("name", "unclosed"),
    [
        ("DeepSeek-R1_aime2024_responses.jsonl", ["aime2024-7", "aime2024-17", "aime2024-18", "aime2024-20"]),
        (
            "QwQ-32B_aime2024_responses.jsonl",
            [
                "aime2024-4",
                "aime2024-5",
                "aime2024-6",
                "aime2024-17",
                "aime2024-19",
                "aime2024-20",
                "aime2024-21",
                "aime2024-25",
                "aime2024-26",
            ],
        ),
    ],
)
def test_reasoningflow_aime24(tmp_path: Path, name: str, unclosed: list[str]) -> None:
    records = list(read_records(AIME / name))
    assert len(records) == 30 and {r.layout for r in records} == {"response"}
    assert [r.trace.id for r in records if not r.trace.thinking_closed] == unclosed
    for r in records:
        t = r.trace
        assert t.meta["answer_field_name"] == "correct_answer" and t.meta["answer_field"].strip()
        if t.thinking_closed:
            assert "\\boxed" in t.response and len(t.thinking) > 1000
        else:
            assert t.response == "" and t.thinking == r.raw["response"].removeprefix("<think>").strip()
    out = tmp_path / name
    write_records(out, (with_thinking(r, r.trace.thinking) for r in records), "jsonl")
    assert out.read_bytes() == (AIME / name).read_bytes()


def test_trace_answer_is_the_deprecated_name_of_response() -> None:
    """Users' --quality-fn functions take a Trace: `answer` still reads the response, for a release, and warns."""
    (record, *_) = _records("response.jsonl")
    with pytest.warns(DeprecationWarning, match=r"Trace\.answer is deprecated: use Trace\.response"):
        assert record.trace.answer == record.trace.response != ""
    with pytest.raises(AttributeError):
        record.trace.answer = "x"  # read-only


def test_datasets_folder_writer_is_atomic_and_keeps_features(tmp_path) -> None:
    """RecordWriter's datasets format: save_to_disk under the given features (a Json-free schema here), the
    folder replaced whole only when the block succeeds, and a folder that is not a datasets one never replaced."""
    import datasets

    from thinktrim.data.formats import DATASETS_FOLDER, RecordWriter

    features = datasets.Features({"id": datasets.Value("string"), "score": datasets.Value("float32")})
    target = tmp_path / "out"
    with RecordWriter(target, DATASETS_FOLDER, schema=features, batch_rows=2) as w:
        for i in range(5):
            w.write({"id": f"r{i}", "score": i / 2})
    ds = datasets.load_from_disk(str(target))
    assert ds.features == features and ds["id"] == [f"r{i}" for i in range(5)] and w.count == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert all(oct(p.stat().st_mode & 0o044) == oct(0o044) for p in target.iterdir())  # the team can read it

    with pytest.raises(KeyError), RecordWriter(target, DATASETS_FOLDER, schema=features) as w:
        w.write({"id": "new", "score": 1.0})
        raise KeyError("a failure mid-write")
    assert datasets.load_from_disk(str(target))["id"] == [f"r{i}" for i in range(5)]  # the earlier copy stands
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    with RecordWriter(target, DATASETS_FOLDER) as w:  # no schema: typed at the end, nulls then strings
        w.write({"id": "a", "note": None})
        w.write({"id": "b", "note": "x"})
    assert datasets.load_from_disk(str(target))["note"] == [None, "x"]

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UserError, match="exists and is not a datasets folder"), RecordWriter(theirs, DATASETS_FOLDER):
        pass
    assert (theirs / "notes.txt").read_text(encoding="utf-8") == "mine"
