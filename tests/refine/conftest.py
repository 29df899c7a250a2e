import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from thinktrim.data.annotation import ChainAnnotation
from thinktrim.data.formats import read_records
from thinktrim.data.store import JsonlStore, file_fingerprint
from thinktrim.data.thinking import split_thinking

SAMPLE = Path(__file__).parents[2] / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"


def trimmed(record: dict, max_chars: int) -> dict:
    """The record with its thinking cut at the last paragraph break before `max_chars` (answer kept)."""
    thinking, answer = record["response"].split("</think>", 1)
    cut = [m.end() for m in re.finditer(r"\n\n", thinking) if m.end() <= max_chars]
    return {**record, "response": thinking[: cut[-1]] + "</think>" + answer}


@pytest.fixture(scope="session")
def sample_records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").split("\n") if line.strip()]


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory, sample_records) -> Path:
    """Four real traces with their thinking cut to ~2,500 characters so the embedded model scores them fast."""
    path = tmp_path_factory.mktemp("data") / "small.jsonl"
    path.write_text("".join(json.dumps(trimmed(r, 2500)) + "\n" for r in sample_records[:4]), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def runs_sample(tmp_path_factory, sample_records) -> Path:
    """Four real traces cut to ~1,500 characters (one functional unit each, the last step in three of them),
    with a malformed line after the second: quick to score, for the tests of reruns into one folder."""
    path = tmp_path_factory.mktemp("data") / "runs.jsonl"
    lines = [json.dumps(trimmed(r, 1500)) for r in sample_records[2:6]]
    lines.insert(2, json.dumps({"question": "no response field"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def embedded_scorer():
    """The default scorer on the embedded model, loaded once for the in-process pipeline tests."""
    from thinktrim.lm.scoring.factory import make_scorer

    return make_scorer("engine", device="cpu")


@pytest.fixture(scope="session")
def tiny_sample(tmp_path_factory, sample_records) -> Path:
    """One real trace cut to ~1,000 characters of thinking, three steps of which one is marked (a verdict): for
    runs that call a judge on every step."""
    path = tmp_path_factory.mktemp("data") / "tiny.jsonl"
    path.write_text(json.dumps(trimmed(sample_records[3], 1000)) + "\n", encoding="utf-8")
    return path


def expected_removals(annotations: list[dict], ratio: float, scope: str) -> dict[str, set[int]]:
    """Which units must go, recomputed from the annotation records apart from `thinktrim.refine.prune`: in each
    (chain, kind) group (each kind across chains with dataset scope), the round(ratio · n) units of lowest
    PIR, half up, ties by chain id then position."""
    groups: dict[tuple[str, str], list[tuple[float, str, int, int]]] = defaultdict(list)
    for a in annotations:
        if a["status"] != "scored":
            continue
        first: dict[int, dict] = {}
        for s in a["steps"]:
            if s["unit"] is not None and s["pir"] is not None:
                first.setdefault(s["unit"], s)
        for unit, s in first.items():
            groups[(a["id"] if scope == "chain" else "*", s["kind"])].append((s["pir"], a["id"], s["start"], unit))
    removed: dict[str, set[int]] = defaultdict(set)
    for units in groups.values():
        k = int((Decimal(str(ratio)) * len(units)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        for _, chain_id, _, unit in sorted(units)[:k]:
            removed[chain_id].add(unit)
    return removed


def assert_pruned_exactly(out: Path, stats: dict) -> None:
    """Every refined file and LLaMA-Factory file holds, for each chain, exactly its original steps minus the
    units `expected_removals` names, and stats.json counts those; something is removed at some ratio."""
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    lines = (out / "annotations.jsonl").read_text(encoding="utf-8").splitlines()
    by_id = {a["id"]: a for a in map(json.loads, lines)}
    anns = [by_id[i] for i in run["ids"]]
    stem = Path(run["input"]).stem
    removed_anywhere = 0
    for ratio in run["ratios"]:
        tag = f"r{ratio:g}"
        drop = expected_removals(anns, ratio, run["scope"])
        refined = {r.trace.id: r.trace for r in read_records(out / stats["files"][tag], layout=run["layout"],
                                                              id_stem=stem)}
        assert list(refined) == run["ids"]
        messages = [json.loads(x)["messages"] for x in
                    (out / "llamafactory" / f"{run['name'] or stem}_{tag}.jsonl").read_text().splitlines()]
        closed = iter(messages)
        by_kind: Counter[str] = Counter()
        for a in anns:
            gone = drop.get(a["id"], set())
            expected = "".join(s["text"] for s in a["steps"] if s["unit"] is None or s["unit"] not in gone)
            assert refined[a["id"]].thinking == expected, (tag, a["id"], sorted(gone))
            if refined[a["id"]].thinking_closed:
                assert split_thinking(next(closed)[-1]["content"])[0] == expected, (tag, a["id"])
            by_kind.update({s["unit"]: s["kind"] for s in a["steps"] if s["unit"] in gone}.values())
        assert next(closed, None) is None
        assert stats["ratios"][tag]["units_removed"] == {k: by_kind[k] for k in
                                                         ("verification", "multi_method", "error_correction")}
        removed_anywhere += sum(by_kind.values())
    assert removed_anywhere > 0, "no unit to remove at any ratio: the check would prove nothing"


@pytest.fixture(scope="session")
def pruned_exactly():
    """`assert_pruned_exactly(out, stats)`: the refined outputs are the originals minus the right units."""
    return assert_pruned_exactly


@pytest.fixture(scope="session")
def annotate_with_drawn_pirs():
    """`annotate(cfg)`: annotate cfg.input's chains as refine does (real segmentation, markers, protection and
    units) into cfg.output_dir, with each unit's PIR drawn from a few values (ties within and across chains)
    instead of a model's, and write run.json: what the score phase leaves for the write phase, in a blink."""
    from thinktrim.refine.annotate import annotate_steps
    from thinktrim.refine.answer_mentions import final_value
    from thinktrim.refine.pipeline import ANNOTATIONS, write_run

    def annotate(cfg, seed: int = 7) -> list[str]:
        rng = random.Random(seed)
        ids = []
        with JsonlStore(Path(cfg.output_dir) / ANNOTATIONS) as store:
            for src in read_records(cfg.input, layout=cfg.inputs.layout, on_error="skip"):
                if not hasattr(src, "trace"):
                    continue  # a malformed record: the write phase lists it in rejects.jsonl
                thinking = src.trace.thinking
                value = final_value(src.trace)
                steps = annotate_steps(thinking, value.text if value else None)
                pir = {s.unit: rng.choice([-0.05, 0.0, 0.01, 0.02, 0.3]) for s in steps if s.unit is not None}
                steps = [replace(s, pir=pir[s.unit]) if s.unit is not None else s for s in steps]
                tokens = [len(s.text(thinking)) // 4 for s in steps]
                store.append(ChainAnnotation(src.trace.id, thinking, steps, tokens, location=src.location,
                                             answer_target="response").to_record())
                ids.append(src.trace.id)
        write_run(cfg, Path(cfg.output_dir), file_fingerprint(cfg.input), ids)
        return ids

    return annotate
