"""The benchmark registry: bundled sets load whole and normalised; GPQA only from a path; bad records named."""

import json
import os
import re
from importlib import resources
from pathlib import Path

import pytest

from thinktrim.data.benchmarks import get_benchmark, list_benchmarks, load_benchmark, load_custom

COUNTS = {
    "aime24": 30,
    "aime25": 30,
    "amc23": 40,
    "math500": 500,
    "gsm8k": 1319,
    "olymmath-easy": 100,
    "olymmath-hard": 100,
    "arith": 30,
}
KINDS = {"aime24": "number", "aime25": "number", "amc23": "number", "gsm8k": "number", "math500": "expression",
         "arith": "number"}
GPQA = Path(
    os.environ.get("THINKTRIM_GPQA_PATH")
    or Path(__file__).resolve().parents[3] / "shared" / "data" / "benchmarks" / "gpqa_diamond" / "test.jsonl"
)
ROOT = Path(__file__).resolve().parents[2]


def test_registry_names():
    assert list_benchmarks() == [*COUNTS, "gpqa-diamond"]


@pytest.mark.parametrize(("name", "count"), COUNTS.items())
def test_bundled_benchmark_loads_whole(name, count):
    items = load_benchmark(name)
    bench = get_benchmark(name)
    assert len(items) == count == bench.size
    assert len({i.id for i in items}) == count
    assert all(i.id.startswith(f"{name}-") for i in items)
    assert all(i.kind == bench.kind == KINDS.get(name, "expression") for i in items)
    assert all(i.question and i.answer for i in items)
    assert load_benchmark(name) == items  # ids and order are stable


@pytest.mark.parametrize("name", ["aime24", "aime25", "amc23", "gsm8k", "arith"])
def test_numeric_answers_are_normalised(name):
    answers = [i.answer for i in load_benchmark(name)]
    assert all(re.fullmatch(r"-?\d+", a) for a in answers), answers
    if name.startswith("aime"):
        assert all(0 <= int(a) <= 999 for a in answers)


def test_source_quirks_are_normalised():
    gsm8k = load_benchmark("gsm8k")
    assert gsm8k[0].answer == "18"  # "…#### 18"
    assert "2125" in {i.answer for i in gsm8k}  # "#### 2,125" loses its separator
    assert load_benchmark("amc23")[0].answer == "27"  # 27.0
    for item in load_benchmark("aime25"):
        assert "boxed" not in item.question and item.question.endswith(("?", ".", "$", ")")), item.question[-80:]
    assert load_benchmark("aime25")[0].question == (
        "Find the sum of all integer bases $b>9$ for which $17_b$ is a divisor of $97_b.$"
    )
    assert load_benchmark("math500")[0].meta == {"subject": "Precalculus", "level": 2}


def test_limit():
    assert [i.id for i in load_benchmark("math500", limit=3)] == [i.id for i in load_benchmark("math500")[:3]]
    with pytest.raises(ValueError, match="limit=0"):
        load_benchmark("gsm8k", limit=0)


def test_unknown_name_lists_valid_names():
    with pytest.raises(KeyError, match=r"valid names: aime24, aime25, .*gpqa-diamond"):
        load_benchmark("aime23")
    with pytest.raises(ValueError, match="unknown benchmark 'gsm8k-hard'"):
        load_benchmark("gsm8k-hard")


def test_gpqa_is_never_bundled():
    bundled = [p.name for p in (resources.files("thinktrim.data") / "benchmarks").iterdir()]
    assert sorted(bundled) == sorted(f"{name}.jsonl" for name in COUNTS)
    with pytest.raises(ValueError, match=r"not bundled.*path"):
        load_benchmark("gpqa-diamond")


@pytest.mark.skipif(not GPQA.is_file(), reason=f"{GPQA} not present")
def test_gpqa_loads_from_a_path():
    items = load_benchmark("gpqa-diamond", path=str(GPQA))
    assert len(items) == 198 == len({i.id for i in items})
    assert {i.answer for i in items} <= set("ABCD")
    assert all(i.kind == "choice" for i in items)
    assert any("\u2028" in i.question for i in items)  # a U+2028 inside a string did not split a record


def test_notice_attributes_every_bundled_file():
    notice = (ROOT / "NOTICE").read_text(encoding="utf-8")
    for name in COUNTS:
        assert f"src/thinktrim/data/benchmarks/{name}.jsonl" in notice
    assert "gpqa" not in notice.lower() or "not redistributed" in notice


def write_lines(path: Path, lines: list[str]) -> str:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_load_custom(tmp_path):
    path = write_lines(
        tmp_path / "mine.jsonl",
        [json.dumps({"q": "What is 2+3?", "a": 5, "src": "x"}), "", json.dumps({"q": "Name it.", "a": "\\text{A}"})],
    )
    items = load_custom(path, "q", "a", kind="expression")
    assert [(i.id, i.question, i.answer, i.meta) for i in items] == [
        ("mine-0", "What is 2+3?", "5", {"src": "x"}),
        ("mine-1", "Name it.", "\\text{A}", {}),
    ]
    assert len(load_custom(path, "q", "a", limit=1)) == 1
    with_ids = write_lines(tmp_path / "ids.jsonl", [json.dumps({"id": 7, "q": "Q", "a": "1"})])
    assert load_custom(with_ids, "q", "a", id_field="id")[0].id == "ids-7"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"q": "ok", "a": 1}', '{"q": "x", "b": 1}'], r"bad\.jsonl:2: field 'a': missing \(fields present: q, b\)"),
        (['{"q": "", "a": 1}'], r"bad\.jsonl:1: field 'q': expected a non-empty string"),
        (['{"q": "x", "a": null}'], r"bad\.jsonl:1: field 'a': expected a non-empty string or a number"),
        (['{"q": "x", "a": true}'], r"bad\.jsonl:1: field 'a': expected a non-empty string or a number"),
        (['{"q": "x", "a": 1', '{"q": "x", "a": 1}'], r"bad\.jsonl:1: invalid JSON"),
        (['["q", "a"]'], r"bad\.jsonl:1: expected a JSON object, got list"),
        (['{"id": 1, "q": "x", "a": 1}', '{"id": 1, "q": "y", "a": 2}'], r"bad\.jsonl:2: id '1' repeats .* line 1"),
    ],
)
def test_bad_custom_records_name_file_line_and_field(tmp_path, lines, message):
    path = write_lines(tmp_path / "bad.jsonl", lines)
    with pytest.raises(ValueError, match=message):
        load_custom(path, "q", "a", id_field="id" if "id" in lines[0] else None)


def test_custom_argument_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl"):
        load_custom(str(tmp_path / "nope.jsonl"), "q", "a")
    with pytest.raises(ValueError, match="kind='letters'"):
        load_custom(str(tmp_path / "x.jsonl"), "q", "a", kind="letters")  # type: ignore[arg-type]


def test_registry_file_with_a_missing_field_is_named(tmp_path):
    path = write_lines(tmp_path / "aime.jsonl", [json.dumps({"id": 1, "problem": "P"})])
    with pytest.raises(ValueError, match=r"aime\.jsonl:1: field 'answer': missing"):
        load_benchmark("aime24", path=path)


def test_custom_json_and_parquet_with_nested_fields(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"problem": {"text": "What is 1+2?"}, "meta": {"gold": "3", "uid": "p1"}},
            {"problem": {"text": "Halve 1."}, "meta": {"gold": "1/2", "uid": "p2"}}]
    json_path = tmp_path / "set.json"
    json_path.write_text(json.dumps({"data": rows}), encoding="utf-8")
    parquet_path = tmp_path / "set.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet_path)
    for path in (json_path, parquet_path):
        items = load_custom(str(path), "problem.text", "meta.gold", id_field="meta.uid")
        assert [(i.id, i.question, i.answer) for i in items] == [("set-p1", "What is 1+2?", "3"),
                                                                  ("set-p2", "Halve 1.", "1/2")]
    with pytest.raises(ValueError, match=r"set\.json\[0\]: field 'meta\.nope': missing"):
        load_custom(str(json_path), "problem.text", "meta.nope")


def test_arith_is_small_sums_a_small_model_can_do():
    """The demo's set: short one- and two-step questions whose answers are right (checked here by evaluating the
    expression the question states, or by the count its words give)."""
    items = load_benchmark("arith")
    assert [i.id for i in items] == [f"arith-{n}" for n in range(30)]
    sums = 0
    for item in items:
        assert len(item.question) <= 120 and 0 <= int(item.answer) <= 20, item
        expr = re.fullmatch(r"What is ([\d ()+\-×]+)\?", item.question)
        if expr:
            sums += 1
            # the regex let through only digits, spaces, + - × and brackets
            assert eval(expr.group(1).replace("×", "*")) == int(item.answer), item
    assert 20 <= sums < len(items)  # word problems too
    assert get_benchmark("arith").license == "Apache-2.0"
