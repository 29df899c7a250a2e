"""AES as O1-Pruner reports it: the formula on the paper's own Table 2 rows, and the two overall figures
(the AES of all questions pooled, and the mean of the per-benchmark AES, the paper's AVERAGE column) in
results.json, the eval table and `eval compare`, on run folders written by hand and scored by the real code."""

import json
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thinktrim.cli import app
from thinktrim.evaluate.config import EvalConfig
from thinktrim.evaluate.metrics import aes, describe_metric
from thinktrim.evaluate.run import load_items, question_sha, sample_key, write_results
from thinktrim.evaluate.summary import AES_MEAN_NAME, AES_NAME, summary_rows
from thinktrim.lm.generation.types import GenerationConfig

# O1-Pruner Table 2, Marco-o1-7B: (Acc %, Length) per benchmark, baseline and two trained rows.
BASELINE = {"MATH": (73.8, 1156), "GSM8K": (89.2, 530), "GaoKao": (57.1, 1112)}
DPO = {"MATH": (71.8, 761), "GSM8K": (88.6, 410), "GaoKao": (56.6, 780)}
O1_PRUNER = {"MATH": (77.5, 657), "GSM8K": (91.4, 343), "GaoKao": (61.6, 664)}


def test_an_accuracy_drop_row_follows_the_formula_not_the_table() -> None:
    # Marco-o1 DPO on MATH: ΔLen = 395/1156 = 0.3417, ΔAcc = −2.0/73.8 = −0.0271. The formula gives
    # 0.3417 − 5·0.0271 = 0.206; the paper's table prints 0.42 = 0.3417 + 3·0.0271, the gain's weight on a loss.
    acc, length = DPO["MATH"]
    base_acc, base_length = BASELINE["MATH"]
    assert aes(acc, length, base_acc, base_length) == pytest.approx(0.2062, abs=5e-5)
    d_len, d_acc = (base_length - length) / base_length, (acc - base_acc) / base_acc
    assert round(d_len + 3 * abs(d_acc), 2) == 0.42  # what Table 2 prints: not what thinktrim reports
    # DPO lost accuracy on every benchmark; the table's 0.42, 0.25, 0.32 (AVERAGE 0.33) all take the gain's
    # weight, the formula gives 0.206, 0.193, 0.255 (mean 0.218).
    table = [round(dl + 3 * abs(da), 2) for dl, da in (
        ((BASELINE[b][1] - DPO[b][1]) / BASELINE[b][1], (DPO[b][0] - BASELINE[b][0]) / BASELINE[b][0])
        for b in BASELINE)]
    assert table == [0.42, 0.25, 0.32] and round(statistics.fmean(table), 2) == 0.33
    formula = [aes(*DPO[b], *BASELINE[b]) for b in BASELINE]
    assert [round(v, 3) for v in formula] == [0.206, 0.193, 0.255] and round(statistics.fmean(formula), 3) == 0.218


def test_the_average_column_is_the_mean_of_the_per_benchmark_aes() -> None:
    # O1-Pruner's row gains accuracy everywhere, so the formula and the table agree: 0.58, 0.43, 0.64.
    per_bench = [aes(*O1_PRUNER[b], *BASELINE[b]) for b in BASELINE]
    assert [round(v, 2) for v in per_bench] == [0.58, 0.43, 0.64]
    assert round(statistics.fmean(per_bench), 2) == 0.55  # the AVERAGE column


# Two benchmarks × 4 questions × 1 sample: (correct?, tokens) per question, for the baseline and a shorter run.
RUNS = {
    "base": {"gsm8k": [(True, 100)] * 4, "aime24": [(True, 400), (True, 400), (False, 400), (False, 400)]},
    "short": {"gsm8k": [(True, 50)] * 3 + [(False, 50)], "aime24": [(True, 100), (True, 100), (False, 100),
                                                                  (False, 100)]},
}


def write_run(folder: Path, verdicts: dict[str, list[tuple[bool, int]]], baseline: Path | None = None) -> dict:
    """An eval run folder with hand-written samples (a boxed gold is right, a boxed -1 wrong), scored by
    `write_results` as `thinktrim eval` scores a finished run."""
    config = EvalConfig(benchmarks=tuple(verdicts), limit=4, output_dir=str(folder), grade_processes=0,
                        baseline=str(baseline) if baseline else None, generation=GenerationConfig(n=1))
    items = load_items(config)
    for bench, bench_items in items.items():
        (folder / bench).mkdir(parents=True)
        rows = [{"key": sample_key(item.id, 0), "question_id": item.id, "sample": 0,
                 "question_sha": question_sha(item.question), "response": f"\\boxed{{{item.answer if ok else -1}}}",
                 "tokens": tokens, "finish_reason": "stop"}
                for item, (ok, tokens) in zip(bench_items, verdicts[bench])]
        (folder / bench / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return write_results(config, items, folder, {})


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path, dict]:
    write_run(tmp_path / "base", RUNS["base"])
    return tmp_path / "base", tmp_path / "short", write_run(tmp_path / "short", RUNS["short"], tmp_path / "base")


# gsm8k: 1.0 → 0.75 accuracy, 100 → 50 tokens: 0.5 − 5·0.25 = −0.75.
# aime24: 0.5 → 0.5, 400 → 100 tokens: 0.75. Their mean: 0.0.
# Pooled: 0.75 → 0.625 accuracy, 250 → 75 tokens: 0.7 − 5·(1/6) = −0.1333.
GSM8K_AES, AIME_AES, POOLED_AES = -0.75, 0.75, 0.7 - 5 / 6


def test_results_json_holds_the_pooled_aes_and_the_mean_of_the_benchmarks(runs) -> None:
    _, _, results = runs
    assert results["benchmarks"]["gsm8k"]["metrics"][AES_NAME] == pytest.approx(GSM8K_AES)
    assert results["benchmarks"]["aime24"]["metrics"][AES_NAME] == pytest.approx(AIME_AES)
    overall = results["overall"]["metrics"]
    assert overall[AES_NAME] == pytest.approx(POOLED_AES)
    assert overall[AES_MEAN_NAME] == pytest.approx(0.0, abs=1e-12)
    definitions = results["metric_definitions"]
    assert "pooled" in definitions[AES_NAME] and "AVERAGE" in definitions[AES_MEAN_NAME]
    assert describe_metric(AES_MEAN_NAME) == definitions[AES_MEAN_NAME]
    rows = {row[0]: row for row in summary_rows(results)}  # the table `thinktrim eval` prints
    assert rows["overall"][-1] == pytest.approx(POOLED_AES)
    assert rows["benchmark mean"][-1] == pytest.approx(0.0, abs=1e-12)


def test_the_mean_needs_every_benchmark_compared(tmp_path: Path) -> None:
    write_run(tmp_path / "base", {"gsm8k": RUNS["base"]["gsm8k"]})
    results = write_run(tmp_path / "short", RUNS["short"], tmp_path / "base")  # aime24 has no baseline
    overall = results["overall"]["metrics"]
    assert AES_NAME not in overall and AES_MEAN_NAME not in overall
    assert "benchmark mean" not in {row[0] for row in summary_rows(results)}


def test_compare_prints_both_named_apart(runs) -> None:
    base, short, _ = runs
    result = CliRunner().invoke(app, ["eval", "compare", str(base), str(short), "--json"])
    assert result.exit_code == 0, result.output
    rows = {(r["run"], r["benchmark"]): r["AES vs first"] for r in json.loads(result.output)}
    assert rows[("short", "overall")] == pytest.approx(POOLED_AES)
    assert rows[("short", "benchmark mean")] == pytest.approx(0.0, abs=1e-12)
    assert rows[("base", "benchmark mean")] == 0.0
    table = CliRunner().invoke(app, ["eval", "compare", str(base), str(short)])
    assert table.exit_code == 0 and "Average" in table.output and "all questions (pooled)" in table.output
