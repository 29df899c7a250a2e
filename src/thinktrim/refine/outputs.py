"""Everything `thinktrim refine` writes after scoring, derived from annotations.jsonl.

- `refined_r{ratio}.{ext}`: the input with pruned thinking, in the input's own layout and file format;
- `llamafactory/`: OpenAI-messages data per ratio plus a `dataset_info.json` LLaMA-Factory reads as is;
- `stats.json`: counts, skipped/unclosed ids, token share per step type, token reduction per ratio.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinktrim.data.formats import (
    RecordError,
    SourceRecord,
    detect_format,
    json_container_key,
    llamafactory_dataset_info,
    to_messages,
    with_thinking,
    write_records,
)
from thinktrim.data.store import numbered_jsonl_records, write_json, write_jsonl
from thinktrim.data.trace import FUNCTIONAL_KINDS, Step, StepKind
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.pipeline import ANNOTATIONS, REJECTS, RUN_FILE, iter_input
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
    """The annotated chains of an output folder by id; ValueError naming file and line on a bad record."""
    anns = {}
    path = out / ANNOTATIONS
    for lineno, rec in numbered_jsonl_records(path):
        try:
            missing = {"id", "status", "answer_target", "steps"} - set(rec)
            if missing:
                raise KeyError(", ".join(sorted(missing)))
            steps = [Step.from_dict(d) for d in rec["steps"]]
            anns[str(rec["id"])] = Annotation(rec, steps, [d.get("tokens") or 0 for d in rec["steps"]])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"{path}:{lineno}: not an annotation record ({type(e).__name__}: {e})") from None
    return anns


def ratio_tag(ratio: float) -> str:
    return f"r{ratio:g}"


def _read_run_input(cfg: RefineConfig) -> tuple[list[SourceRecord], list[RecordError]]:
    """This run's records (the first --limit valid ones) and the malformed records read on the way."""
    sources, rejects = [], []
    for item in iter_input(RefineConfig(**{**cfg.to_dict(), "on_error": "skip"})):
        (sources if isinstance(item, SourceRecord) else rejects).append(item)
    return sources, rejects


def write_outputs(cfg: RefineConfig) -> dict[str, Any]:
    """Prune at every ratio and write the refined datasets, the LLaMA-Factory folder and stats.json.

    Everything is derived from this run's chains only: annotations.jsonl may hold more (scored under a larger
    --limit), which are neither written, ranked nor counted. Files a previous run wrote and this one does not
    (other ratios, another name) are removed, so the folder holds exactly this run's outputs.
    """
    out = Path(cfg.output_dir)
    sources, rejects = _read_run_input(cfg)
    cached = load_annotations(out)
    missing = [src.location for src in sources if src.trace.id not in cached]
    if missing:
        raise ValueError(f"{missing[0]}: chain has no annotation ({len(missing)} missing); rerun to finish scoring")
    anns = {src.trace.id: cached[src.trace.id] for src in sources}
    scored = {i: a.steps for i, a in anns.items() if a.status in SCORED}
    removal = {r: units_to_remove(scored, r, cfg.scope) for r in cfg.ratios}  # type: ignore[arg-type]
    file_format = detect_format(cfg.input, cfg.file_format)
    json_key = json_container_key(cfg.input) if file_format == "json" else None

    refined: dict[float, list[dict[str, Any]]] = defaultdict(list)
    messages: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for src in sources:
        ann = anns[src.trace.id]
        for r in cfg.ratios:
            drop = removal[r].get(src.trace.id, set())
            thinking = refined_thinking(src.trace.thinking, ann.steps, drop) if drop else src.trace.thinking
            refined[r].append(with_thinking(src, thinking) if drop else src.raw)
            if src.trace.thinking_closed:
                messages[r].append({"messages": to_messages(src.trace, cfg.system_prompt, thinking=thinking)})

    written = [ANNOTATIONS, RUN_FILE, "stats.json"]
    files = {}
    for r in cfg.ratios:
        path = out / f"refined_{ratio_tag(r)}.{file_format}"
        write_records(path, refined[r], file_format, json_key=json_key)
        files[r] = path.name
    written += [*files.values(), *_write_llamafactory(out / "llamafactory", cfg.dataset_name, cfg.ratios, messages)]
    if rejects:
        write_jsonl(out / REJECTS, ({"location": e.location, "field": e.field, "reason": e.reason} for e in rejects))
        written.append(REJECTS)
    stats = compute_stats(cfg, anns, removal, len(rejects))
    stats["files"] = {ratio_tag(r): f for r, f in files.items()}
    _remove_stale_outputs(out, written)
    stats["outputs"] = written
    write_json(out / "stats.json", stats)
    return stats


def _remove_stale_outputs(out: Path, written: list[str]) -> None:
    """Remove what the previous run's stats.json lists as written and this run did not write again."""
    try:
        previous = json.loads((out / "stats.json").read_text(encoding="utf-8")).get("outputs", [])
    except (OSError, ValueError, AttributeError):
        previous = []
    if (out / REJECTS).exists() and REJECTS not in written:
        previous.append(REJECTS)  # rejects of an earlier run that read further (or another version)
    for name in set(previous) - set(written):
        path = out / name
        if isinstance(name, str) and path.resolve().parent in (out.resolve(), (out / "llamafactory").resolve()):
            path.unlink(missing_ok=True)


def _write_llamafactory(
    folder: Path, name: str, ratios: tuple[float, ...], messages: dict[float, list[dict[str, Any]]]
) -> list[str]:
    """Write one messages file per ratio and dataset_info.json; returns their paths under the output folder."""
    info = {}
    for r in ratios:
        entry = f"{name}_{ratio_tag(r)}"
        write_jsonl(folder / f"{entry}.jsonl", messages[r])
        info[entry] = llamafactory_dataset_info(f"{entry}.jsonl", style="messages")
    write_json(folder / "dataset_info.json", info)
    return [f"{folder.name}/{entry}.jsonl" for entry in info] + [f"{folder.name}/dataset_info.json"]


def compute_stats(
    cfg: RefineConfig, anns: dict[str, Annotation], removal: dict[float, dict[str, set[int]]], rejected: int = 0
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
    judge_pairs = [tuple(p) for a in anns.values() for p in a.record.get("judge_vs_markers") or []]
    units: Counter[str] = Counter()  # functional units per mode, over all scored chains
    for a in scored.values():
        units.update(kind for _, kind in {(s.unit, s.kind.value) for s in a.steps if s.unit is not None})
    protected = Counter(s.kind.value for a in anns.values() for s in a.steps if s.protected and s.kind.is_functional)
    return {
        "input": cfg.input,
        "model": cfg.model,
        "answer_target": sorted({a.record["answer_target"] for a in anns.values()}),
        "scope": cfg.scope,
        "chains": len(anns),
        "status": dict(status),
        "rejected": rejected,
        "unclosed_ids": [i for i, a in anns.items() if a.status == "unclosed"],
        "skipped": {i: a.record["reason"] for i, a in anns.items() if a.status in ("overlong", "no_answer")},
        "token_share": {k.value: by_kind.get(k.value, 0) / total_tokens if total_tokens else 0.0 for k in StepKind},
        "tokens_by_kind": {k.value: by_kind.get(k.value, 0) for k in StepKind},
        "functional_units": {k.value: units.get(k.value, 0) for k in FUNCTIONAL_KINDS},
        "protected_functional_steps": sum(protected.values()),
        "judge_failures": sum(a.record.get("judge_failures", 0) for a in anns.values()),
        "protected_functional_by_kind": {k.value: protected.get(k.value, 0) for k in FUNCTIONAL_KINDS},
        "ratios": per_ratio,
        **({"judge_vs_markers": judge_agreement(judge_pairs)} if cfg.judge_url else {}),
        "token_counting": "tokens of each step tokenized on its own with the scoring model's tokenizer",
    }


def judge_agreement(pairs: list[tuple[str, ...]]) -> dict[str, Any]:
    """How often the judge kept the mode markers gave a step (steps both labelled: `--judge-scope all`)."""
    agree = sum(1 for m, j in pairs if m == j)
    return {
        "steps_compared": len(pairs),
        "agreement": agree / len(pairs) if pairs else None,
        "markers_to_judge": {f"{m}->{j}": n for (m, j), n in sorted(Counter(pairs).items())},
    }


def print_summary(stats: dict[str, Any], out: Path) -> None:
    from thinktrim.table import print_table

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
