"""How well refine's step classification agrees with human labels of reasoning traces.

    .venv/bin/python bench/classify_agreement.py                      # markers only, both labelled sets
    .venv/bin/python bench/classify_agreement.py --judge-url http://127.0.0.1:8080/v1 --judge-model m
    .venv/bin/python bench/classify_agreement.py --ablation           # each lexicon addition on and off

Labelled sets (../shared/data/traces, read at run time only; each is skipped when absent):
- `schoenfeld_sat`: DeepSeek-R1 on 38 SAT questions, every sentence labelled by people with a Schoenfeld episode
  type (`gt-class-2`: Read, Analyze, Plan, Implement, Explore, Verify, Monitor).
- `thought_anchors`: R1-Distill-Qwen-14B / -Llama-8B on 20 MATH problems each, every sentence chunk tagged with
  one function (`function_tags`: problem_setup, plan_generation, fact_retrieval, active_computation,
  uncertainty_management, result_consolidation, self_checking, final_answer_emission).

Labels are per sentence; our steps are spans of the thinking. Each labelled piece is placed on the thinking in
order, ignoring white space (both sources re-flow it), so every character of the thinking gets the label of the
piece covering it, or none. Only labelled non-space characters of the thinking count. Each set's labels are
mapped to PIR's modes (`LABEL_MODES`, with the reason for each choice); then, per mode M:

- base rate: share of labelled characters people put in M;
- precision: share of the characters in our M steps that people put in M; enrichment = precision / base rate;
- recall: share of the characters people put in M that lie in our M steps;
- "in progr.": share of the characters in our progressive steps that people put in M (the contrast to precision);
- token share of our M steps (tokens of each step on its own, embedded model's tokenizer) beside the paper's.
A "functional" row pools the three functional modes on both sides.

Targets (issue 16, markers only, on each set): verification enrichment >= 2, verification recall >= 50 %,
multi-method enrichment no lower than before. None of these label sets is PIR's taxonomy, so none is ground
truth: the figures say where our steps and people's sentences agree, not which is right.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"

PROGRESSIVE, VERIFICATION, MULTI, ERROR = "progressive", "verification", "multi_method", "error_correction"
MODES = (PROGRESSIVE, VERIFICATION, MULTI, ERROR)

# Each set's labels mapped to PIR's modes (METHODS.md §1), with why. A label maps to one mode.
LABEL_MODES: dict[str, dict[str, str]] = {
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
        # Trying out other approaches or readings of the problem: the closest PIR mode is solving again another
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

# PIR's token shares by mode (METHODS.md §1): progressive / verification / multi-method / error correction.
PAPER_SHARES = {
    "LIMO": (59.7, 11.8, 10.9, 17.6),
    "S1K": (71.4, 9.2, 13.9, 5.5),
    "LIMO-V2": (64.3, 9.8, 12.7, 13.2),
}


@dataclass
class LabelledTrace:
    """One trace's thinking and answer, with each labelled piece's character span `(start, end, label)`."""

    id: str
    thinking: str
    answer: str
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
    from thinktrim.data.layouts import split_thinking

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


def human_modes(labels: Sequence[str | None], mapping: dict[str, str]) -> list[str | None]:
    """The PIR mode of each character's label."""
    unknown = {lab for lab in labels if lab is not None} - set(mapping)
    if unknown:
        raise KeyError(f"labels {sorted(unknown)} have no PIR mode in LABEL_MODES")
    return [None if lab is None else mapping[lab] for lab in labels]


def our_modes(thinking: str, steps: Sequence[Any]) -> list[str]:
    modes = [PROGRESSIVE] * len(thinking)
    for s in steps:
        modes[s.start : s.end] = [s.kind.value] * (s.end - s.start)
    return modes


@dataclass
class Agreement:
    """Character counts over a set: `pair[(ours, human)]`, and our token counts per mode."""

    pair: Counter[tuple[str, str]] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    by_label: Counter[tuple[str, str]] = field(default_factory=Counter)  # (ours, the set's own label)

    def add(self, ours: Sequence[str], human: Sequence[str | None], labels: Sequence[str | None]) -> None:
        self.pair.update((o, h) for o, h in zip(ours, human) if h is not None)
        self.by_label.update((o, lab) for o, lab in zip(ours, labels) if lab is not None)

    def rows(self) -> list[dict[str, Any]]:
        total = sum(self.pair.values())
        out = []
        groups = [(m, {m}) for m in MODES] + [("functional", set(MODES) - {PROGRESSIVE})]
        tok_total = sum(self.tokens.values())
        for name, group in groups:
            human = sum(n for (_, h), n in self.pair.items() if h in group)
            ours = sum(n for (o, _), n in self.pair.items() if o in group)
            both = sum(n for (o, h), n in self.pair.items() if o in group and h in group)
            progressive = sum(n for (o, _), n in self.pair.items() if o == PROGRESSIVE)
            in_prog = sum(n for (o, h), n in self.pair.items() if o == PROGRESSIVE and h in group)
            base = human / total if total else 0.0
            precision = both / ours if ours else None
            out.append({
                "mode": name,
                "base": base,
                "precision": precision,
                "enrichment": precision / base if precision is not None and base else None,
                "recall": both / human if human else None,
                "in_progressive": in_prog / progressive if progressive else None,
                "token_share": sum(self.tokens[m] for m in group) / tok_total if tok_total else 0.0,
            })
        return out


def iter_sets(traces: Path, names: Sequence[str]) -> Iterator[tuple[str, list[LabelledTrace]]]:
    for name in names:
        root = traces / name
        if not root.exists():
            print(f"skipped {name}: {root} is absent", file=sys.stderr)
            continue
        yield name, LOADERS[name](root)


def measure(
    traces: Sequence[LabelledTrace], mapping: dict[str, str], annotate: Callable[[str, str], list[Any]],
    tokenizer: Any,
) -> Agreement:
    agreement = Agreement()
    for t in traces:
        steps = annotate(t.thinking, t.answer)
        assert "".join(s.text(t.thinking) for s in steps) == t.thinking, f"{t.id}: segmentation lost text"
        labels = char_labels(t)
        agreement.add(our_modes(t.thinking, steps), human_modes(labels, mapping), labels)
        counts = tokenizer([s.text(t.thinking) for s in steps], add_special_tokens=False)["input_ids"]
        for s, ids in zip(steps, counts):
            agreement.tokens[s.kind.value] += len(ids)
    return agreement


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def print_agreement(title: str, agreement: Agreement) -> None:
    from thinktrim.report.table import print_table

    rows = [[r["mode"], pct(r["base"]), pct(r["precision"]),
             "–" if r["enrichment"] is None else f"{r['enrichment']:.2f}×", pct(r["recall"]),
             pct(r["in_progressive"]), pct(r["token_share"])] for r in agreement.rows()]
    print_table(title, ["mode", "base rate", "precision", "enrichment", "recall", "in progr.", "token share"], rows)


def print_by_label(title: str, agreement: Agreement, mapping: dict[str, str]) -> None:
    """Where each of the set's labels lands among our modes (shares of that label's characters)."""
    from thinktrim.report.table import print_table

    rows = []
    for label in sorted(mapping, key=lambda lab: (MODES.index(mapping[lab]), lab)):
        total = sum(n for (_, lab), n in agreement.by_label.items() if lab == label)
        if total:
            rows.append([label, mapping[label], total,
                         *(pct(agreement.by_label[(m, label)] / total) for m in MODES)])
    print_table(title, ["label", "mapped to", "chars", *(f"in our {m}" for m in MODES)], rows)


def print_coverage(sets: dict[str, list[LabelledTrace]]) -> None:
    from thinktrim.report.table import print_table

    rows = []
    for name, traces in sets.items():
        chars = sum(len(t.thinking) - sum(c.isspace() for c in t.thinking) for t in traces)
        covered = sum(sum(not c.isspace() for c in t.thinking[a:b]) for t in traces for a, b, _ in t.spans)
        rows.append([name, len(traces), sum(t.pieces for t in traces), sum(t.unplaced for t in traces),
                     pct(covered / chars if chars else 0.0)])
    print_table("Labelled sets and alignment", ["set", "traces", "labelled pieces", "not placed",
                                                 "thinking labelled"], rows)


def print_paper_shares() -> None:
    from thinktrim.report.table import print_table

    print_table("PIR paper's token shares (LIMOPro)", ["data", *MODES],
                [[name, *(f"{v:.1f} %" for v in shares)] for name, shares in PAPER_SHARES.items()])


def make_annotate(judge: Any = None) -> Callable[[str, str], list[Any]]:
    from thinktrim.refine.annotate import annotate_steps
    from thinktrim.refine.classify import MarkerLexicon

    lexicon = MarkerLexicon.load()
    return lambda thinking, answer: annotate_steps(thinking, answer, lexicon=lexicon, judge=judge)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--traces", type=Path, default=TRACES, help="folder holding the labelled sets")
    p.add_argument("--sets", default=",".join(LOADERS), help="comma-separated labelled sets")
    p.add_argument("--limit", type=int, default=None, help="first N traces of each set")
    p.add_argument("--judge-url", default=None, help="OpenAI-compatible endpoint: also measure markers + judge")
    p.add_argument("--judge-model", default="judge", help="model name sent to the judge endpoint")
    p.add_argument("--by-label", action="store_true", help="also show where each of the set's labels lands")
    p.add_argument("--tokenizer", default="embedded", help="tokenizer for token shares")
    args = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from thinktrim.lm.load import load_tokenizer

    tokenizer = load_tokenizer(args.tokenizer)
    sets = {name: traces[: args.limit] for name, traces in iter_sets(args.traces, args.sets.split(","))}
    if not sets:
        print(f"no labelled sets under {args.traces}", file=sys.stderr)
        return 1
    print_coverage(sets)
    print_paper_shares()
    for name, traces in sets.items():
        agreement = measure(traces, LABEL_MODES[name], make_annotate(), tokenizer)
        print_agreement(f"{name}: markers only", agreement)
        if args.by_label:
            print_by_label(f"{name}: where each label lands (markers only)", agreement, LABEL_MODES[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
