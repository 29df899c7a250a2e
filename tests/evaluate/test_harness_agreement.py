"""`eval grade` against correctness labels that other harnesses (or people) gave other models' outputs.

The set is built by tests/data/fixtures/harness/build_harness_set.py; the committed GSM8K part always runs,
the parts that may only be read from ../shared join when it is present. bench/harness_agreement.py prints
the same figures per source.
"""

import importlib.util
import json
from pathlib import Path

from thinktrim.evaluate.records import grade_file

BUILDER = Path(__file__).parents[1] / "data" / "fixtures" / "harness" / "build_harness_set.py"


def _build() -> list[dict]:
    spec = importlib.util.spec_from_file_location("build_harness_set", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


def test_agreement_with_other_harnesses_labels(tmp_path: Path) -> None:
    rows = _build()
    sources = {r["source"] for r in rows}
    assert "gsm8k-gpt3" in sources and len(rows) >= 60
    path = tmp_path / "harness.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    graded = grade_file(path, id_field="id", processes=2)["graded"]
    misses = [f"  {r['id']}: label {r['label']}, ours {g['correct']} (extracted {g['extracted']!r} from "
              f"{g['source']}, {g['reason']}; gold {r['answer']!r})"
              for r, g in zip(rows, graded) if g["correct"] != r["label"]]
    agreement = 1 - len(misses) / len(rows)
    per_source = {s: sum(1 for r in rows if r["source"] == s) for s in sorted(sources)}
    assert agreement >= 0.985, f"agreement {agreement:.3f} on {per_source}; disagreements:\n" + "\n".join(misses)
