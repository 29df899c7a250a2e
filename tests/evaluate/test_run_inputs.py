"""A rerun into the same run folder holds exactly this run's questions: another --limit is scored on its own
questions, an edited gold regrades the stored responses, and an edited question (or another file of the same
name) is refused instead of being graded with the answers to the old one."""

import json
from pathlib import Path

import pytest

from thinktrim.evaluate.run import evaluate

from .conftest import eval_config

pytestmark = pytest.mark.slow

QUESTIONS = [{"q": "What is 2+3?", "a": "5"}, {"q": "What is 9+8?", "a": "17"}, {"q": "What is 4+4?", "a": "8"}]


def _write(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _config(out: Path, data: Path, **kw):
    return eval_config(out, benchmarks=(), data=str(data), question_field="q", answer_field="a", kind="number",
                       n=1, max_new_tokens=6, temperature=0, system_prompt="", **kw)


def test_another_limit_scores_exactly_its_questions(tmp_path: Path) -> None:
    data = _write(tmp_path / "sums.jsonl", QUESTIONS)
    out = tmp_path / "run"
    full = evaluate(_config(out, data, limit=None))
    assert full["benchmarks"]["sums"]["inputs"]["ids"] == ["sums-0", "sums-1", "sums-2"]
    fewer = evaluate(_config(out, data, limit=2))
    section = fewer["benchmarks"]["sums"]
    assert (section["questions"], section["samples"], fewer["generation"]["generated"]) == (2, 2, 0)
    assert section["inputs"]["ids"] == ["sums-0", "sums-1"] and section["inputs"]["limit"] == 2
    assert section["inputs"]["fingerprint"] != full["benchmarks"]["sums"]["inputs"]["fingerprint"]
    graded = [json.loads(line) for line in (out / "sums" / "graded.jsonl").read_text().splitlines()]
    assert [g["question_id"] for g in graded] == ["sums-0", "sums-1"]


def test_an_edited_gold_regrades_and_an_edited_question_is_refused(tmp_path: Path) -> None:
    data = _write(tmp_path / "sums.jsonl", QUESTIONS[:2])
    out = tmp_path / "run"
    first = evaluate(_config(out, data))
    graded = [json.loads(line) for line in (out / "sums" / "graded.jsonl").read_text().splitlines()]
    # a new gold: each stored response is regraded against it, nothing is generated
    new_golds = [{**q, "a": g["extracted"] or "0"} for q, g in zip(QUESTIONS, graded)]
    _write(data, new_golds)
    regraded = evaluate(_config(out, data))
    assert regraded["generation"]["generated"] == 0
    assert [json.loads(line)["answer"] for line in (out / "sums" / "graded.jsonl").read_text().splitlines()] == [
        q["a"] for q in new_golds]
    assert regraded["benchmarks"]["sums"]["inputs"] != first["benchmarks"]["sums"]["inputs"]
    # a new question under the same id: its stored answer belongs to the old one
    _write(data, [{"q": "What is 100 divided by 4?", "a": "25"}, QUESTIONS[1]])
    with pytest.raises(ValueError, match="question 'sums-0' answer another question"):
        evaluate(_config(out, data))
    # another file of the same name is another input too
    other = _write(tmp_path / "elsewhere" / "sums.jsonl", list(reversed(QUESTIONS[:2])))
    with pytest.raises(ValueError, match="answer another question"):
        evaluate(_config(out, other))
