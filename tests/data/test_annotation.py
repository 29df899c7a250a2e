"""The annotation record: complete when read back (thinking, spans, tokens, judge counts), versioned, and
refused with a reason when it is not one; read by byte offset for the streaming write phase."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thinktrim.data.annotation import (
    ANNOTATION_VERSION,
    AnnotationReader,
    AnnotationVersionError,
    ChainAnnotation,
    load_annotations,
    read_annotations,
)
from thinktrim.data.formats import read_records
from thinktrim.data.trace import StepKind
from thinktrim.refine.annotate import annotate_steps

FIXTURES = Path(__file__).parent / "fixtures"


def real_annotations() -> list[ChainAnnotation]:
    """Real traces annotated as refine does; judge counts, tokens and a score set by hand."""
    out = []
    for i, src in enumerate(read_records(FIXTURES / "response.jsonl")):
        steps = annotate_steps(src.trace.thinking, None)
        out.append(ChainAnnotation(
            src.trace.id, src.trace.thinking, steps, [len(s.text(src.trace.thinking)) // 3 for s in steps],
            location=src.location, answer_target="response", full_nll=1.25, final_value="7",
            final_value_source="boxed", judge_failures={"invalid verdict": i} if i else {},
            judge_vs_markers=[("verification", "progressive")] if i == 1 else None))
    return out


def test_a_record_reads_back_whole() -> None:
    anns = real_annotations()
    assert len(anns) >= 3 and any(s.unit is not None for a in anns for s in a.steps)
    for ann in anns:
        record = json.loads(json.dumps(ann.to_record()))  # as stored
        assert record["version"] == ANNOTATION_VERSION
        back = ChainAnnotation.from_record(record)
        assert back == ann  # every field: the thinking rebuilt from the step texts, spans, tokens, counts
        assert back.texts() == [s["text"] for s in record["steps"]]
        assert back.tokens == [s["tokens"] for s in record["steps"]]
        assert back.to_record() == record
        assert record["judge_failures"] == sum(ann.judge_failures.values())


def test_records_without_a_version_load() -> None:
    """Written before records were versioned: same fields, judge failures as a total only."""
    record = real_annotations()[2].to_record()
    old = {k: v for k, v in record.items() if k not in ("version", "judge_failures_by_reason")}
    back = ChainAnnotation.from_record(old)
    assert back.version == 0 and back.judge_failures == {"unrecorded": 2}
    assert back.thinking == ChainAnnotation.from_record(record).thinking
    assert back.to_record()["judge_failures"] == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 2}, "written by a later version of thinktrim (annotation version 2; this one reads up to 1)"),
        ({"version": "1"}, "version '1' is not a version number"),
        ({"status": None}, "not an annotation record: status None is not one of scored, no_units"),
        ({"steps": None}, "not an annotation record (TypeError"),
        ({"status": ...}, "not an annotation record: field 'status' missing"),
        ({"steps": [{"start": 0, "end": 5, "kind": "progressive", "text": "four"}]}, "step 0 spans [0, 5) but its "
         "text is [0, 4)"),
        ({"steps": [{"start": 0, "end": 1, "kind": "wander", "text": "x"}]}, "'wander' is not a valid StepKind"),
    ],
)
def test_a_bad_record_is_refused_with_a_reason(change: dict, message: str) -> None:
    record = real_annotations()[0].to_record()
    record.update({k: v for k, v in change.items() if v is not ...})
    for k in [k for k, v in change.items() if v is ...]:
        del record[k]
    with pytest.raises(ValueError) as err:
        ChainAnnotation.from_record(record)
    assert message in str(err.value)
    assert isinstance(err.value, AnnotationVersionError) == ("later version" in message)


def test_read_by_byte_offset(tmp_path: Path) -> None:
    anns = real_annotations()
    path = tmp_path / "annotations.jsonl"
    path.write_text("\n" + "".join(json.dumps(a.to_record(), ensure_ascii=False) + "\n" for a in anns),
                    encoding="utf-8")
    located = list(read_annotations(path))
    assert [a for _, a in located] == anns
    with AnnotationReader(path) as reader:
        for offset, ann in reversed(located):
            assert reader.at(offset) == ann
    assert list(load_annotations(path)) == [a.id for a in anns]
    path.write_text(path.read_text(encoding="utf-8") + json.dumps({"id": "x", "version": 5}) + "\n",
                    encoding="utf-8")
    with pytest.raises(AnnotationVersionError, match=rf"annotations\.jsonl:{len(anns) + 2}: written by a later"):
        load_annotations(path)


def test_protected_functional_counts_only_functional_steps() -> None:
    ann = real_annotations()[0]
    ann.steps[0].protected = True  # the first step: progressive
    functional = [s for s in ann.steps if s.kind is not StepKind.PROGRESSIVE]
    for s in functional[:2]:
        s.protected = True
    assert ann.protected_functional == len(functional[:2]) == ann.to_record()["protected_functional"]
