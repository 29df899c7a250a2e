"""Agreement of `eval grade` with correctness labels made by other harnesses (or by hand) on other models' outputs.

The set is built by tests/data/fixtures/harness/build_harness_set.py: GPT-3 on GSM8K (OpenAI's labels),
DeepSeek-R1-Distill models on MATH (thought-anchors' labels), DeepSeek-R1 and QwQ-32B on AIME 2024 and
R1 on SAT (hand labels). Target (issue 8): >= 98.5 %. Prints agreement per source and every disagreement.

    .venv/bin/python bench/harness_agreement.py [--no-fallback-last-number] [--no-answer-from-thinking]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
from collections import Counter
from pathlib import Path

from thinktrim.evaluate.extract import ExtractionPolicy
from thinktrim.evaluate.records import grade_file
from thinktrim.table import print_table

BUILDER = Path(__file__).parents[1] / "tests" / "data" / "fixtures" / "harness" / "build_harness_set.py"


def load_builder():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("build_harness_set", BUILDER)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def agreement(policy: ExtractionPolicy = ExtractionPolicy(), traces: Path | None = None,
              processes: int | None = None) -> tuple[list[dict], list[dict]]:
    """(rows of the set, their verdict records), in the same order."""
    builder = load_builder()
    rows = builder.build(traces) if traces else builder.build()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "harness.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        graded = grade_file(path, id_field="id", processes=processes, policy=policy)["graded"]
    return rows, graded


def report(rows: list[dict], graded: list[dict]) -> float:
    """Print agreement per source and the disagreements; returns the overall agreement."""
    total, agree = Counter(), Counter()
    misses = []
    for row, g in zip(rows, graded):
        total[row["source"]] += 1
        if g["correct"] == row["label"]:
            agree[row["source"]] += 1
        else:
            misses.append([row["id"], row["label"], g["correct"], g["extracted"], g["source"], g["reason"],
                           row["answer"]])
    table = [[s, total[s], agree[s], 100 * agree[s] / total[s]] for s in total]
    overall = sum(agree.values()) / max(1, sum(total.values()))
    table.append(["all", sum(total.values()), sum(agree.values()), 100 * overall])
    print_table("eval grade vs other harnesses' labels", ["source", "responses", "agree", "agreement %"],
                [[*r[:3], f"{r[3]:.1f}"] for r in table], caption="target: >= 98.5 % overall")
    sources = Counter(g["source"] or "none" for g in graded)
    print("answers from:", ", ".join(f"{k} {v}" for k, v in sources.most_common()))
    if misses:
        print_table("disagreements", ["id", "label", "ours", "extracted", "source", "reason", "gold"], misses)
    return overall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-fallback-last-number", action="store_true")
    parser.add_argument("--no-answer-from-thinking", action="store_true")
    parser.add_argument("--traces", type=Path, default=None, help="../shared/data/traces elsewhere")
    parser.add_argument("--processes", type=int, default=None, help="grading workers (default: all cores)")
    args = parser.parse_args()
    policy = ExtractionPolicy(not args.no_fallback_last_number, not args.no_answer_from_thinking)
    rows, graded = agreement(policy, args.traces, args.processes)
    report(rows, graded)


if __name__ == "__main__":
    main()
