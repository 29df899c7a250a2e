"""Small real evaluation runs of the embedded model, shared by the run-loop and CLI tests."""

from pathlib import Path

import pytest


def eval_config(out: Path, **kw):
    from thinktrim.evaluate.config import EvalConfig
    from thinktrim.lm.generation.types import GenerationConfig

    gen = {k: kw.pop(k) for k in ("n", "max_new_tokens", "temperature", "seed", "batch_size") if k in kw}
    kw.setdefault("benchmarks", ("gsm8k",))
    kw.setdefault("limit", 2)
    kw.setdefault("device", "cpu")
    kw.setdefault("grade_processes", 0)  # in-process: a few responses
    return EvalConfig(output_dir=str(out), generation=GenerationConfig(**{"n": 2, "max_new_tokens": 24, **gen}),
                      **kw)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """gsm8k, 2 questions × 2 samples, 24 new tokens."""
    from thinktrim.evaluate.run import evaluate

    out = tmp_path_factory.mktemp("runs") / "base"
    evaluate(eval_config(out))
    return out


ARITH = [("What is 2+3?", "5"), ("What is 10 minus 4?", "6"), ("What is 100 divided by 4?", "25"),
         ("What is 9+8?", "17")]


@pytest.fixture(scope="session")
def arith_runs(tmp_path_factory) -> tuple[Path, Path]:
    """Greedy runs on four one-line sums (a custom JSONL), with 32 and then 12 new tokens; the second is
    scored against the first as its AES baseline.

    The embedded model answers 5, 2, 25 and 17 in 8-13 tokens: 3 of 4 right with 32 tokens. With 12, its
    13-token "100 divided by 4 equals 25." hits the limit without a boxed answer and counts as wrong.
    """
    import json

    from thinktrim.evaluate.run import evaluate

    root = tmp_path_factory.mktemp("arith")
    data = root / "arith.jsonl"
    data.write_text("".join(json.dumps({"q": q, "a": a}) + "\n" for q, a in ARITH), encoding="utf-8")
    common = dict(benchmarks=(), data=str(data), question_field="q", answer_field="a", kind="number", n=1,
                  temperature=0, system_prompt="", limit=None)
    evaluate(eval_config(root / "long", max_new_tokens=32, **common))
    evaluate(eval_config(root / "short", max_new_tokens=12, baseline=str(root / "long"), **common))
    return root / "long", root / "short"


@pytest.fixture(scope="session")
def arith_file(arith_runs) -> Path:
    return arith_runs[0].parent / "arith.jsonl"
