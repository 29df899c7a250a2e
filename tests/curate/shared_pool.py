"""Build a curation pool from the real traces in ../shared/data/traces (read at run time, never committed).

    python tests/curate/shared_pool.py POOL_DIR      # writes POOL_DIR/*.jsonl and prints their paths

thought_anchors (MATH Level 5, 2 models, correct and incorrect chains), MisguidedAttention (QwQ, 3 runs per
puzzle, no gold answers), Schoenfeld SAT (R1, no `</think>`, choice letters) are converted to the plain
question/response layout; the reasoningflow AIME 2024 files (R1, QwQ) are used as they are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TRACES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "traces"


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def thought_anchors(out: Path) -> Path:
    rows = []
    for folder in sorted((TRACES / "thought_anchors").glob("*/*_base_solution/problem_*")):
        problem = json.loads((folder / "problem.json").read_text(encoding="utf-8"))
        solution = json.loads((folder / "base_solution.json").read_text(encoding="utf-8"))
        model, kind = folder.parts[-3], folder.parts[-2].split("_")[0]
        rows.append({"id": f"{model}-{kind}-{folder.name}", "question": problem["problem"],
                     "response": solution["solution"], "gt_answer": problem["gt_answer"]})
    return _write(out / "thought_anchors.jsonl", rows)


def misguided_attention(out: Path) -> Path:
    data = json.loads((TRACES / "misguided_attention" / "output_queries_QwQ-32b.json").read_text(encoding="utf-8"))
    rows = []
    for k, r in enumerate(data["results"]):
        for i, (thinking, answer) in enumerate(zip(r["thinking"], r["output"])):
            if thinking:
                rows.append({"id": f"{r['prompt_id']}-{k}-{i}", "question": r["prompt"],
                             "response": f"<think>\n{thinking}\n</think>\n\n{answer}"})
    return _write(out / "misguided_attention.jsonl", rows)


def schoenfeld_sat(out: Path) -> Path:
    data = json.loads((TRACES / "schoenfeld_sat" / "responses_original" / "SAT_deepseekR1_results.json")
                      .read_text(encoding="utf-8"))
    rows = [{"id": r["Question ID"], "question": r["Instruction"], "response": r["deepseek-reasoner (response)"],
             "correct_answer": r["Correct Answer"]} for r in data]
    return _write(out / "schoenfeld_sat.jsonl", rows)


def build_shared_pool(out: Path) -> list[Path]:
    """The pool files, in a fixed order: the converted ones, then the two AIME 2024 files."""
    out.mkdir(parents=True, exist_ok=True)
    aime = sorted((TRACES / "reasoningflow_aime24").glob("*.jsonl"))
    return [thought_anchors(out), misguided_attention(out), schoenfeld_sat(out), *aime]


if __name__ == "__main__":
    if len(sys.argv) != 2 or not TRACES.is_dir():
        sys.exit(f"usage: python {sys.argv[0]} POOL_DIR   (needs {TRACES})")
    print(" ".join(str(p) for p in build_shared_pool(Path(sys.argv[1]))))
