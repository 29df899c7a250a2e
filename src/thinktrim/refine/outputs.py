"""Everything `thinktrim refine` writes after scoring, derived from annotations.jsonl.

- `refined_r{ratio}.{ext}`: the input with pruned thinking, in the input's own layout and file format;
- `llamafactory/`: OpenAI-messages data per ratio, a `dataset_info.json` LLaMA-Factory reads as is, and per ratio
  `sft_limo_r{ratio}.yaml` (LIMO's recipe from `thinktrim.recipes`, with `ds_z3_config.json`) for
  `llamafactory-cli train`;
- `stats.json`: counts, skipped/unclosed ids, token share per step type, token reduction per ratio.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from thinktrim.data.formats import (
    SourceRecord,
    detect_format,
    json_container_key,
    llamafactory_dataset_info,
    to_messages,
    with_thinking,
    write_records,
)
from thinktrim.data.store import atomic_open, read_jsonl_records, write_json, write_jsonl
from thinktrim.data.trace import FUNCTIONAL_KINDS, Step, StepKind
from thinktrim.recipes import deepspeed_zero3, llamafactory_sft
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.pipeline import ANNOTATIONS, REJECTS, iter_input
from thinktrim.refine.prune import kept_steps, refined_thinking, units_to_remove

SCORED = ("scored",)


@dataclass
class Annotation:
    record: dict[str, Any]
    steps: list[Step]
    tokens: list[int]

    @property
    def status(self) -> str:
        return self.record["status"]


def load_annotations(out: Path) -> dict[str, Annotation]:
    anns = {}
    for rec in read_jsonl_records(out / ANNOTATIONS):
        steps = [Step.from_dict(d) for d in rec["steps"]]
        anns[str(rec["id"])] = Annotation(rec, steps, [d.get("tokens") or 0 for d in rec["steps"]])
    return anns


def ratio_tag(ratio: float) -> str:
    return f"r{ratio:g}"


def _source_records(cfg: RefineConfig) -> Iterator[SourceRecord]:
    for item in iter_input(RefineConfig(**{**cfg.to_dict(), "on_error": "skip"})):
        if isinstance(item, SourceRecord):
            yield item


def write_outputs(cfg: RefineConfig) -> dict[str, Any]:
    """Prune at every ratio and write the refined datasets, the LLaMA-Factory folder and stats.json."""
    out = Path(cfg.output_dir)
    anns = load_annotations(out)
    scored = {i: a.steps for i, a in anns.items() if a.status in SCORED}
    removal = {r: units_to_remove(scored, r, cfg.scope) for r in cfg.ratios}  # type: ignore[arg-type]
    file_format = detect_format(cfg.input, cfg.file_format)
    json_key = json_container_key(cfg.input) if file_format == "json" else None

    refined: dict[float, list[dict[str, Any]]] = defaultdict(list)
    messages: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for src in _source_records(cfg):
        ann = anns.get(src.trace.id)
        if ann is None:
            raise RuntimeError(f"{src.location}: chain {src.trace.id!r} has no annotation; rerun to finish scoring")
        for r in cfg.ratios:
            drop = removal[r].get(src.trace.id, set())
            thinking = refined_thinking(src.trace.thinking, ann.steps, drop) if drop else src.trace.thinking
            refined[r].append(with_thinking(src, thinking) if drop else src.raw)
            if src.trace.thinking_closed:
                messages[r].append({"messages": to_messages(src.trace, cfg.system_prompt, thinking=thinking)})

    files = {}
    for r in cfg.ratios:
        path = out / f"refined_{ratio_tag(r)}.{file_format}"
        write_records(path, refined[r], file_format, json_key=json_key)
        files[r] = path.name
    _write_llamafactory(out / "llamafactory", cfg.dataset_name, cfg.ratios, messages)
    stats = compute_stats(cfg, anns, removal)
    stats["files"] = {ratio_tag(r): f for r, f in files.items()}
    write_json(out / "stats.json", stats)
    return stats


def _write_llamafactory(
    folder: Path, name: str, ratios: tuple[float, ...], messages: dict[float, list[dict[str, Any]]]
) -> None:
    info = {}
    deepspeed = folder / "ds_z3_config.json"
    write_json(deepspeed, deepspeed_zero3())
    for r in ratios:
        entry = f"{name}_{ratio_tag(r)}"
        write_jsonl(folder / f"{entry}.jsonl", messages[r])
        info[entry] = llamafactory_dataset_info(f"{entry}.jsonl", style="messages")
        recipe = llamafactory_sft(entry, str(folder.resolve()), f"saves/{entry}_limo", str(deepspeed.resolve()))
        path = folder / f"sft_limo_{ratio_tag(r)}.yaml"
        with atomic_open(path) as f:
            f.write(f"# LIMO's recipe on {entry}: `llamafactory-cli train {path.name}` (8 GPUs: global batch 32;\n"
                    "# output_dir is relative to where you run it). Written by thinktrim refine.\n")
            yaml.safe_dump(recipe, f, sort_keys=False)
    write_json(folder / "dataset_info.json", info)


def compute_stats(
    cfg: RefineConfig, anns: dict[str, Annotation], removal: dict[float, dict[str, set[int]]]
) -> dict[str, Any]:
    """Counts, token share by step type (over annotated closed chains) and token reduction per ratio."""
    status = Counter(a.status for a in anns.values())
    by_kind: Counter[str] = Counter()
    for a in anns.values():
        if a.status != "unclosed":
            for s, t in zip(a.steps, a.tokens):
                by_kind[s.kind.value] += t
    total_tokens = sum(by_kind.values())
    scored = {i: a for i, a in anns.items() if a.status in SCORED}
    scored_tokens = sum(sum(a.tokens) for a in scored.values())
    per_ratio = {}
    for r, drop in removal.items():
        removed_units: Counter[str] = Counter()
        kept_tokens = 0
        for i, a in scored.items():
            kept = kept_steps(a.steps, drop.get(i, set()))
            kept_ids = {id(s) for s in kept}
            kept_tokens += sum(t for s, t in zip(a.steps, a.tokens) if id(s) in kept_ids)
            kind_of_unit = {s.unit: s.kind.value for s in a.steps if s.unit is not None}
            removed_units.update(kind_of_unit[u] for u in drop.get(i, set()))
        per_ratio[ratio_tag(r)] = {
            "ratio": r,
            "units_removed": {k.value: removed_units.get(k.value, 0) for k in FUNCTIONAL_KINDS},
            "thinking_tokens_before": scored_tokens,
            "thinking_tokens_after": kept_tokens,
            "token_reduction": 1 - kept_tokens / scored_tokens if scored_tokens else 0.0,
        }
    units: Counter[str] = Counter()  # functional units per mode, over all scored chains
    for a in scored.values():
        units.update(kind for _, kind in {(s.unit, s.kind.value) for s in a.steps if s.unit is not None})
    return {
        "input": cfg.input,
        "model": cfg.model,
        "answer_target": sorted({a.record["answer_target"] for a in anns.values()}),
        "scope": cfg.scope,
        "chains": len(anns),
        "status": dict(status),
        "rejected": sum(1 for _ in read_jsonl_records(Path(cfg.output_dir) / REJECTS))
        if (Path(cfg.output_dir) / REJECTS).exists()
        else 0,
        "unclosed_ids": [i for i, a in anns.items() if a.status == "unclosed"],
        "skipped": {i: a.record["reason"] for i, a in anns.items() if a.status in ("overlong", "no_answer")},
        "token_share": {k.value: by_kind.get(k.value, 0) / total_tokens if total_tokens else 0.0 for k in StepKind},
        "tokens_by_kind": {k.value: by_kind.get(k.value, 0) for k in StepKind},
        "functional_units": {k.value: units.get(k.value, 0) for k in FUNCTIONAL_KINDS},
        "ratios": per_ratio,
        "token_counting": "tokens of each step tokenized on its own with the scoring model's tokenizer",
    }


def print_summary(stats: dict[str, Any], out: Path) -> None:
    from thinktrim.report.table import print_table

    st = stats["status"]
    print_table(
        "Chains",
        ["chains", "scored", "no units", "over-long (skipped)", "no answer", "unclosed", "rejected"],
        [[stats["chains"], st.get("scored", 0), st.get("no_units", 0), st.get("overlong", 0),
          st.get("no_answer", 0), st.get("unclosed", 0), stats["rejected"]]],
    )
    share = stats["token_share"]
    print_table(
        "Token share by step type (all annotated closed chains)",
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
    if stats["unclosed_ids"]:
        ids = stats["unclosed_ids"]
        print(f"{len(ids)} chain(s) never close their thinking and were not scored: {', '.join(ids[:20])}"
              + (" …" if len(ids) > 20 else ""))
    if stats["skipped"]:
        print(f"{len(stats['skipped'])} chain(s) skipped:")
        for i, reason in list(stats["skipped"].items())[:20]:
            print(f"  {i}: {reason}")
