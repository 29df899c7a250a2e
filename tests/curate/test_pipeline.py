"""`thinktrim curate` end to end on real chains: outputs in the pool's own layout, grouping, selection, audit,
errors, configuration."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from thinktrim.curate.config import CurateConfig
from thinktrim.curate.pipeline import curate
from thinktrim.curate.records import QualityScore

from .conftest import FIXTURES, read_jsonl, write_jsonl

CLI = [sys.executable, "-m", "thinktrim.cli", "curate"]


def run(pools, out: Path, **kw) -> dict:
    kw.setdefault("verify_chains", False)
    kw.setdefault("grade_processes", 0)
    return curate(CurateConfig(pools=tuple(map(str, pools)), output_dir=str(out), **kw), progress=False)


def test_output_keeps_the_pool_layout_and_format(tmp_path: Path) -> None:
    for name in ("limo.jsonl", "s1k.jsonl", "messages.jsonl", "sharegpt.jsonl", "alpaca.jsonl", "response.json",
                 "response.parquet"):
        stats = run([FIXTURES / name], tmp_path / name)
        out = tmp_path / name / f"curated.{name.split('.')[1]}"
        assert stats["outputs"] == {out.name: stats["kept"]} and stats["kept"] >= 2, name
        if name.endswith(".jsonl"):
            originals = [json.dumps(r, sort_keys=True) for r in read_jsonl(FIXTURES / name)]
            assert all(json.dumps(r, sort_keys=True) in originals for r in read_jsonl(out)), name
        elif name.endswith(".json"):
            assert list(json.loads(out.read_text())) == ["data"]  # the container key of the input
            rows = json.loads((FIXTURES / name).read_text())["data"]
            assert all(r in rows for r in json.loads(out.read_text())["data"])
        else:
            assert pq.read_table(out).schema.names == pq.read_table(FIXTURES / name).schema.names


def test_pools_of_different_layouts_are_written_one_file_each(tmp_path: Path) -> None:
    stats = run([FIXTURES / "limo.jsonl", FIXTURES / "messages.jsonl"], tmp_path / "out")
    assert set(stats["outputs"]) == {"curated-limo.jsonl", "curated-messages.jsonl"}
    assert all("messages" in r for r in read_jsonl(tmp_path / "out" / "curated-messages.jsonl"))


def test_json_pools_keep_their_own_container_keys(tmp_path: Path) -> None:
    """Two JSON pools read one after the other, records under different keys: each output keeps its pool's."""
    rows = json.loads((FIXTURES / "response.json").read_text())["data"]
    pools = []
    for key, part in (("data", rows[:2]), ("results", rows[2:])):
        pools.append(tmp_path / f"{key}.json")
        pools[-1].write_text(json.dumps({key: part}))
    stats = run(pools, tmp_path / "out")
    assert stats["outputs"] == {"curated-data.json": 2, "curated-results.json": 1}
    for key in ("data", "results"):
        written = json.loads((tmp_path / "out" / f"curated-{key}.json").read_text())
        assert list(written) == [key] and all(r in rows for r in written[key])


def test_chains_of_one_problem_are_grouped_and_the_best_chosen(tmp_path: Path, sample_records) -> None:
    first = sample_records[0]
    thinking, answer = first["response"].split("</think>")
    short = {**first, "id": "short-chain", "response": thinking[:400] + "</think>" + answer}
    pool = write_jsonl(tmp_path / "pool.jsonl", [*sample_records, short])
    stats = run([pool], tmp_path / "one", verify_chains=True)
    audit = {a["key"]: a for a in read_jsonl(tmp_path / "one" / "audit.jsonl")}
    assert len(audit) == len(sample_records) == stats["problems"]
    grouped = next(a for a in audit.values() if a["chains"] == 2)
    assert grouped["selected"] == [f"{pool}:1"] and grouped["quality"]["chain"] == f"{pool}:1"
    assert [r["id"] for r in read_jsonl(tmp_path / "one" / "curated.jsonl")].count("short-chain") == 0
    run([pool], tmp_path / "two", per_problem=2)
    assert "short-chain" in [r["id"] for r in read_jsonl(tmp_path / "two" / "curated.jsonl")]
    for a in audit.values():
        assert set(a) >= {"cluster", "contamination", "difficulty", "quality", "status", "reason", "records"}
        assert set(a["quality"]["parts"]) == {"elaboration", "verification", "exploration", "granularity"}


def test_wrong_chains_are_never_chosen(tmp_path: Path, sample_records) -> None:
    wrong = [{**r, "gt_answer": "123456"} if i == 0 else r for i, r in enumerate(sample_records)]
    stats = run([write_jsonl(tmp_path / "pool.jsonl", wrong)], tmp_path / "out", verify_chains=True)
    assert stats["steps"]["verify"]["dropped"] == {"no chain reaches the gold answer": 1}
    assert stats["steps"]["verify"]["events"] == {"chains correct": 5, "chains wrong": 1}
    assert sample_records[0]["id"] not in [r["id"] for r in read_jsonl(tmp_path / "out" / "curated.jsonl")]


def test_top_n_is_the_same_whatever_the_pool_order(tmp_path: Path, sample_records) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", sample_records[:3])
    b = write_jsonl(tmp_path / "b.jsonl", sample_records[3:])
    run([a, b], tmp_path / "ab", top=4)
    run([b, a], tmp_path / "ba", top=4)
    ab, ba = (read_jsonl(tmp_path / d / "curated.jsonl") for d in ("ab", "ba"))
    assert ab == ba and len(ab) == 4
    audit = read_jsonl(tmp_path / "ab" / "audit.jsonl")
    totals = sorted((a["quality"]["total"] for a in audit), reverse=True)
    assert [a["quality"]["total"] for a in sorted(audit, key=lambda a: a["rank"])] == totals
    assert [a["reason"] for a in audit if a["status"] == "dropped"] == ["below the top 4"] * 2


def test_a_quality_function_of_ones_own(tmp_path: Path, sample_records, monkeypatch) -> None:
    pool = write_jsonl(tmp_path / "pool.jsonl", sample_records)
    run([pool], tmp_path / "fn", top=1, quality_fn=None)
    shortest = min(sample_records, key=lambda r: len(r["response"].split("</think>")[0].strip()))
    stats = curate(CurateConfig(pools=(str(pool),), output_dir=str(tmp_path / "py"), top=1, verify_chains=False),
                   quality_fn=lambda trace: -len(trace.thinking), progress=False)
    assert stats["kept"] == 1 and read_jsonl(tmp_path / "py" / "curated.jsonl")[0]["id"] == shortest["id"]
    (tmp_path / "my_scores.py").write_text(
        "from thinktrim.curate.records import QualityScore\n"
        "def negative_length(trace):\n    return QualityScore(-len(trace.thinking), {'length': {'count': 1}})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    run([pool], tmp_path / "mod", top=1, quality_fn="my_scores:negative_length")
    assert read_jsonl(tmp_path / "mod" / "curated.jsonl")[0]["id"] == shortest["id"]
    assert isinstance(QualityScore(1.0), QualityScore)


def test_problems_without_chains_are_read_and_kept(tmp_path: Path) -> None:
    rows = [{"problem": "What is 6 times 7?", "answer": 42, "uid": "a"},
            {"problem": "Name 3 primes.", "answer": "2,3,5"}]
    stats = run([write_jsonl(tmp_path / "problems.jsonl", rows)], tmp_path / "out")
    audit = read_jsonl(tmp_path / "out" / "audit.jsonl")
    assert [(a["chains"], a["gold"], a["status"]) for a in audit] == [(0, "42", "kept"), (0, "2,3,5", "kept")]
    assert read_jsonl(tmp_path / "out" / "curated.jsonl") == rows and stats["kept"] == 2


def test_bad_records_name_file_line_and_field(tmp_path: Path, sample_records) -> None:
    pool = write_jsonl(tmp_path / "pool.jsonl", [sample_records[0], {"question": 5, "response": "x"},
                                                 sample_records[1]])
    proc = subprocess.run([*CLI, str(pool), "-o", str(tmp_path / "out"), "--no-verify-chains"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"error: {pool}:2: field 'question': expected a string, got int")
    proc = subprocess.run([*CLI, str(pool), "-o", str(tmp_path / "out"), "--no-verify-chains", "--on-error", "skip"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert read_jsonl(tmp_path / "out" / "rejects.jsonl") == [
        {"location": f"{pool}:2", "field": "question", "reason": "expected a string, got int"}]
    assert "2 of 2 problems kept" in proc.stdout.replace("\n", " ")
    proc = subprocess.run([*CLI, str(pool), "--near-threshold", "2"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr == "error: --near-threshold: must be in (0, 1], got 2.0\n"


def test_yaml_config_and_command_line(tmp_path: Path, sample_records) -> None:
    pool = write_jsonl(tmp_path / "pool.jsonl", sample_records)
    (tmp_path / "curate.yaml").write_text("top: 2\nverify_chains: false\nbenchmarks: [aime24]\n")
    proc = subprocess.run([*CLI, str(pool), "--config", str(tmp_path / "curate.yaml"), "-o", str(tmp_path / "out"),
                           "--top", "3"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    run_json = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run_json["config"]["top"] == 3 and run_json["config"]["benchmarks"] == ["aime24"]
    assert len(read_jsonl(tmp_path / "out" / "curated.jsonl")) == 3
    assert "thinktrim curate" in proc.stdout and "decontaminate" in proc.stdout


@pytest.mark.slow
def test_curated_output_goes_into_refine(tmp_path: Path, sample_records) -> None:
    """Curate the sample (top 2 by quality), then refine the curated file on the embedded model."""
    from thinktrim.refine.config import RefineConfig
    from thinktrim.refine.outputs import write_outputs
    from thinktrim.refine.pipeline import score_all

    def trimmed(r: dict) -> dict:  # short chains keep refine fast on the embedded model
        thinking, answer = r["response"].split("</think>", 1)
        return {**r, "response": thinking[: thinking.rfind("\n\n", 0, 1500)] + "\n</think>" + answer}

    pool = write_jsonl(tmp_path / "pool.jsonl", [trimmed(r) for r in sample_records])
    run([pool], tmp_path / "curated", top=2, verify_chains=True)
    curated = tmp_path / "curated" / "curated.jsonl"
    cfg = RefineConfig(input=str(curated), output_dir=str(tmp_path / "refined"), ratios=(0.5,), device="cpu")
    score_all(cfg)
    write_outputs(cfg)
    annotations = read_jsonl(tmp_path / "refined" / "annotations.jsonl")
    assert len(annotations) == 2 and {a["status"] for a in annotations} <= {"scored", "no_units"}
    assert len(read_jsonl(tmp_path / "refined" / "refined_r0.5.jsonl")) == 2
    shutil.rmtree(tmp_path / "refined")
