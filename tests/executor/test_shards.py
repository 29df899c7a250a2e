"""Shards: a stable split of the input by id, merges whose outputs equal one process's, and merges that name the
shard that is missing or unfinished instead of skipping it.

The merge-error tests score with a tiny random model in this process (fast); the identity tests run the
embedded model end to end, refine and eval.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from thinktrim.data.shards import Shard, shard_of
from thinktrim.refine.config import RefineConfig, RefineMergeConfig
from thinktrim.refine.outputs import write_outputs
from thinktrim.refine.pipeline import Refiner, score_all
from thinktrim.refine.shards import merge_shards

from .conftest import REFINE, same_outputs

CLI = [sys.executable, "-m", "thinktrim.cli"]


def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=600)


def one_error(proc: subprocess.CompletedProcess, *expected: str) -> str:
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


def test_shard_of_is_stable_across_processes_and_even() -> None:
    keys = ["a", "chain-1", "gsm8k/gsm8k-0", "r1-qwen-14b-problem_2236@1600"]
    # pinned: blake2b of the id, the same on every machine and Python
    assert [shard_of(k, 4) for k in keys] == [3, 0, 1, 3]
    assert [shard_of(k, 7) for k in keys] == [2, 0, 4, 0]
    # not Python's salted hash(): a fresh interpreter with another hash seed agrees
    code = f"from thinktrim.data.shards import shard_of; print([shard_of(k, 4) for k in {keys!r}])"
    for seed in ("1", "2"):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        assert proc.stdout.strip() == "[3, 0, 1, 3]"
    sizes = [sum(shard_of(f"c{i}", 4) == s for i in range(1000)) for s in range(4)]
    assert min(sizes) > 200 and sum(sizes) == 1000
    assert Shard.parse(" 1 / 4 ") == Shard(1, 4) and str(Shard(1, 4)) == "1/4"


def test_bad_parallel_options_are_one_line(tmp_path: Path, chains: Path) -> None:
    out = tmp_path / "out"
    one_error(cli("refine", chains, "-o", out, "--shard", "2/2"), "--shard", "0 <= i < N")
    one_error(cli("refine", chains, "-o", out, "--shard", "half"), "--shard", "expected i/N")
    one_error(cli("eval", "-b", "gsm8k", "-o", out, "--num-workers", "2"), "--num-workers", "--executor ray")
    one_error(cli("refine", chains, "-o", out, "--executor", "dask"), "--executor", "local, ray")
    one_error(cli("refine-merge", out), "no shard folders", "--shard i/N")
    one_error(cli("eval", "merge", out), "no shard folders")
    assert not out.exists()


@pytest.fixture(scope="module")
def tiny_scorer(make_tiny_llama):
    from thinktrim.lm.scoring.engine import CachedScorer

    model, tokenizer = make_tiny_llama(seed=1, initializer_range=0.2)
    return CachedScorer(model, tokenizer)


def refine_shard(chains: Path, out: Path, shard: str | None, scorer, **kw) -> RefineConfig:
    cfg = RefineConfig.from_mapping({"input": str(chains), "output_dir": str(out), **REFINE, **kw,
                                     "parallel": {"shard": shard}})
    score_all(cfg, Refiner(cfg, scorer=scorer))
    return cfg


def test_refine_merge_names_missing_unfinished_and_foreign_shards(tmp_path: Path, chains: Path,
                                                                  tiny_scorer) -> None:
    out = tmp_path / "out"
    ids = [json.loads(x)["id"] for x in chains.read_text().splitlines()]
    assert {shard_of(i, 2) for i in ids} == {0, 1}  # both shards have chains
    refine_shard(chains, out, "0/2", tiny_scorer)
    one_error(cli("refine-merge", out), "shard(s) 1/2 missing", "--shard 1/2")

    refine_shard(chains, out, "1/2", tiny_scorer)
    part = out / "shards" / "1-of-2" / "annotations.jsonl"
    lines = part.read_text().splitlines(keepends=True)
    part.write_text("".join(lines[:-1]) + lines[-1][:20])  # its last chain lost, torn mid-line (a kill -9)
    lost = json.loads(lines[-1])["id"]
    one_error(cli("refine-merge", out), "shard 1/2 is unfinished", f"{len(lines) - 1} of its {len(lines)} chains",
              lost)
    refine_shard(chains, out, "1/2", tiny_scorer)  # resumes: scores the lost chain only
    assert len(part.read_text().splitlines()) == len(lines)

    other = tmp_path / "other"
    refine_shard(chains, other, "1/2", tiny_scorer, target_sentences=3)
    shutil.copytree(out / "shards" / "0-of-2", other / "shards" / "0-of-2")
    one_error(cli("refine-merge", other), "shard 1/2 was run with other settings", "target_sentences=4 → 3")

    (out / "shards" / "0-of-3").mkdir()
    one_error(cli("refine-merge", out), "split 2 (2 found), 3 (1 found) ways")
    (out / "shards" / "0-of-3").rmdir()

    stats = merge_shards(RefineMergeConfig(output_dir=str(out)))
    single = refine_shard(chains, tmp_path / "single", None, tiny_scorer)
    assert stats == write_outputs(single) | {"outputs": stats["outputs"]}
    same_outputs(tmp_path / "single", out)
    run = json.loads((out / "run.json").read_text())
    assert run["ids"] == ids and run["merged_shards"] == 2 and run["shard"] is None


@pytest.mark.slow
def test_refine_shards_merge_into_the_single_process_outputs(tmp_path: Path, chains: Path, reference: Path,
                                                            embedded_scorer, one_thread) -> None:
    """Two shards on the embedded model, merged: the same annotations, refined files and stats.json as one process,
    with the dataset-wide ranking over both shards (each shard alone would rank differently)."""
    out = tmp_path / "out"
    with one_thread():
        for i in range(2):
            refine_shard(chains, out, f"{i}/2", embedded_scorer)
    proc = cli("refine-merge", out)
    assert proc.returncode == 0, proc.stderr
    same_outputs(reference, out)
    assert cli("refine-check", out).returncode == 0


def eval_run(out: Path, model: str, shard: str | None = None, **generation) -> dict:
    from thinktrim.evaluate.config import EvalConfig
    from thinktrim.evaluate.run import evaluate

    config = EvalConfig.from_mapping({"benchmarks": ["gsm8k"], "limit": 3, "model": model, "device": "cpu",
                                      "output_dir": str(out), "grade_processes": 0, "n": 2, "max_new_tokens": 8,
                                      "temperature": 0, "batch_size": 1, **generation, "parallel": {"shard": shard}})
    return evaluate(config)


def comparable(results: dict) -> dict:
    """What a merge must reproduce: every metric and count, per benchmark and overall."""
    return {"benchmarks": results["benchmarks"], "overall": results["overall"]}


def test_eval_merge_names_missing_and_unfinished_shards(tmp_path: Path, tiny_model_dir: Path) -> None:
    from thinktrim.evaluate.config import EvalMergeConfig
    from thinktrim.evaluate.shards import merge_shards as merge_eval

    out = tmp_path / "out"
    mine = [q for q in ("gsm8k-0", "gsm8k-1", "gsm8k-2") if Shard(1, 2).holds(f"gsm8k/{q}")]
    assert 0 < len(mine) < 3  # both shards have questions
    assert eval_run(out, str(tiny_model_dir), "1/2")["generation"]["generated"] == 2 * len(mine)  # n = 2
    one_error(cli("eval", "merge", out), "shard(s) 0/2 missing")
    eval_run(out, str(tiny_model_dir), "0/2")
    samples = out / "shards" / "1-of-2" / "gsm8k" / "samples.jsonl"
    lines = samples.read_text().splitlines(keepends=True)
    samples.write_text("".join(lines[:-1]))
    one_error(cli("eval", "merge", out, "--grade-processes", "0"), "shard 1/2 is unfinished",
              f"{2 * len(mine) - 1} of its {2 * len(mine)} samples")
    again = eval_run(out, str(tiny_model_dir), "1/2")["generation"]
    assert (again["generated"], again["resumed"]) == (1, 2 * len(mine) - 1)  # only the lost sample
    merged = merge_eval(EvalMergeConfig(output_dir=str(out), grade_processes=0))
    single = eval_run(tmp_path / "single", str(tiny_model_dir))
    assert comparable(merged) == comparable(single)
    assert merged["generation"]["merged_shards"] == 2


@pytest.mark.slow
def test_eval_shards_merge_into_the_single_process_results(tmp_path: Path) -> None:
    """The embedded model, greedy: two shards merged grade and score exactly as one process."""
    from thinktrim.evaluate.config import EvalMergeConfig
    from thinktrim.evaluate.shards import merge_shards as merge_eval

    out = tmp_path / "out"
    for i in range(2):
        eval_run(out, "embedded", f"{i}/2")
    merged = merge_eval(EvalMergeConfig(output_dir=str(out), grade_processes=0))
    single = eval_run(tmp_path / "single", "embedded")
    assert comparable(merged) == comparable(single)

    def samples(folder: Path) -> list[dict]:
        rows = [json.loads(x) for x in (folder / "gsm8k" / "samples.jsonl").read_text().splitlines()]
        return sorted(rows, key=lambda r: r["key"])

    assert samples(out) == samples(tmp_path / "single") and len(samples(out)) == 6
    graded = [folder / "gsm8k" / "graded.jsonl" for folder in (out, tmp_path / "single")]
    assert graded[0].read_bytes() == graded[1].read_bytes()
