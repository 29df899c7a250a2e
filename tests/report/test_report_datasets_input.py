"""The report reads a run's datasets input again as the run read it: the split (and subset) and the
--start/--end range its run.json or results.json records, so the questions beside the chains (and in the eval
drill-down) are those of the part that was refined or evaluated.

The two splits of the folder give their chains the same ids, and the test split repeats an id before the range:
read any other way, the input would put another record's question beside a chain.
"""

import json
import re
from pathlib import Path

import datasets
import pytest
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.report.inputs import read_eval, read_refine

from .conftest import SAMPLE

pytestmark = pytest.mark.slow
SUMS = {"train": [{"q": "What is 1+1?", "a": "2"}, {"q": "What is 2+2?", "a": "4"}],
        "test": [{"q": "What is 7+1?", "a": "8"}, {"q": "What is 3+3?", "a": "6"}, {"q": "What is 5+4?", "a": "9"}]}


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def short(record: dict, chars: int = 1000) -> dict:
    """The record with its thinking cut at the last paragraph break before `chars` (answer kept)."""
    thinking, answer = record["response"].split("</think>", 1)
    cut = [m.end() for m in re.finditer(r"\n\n", thinking) if m.end() <= chars]
    return {**record, "response": thinking[: cut[-1]] + "</think>" + answer}


def save_splits(folder: Path, splits: dict[str, list[dict]]) -> Path:
    datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()}).save_to_disk(
        str(folder))
    return folder


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [short(json.loads(x)) for x in SAMPLE.read_text(encoding="utf-8").splitlines() if x.strip()]


def trace_splits(records: list[dict], decoy: str = "A decoy question, outside the range") -> dict[str, list[dict]]:
    """train: c1, c2; test: c1 (a decoy at index 0, before --start 1), c1, c2: all with other questions."""
    return {"train": [{**records[0], "id": "c1"}, {**records[1], "id": "c2"}],
            "test": [{**records[2], "id": "c1", "question": decoy}, {**records[3], "id": "c1"},
                     {**records[4], "id": "c2"}]}


def test_the_report_of_a_refine_run_shows_the_questions_of_its_split_and_range(records, tiny_model_dir, tmp_path,
                                                                               read_page, read_blobs) -> None:
    folder = save_splits(tmp_path / "traces", trace_splits(records))
    out = tmp_path / "refined"
    invoke("refine", str(folder), "-o", str(out), "--model", str(tiny_model_dir), "--device", "cpu", "--ratios",
           "0.5", "--split", "test", "--start", "1")
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert (run["split"], run["start"], run["ids"]) == ("test", 1, ["c1", "c2"])
    expected = {"c1": records[3]["question"], "c2": records[4]["question"]}

    refine = read_refine(out)
    assert refine.questions == expected and refine.notes == []

    html = tmp_path / "report.html"
    invoke("report", str(out), "-o", str(html))
    (part,) = read_page(html)["refine"]
    assert part["input"] == str(folder.resolve()) and part["input_part"] == {"split": "test", "start": 1}
    assert part["notes"] == []
    shown = {c["id"]: c["question"] for blob in read_blobs(html).values() for c in blob if "steps" in c}
    assert shown == expected

    # the folder saved again with other test questions: the run's fingerprint no longer matches, none is shown
    changed = trace_splits(records, decoy="Another decoy")
    changed["test"][1] = {**changed["test"][1], "question": "Not the question that was refined"}
    save_splits(tmp_path / "traces2", changed)
    run["input"] = str((tmp_path / "traces2").resolve())
    (out / "run.json").write_text(json.dumps(run), encoding="utf-8")
    refine = read_refine(out)
    assert refine.questions == {}
    assert refine.notes == [f"input {run['input']} changed since the run read it (sha256 differs): questions not "
                            "shown"]


def test_the_eval_drill_down_shows_the_questions_of_its_split_and_range(tiny_model_dir, tmp_path) -> None:
    folder = save_splits(tmp_path / "sums", SUMS)
    out = tmp_path / "eval"
    invoke("eval", "--data", str(folder), "--split", "test", "--start", "1", "--question-field", "q",
           "--answer-field", "a", "--kind", "number", "--model", str(tiny_model_dir), "--device", "cpu", "-n", "1",
           "--max-new-tokens", "2", "--grade-processes", "0", "--system-prompt", "", "-o", str(out))
    folder_read = read_eval(out)
    # ids are positions (`sums-1`), the same in both splits: the texts tell which split was read
    assert folder_read.questions == {"sums": {"sums-1": "What is 3+3?", "sums-2": "What is 5+4?"}}
    assert folder_read.notes == []
