"""The classification bench: its label mappings, its alignment of labelled sentences to the thinking, and an end
to end run, on a committed thought-anchors excerpt (tests/data/fixtures/README.md)."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "data" / "fixtures"
sys.path.insert(0, str(ROOT / "bench"))

import labelled_traces as lt  # noqa: E402  (bench/ is not a package)


@pytest.fixture(scope="module")
def excerpt() -> lt.LabelledTrace:
    (trace,) = lt.load_thought_anchors(FIXTURES / "thought_anchors")
    return trace


def test_the_mappings_to_pir_kinds() -> None:
    assert lt.LABEL_KINDS["thought_anchors"] == {
        "problem_setup": "progressive", "plan_generation": "progressive", "fact_retrieval": "progressive",
        "active_computation": "progressive", "result_consolidation": "progressive",
        "final_answer_emission": "progressive", "self_checking": "verification",
        "uncertainty_management": "error_correction",
    }
    assert lt.LABEL_KINDS["schoenfeld_sat"] == {
        "Read": "progressive", "Analyze": "progressive", "Plan": "progressive", "Implement": "progressive",
        "Monitor": "progressive", "Verify": "verification", "Explore": "multi_method",
    }
    with pytest.raises(KeyError, match="'Guess'"):
        lt.human_kinds(["Verify", "Guess"], lt.LABEL_KINDS["schoenfeld_sat"])


def test_every_chunk_lands_on_its_own_text(excerpt: lt.LabelledTrace) -> None:
    assert excerpt.id == "deepseek-r1-distill-llama-8b/correct_base_solution/problem_6998"
    assert excerpt.pieces == len(excerpt.spans) == 64 and excerpt.unplaced == 0
    assert excerpt.thinking.startswith("Okay, so I have this problem") and "</think>" not in excerpt.thinking
    # chunks come with their white space re-flowed: "Correct. 2." is "Correct.\n\n2." in the thinking
    checks = [excerpt.thinking[a:b] for a, b, label in excerpt.spans if label == "self_checking"]
    assert "Correct.\n\n2." in checks and "Correct.\n\nSo, all steps seem solid." in checks
    assert all(a < b <= c for (a, b, _), (c, _, _) in zip(excerpt.spans, excerpt.spans[1:]))
    labels = lt.char_labels(excerpt)
    # every non-space character of the thinking is labelled, white space never
    assert all((lab is None) == ch.isspace() for lab, ch in zip(labels, excerpt.thinking))
    assert Counter(lt.human_kinds(labels, lt.LABEL_KINDS["thought_anchors"])) == {
        "progressive": 2132, "verification": 569, "error_correction": 236, None: 692,
    }


def test_alignment_ignores_white_space_and_never_jumps_far() -> None:
    text = "So x = 3.\n\nCorrect.\n\n2. Then y = 4." + " filler" * 100 + " Correct."
    spans = lt.align_pieces(text, ["So x = 3.", "Correct. 2.", "Then y = 4.", "Missing.", "Correct."], window=50)
    assert [text[a:b] for a, b in spans[:3]] == ["So x = 3.", "Correct.\n\n2.", "Then y = 4."]
    assert spans[3] is None  # not in the text
    assert spans[4] is None  # only 700 characters on: beyond the window, so not placed there


@pytest.mark.slow  # loads the embedded model's tokenizer (converting the GGUF on a fresh cache)
def test_bench_runs_on_the_excerpt() -> None:
    cmd = [sys.executable, str(ROOT / "bench" / "classify_agreement.py"), "--traces", str(FIXTURES),
           "--sets", "thought_anchors", "--ablation"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "thought_anchors: markers only" in out and "Token shares" in out and "LIMO" in out
    assert "without all these additions" in out and "weak markers decide" in out
    row = next(line for line in out.splitlines() if line.lstrip("│ ").startswith("verification"))
    assert row.count("%") == 5  # base rate, precision, recall, in progr., token share
