"""`thinktrim refine` end to end on the embedded model, real traces and real files."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thinktrim.refine.config import RefineConfig
from thinktrim.refine.run import refine
from thinktrim.refine.verify import check_refined

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "thinktrim.cli"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]


def test_refine_writes_every_output(small_sample: Path, tmp_path: Path, pruned_exactly) -> None:
    cfg = RefineConfig(input=str(small_sample), output_dir=str(tmp_path / "out"), ratios=(0.2, 0.5), limit=2)
    stats = refine(cfg).stats
    out = tmp_path / "out"
    anns = read_jsonl(out / "annotations.jsonl")
    assert [a["status"] for a in anns] == ["scored", "scored"]
    for a in anns:
        assert all(set(s) >= {"start", "end", "text", "kind", "link", "pir", "tokens"} for s in a["steps"])
        scored = [s for s in a["steps"] if s["unit"] is not None]
        assert scored and all(isinstance(s["pir"], float) for s in scored)
        assert all(s["pir"] is None for s in a["steps"] if s["kind"] == "progressive")
    for tag in ("r0.2", "r0.5"):
        refined = read_jsonl(out / f"refined_{tag}.jsonl")
        assert len(refined) == 2 and set(refined[0]) == set(json.loads(small_sample.read_text().split("\n")[0]))
        lf = read_jsonl(out / "llamafactory" / f"small_{tag}.jsonl")
        assert [m["role"] for m in lf[0]["messages"]] == ["system", "user", "assistant"]
    info = json.loads((out / "llamafactory" / "dataset_info.json").read_text())
    assert info["small_r0.2"]["formatting"] == "sharegpt" and info["small_r0.2"]["file_name"] == "small_r0.2.jsonl"
    assert abs(sum(stats["token_share"].values()) - 1) < 1e-9
    n_units = sum(len({s["unit"] for s in a["steps"] if s["unit"] is not None}) for a in anns)
    assert sum(stats["functional_units"].values()) == n_units
    r2, r5 = stats["ratios"]["r0.2"], stats["ratios"]["r0.5"]
    assert 0 <= r2["token_reduction"] <= r5["token_reduction"] < 1
    assert check_refined(out) == []
    pruned_exactly(out, stats)  # refine-check alone would pass a prune that removes nothing


def test_overlong_and_unclosed_chains_are_reported(small_sample: Path, tmp_path: Path, sample_records) -> None:
    data = tmp_path / "mixed.jsonl"
    unclosed = {**sample_records[0], "id": "cut-off", "response": sample_records[0]["response"].split("</think>")[0]}
    data.write_text(small_sample.read_text() + json.dumps(unclosed) + "\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [*CLI, "refine", str(data), "-o", str(out), "--max-context", "700", "--ratios", "0.3"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["unclosed_ids"] == ["cut-off"]
    assert stats["status"].get("overlong", 0) >= 1
    assert all("> max context 700" in r for r in stats["skipped"].values())
    assert "never close their thinking" in proc.stdout and "cut-off" in proc.stdout
    # skipped and unclosed chains are passed through unchanged
    assert len(read_jsonl(out / "refined_r0.3.jsonl")) == 5
    assert check_refined(out) == []


def test_kill_9_then_resume_loses_and_duplicates_nothing(small_sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [*CLI, "refine", str(small_sample), "-o", str(out), "--ratios", "0.2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ann = out / "annotations.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (ann.exists() and ann.read_text().count("\n") >= 1):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = ann.read_text().count("\n")
    assert 1 <= done_before < 4, "the kill should land mid-run"
    with ann.open("a") as f:  # a torn write, as a kill during append would leave
        f.write('{"id": "r1-qwen')
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    ids = [a["id"] for a in read_jsonl(ann)]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert len(read_jsonl(out / "refined_r0.2.jsonl")) == 4
    assert check_refined(out) == []


def test_malformed_record_names_file_line_and_field(small_sample: Path, tmp_path: Path) -> None:
    lines = small_sample.read_text().split("\n")
    bad = dict(json.loads(lines[1]))
    bad["question"] = 42
    data = tmp_path / "bad.jsonl"
    data.write_text("\n".join([lines[0], json.dumps(bad), "{not json", lines[2]]) + "\n")
    proc = subprocess.run([*CLI, "refine", str(data), "-o", str(tmp_path / "o1")], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "bad.jsonl:2" in proc.stderr and "question" in proc.stderr
    proc = subprocess.run(
        [*CLI, "refine", str(data), "-o", str(tmp_path / "o2"), "--on-error", "skip", "--ratios", "0.2"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    rejects = read_jsonl(tmp_path / "o2" / "rejects.jsonl")
    assert [r["location"].rsplit("/", 1)[-1] for r in rejects] == ["bad.jsonl:2", "bad.jsonl:3"]
    assert rejects[0]["field"] == "question" and rejects[1]["reason"]
    assert len(read_jsonl(tmp_path / "o2" / "refined_r0.2.jsonl")) == 2


def test_a_layout_of_the_users_own(small_sample: Path, tmp_path: Path) -> None:
    """Unknown keys and nested fields: refused with a pointer to --layout, then refined through a field map,
    written back in place (same structure, other fields untouched) and checked by refine-check."""
    records = []
    for i, line in enumerate(small_sample.read_text(encoding="utf-8").split("\n")[:2]):
        r = json.loads(line)
        thinking, answer = r["response"].split("</think>", 1)
        records.append({"meta": {"qid": f"q{i}"}, "Instruction": r["question"], "gold": 7.0,
                        "runs": [{"think": thinking, "final": answer.strip()}, {"think": "other run"}]})
    data = tmp_path / "own.json"
    data.write_text(json.dumps({"items": records}), encoding="utf-8")
    proc = subprocess.run([*CLI, "refine", str(data), "-o", str(tmp_path / "o0")], capture_output=True, text=True)
    assert proc.returncode != 0 and "own.json[0]" in proc.stderr and "--layout 'question=KEY" in proc.stderr
    layout = "question=Instruction,thinking=runs.0.think,response=runs.0.final,answer=gold,id=meta.qid"
    out = tmp_path / "o1"
    proc = subprocess.run([*CLI, "refine", str(data), "-o", str(out), "--layout", layout, "--ratios", "0.5",
                           "--answer-target", "answer-field"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert [a["id"] for a in read_jsonl(out / "annotations.jsonl")] == ["q0", "q1"]
    refined = json.loads((out / "refined_r0.5.json").read_text(encoding="utf-8"))["items"]
    for before, after in zip(records, refined):
        assert after["runs"][1] == before["runs"][1] and after["meta"] == before["meta"]
        assert after["runs"][0]["final"] == before["runs"][0]["final"]
        assert len(after["runs"][0]["think"]) < len(before["runs"][0]["think"])
    check = subprocess.run([*CLI, "refine-check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0 and "ok" in check.stdout, check.stdout + check.stderr
