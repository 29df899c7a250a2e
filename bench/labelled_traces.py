"""Human-labelled reasoning traces placed on their thinking, and each label set's mapping to PIR's step kinds.

Used by bench/classify_agreement.py (and pinned by tests/bench/test_classify_agreement.py). Labels are per
sentence; each labelled piece is placed on the response in order, ignoring white space (both sources re-flow
it), so every character of the thinking gets the label of the piece covering it, or none.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

TRACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"

PROGRESSIVE, VERIFICATION, MULTI, ERROR = "progressive", "verification", "multi_method", "error_correction"
KINDS = (PROGRESSIVE, VERIFICATION, MULTI, ERROR)

# Each set's labels mapped to PIR's step kinds (docs/methods.md §1), with why. A label maps to one kind.
LABEL_KINDS: dict[str, dict[str, str]] = {
    "schoenfeld_sat": {
        # Reading the problem, analysing it, planning and carrying out the plan all move the solution forward.
        "Read": PROGRESSIVE,
        "Analyze": PROGRESSIVE,
        "Plan": PROGRESSIVE,
        "Implement": PROGRESSIVE,
        # Short self-monitoring remarks ("Let me see.", "Hmm, right.") neither check nor redo anything; PIR would
        # keep them with the text around them.
        "Monitor": PROGRESSIVE,
        # "Judging the correctness of a result or approach": PIR's re-checking of a computation or claim.
        "Verify": VERIFICATION,
        # Trying out other approaches or readings of the problem: the closest PIR kind is solving again another
        # way. Schoenfeld has no label for finding and fixing a mistake, so error correction has no counterpart.
        "Explore": MULTI,
    },
    "thought_anchors": {
        # Restating the problem, planning, recalling facts, computing, summing up results and stating the answer
        # all advance the solution.
        "problem_setup": PROGRESSIVE,
        "plan_generation": PROGRESSIVE,
        "fact_retrieval": PROGRESSIVE,
        "active_computation": PROGRESSIVE,
        "result_consolidation": PROGRESSIVE,
        "final_answer_emission": PROGRESSIVE,
        # "Verifying previous steps, checking calculations, re-confirmations": PIR's verification.
        "self_checking": VERIFICATION,
        # "Expressing confusion, re-evaluating, backtracking": the tag under which a model notices a mistake and
        # takes a step back, i.e. PIR's error correction, though it also holds plain doubt ("Wait, is t given?").
        # The set has no multi-method tag: alternative approaches are tagged plan_generation.
        "uncertainty_management": ERROR,
    },
}


@dataclass
class LabelledTrace:
    """One trace's thinking and response, with each labelled piece's character span `(start, end, label)`."""

    id: str
    thinking: str
    response: str
    spans: list[tuple[int, int, str]]
    pieces: int  # labelled pieces in the source (those inside the thinking or not)
    unplaced: int = 0  # pieces that could not be found in order


def squeeze(text: str) -> tuple[str, list[int]]:
    """`text` without white space, and each kept character's offset in `text`."""
    offsets = [i for i, c in enumerate(text) if not c.isspace()]
    return "".join(text[i] for i in offsets), offsets


def align_pieces(text: str, pieces: Sequence[str], window: int = 400) -> list[tuple[int, int] | None]:
    """The `[start, end)` span of each piece in `text`, placed in order ignoring white space.

    A piece is looked for from where the previous placed one ended, at most `window` non-space characters on
    (so a short piece such as "Correct." cannot jump far ahead); None where it is not found or is blank.
    """
    flat, offsets = squeeze(text)
    spans: list[tuple[int, int] | None] = []
    pos = 0
    for piece in pieces:
        key = "".join(piece.split())
        hit = flat.find(key, pos, pos + window + len(key)) if key else -1
        if hit < 0:
            spans.append(None)
            continue
        spans.append((offsets[hit], offsets[hit + len(key) - 1] + 1))
        pos = hit + len(key)
    return spans


def labelled_trace(tid: str, response: str, pieces: Sequence[tuple[str, str]]) -> LabelledTrace:
    """Place `(text, label)` pieces on a response and keep the spans inside its thinking."""
    from thinktrim.data.thinking import split_thinking

    thinking, answer, _ = split_thinking(response)
    start = response.find(thinking) if thinking else 0
    spans, unplaced = [], 0
    for (_, label), span in zip(pieces, align_pieces(response, [p for p, _ in pieces])):
        if span is None:
            unplaced += 1
            continue
        a, b = span[0] - start, min(span[1] - start, len(thinking))
        if a >= 0 and b > a:
            spans.append((a, b, label))
    return LabelledTrace(tid, thinking, answer, spans, len(pieces), unplaced)


def load_schoenfeld(root: Path) -> list[LabelledTrace]:
    """R1 responses with the human sentence labels (`gt-class-2`), matched by question id."""
    originals = json.loads((root / "responses_original" / "SAT_deepseekR1_results.json").read_text("utf-8"))
    response = {r["Question ID"]: r["deepseek-reasoner (response)"] for r in originals}
    out = []
    for path in sorted((root / "responses_labeled").glob("*.json"), key=lambda p: int(p.stem)):
        rec = json.loads(path.read_text("utf-8"))
        pieces = [(s["text"], s["gt-class-2"]) for s in rec["data"]]
        out.append(labelled_trace(f"sat/{rec['Question ID']}", response[rec["Question ID"]], pieces))
    return out


def load_thought_anchors(root: Path) -> list[LabelledTrace]:
    """Every `<model>/<outcome>/<problem>/` folder with a base solution and its tagged chunks."""
    out = []
    for chunks_file in sorted(root.glob("*/*/*/chunks_labeled.json")):
        folder = chunks_file.parent
        solution = json.loads((folder / "base_solution.json").read_text("utf-8"))["solution"]
        chunks = json.loads(chunks_file.read_text("utf-8"))
        pieces = [(c["chunk"], (c.get("function_tags") or ["?"])[0]) for c in chunks]
        tid = "/".join(folder.relative_to(root).parts)
        out.append(labelled_trace(tid, solution, pieces))
    return out


LOADERS: dict[str, Callable[[Path], list[LabelledTrace]]] = {
    "schoenfeld_sat": load_schoenfeld,
    "thought_anchors": load_thought_anchors,
}


def char_labels(trace: LabelledTrace) -> list[str | None]:
    """The set's own label of each character of the thinking (None: white space or unlabelled)."""
    labels: list[str | None] = [None] * len(trace.thinking)
    for a, b, label in trace.spans:
        for i in range(a, b):
            if not trace.thinking[i].isspace():
                labels[i] = label
    return labels


def human_kinds(labels: Sequence[str | None], mapping: dict[str, str]) -> list[str | None]:
    """The PIR kind of each character's label."""
    unknown = {lab for lab in labels if lab is not None} - set(mapping)
    if unknown:
        raise KeyError(f"labels {sorted(unknown)} have no PIR kind in LABEL_KINDS")
    return [None if lab is None else mapping[lab] for lab in labels]


def iter_sets(traces: Path, names: Sequence[str]) -> Iterator[tuple[str, list[LabelledTrace]]]:
    """Each named labelled set under `traces`; a set that is absent is skipped with a note on stderr."""
    for name in names:
        if name not in LOADERS:
            raise SystemExit(f"unknown labelled set {name!r} (known: {', '.join(LOADERS)})")
        root = traces / name
        if not root.exists():
            print(f"skipped {name}: {root} is absent", file=sys.stderr)
            continue
        yield name, LOADERS[name](root)


def load_r1_aime(traces: Path) -> list[tuple[str, str]]:
    """(thinking, answer) of DeepSeek-R1's closed AIME 2024 chains (reasoningflow): no labels, shares only."""
    from thinktrim.data.thinking import split_thinking

    path = traces / "reasoningflow_aime24" / "DeepSeek-R1_aime2024_responses.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text("utf-8").split("\n"):
        if line.strip():
            thinking, answer, closed = split_thinking(json.loads(line)["response"])
            if closed:
                out.append((thinking, answer))
    return out
