"""The reward, its clip and the z-score against values computed by hand, through `build` on a real run folder.

The table has four problems of K = 4 samples: a mixed one, one the model always solves, one it never solves, and
one whose rewards hit both clip bounds. The expected values were worked out by hand from
R = L̄/L − 1 + 2·(A − Ā), clip to [−2, 4], then (R − mean) / population std over all 16 rows.
"""

import json
import pickle

import pytest

from thinktrim.data.chat import DEFAULT_SYSTEM_PROMPT
from thinktrim.errors import UserError
from thinktrim.evaluate.config import EvalConfig
from thinktrim.evaluate.run import question_sha, sample_key
from thinktrim.lm.generation.types import GenerationConfig
from thinktrim.train.o1_pruner.build import DATASET_FILE, PROBLEMS_FILE, SUMMARY_FILE, run_build
from thinktrim.train.o1_pruner.config import BuildConfig
from thinktrim.train.o1_pruner.reward import (
    clip_reward,
    get_length_harmonizing_reward,
    kept_samples,
    length_harmonizing_reward,
    reference_stats,
    z_scores,
)

# problem id → (lengths, verdicts) of its 4 samples
TABLE = {
    "mixed": ([100, 50, 200, 150], [True, False, True, False]),  # L̄ 125, Ā 0.5
    "all-right": ([10, 30, 20, 20], [True] * 4),  # L̄ 20, Ā 1: only the length term is left
    "all-wrong": ([400, 40, 220, 220], [False] * 4),  # L̄ 220, Ā 0: 220/40 − 1 = 4.5 is clipped to 4
    "clipped": ([10, 10, 10, 1000], [True, True, True, False]),  # L̄ 257.5, Ā 0.75: 25.25 → 4, −2.2425 → −2
}
RAW = [1.25, 0.5, 0.625, -7 / 6, 1.0, -1 / 3, 0.0, 0.0, -0.45, 4.5, 0.0, 0.0, 25.25, 25.25, 25.25, -2.2425]
CLIPPED = [1.25, 0.5, 0.625, -7 / 6, 1.0, -1 / 3, 0.0, 0.0, -0.45, 4.0, 0.0, 0.0, 4.0, 4.0, 4.0, -2.0]
# mean 0.9640625, population std 1.9040612
ADVANTAGE = [0.150172, -0.243722, -0.178073, -1.119044, 0.018874, -0.681383, -0.506319, -0.506319, -0.742656,
             1.594454, -0.506319, -0.506319, 1.594454, 1.594454, 1.594454, -1.556706]


def test_the_formula_on_the_table() -> None:
    raw = []
    for lengths, correct in TABLE.values():
        ref = reference_stats(lengths, correct)
        raw += [length_harmonizing_reward(n, c, ref.mean_length, ref.accuracy) for n, c in zip(lengths, correct)]
    assert raw == pytest.approx(RAW)
    assert [clip_reward(r) for r in raw] == pytest.approx(CLIPPED)
    assert z_scores(CLIPPED) == pytest.approx(ADVANTAGE, abs=1e-6)
    assert z_scores([0.7, 0.7]) == [0.0, 0.0]  # no spread: no advantage, not a division by zero
    assert length_harmonizing_reward(0, False, 10.0, 0.0) == 9.0  # an empty response counts as one token


def test_kept_samples_are_the_same_on_every_run() -> None:
    assert kept_samples("gsm8k-0", 16, 2) == [8, 10]  # pinned: a string seed is hashed the same everywhere
    assert kept_samples("gsm8k-1", 16, 2) == [0, 9]
    assert kept_samples("gsm8k-0", 16, 2, seed=1) == [0, 4]
    assert kept_samples("x", 3, 5) == [0, 1, 2]


def write_run(folder, table=TABLE) -> None:
    """An eval run folder as `thinktrim eval -n 4` leaves it: config, samples and verdicts."""
    problems = folder / "problems.jsonl"
    folder.mkdir()
    problems.write_text("".join(json.dumps({"id": pid, "question": f"Question {pid}?", "answer": "7"}) + "\n"
                                for pid in table))
    config = EvalConfig(data=str(problems), id_field="id", output_dir=str(folder), generation=GenerationConfig(n=4))
    (folder / "run.json").write_text(json.dumps(config.to_dict()))
    (folder / "problems").mkdir()
    samples, graded = [], []
    for pid, (lengths, correct) in table.items():
        qid = f"problems-{pid}"
        for s, (n, ok) in enumerate(zip(lengths, correct)):
            row = {"key": sample_key(qid, s), "question_id": qid, "sample": s, "question_sha":
                   question_sha(f"Question {pid}?"), "response": f"sample {s} of {pid}", "tokens": n,
                   "finish_reason": "stop" if n < 1000 else "length", "answer": "7", "kind": "expression"}
            samples.append(row)
            graded.append({k: v for k, v in row.items() if k != "response"} | {"correct": ok})
    for name, rows in (("samples", samples), ("graded", graded)):
        (folder / "problems" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_build_writes_the_hand_computed_dataset(tmp_path) -> None:
    write_run(tmp_path / "run")
    record = run_build(BuildConfig(run=str(tmp_path / "run"), output_dir=str(tmp_path / "data"), keep=4))
    rows = read_jsonl(tmp_path / "data" / DATASET_FILE)
    assert [r["reward_raw"] for r in rows] == pytest.approx(RAW)
    assert [r["reward"] for r in rows] == pytest.approx(CLIPPED)
    assert [r["advantage"] for r in rows] == pytest.approx(ADVANTAGE, abs=1e-6)
    first = rows[0]
    assert first["prompt"] == [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
                               {"role": "user", "content": "Question mixed?"}]  # what eval prompted with
    assert first["completion"] == [{"role": "assistant", "content": "sample 0 of mixed"}]
    assert (first["ref_mean_length"], first["ref_accuracy"]) == (125.0, 0.5)
    assert record["problems"] == 4 and record["examples"] == 16
    assert record["share_all_correct"] == record["share_all_wrong"] == 0.25
    assert (record["clipped_low"], record["clipped_high"]) == (1, 4)
    assert record["reward"]["max"] == 4.0 and record["reward"]["min"] == -2.0
    assert record["advantage"]["mean"] == pytest.approx(0.0, abs=1e-12)
    assert record["kept_truncated"] == 1 and record["reference_model"] == "embedded"
    assert json.loads((tmp_path / "data" / SUMMARY_FILE).read_text()) == json.loads(json.dumps(record))
    problems = read_jsonl(tmp_path / "data" / PROBLEMS_FILE)
    assert [(p["id"], p["ref_mean_length"], p["ref_accuracy"]) for p in problems] == [
        ("problems-mixed", 125.0, 0.5), ("problems-all-right", 20.0, 1.0), ("problems-all-wrong", 220.0, 0.0),
        ("problems-clipped", 257.5, 0.75)]


def test_build_keeps_k_per_problem_and_z_scores_what_it_kept(tmp_path) -> None:
    write_run(tmp_path / "run")
    run_build(BuildConfig(run=str(tmp_path / "run"), output_dir=str(tmp_path / "data")))
    rows = read_jsonl(tmp_path / "data" / DATASET_FILE)
    expected = []
    for p, pid in enumerate(TABLE):
        for s in kept_samples(f"problems-{pid}", 4, 2):
            assert rows[len(expected)]["id"] == f"problems-{pid}#{s}"
            expected.append(CLIPPED[4 * p + s])
    assert [r["reward"] for r in rows] == pytest.approx(expected)
    assert [r["advantage"] for r in rows] == pytest.approx(z_scores(expected))
    again = tmp_path / "again"
    run_build(BuildConfig(run=str(tmp_path / "run"), output_dir=str(again)))
    assert (again / DATASET_FILE).read_bytes() == (tmp_path / "data" / DATASET_FILE).read_bytes()


def test_an_unfinished_run_is_one_clear_error(tmp_path) -> None:
    write_run(tmp_path / "run")
    graded = tmp_path / "run" / "problems" / "graded.jsonl"
    graded.write_text("\n".join(graded.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(UserError, match="no verdict for sample problems-clipped#3; rerun"):
        run_build(BuildConfig(run=str(tmp_path / "run"), output_dir=str(tmp_path / "data")))


def test_the_grpo_reward_function_gives_the_same_values() -> None:
    reward = pickle.loads(pickle.dumps(get_length_harmonizing_reward()))  # TRL may ship it to other processes
    lengths, correct = TABLE["mixed"]
    completions = [[{"role": "assistant", "content": "so \\boxed{7}" if ok else "so \\boxed{8}"}] for ok in correct]
    values = reward(prompts=[[{"role": "user", "content": "q"}]] * 4, completions=completions,
                    completion_ids=[[0] * n for n in lengths], answer=["7"] * 4, kind=["number"] * 4,
                    ref_mean_length=[125.0] * 4, ref_accuracy=[0.5] * 4, trainer_state=None)
    assert values == pytest.approx(CLIPPED[:4])
    assert reward.__name__ == "length_harmonizing_reward"
    clipped = reward(prompts=["q"], completions=["\\boxed{7}"], completion_ids=[[0]], answer=["7"],
                     ref_mean_length=[500.0], ref_accuracy=[0.0])
    assert clipped == [4.0]
