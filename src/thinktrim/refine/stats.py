"""stats.json of a refine run, added up chain by chain as the write phase streams, and its printed summary.

Counts by reason (`counts` in stats.json): `rejected_by_field` (input records refused, by the field at fault;
`record` when the line is not a JSON object at all), `not_scored_by_reason` (chains passed through unpruned:
unclosed, overlong, no_answer, no_units), `judge_failures_by_reason` (steps the judge could not label, left as
the markers left them), `answer_target_used` (which text PIR measured: the response, or the answer field it
falls back to) and `final_value_source` (what protects the steps stating the final answer: the last box, the
answer field, or none).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from thinktrim.data.annotation import ChainAnnotation
from thinktrim.data.counters import Counts
from thinktrim.data.formats import DATASETS_FOLDER
from thinktrim.data.trace import FUNCTIONAL_KINDS, StepKind
from thinktrim.refine.config import RefineConfig

SCORED = ("scored",)
SKIPPED = ("overlong", "no_answer")  # listed with their reasons in stats.json


def ratio_tag(ratio: float) -> str:
    return f"r{ratio:g}"


def refined_name(ratio: float, file_format: str) -> str:
    """The refined copy at `ratio`: `refined_r0.3.jsonl`, or the folder `refined_r0.3` (a datasets folder)."""
    return f"refined_{ratio_tag(ratio)}" + ("" if file_format == DATASETS_FOLDER else f".{file_format}")


class RunStats:
    """Counts, token share by step kind (over annotated closed chains) and token reduction per ratio, from
    one chain at a time (`add`), so the write phase holds no chain longer than it takes to write it."""

    def __init__(self, ratios: tuple[float, ...]) -> None:
        self.ratios = ratios
        self.chains = 0
        self.status: Counter[str] = Counter()
        self.tokens_by_kind: Counter[str] = Counter()
        self.scored_tokens = 0
        self.kept_tokens = dict.fromkeys(ratios, 0)
        self.removed_units: dict[float, Counter[str]] = {r: Counter() for r in ratios}
        self.units: Counter[str] = Counter()
        self.protected: Counter[str] = Counter()
        self.answer_targets: set[str] = set()
        self.unclosed_ids: list[str] = []
        self.skipped: dict[str, str] = {}
        self.judge_pairs: Counter[tuple[str, str]] = Counter()
        self.counts = Counts()

    def add_reject(self, field: str | None) -> None:
        self.counts.add("rejected_by_field", field or "record")

    def add(self, ann: ChainAnnotation, removed: Mapping[float, set[int]]) -> None:
        """One chain of the run, with the units removed from it at each ratio."""
        self.chains += 1
        self.status[ann.status] += 1
        tokens = ann.tokens
        if ann.status != "unclosed":
            for s, t in zip(ann.steps, tokens):
                self.tokens_by_kind[s.kind.value] += t
        if ann.status in SCORED:
            self.scored_tokens += sum(tokens)
            # a unit's kind is its functional steps' (an error correction's unit also holds the attempt it abandons)
            kind_of_unit = {s.unit: s.kind.value for s in ann.steps if s.unit is not None and s.kind.is_functional}
            self.units.update(kind_of_unit.values())
            for r in self.ratios:
                drop = removed.get(r, set())
                self.kept_tokens[r] += sum(t for s, t in zip(ann.steps, tokens) if s.unit is None or s.unit not in drop)
                self.removed_units[r].update(kind_of_unit[u] for u in drop)
        else:
            self.counts.add("not_scored_by_reason", ann.status)
        if ann.status == "unclosed":
            self.unclosed_ids.append(ann.id)
        if ann.status in SKIPPED:
            self.skipped[ann.id] = ann.reason
        self.protected.update(s.kind.value for s in ann.steps if s.protected and s.kind.is_functional)
        self.answer_targets.add(ann.answer_target)
        self.judge_pairs.update(ann.judge_vs_markers or [])
        for reason, n in ann.judge_failures.items():
            self.counts.add("judge_failures_by_reason", reason, n)
        self.counts.add("answer_target_used", ann.answer_target or "none")
        self.counts.add("final_value_source", ann.final_value_source or "none")

    def to_dict(self, cfg: RefineConfig, rejected: int = 0) -> dict[str, Any]:
        total_tokens = sum(self.tokens_by_kind.values())
        per_ratio = {}
        for r in self.ratios:
            kept, removed = self.kept_tokens[r], self.removed_units[r]
            per_ratio[ratio_tag(r)] = {
                "ratio": r,
                "units_removed": {k.value: removed.get(k.value, 0) for k in FUNCTIONAL_KINDS},
                "thinking_tokens_before": self.scored_tokens,
                "thinking_tokens_after": kept,
                "token_reduction": 1 - kept / self.scored_tokens if self.scored_tokens else 0.0,
            }
        by_kind = self.tokens_by_kind
        return {
            "input": cfg.input,
            "model": cfg.model,
            "answer_target": sorted(self.answer_targets),
            "scope": cfg.scope,
            "chains": self.chains,
            "status": dict(self.status),
            "rejected": rejected,
            "unclosed_ids": self.unclosed_ids,
            "skipped": self.skipped,
            "token_share": {k.value: by_kind.get(k.value, 0) / total_tokens if total_tokens else 0.0
                            for k in StepKind},
            "tokens_by_kind": {k.value: by_kind.get(k.value, 0) for k in StepKind},
            "functional_units": {k.value: self.units.get(k.value, 0) for k in FUNCTIONAL_KINDS},
            "protected_functional_steps": sum(self.protected.values()),
            "judge_failures": self.counts.total("judge_failures_by_reason"),
            "protected_functional_by_kind": {k.value: self.protected.get(k.value, 0) for k in FUNCTIONAL_KINDS},
            "ratios": per_ratio,
            **({"judge_vs_markers": judge_agreement(self.judge_pairs)} if cfg.judge is not None else {}),
            "token_counting": "tokens of each step tokenized on its own with the scoring model's tokenizer",
            "counts": self.counts.to_dict(),
        }


def judge_agreement(pairs: Counter[tuple[str, str]]) -> dict[str, Any]:
    """How often the judge kept the kind markers gave a step (steps both labelled: `--judge-scope all`)."""
    compared = sum(pairs.values())
    agree = sum(n for (m, j), n in pairs.items() if m == j)
    return {
        "steps_compared": compared,
        "agreement": agree / compared if compared else None,
        "markers_to_judge": {f"{m}->{j}": n for (m, j), n in sorted(pairs.items())},
    }


def print_summary(stats: dict[str, Any], out: Path) -> None:
    from thinktrim.table import print_counts, print_table

    st = stats["status"]
    print_table(
        "Chains",
        ["chains", "scored", "no units", "over-long (skipped)", "no answer", "unclosed", "rejected"],
        [[stats["chains"], st.get("scored", 0), st.get("no_units", 0), st.get("overlong", 0),
          st.get("no_answer", 0), st.get("unclosed", 0), stats["rejected"]]],
    )
    share = stats["token_share"]
    print_table(
        "Token share by step kind (all annotated closed chains)",
        ["progressive", "verification", "multi-method", "error correction"],
        [[f"{100 * share[k.value]:.1f} %" for k in StepKind]],
    )
    rows = []
    for tag, r in stats["ratios"].items():
        u = r["units_removed"]
        rows.append([tag, u["verification"], u["multi_method"], u["error_correction"],
                     r["thinking_tokens_before"], r["thinking_tokens_after"], f"{100 * r['token_reduction']:.1f} %",
                     stats["files"][tag]])
    print_table(
        f"Pruning ({stats['scope']} scope) — scored chains only",
        ["ratio", "verif. removed", "multi removed", "err. removed", "tokens before", "tokens after",
         "reduction", "file"],
        rows,
        caption=f"outputs in {out}/ (annotations.jsonl, stats.json, llamafactory/)",
    )
    print_counts("Counts by reason", stats["counts"])
    if stats["unclosed_ids"]:
        ids = stats["unclosed_ids"]
        print(f"{len(ids)} chain(s) never close their thinking and were not scored: {', '.join(ids[:20])}"
              + (" …" if len(ids) > 20 else ""))
    if stats["skipped"]:
        print(f"{len(stats['skipped'])} chain(s) skipped:")
        for i, reason in list(stats["skipped"].items())[:20]:
            print(f"  {i}: {reason}")
