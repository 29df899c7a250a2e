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


def test_graph_nodes_take_their_label_from_their_edges() -> None:
    """A made-up step graph in the reasoningflow layout (the real ones may not be committed)."""
    question = "What is 3 * 4?"
    thinking = ("3 * 4 = 13. Wait, no. 3 * 4 = 12. Let me check: 12 / 4 = 3. "
                "I'm not sure. Alternatively, add 4 three times. Suppose x = 0; then x > 0, impossible.")
    response = f"<think>{thinking}</think>\n\\boxed{{12}}"
    texts = ["3 * 4 = 13.", "Wait, no.", "3 * 4 = 12.", "Let me check:", "12 / 4 = 3.", "I'm not sure.",
             "Alternatively, add 4 three times.", "Suppose x = 0;", "then x > 0, impossible."]
    labels = ["reasoning", "reflection", "reasoning", "planning", "reasoning", "reflection", "planning",
              "assumption", "reasoning"]
    nodes = [{"id": "q", "start": 0, "end": len(question), "label": "context", "text": question,
              "source": "question"}]
    for i, (text, label) in enumerate(zip(texts, labels)):
        start = response.index(text)
        nodes.append({"id": f"n{i}", "start": start, "end": start + len(text), "label": label, "text": text,
                      "source": "response"})
    edges = [("n0", "n1", "reflect:negative"), ("n0", "n2", "validate:attack"), ("n2", "n3", "plan:verify"),
             ("n3", "n4", "reason:execute"), ("n4", "n5", "reflect:uncertain"), ("n3", "n6", "plan:backtrack"),
             ("n7", "n8", "validate:attack"), ("q", "n0", "reason:infer")]
    graph = {"raw_text": {"question": question, "response": response}, "nodes": nodes,
             "edges": [{"source_node_id": a, "dest_node_id": b, "label": lab} for a, b, lab in edges]}
    trace = lt.graph_trace("aime2024_3_QwQ-32B", graph)
    assert trace is not None and trace.thinking == thinking and trace.response == "\\boxed{12}"
    got = {trace.thinking[a:b]: label for a, b, label in trace.spans}
    assert got == {"3 * 4 = 13.": "refuted", "Wait, no.": "refutation", "3 * 4 = 12.": "correction",
                   "Let me check:": "check_plan", "12 / 4 = 3.": "forward", "I'm not sure.": "hedge",
                   "Alternatively, add 4 three times.": "backtrack", "Suppose x = 0;": "refuted",
                   "then x > 0, impossible.": "case_ruled_out"}
    kinds = {text: lt.LABEL_KINDS["reasoningflow_aime24_graphs"][label] for text, label in got.items()}
    assert [t for t, k in kinds.items() if k == "error_correction"] == ["Wait, no.", "3 * 4 = 12."]
    assert lt.graph_model(trace.id) == "QwQ" and not lt.graph_held_out(trace.id)
    failed = {**graph, "raw_text": {"question": question, "response": "Error: Failed to get response from m"}}
    assert lt.graph_trace("failed", failed) is None  # a failed generation: nothing labelled in its thinking
