"""Labelled reasoning traces placed on their thinking, and each label set's mapping to PIR's step kinds.

Used by bench/classify_agreement.py (and pinned by tests/bench/test_classify_agreement.py). Labels are per
sentence; each labelled piece is placed on the response in order, ignoring white space (both sources re-flow
it), so every character of the thinking gets the label of the piece covering it, or none. The step graphs
(reasoningflow) give character spans of their own, and a node's label comes from its labelled edges.
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
    # Each graph node gets one label from the edges that point at it (or leave it), by `graph_node_label`.
    "reasoningflow_aime24_graphs": {
        # `reflect:negative` from a claim (a result, fact, example, conclusion, restatement, assumption or an
        # earlier remark): "Wait, no.", "So that formula is wrong.", "Ah, here's the mistake." A step that denies
        # something said before is the refutation half of PIR's error correction.
        "refutation": ERROR,
        # `validate:attack` between claims: the statement that replaces a wrong one ("Actually sin(0.2π) =
        # 0.5878", "No, the centers are separated by the sum of their radii."): the repair half.
        "correction": ERROR,
        # `validate:attack` from one conclusion to another: an answer replaced by a different one.
        "answer_changed": ERROR,
        # `plan:verify` into a plan ("But let me double-check."), `reflect:positive` ("That seems right.") and
        # `validate:support` into a reasoning node (a result re-derived and found equal): PIR's verification.
        "check_plan": VERIFICATION,
        "affirmation": VERIFICATION,
        "confirmation": VERIFICATION,
        # `plan:backtrack`: an alternative plan ("Alternatively, use inclusion-exclusion."). Changing approach is
        # PIR's multi-method, not error correction: nothing said before is claimed wrong. Where the old approach
        # was refuted first, the refutation itself is labelled `refutation`.
        "backtrack": MULTI,
        # `reflect:negative` from a plan ("Hmm, but that might be complicated."): an alternative turned down
        # before it was tried. A rejected alternative is not a corrected error; it belongs with the exploring.
        "rejected_plan": MULTI,
        # `validate:attack` from an assumption: proof by contradiction or a case ruled out ("Therefore, this
        # case is invalid."), the schema's own subtype; the reasoning moves forward, nothing is corrected.
        "case_ruled_out": PROGRESSIVE,
        # `reflect:uncertain` ("I'm not sure.", "This is tricky."): a hedge is neither a check nor a correction.
        "hedge": PROGRESSIVE,
        # `validate:support` between conclusions: an answer stated again (the schema links every conclusion to
        # the earlier ones); stating the answer moves the solution forward.
        "answer_restated": PROGRESSIVE,
        # The claim that a refutation or correction points back at: the abandoned attempt. Forward reasoning when
        # written; whether PIR removes it with its correction is prune's choice (docs/methods.md).
        "refuted": PROGRESSIVE,
        # Everything else: inferences, plans, facts, restatements, examples.
        "forward": PROGRESSIVE,
    },
}

# Node labels by priority, each with the edges that give it: (edge label, source node labels or None for any,
# the node labelled is the edge's "dest" or "source"). The first rule that matches a node wins.
_CLAIMS = {"reasoning", "fact", "example", "conclusion", "restatement", "context", "reflection", "assumption"}
GRAPH_RULES: tuple[tuple[str, str, frozenset[str] | None, str], ...] = (
    ("answer_changed", "validate:attack", frozenset({"conclusion"}), "dest"),
    ("case_ruled_out", "validate:attack", frozenset({"assumption"}), "dest"),
    ("correction", "validate:attack", None, "dest"),
    ("refutation", "reflect:negative", frozenset(_CLAIMS), "dest"),
    ("rejected_plan", "reflect:negative", None, "dest"),
    ("check_plan", "plan:verify", None, "dest"),
    ("affirmation", "reflect:positive", None, "dest"),
    ("answer_restated", "validate:support", frozenset({"conclusion"}), "dest"),
    ("confirmation", "validate:support", None, "dest"),
    ("backtrack", "plan:backtrack", None, "dest"),
    ("hedge", "reflect:uncertain", None, "dest"),
    ("refuted", "reflect:negative", None, "source"),
    ("refuted", "validate:attack", None, "source"),
)


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


def graph_node_label(node: dict, incoming: Sequence[tuple[str, dict]], outgoing: Sequence[tuple[str, dict]]) -> str:
    """A graph node's label for LABEL_KINDS: the first of GRAPH_RULES its edges satisfy, else "forward"."""
    for label, edge, sources, end in GRAPH_RULES:
        edges = incoming if end == "dest" else outgoing
        # for a "dest" rule the other node is the edge's source; for a "source" rule any dest counts
        if any(e == edge and (sources is None or end == "source" or other.get("label") in sources)
               for e, other in edges):
            return label
    return "forward"


def graph_trace(tid: str, graph: dict) -> LabelledTrace | None:
    """One step graph as a labelled trace: every response node inside the thinking, labelled by its edges.

    Node offsets index the response; a response cut off before `</think>` is all thinking. None for a failed
    generation (the set holds two: the response is an "Error: …" line, no thinking).
    """
    from thinktrim.data.thinking import split_thinking

    response = graph["raw_text"]["response"]
    thinking, answer, _ = split_thinking(response)
    if not thinking.strip() or (response.startswith("Error:") and "\n" not in response.strip()):
        return None
    start = response.find(thinking)
    nodes = {n["id"]: n for n in graph["nodes"] if n.get("label")}
    incoming: dict[str, list[tuple[str, dict]]] = {}
    outgoing: dict[str, list[tuple[str, dict]]] = {}
    for e in graph["edges"]:
        a, b = nodes.get(e["source_node_id"]), nodes.get(e["dest_node_id"])
        if a is not None and b is not None:
            incoming.setdefault(b["id"], []).append((e["label"], a))
            outgoing.setdefault(a["id"], []).append((e["label"], b))
    spans, pieces = [], 0
    for n in sorted(nodes.values(), key=lambda n: n["start"]):
        if n.get("source") != "response":
            continue
        pieces += 1
        a, b = n["start"] - start, min(n["end"] - start, len(thinking))
        if a >= 0 and b > a:
            spans.append((a, b, graph_node_label(n, incoming.get(n["id"], []), outgoing.get(n["id"], []))))
    return LabelledTrace(tid, thinking, answer, spans, pieces) if spans else None


def load_graphs(root: Path) -> list[LabelledTrace]:
    """The reasoningflow step graphs (`graphs/aime2024_<i>_<model>.json`), failed generations left out."""
    out = []
    for path in sorted((root / "graphs").glob("aime2024_*.json"), key=lambda p: (graph_model(p.stem), p.stem)):
        trace = graph_trace(path.stem, json.loads(path.read_text("utf-8")))
        if trace is not None:
            out.append(trace)
    return out


def graph_model(trace_id: str) -> str:
    """The model that wrote a graph's trace, from its id `aime2024_<i>_<model>`: R1, QwQ or gpt-oss."""
    model = trace_id.split("_", 2)[-1]
    return {"DeepSeek-R1": "R1", "QwQ-32B": "QwQ", "gpt-oss-120b": "gpt-oss"}.get(model, model)


def graph_held_out(trace_id: str) -> bool:
    """AIME 2024 problems 15–29: held out while the error-correction rules were tuned on problems 0–14."""
    return int(trace_id.split("_")[1]) >= 15


# Sets reported per group as well as whole: set name -> the group of a trace id.
GROUPS: dict[str, Callable[[str], str]] = {
    "reasoningflow_aime24_graphs": lambda tid: f"{graph_model(tid)}, {'held out' if graph_held_out(tid) else 'tuned'}",
}

LOADERS: dict[str, Callable[[Path], list[LabelledTrace]]] = {
    "schoenfeld_sat": load_schoenfeld,
    "thought_anchors": load_thought_anchors,
    "reasoningflow_aime24_graphs": load_graphs,
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
