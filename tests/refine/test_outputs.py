"""The streaming write phase: each file format mirrored (Parquet with the input's own schema), failures that
leave the previous outputs as they were, annotations of every version, counts by reason in stats.json."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.outputs import write_outputs
from thinktrim.refine.pipeline import score_all
from thinktrim.refine.stats import print_summary
from thinktrim.refine.verify import check_refined


def write_input(path: Path, records: list[dict]) -> None:
    rows = [{**r, "n": i, "meta": {"source": "sample", "rank": i}} for i, r in enumerate(records)]
    if path.suffix == ".parquet":
        schema = pa.schema([(k, pa.int32() if k == "n" else pa.array([r[k] for r in rows]).type) for k in rows[0]])
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    elif path.suffix == ".json":
        path.write_text(json.dumps({"items": rows}), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_each_format_is_mirrored(tmp_path: Path, sample_records, fmt: str, annotate_with_drawn_pirs,
                                 pruned_exactly) -> None:
    data = tmp_path / f"traces.{fmt}"
    write_input(data, sample_records)
    cfg = RefineConfig(input=str(data), output_dir=str(tmp_path / "out"), ratios=(0.3, 0.5))
    annotate_with_drawn_pirs(cfg)
    stats = write_outputs(cfg)
    pruned_exactly(tmp_path / "out", stats)
    out = tmp_path / "out" / f"refined_r0.5.{fmt}"
    if fmt == "parquet":
        assert pq.read_schema(out) == pq.read_schema(data)  # int32 stays int32, the struct keeps its fields
        assert pq.read_table(out).column("meta").to_pylist() == pq.read_table(data).column("meta").to_pylist()
    else:
        assert list(json.loads(out.read_text(encoding="utf-8"))) == ["items"]
    assert check_refined(tmp_path / "out") == []


def test_a_chain_without_annotation_leaves_the_previous_outputs(tmp_path: Path, sample_records,
                                                                annotate_with_drawn_pirs) -> None:
    data = tmp_path / "traces.jsonl"
    write_input(data, sample_records)
    out = tmp_path / "out"
    cfg = RefineConfig(input=str(data), output_dir=str(out), ratios=(0.5,))
    annotate_with_drawn_pirs(cfg)
    write_outputs(cfg)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    lines = (out / "annotations.jsonl").read_text(encoding="utf-8").splitlines()
    (out / "annotations.jsonl").write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"traces\.jsonl:3: chain has no annotation \(1 missing\); rerun"):
        write_outputs(cfg)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    del before[out / "annotations.jsonl"], after[out / "annotations.jsonl"]
    assert after == before, "no output was replaced, no temporary file left"


def test_annotations_of_every_version(tmp_path: Path, sample_records, annotate_with_drawn_pirs) -> None:
    """Records written before annotations carried a version load and give the same outputs; a later version
    is refused with one line, by the write phase and by refine-check."""
    data = tmp_path / "traces.jsonl"
    write_input(data, sample_records)
    out = tmp_path / "out"
    cfg = RefineConfig(input=str(data), output_dir=str(out), ratios=(0.2, 0.5))
    annotate_with_drawn_pirs(cfg)
    stats = write_outputs(cfg)
    refined = (out / "refined_r0.5.jsonl").read_bytes()
    path = out / "annotations.jsonl"
    current = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    old = [{k: v for k, v in a.items() if k not in ("version", "judge_failures_by_reason")} for a in current]
    path.write_text("".join(json.dumps(a) + "\n" for a in old), encoding="utf-8")
    assert write_outputs(cfg) == stats and (out / "refined_r0.5.jsonl").read_bytes() == refined
    assert check_refined(out) == []

    later = [{**a, "version": 99} for a in current]
    path.write_text("".join(json.dumps(a) + "\n" for a in later), encoding="utf-8")
    with pytest.raises(ValueError, match=r"annotations\.jsonl:1: written by a later version of thinktrim"):
        write_outputs(cfg)
    with pytest.raises(ValueError, match=r"annotations\.jsonl:1: written by a later version"):
        score_all(cfg)  # refused before anything is added to the folder (or any model loaded)
    result = CliRunner().invoke(app, ["refine-check", str(out)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "annotations.jsonl:1: written by a later version of thinktrim (annotation version 99" in result.stderr


def test_counts_by_reason_in_stats_json(tmp_path: Path, sample_records, annotate_with_drawn_pirs, capsys) -> None:
    """Rejected records by field, chains not scored by reason, which answer text PIR measured, what protects
    the final answer: in stats.json and in the summary printed at the end of a run."""
    data = tmp_path / "traces.jsonl"
    write_input(data, sample_records[:3])
    unclosed = {**sample_records[3], "id": "cut-off", "response": sample_records[3]["response"].split("</think>")[0]}
    with data.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"question": "no response"}) + "\n{not json\n" + json.dumps(unclosed) + "\n")
    out = tmp_path / "out"
    cfg = RefineConfig(input=str(data), output_dir=str(out), ratios=(0.5,), on_error="skip")
    annotate_with_drawn_pirs(cfg)
    path = out / "annotations.jsonl"
    anns = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    anns[-1].update(status="unclosed", reason="the response never closes its thinking")
    path.write_text("".join(json.dumps(a) + "\n" for a in anns), encoding="utf-8")
    stats = write_outputs(cfg)
    assert stats["rejected"] == 2
    assert stats["counts"]["rejected_by_field"] == {"record": 1, "response": 1}
    assert stats["counts"]["not_scored_by_reason"] == {"unclosed": 1}
    assert stats["counts"]["answer_target_used"] == {"response": 4}
    assert sum(stats["counts"]["final_value_source"].values()) == 4
    assert "judge_failures_by_reason" not in stats["counts"] and stats["judge_failures"] == 0
    assert json.loads((out / "stats.json").read_text(encoding="utf-8"))["counts"] == stats["counts"]
    print_summary(stats, out)
    printed = capsys.readouterr().out
    assert "Counts by reason" in printed and "rejected_by_field" in printed and "not_scored_by_reason" in printed
