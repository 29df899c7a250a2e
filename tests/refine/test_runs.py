"""Reruns into one output folder never mix runs: another --limit is handled, another or edited input refused.

The annotations are a cache keyed by chain id; run.json records the input's fingerprint, the ids read and
--limit, and everything written (refined files, LLaMA-Factory data, stats, ranking) holds this run's chains.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import thinktrim
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.pipeline import LocalScoring, Refiner
from thinktrim.refine.prune import n_to_remove
from thinktrim.refine.verify import check_refined

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "thinktrim.cli"]


def refine(scorer, **kwargs) -> dict:
    cfg = RefineConfig(**{"on_error": "skip", **kwargs})
    return thinktrim.refine(cfg, LocalScoring(Refiner(cfg, scorer=scorer))).stats


def lines(path: Path) -> list[str]:
    return [x for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]


def test_smaller_then_larger_limit(runs_sample: Path, tmp_path: Path, embedded_scorer) -> None:
    out = tmp_path / "out"
    # marker-only steps (the paper's Table 4 reading, no check-boundary rules) keep the fixture's units where it
    # placed them, on last steps
    base = {"input": str(runs_sample), "output_dir": str(out), "ratios": (0.5,), "scope": "dataset",
            "weak_markers": "marker", "split_on_evidence": False, "end_at_progress": False,
            "repeated_computation": False}
    refine(embedded_scorer, **base, limit=3)
    cached = (out / "annotations.jsonl").read_bytes()
    assert len(lines(out / "rejects.jsonl")) == 1  # the malformed line sits between chains 2 and 3

    # a smaller --limit: nothing rescored, and only its own chain is written, ranked, counted and checked
    stats = refine(embedded_scorer, **base, limit=1)
    assert (out / "annotations.jsonl").read_bytes() == cached
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    first = json.loads(lines(runs_sample)[0])["id"]
    assert run["ids"] == [first] and run["limit"] == 1
    assert run["input_fingerprint"]["sha256"] == hashlib.sha256(runs_sample.read_bytes()).hexdigest()
    assert run["input_fingerprint"]["size"] == runs_sample.stat().st_size
    assert stats["chains"] == 1 and stats["rejected"] == 0 and not (out / "rejects.jsonl").exists()
    assert len(lines(out / "refined_r0.5.jsonl")) == 1 and len(lines(out / "llamafactory" / "runs_r0.5.jsonl")) == 1
    units = json.loads(lines(out / "annotations.jsonl")[0])["steps"]
    n_units = len({s["unit"] for s in units if s["unit"] is not None})
    assert sum(stats["ratios"]["r0.5"]["units_removed"].values()) == n_to_remove(0.5, n_units)  # ranked alone
    assert check_refined(out) == []

    # a larger --limit resumes: the cached chains are kept as they were, the new one is scored
    stats = refine(embedded_scorer, **base)
    annotations = lines(out / "annotations.jsonl")
    assert len(annotations) == 4 and "\n".join(annotations[:3]) + "\n" == cached.decode("utf-8")
    assert stats["chains"] == 4 and stats["rejected"] == 1 and len(lines(out / "refined_r0.5.jsonl")) == 4
    assert stats["protected_functional_steps"] == sum(json.loads(a)["protected_functional"] for a in annotations)
    assert check_refined(out) == []
    # the chains whose last step was their pruned unit read back exactly (refine-check agrees above)
    last_removed = [a for a in map(json.loads, annotations) if a["steps"][-1]["unit"] is not None]
    assert last_removed

    # other ratios and another name: the files of the previous ones go, nothing is rescored
    stats = refine(embedded_scorer, **{**base, "ratios": (0.2, 0.3), "name": "other"})
    assert sorted(p.name for p in out.glob("refined_*")) == ["refined_r0.2.jsonl", "refined_r0.3.jsonl"]
    assert sorted(p.name for p in (out / "llamafactory").iterdir()) == [
        "dataset_info.json", "ds_z3_config.json", "other_r0.2.jsonl", "other_r0.3.jsonl",
        "sft_limo_r0.2.yaml", "sft_limo_r0.3.yaml"]
    assert set(stats["outputs"]) >= {"refined_r0.2.jsonl", "llamafactory/other_r0.3.jsonl", "run.json"}
    assert lines(out / "annotations.jsonl") == annotations
    assert check_refined(out) == []


def test_edited_or_other_input_is_refused(runs_sample: Path, tmp_path: Path, embedded_scorer) -> None:
    data = tmp_path / "runs.jsonl"
    data.write_bytes(runs_sample.read_bytes())
    out = tmp_path / "out"
    refine(embedded_scorer, input=str(data), output_dir=str(out), ratios=(0.5,), limit=1)
    data.write_text(data.read_text(encoding="utf-8").replace("\"question\": \"", "\"question\": \"Edited. ", 1))
    proc = subprocess.run([*CLI, "refine", str(data), "-o", str(out), "--limit", "1", "--on-error", "skip"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "changed since" in proc.stderr and "runs.jsonl" in proc.stderr
    other = tmp_path / "other.jsonl"
    other.write_bytes(data.read_bytes())  # contents other than the scored ones, under another name
    proc = subprocess.run([*CLI, "refine", str(other), "-o", str(out), "--on-error", "skip"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "different input" in proc.stderr
    assert check_refined(out) != []  # the folder is left as the first run wrote it, and the edit is noticed
