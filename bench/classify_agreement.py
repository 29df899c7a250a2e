"""How well refine's step classification agrees with human labels of reasoning traces.

    .venv/bin/python bench/classify_agreement.py                 # markers only, both labelled sets
    .venv/bin/python bench/classify_agreement.py --ablation      # each rule and lexicon addition left out
    .venv/bin/python bench/classify_agreement.py --judge-url http://127.0.0.1:8080/v1 --judge-model m --limit 5

Labelled sets (../shared/data/traces, read at run time only; a set that is absent is skipped):
- `schoenfeld_sat`: DeepSeek-R1 on 38 SAT questions, every sentence labelled by people with a Schoenfeld episode
  type (`gt-class-2`: Read, Analyze, Plan, Implement, Explore, Verify, Monitor).
- `thought_anchors`: R1-Distill-Qwen-14B / -Llama-8B on 20 MATH problems each, every sentence chunk tagged with
  one function (problem_setup, plan_generation, fact_retrieval, active_computation, uncertainty_management,
  result_consolidation, self_checking, final_answer_emission).
- `reasoningflow_aime24_graphs`: DeepSeek-R1, QwQ-32B and gpt-oss-120b on AIME 2024 (57 traces with thinking),
  split into nodes linked by labelled edges (labels by an LLM, Gemini 3.1 Pro). A node's label comes from its
  edges (`reflect:negative` and `validate:attack` point at refutations and corrections, `plan:verify`,
  `reflect:positive` and `validate:support` at checks; labelled_traces.py `GRAPH_RULES`). Reported whole, per
  model, and split into problems 0–14 (tuned on) and 15–29 (held out while the error-correction rules were tuned).
Unlabelled, for token shares only: DeepSeek-R1 on AIME 2024 (`reasoningflow_aime24`).

Each set's labels are placed on the thinking character by character and mapped to PIR's step kinds
(labelled_traces.py: `align_pieces`, `LABEL_KINDS` with the reason for each choice). Only labelled non-space
characters of the thinking count. Per kind M:
- base rate: share of labelled characters people put in M;
- precision: share of the characters in our M steps that people put in M; enrichment = precision / base rate;
- recall: share of the characters people put in M that lie in our M steps;
- in progr.: share of the characters in our progressive steps that people put in M (the contrast to precision);
- token share of our M steps (each step tokenized on its own, embedded model's tokenizer), beside the paper's.
"functional" pools the three functional kinds on both sides.

Targets (issue 16, markers only, on each set): verification enrichment >= 2, verification recall >= 50 %,
multi-method enrichment no lower than before (2.76× on schoenfeld_sat; thought_anchors has no multi-method
label). Issue 22, on the graphs' refutations and corrections: error-correction precision >= 2× its rate in our
progressive steps ("EC prec./in progr."), recall >= 30 %, verification no lower than before on any set.
None of these label sets is PIR's taxonomy, so none is ground truth: the figures say where our steps and
people's sentences agree, not which is right.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from labelled_traces import (
    GROUPS,
    KINDS,
    LABEL_KINDS,
    PROGRESSIVE,
    TRACES,
    LabelledTrace,
    char_labels,
    human_kinds,
    iter_sets,
    load_r1_aime,
)

# PIR's token shares by kind (docs/methods.md §1): progressive / verification / multi-method / error correction.
PAPER_SHARES = {
    "LIMO": (59.7, 11.8, 10.9, 17.6),
    "S1K": (71.4, 9.2, 13.9, 5.5),
    "LIMO-V2": (64.3, 9.8, 12.7, 13.2),
}

# Phrases added to the lexicon for R1-style chains, in groups, each left out in turn by --ablation, and candidates
# that were measured and left out of the default lexicon (added in turn): (kind, key, phrases).
LEXICON_ADDITIONS: dict[str, list[tuple[str | None, str, list[str]]]] = {
    '"wait, no" / "no, wait" / "actually, no"': [
        ("error_correction", "opening", ["wait, no", "no, wait", "actually, no", "no, that's not", "hmm, no"])],
    '"hold on, that\'s not"': [
        ("error_correction", "opening", ["hold on, that's not", "hold on, that can't", "hold on, that isn't"])],
    '"I (think I) messed up"': [("error_correction", "anywhere", ["i messed up", "i think i messed up", "messed up"])],
    'retracting openers ("Actually", "Not quite")': [(None, "retracting", [
        "actually", "nope", "not quite", "not necessarily", "maybe not", "perhaps not", "scratch that", "never mind",
        "i take that back"])],
    'check words anywhere ("check", "make sure")': [("verification", "anywhere", [
        "check", "checks", "checking", "checked", "verify", "verifying", "verified", "double-check",
        "double check", "recheck", "re-check", "recalculate", "recompute", "confirm", "confirms", "confirmed",
        "make sure"])],
    'verdicts ("correct", "checks out", "matches")': [("verification", "anywhere", [
        "correct", "checks out", "consistent", "matches", "same result", "same answer", "same as before",
        "makes sense", "as expected", "indeed", "either way", "that's right", "seems right", "looks right",
        "sounds right"])],
    'confidence ("definitely", "confident")': [("verification", "anywhere", [
        "right answer", "definitely", "confident", "i'm sure", "no mistakes"])],
}
LEXICON_CANDIDATES: dict[str, list[tuple[str | None, str, list[str]]]] = {
    '"actually, …"': [("error_correction", "opening", ["actually,"])],
    'refutations ("is wrong", "doesn\'t match")': [("error_correction", "anywhere", [
        "is wrong", "was wrong", "is incorrect", "is not correct", "isn't correct", "doesn't match",
        "does not match"])],
    '"No," / "No." as retracting openers': [(None, "retracting", ["no,", "no."])],
    '"a mistake" anywhere': [("error_correction", "anywhere", ["a mistake", "an error"])],
}

# Rule switches (RefineConfig fields of these names), each turned to the other value by --ablation.
RULE_VARIANTS: dict[str, dict[str, Any]] = {
    "weak markers decide (Table 4: Wait = verification)": {"weak_markers": "marker"},
    "no repeated-computation rule": {"repeated_computation": False},
    "no split on evidence": {"split_on_evidence": False},
    "no end at progress": {"end_at_progress": False},
    "no refutation rule (that was wrong / I forgot / = a, not b)": {"refutations": False},
    "all five rules off": {"weak_markers": "marker", "repeated_computation": False, "split_on_evidence": False,
                           "end_at_progress": False, "refutations": False},
}


def our_kinds(thinking: str, steps: Sequence[Any]) -> list[str]:
    kinds = [PROGRESSIVE] * len(thinking)
    for s in steps:
        kinds[s.start : s.end] = [s.kind.value] * (s.end - s.start)
    return kinds


@dataclass
class Agreement:
    """Character counts over a set: `pair[(ours, human)]`, our token counts per kind, labels by our kind."""

    pair: Counter[tuple[str, str]] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    by_label: Counter[tuple[str, str]] = field(default_factory=Counter)  # (ours, the set's own label)

    def __add__(self, other: Agreement) -> Agreement:
        return Agreement(self.pair + other.pair, self.tokens + other.tokens, self.by_label + other.by_label)

    def add(self, ours: Sequence[str], human: Sequence[str | None], labels: Sequence[str | None]) -> None:
        self.pair.update((o, h) for o, h in zip(ours, human) if h is not None)
        self.by_label.update((o, lab) for o, lab in zip(ours, labels) if lab is not None)

    def rows(self) -> dict[str, dict[str, Any]]:
        total = sum(self.pair.values())
        tok_total = sum(self.tokens.values())
        progressive = sum(n for (o, _), n in self.pair.items() if o == PROGRESSIVE)
        out = {}
        for name, group in [(m, {m}) for m in KINDS] + [("functional", set(KINDS) - {PROGRESSIVE})]:
            human = sum(n for (_, h), n in self.pair.items() if h in group)
            ours = sum(n for (o, _), n in self.pair.items() if o in group)
            both = sum(n for (o, h), n in self.pair.items() if o in group and h in group)
            in_prog = sum(n for (o, h), n in self.pair.items() if o == PROGRESSIVE and h in group)
            base = human / total if total else 0.0
            precision = both / ours if ours else None
            out[name] = {
                "base": base,
                "precision": precision,
                "enrichment": precision / base if precision is not None and base else None,
                "recall": both / human if human else None,
                "in_progressive": in_prog / progressive if progressive else None,
                "token_share": sum(self.tokens[m] for m in group) / tok_total if tok_total else 0.0,
            }
        return out


Annotate = Callable[[str, str], list[Any]]


def count_tokens(agreement: Agreement, tokenizer: Any, thinking: str, steps: Sequence[Any]) -> None:
    counts = tokenizer([s.text(thinking) for s in steps], add_special_tokens=False)["input_ids"]
    for s, ids in zip(steps, counts):
        agreement.tokens[s.kind.value] += len(ids)


def measure(traces: Sequence[LabelledTrace], mapping: dict[str, str], annotate: Annotate, tokenizer: Any,
            judge: Any = None) -> Agreement:
    agreement = Agreement()
    for t in traces:
        steps = annotate(t.thinking, t.response)
        assert "".join(s.text(t.thinking) for s in steps) == t.thinking, f"{t.id}: segmentation lost text"
        labels = char_labels(t)
        agreement.add(our_kinds(t.thinking, steps), human_kinds(labels, mapping), labels)
        count_tokens(agreement, tokenizer, t.thinking, steps)
        if judge is not None:
            agreement.by_label.update(("judge", f"{m}->{j}") for m, j in judge.last_comparison)
    return agreement


def lexicon_variant(without: Sequence[str] = (), adding: Sequence[str] = ()) -> Any:
    """The default lexicon less the named LEXICON_ADDITIONS groups, plus the named LEXICON_CANDIDATES."""
    from thinktrim.refine.classify import MarkerLexicon

    data = yaml.safe_load(resources.files("thinktrim.refine").joinpath("markers.yaml").read_text("utf-8"))
    for group in without:  # kind None: a top-level list (weak, retracting, progress)
        for kind, key, phrases in LEXICON_ADDITIONS[group]:
            target = data if kind is None else data[kind]
            target[key] = [p for p in target[key] if p.lower() not in phrases]
    for group in adding:
        for kind, key, phrases in LEXICON_CANDIDATES[group]:
            target = data if kind is None else data[kind]
            target[key] = [*target.get(key, []), *phrases]
    return MarkerLexicon.from_mapping(data)


def make_annotate(settings: dict[str, Any] | None = None, lexicon: Any = None, judge: Any = None) -> Annotate:
    """refine's annotation with RefineConfig's defaults, `settings` (RefineConfig field names) changed."""
    from thinktrim.refine.annotate import annotate_steps
    from thinktrim.refine.config import RefineConfig

    cfg = RefineConfig(input="labelled-traces", **(settings or {}))  # only the classification settings are used
    lexicon = lexicon or lexicon_variant()
    seg, cls = cfg.segment, cfg.classify
    return lambda thinking, answer: annotate_steps(thinking, answer, seg, lexicon, judge, cls)


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def times(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}×"


def print_agreement(title: str, agreement: Agreement) -> None:
    from thinktrim.table import print_table

    rows = [[kind, pct(r["base"]), pct(r["precision"]), times(r["enrichment"]), pct(r["recall"]),
             pct(r["in_progressive"]), pct(r["token_share"])] for kind, r in agreement.rows().items()]
    print_table(title, ["kind", "base rate", "precision", "enrichment", "recall", "in progr.", "token share"], rows)


def print_by_label(title: str, agreement: Agreement, mapping: dict[str, str]) -> None:
    """Where each of the set's labels lands among our kinds (shares of that label's characters)."""
    from thinktrim.table import print_table

    rows = []
    for label in sorted(mapping, key=lambda lab: (KINDS.index(mapping[lab]), lab)):
        total = sum(n for (_, lab), n in agreement.by_label.items() if lab == label)
        if total:
            rows.append([label, mapping[label], total,
                         *(pct(agreement.by_label[(m, label)] / total) for m in KINDS)])
    print_table(title, ["label", "mapped to", "chars", *(f"in our {m}" for m in KINDS)], rows)


def print_groups(title: str, results: dict[str, Agreement]) -> None:
    """Verification and error correction per group of a set (per model, tuned on / held out)."""
    from thinktrim.table import print_table

    rows = []
    for name, agreement in results.items():
        r = agreement.rows()
        v, e = r["verification"], r["error_correction"]
        ratio = e["precision"] / e["in_progressive"] if e["precision"] is not None and e["in_progressive"] else None
        rows.append([name, times(v["enrichment"]), pct(v["recall"]), pct(e["base"]), times(e["enrichment"]),
                     pct(e["recall"]), pct(e["in_progressive"]), times(ratio), pct(e["token_share"])])
    print_table(title, ["traces", "verif. enr.", "verif. rec.", "EC base", "EC enr.", "EC rec.", "EC in progr.",
                        "EC prec./in progr.", "EC tokens"], rows)


def group_results(traces: Sequence[LabelledTrace], group: Callable[[str], str], mapping: dict[str, str],
                  annotate: Annotate, tokenizer: Any) -> dict[str, Agreement]:
    """One Agreement per group, per model (the part of a group name before the comma) and for all traces."""
    names = sorted({group(t.id) for t in traces})
    parts = {g: measure([t for t in traces if group(t.id) == g], mapping, annotate, tokenizer) for g in names}
    models = sorted({g.split(",")[0] for g in names})
    per_model = {m: sum((parts[g] for g in names if g.split(",")[0] == m), Agreement()) for m in models}
    halves = sorted({g.split(", ")[1] for g in names if ", " in g})
    per_half = {f"all, {h}": sum((parts[g] for g in names if g.endswith(f", {h}")), Agreement()) for h in halves}
    return {**parts, **per_model, **per_half, "all": sum(parts.values(), Agreement())}


def print_ablation(title: str, results: dict[str, Agreement]) -> None:
    from thinktrim.table import print_table

    rows = []
    for name, agreement in results.items():
        r = agreement.rows()
        v, m, e, f = r["verification"], r["multi_method"], r["error_correction"], r["functional"]
        rows.append([name, times(v["enrichment"]), pct(v["recall"]), times(m["enrichment"]), pct(m["recall"]),
                     times(e["enrichment"]), pct(e["recall"]), times(f["enrichment"]), pct(f["recall"]),
                     " / ".join(f"{100 * r[k]['token_share']:.0f}" for k in KINDS)])
    print_table(title, ["variant", "verif. enr.", "verif. rec.", "multi enr.", "multi rec.", "err. enr.",
                        "err. rec.", "funct. enr.", "funct. rec.", "token % P/V/M/E"], rows)


def print_coverage(sets: dict[str, list[LabelledTrace]]) -> None:
    from thinktrim.table import print_table

    rows = []
    for name, traces in sets.items():
        chars = sum(len(t.thinking) - sum(c.isspace() for c in t.thinking) for t in traces)
        covered = sum(sum(not c.isspace() for c in t.thinking[a:b]) for t in traces for a, b, _ in t.spans)
        rows.append([name, len(traces), sum(t.pieces for t in traces), sum(t.unplaced for t in traces),
                     pct(covered / chars if chars else 0.0)])
    print_table("Labelled sets and alignment", ["set", "traces", "labelled pieces", "not placed",
                                                 "thinking labelled"], rows)


def print_shares(title: str, rows: dict[str, Sequence[float]]) -> None:
    from thinktrim.table import print_table

    print_table(title, ["data", *KINDS], [[name, *(f"{v:.1f} %" for v in shares)] for name, shares in rows.items()])


def r1_aime_shares(traces: Path, annotate: Annotate, tokenizer: Any,
                   limit: int | None) -> tuple[list[float], list[float]] | None:
    """Token shares of our step kinds on R1's AIME chains, and the same with each error correction's unit
    counted whole: the correction and the attempt it abandons (classify.assign_units), which PIR removes together."""
    from thinktrim.data.trace import StepKind

    chains = load_r1_aime(traces)[:limit]
    if not chains:
        return None
    steps_only, units = Agreement(), Agreement()
    for thinking, answer in chains:
        steps = annotate(thinking, answer)
        count_tokens(steps_only, tokenizer, thinking, steps)
        ec_units = {s.unit for s in steps if s.unit is not None and s.kind.value == "error_correction"}
        whole = [replace(s, kind=StepKind.ERROR_CORRECTION) if s.unit in ec_units else s for s in steps]
        count_tokens(units, tokenizer, thinking, whole)
    return tuple([100 * a.tokens[m] / sum(a.tokens.values()) for m in KINDS]  # type: ignore[return-value]
                 for a in (steps_only, units))


def make_judge(args: argparse.Namespace, scope: str) -> Any:
    from thinktrim.refine.judge import JudgeConfig, LLMJudge

    return LLMJudge(JudgeConfig(url=args.judge_url, model=args.judge_model, api_key=args.judge_api_key,
                                scope=scope, prompt=args.judge_prompt, timeout=args.judge_timeout))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--traces", type=Path, default=TRACES, help="folder holding the labelled sets")
    p.add_argument("--sets", default=",".join(LABEL_KINDS), help="comma-separated labelled sets")
    p.add_argument("--limit", type=int, default=None, help="first N traces of each set")
    p.add_argument("--ablation", action="store_true", help="leave out each rule and lexicon addition in turn")
    p.add_argument("--by-label", action="store_true", help="also show where each of the set's labels lands")
    p.add_argument("--judge-url", default=None, help="OpenAI-compatible endpoint: also measure markers + judge")
    p.add_argument("--judge-model", default="judge", help="model name sent to the judge endpoint")
    p.add_argument("--judge-api-key", default=None, help="bearer key of the judge endpoint")
    p.add_argument("--judge-prompt", default=None, help="judge instructions file (default: the shipped one)")
    p.add_argument("--judge-timeout", type=float, default=120.0, help="seconds per judge request")
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
    shares = dict(PAPER_SHARES)
    r1 = r1_aime_shares(args.traces, make_annotate(), tokenizer, args.limit)
    if r1:
        shares["ours: R1 on AIME24 (unlabelled)"] = r1[0]
        shares["ours: R1 on AIME24, EC units with the attempts they abandon"] = r1[1]
    print_shares("Token shares: the PIR paper's (LIMOPro) and ours", shares)
    for name, traces in sets.items():
        mapping = LABEL_KINDS[name]
        agreement = measure(traces, mapping, make_annotate(), tokenizer)
        print_agreement(f"{name}: markers only", agreement)
        if args.by_label:
            print_by_label(f"{name}: where each label lands (markers only)", agreement, mapping)
        if name in GROUPS:
            print_groups(f"{name}: per model, tuned on / held out (markers only)",
                         group_results(traces, GROUPS[name], mapping, make_annotate(), tokenizer))
        for scope in ("unmarked", "all") if args.judge_url else ():
            judge = make_judge(args, scope)
            judged = measure(traces, mapping, make_annotate(judge=judge), tokenizer, judge)
            print_agreement(f"{name}: markers + judge ({scope} steps; {judge.failures} failed requests)", judged)
            pairs = Counter({k: n for (o, k), n in judged.by_label.items() if o == "judge"})
            if pairs:
                agree = sum(n for k, n in pairs.items() if k.split("->")[0] == k.split("->")[1])
                print(f"judge kept the markers' kind on {agree} of {sum(pairs.values())} marked steps: "
                      + ", ".join(f"{k} {n}" for k, n in pairs.most_common()))
        if args.ablation:
            results = {"default": agreement}
            for label, settings in RULE_VARIANTS.items():
                results[label] = measure(traces, mapping, make_annotate(settings), tokenizer)
            for group in LEXICON_ADDITIONS:
                results[f"without {group}"] = measure(traces, mapping, make_annotate(
                    lexicon=lexicon_variant(without=[group])), tokenizer)
            results["without all these additions"] = measure(traces, mapping, make_annotate(
                lexicon=lexicon_variant(without=list(LEXICON_ADDITIONS))), tokenizer)
            for group in LEXICON_CANDIDATES:
                results[f"with {group} (not in the default)"] = measure(traces, mapping, make_annotate(
                    lexicon=lexicon_variant(adding=[group])), tokenizer)
            print_ablation(f"{name}: ablation (markers only; each row changes one thing)", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
