"""Pools for the curate tests: real problems and chains, with benchmark problems planted in them, lightly edited."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from thinktrim.curate.text import is_number, tokens
from thinktrim.data.benchmarks import BenchmarkItem, load_benchmark

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"
FIXTURES = ROOT / "tests/data/fixtures"
SHARED = ROOT.parent / "shared" / "data"
GPQA = SHARED / "benchmarks" / "gpqa_diamond" / "test.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# ---- light edits -----------------------------------------------------------------------------------------------


def respace(text: str) -> str:
    """Spacing: doubled spaces, spaces around `=` and `+`, a trailing newline."""
    return re.sub(r" (?=\w)", "  ", text, count=6).replace("=", " = ").replace("+", " + ") + "\n"


def relatex(text: str) -> str:
    """LaTeX: `$…$` as `\\(…\\)`, `\\frac` as `\\dfrac`, `\\,` spacing after commas inside math."""
    text = re.sub(r"\$([^$]+)\$", lambda m: "\\(" + m.group(1).replace(",", ",\\,") + "\\)", text)
    return text.replace("\\frac", "\\dfrac")


def change_word(text: str, new: str = "purple") -> str:
    """One word (the word of 5+ letters, else 3+, nearest the middle, outside math, not a number) replaced."""
    def words(n: int) -> list[re.Match]:  # number words ("seven") would change the problem's numbers
        return [m for m in re.finditer(rf"(?<![\\$\w])[A-Za-z]{{{n},}}(?![\w$])", text)
                if not is_number(tokens(m.group())[0])]

    outside = [m for m in words(5) if text[: m.start()].count("$") % 2 == 0] or words(5) or words(3)
    m = min(outside, key=lambda m: abs(m.start() - len(text) / 2))
    return text[: m.start()] + new + text[m.end() :]


def lightly_edited(text: str) -> str:
    return relatex(respace(change_word(text)))


# ---- pools ---------------------------------------------------------------------------------------------------


def planted_items(names: list[str], per_benchmark: int = 2, path: str | None = None) -> list[BenchmarkItem]:
    """`per_benchmark` items of each benchmark with 30+ words (so one changed word leaves most n-grams)."""
    out = []
    for name in names:
        items = load_benchmark(name, path=path) if path else load_benchmark(name)
        long = [it for it in items if len(it.question.split()) >= 30]
        out += long[3 : 3 + per_benchmark]
    return out


def planted_records(items: list[BenchmarkItem], chain: dict) -> list[dict]:
    """Pool records for benchmark items, lightly edited, each with a real chain attached."""
    return [{"id": f"planted-{it.id}", "question": lightly_edited(it.question), "response": chain["response"],
             "gt_answer": it.answer} for it in items]


def chainless(items: list[BenchmarkItem]) -> list[dict]:
    return [{"problem": it.question, "answer": it.answer, "uid": it.id} for it in items]


@pytest.fixture(scope="session")
def sample_records() -> list[dict]:
    return read_jsonl(SAMPLE)


@pytest.fixture(scope="session")
def shared_pool(tmp_path_factory) -> list[Path]:
    if not (SHARED / "traces").is_dir():
        pytest.skip("../shared/data is not present")
    from .shared_pool import build_shared_pool

    return build_shared_pool(tmp_path_factory.mktemp("shared_pool"))
