"""What `thinktrim curate` writes, each file atomically:

    curated.<ext>     the chosen chains' records as read (same layout and format as the pool), best first;
                      one file per pool (`curated-<pool>.<ext>`) when pools differ in layout/format or ids clash
    audit.jsonl       one line per problem: records, cluster, contamination hits, solve counts per stage,
                      quality parts, chosen chains, kept/dropped with step and reason
    stats.json        counts per step (in, out, drops by reason, other events, seconds), outputs, hits
    rejects.jsonl     malformed records (with --on-error skip)
    run.json          the settings and version
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from thinktrim.curate.base import StepContext
from thinktrim.curate.config import CurateConfig
from thinktrim.curate.records import Problem
from thinktrim.data.formats import RecordWriter, SourceRecord, json_container_key, output_format
from thinktrim.data.hf import dataset_features, is_dataset_source, open_dataset, source_fingerprint
from thinktrim.data.paths import safe_file_name
from thinktrim.data.store import read_json_object, write_json, write_jsonl
from thinktrim.errors import UserError

AUDIT, STATS, REJECTS, RUN = "audit.jsonl", "stats.json", "rejects.jsonl", "run.json"


def chosen_records(problem: Problem) -> list[tuple[SourceRecord, int]]:
    """(record, pool) written for a kept problem: its chosen chains, or its first record if it has none."""
    if problem.selected:
        return [(c.source, c.pool) for c in problem.selected]
    return [(problem.records[0], problem.pools[0])] if not problem.chains else []


def plan_outputs(cfg: CurateConfig, kept: list[Problem]) -> dict[str, tuple[int, list[SourceRecord]]]:
    """File name → (a pool whose format it takes, records). One file when all records can share one."""
    rows = [row for p in kept for row in chosen_records(p)]
    fmt = {i: output_format(path, cfg.inputs.file_format) for i, path in enumerate(cfg.pools)}
    shapes = {(r.layout, fmt[pool], r.container_key) for r, pool in rows}
    ids = Counter(r.trace.id for r, _ in rows)
    if len(shapes) <= 1 and all(n == 1 for n in ids.values()):
        pool = rows[0][1] if rows else 0
        return {f"curated.{fmt[pool]}": (pool, [r for r, _ in rows])}
    stems = Counter(Path(p).stem for p in cfg.pools)
    out: dict[str, tuple[int, list[SourceRecord]]] = {}
    for i, path in enumerate(cfg.pools):
        stem = Path(path).stem if stems[Path(path).stem] == 1 else f"{Path(path).stem}-{i}"
        records = [r for r, pool in rows if pool == i]
        if records:  # a pool's stem may hold anything a file name can (a newline, 250 bytes): one safe name
            out[f"{safe_file_name(f'curated-{stem}', 'curated')}.{fmt[i]}"] = (i, records)
    return out


def _container_key(pool: str, name: str, records: list[SourceRecord]) -> str | None:
    """The JSON key a curated file keeps its records under: its pool's, as the records came with it (a file of
    no records asks the pool itself)."""
    if not name.endswith(".json"):
        return None
    return records[0].container_key if records else json_container_key(pool)


def write_outputs(cfg: CurateConfig, kept: list[Problem], ctx: StepContext,
                  rejects: list[dict[str, Any]]) -> dict[str, Any]:
    from thinktrim import __version__

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, (pool, records) in plan_outputs(cfg, kept).items():
        source = cfg.pools[pool]
        schema = (dataset_features(open_dataset(source, cfg.inputs.split, cfg.inputs.subset))
                  if is_dataset_source(source) else None)  # a datasets pool's rows keep its features
        with RecordWriter(out / name, cfg.inputs.file_format, _container_key(source, name, records),
                          schema) as writer:
            for r in records:
                writer.write(r.raw)
        files[name] = writer.count
    everyone = sorted([*kept, *ctx.dropped], key=lambda p: p.order)
    write_jsonl(out / AUDIT, (p.audit() for p in everyone))
    if rejects:
        write_jsonl(out / REJECTS, rejects)
    hits = Counter(h["benchmark"] for p in everyone for h in p.contamination[:1])
    stats = {
        "pools": list(cfg.pools),
        "problems": len(everyone),
        "kept": len(kept),
        "chains_written": sum(files.values()),
        "outputs": files,
        "rejected_records": len(rejects),
        "clusters": {kind: len({p.cluster[kind]["id"] for p in everyone if p.cluster and kind in p.cluster})
                     for kind in ("exact", "near")},
        "contaminated_by": dict(hits),
        "steps": {name: s.to_dict() for name, s in ctx.stats.items()},
    }
    write_json(out / STATS, stats)
    write_json(out / RUN, {"thinktrim_version": __version__,
                           "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           "config": cfg.to_dict(), "pool_fingerprints": pool_fingerprints(cfg)})
    return stats


def pool_fingerprints(cfg: CurateConfig) -> list[str]:
    """The pools' contents (sha256 each, in order): what makes a curation the same run as another."""
    return [source_fingerprint(p, cfg.inputs.split, cfg.inputs.subset)["sha256"] for p in cfg.pools]


def check_same_pools(cfg: CurateConfig) -> None:
    """Refuse to curate other pools into a folder that holds another curation: its outputs would mix (its
    difficulty samples, its audit) with this run's. Rerunning the same pools with other settings is fine."""
    previous = read_json_object(Path(cfg.output_dir) / RUN, "thinktrim curate run file")
    before = previous.get("pool_fingerprints")
    readable = all(Path(p).is_file() or is_dataset_source(p) for p in cfg.pools)
    if before is not None and readable and before != pool_fingerprints(cfg):
        raise UserError(f"--output-dir {cfg.output_dir}: holds a curation of other pools "
                        f"({', '.join(Path(p).name for p in previous.get('config', {}).get('pools', []))}); "
                        "choose another folder, or remove it")


def summary_rows(stats: dict[str, Any]) -> list[list[Any]]:
    """One row per step: problems in, out, dropped, the reasons, seconds."""
    rows = []
    for name, s in stats["steps"].items():
        reasons = "; ".join(f"{r} {n}" for r, n in sorted(s["dropped"].items(), key=lambda x: -x[1]))
        dropped = sum(s["dropped"].values())
        rows.append([name, s["in"], s["out"], dropped, reasons or "–", s["seconds"]])
    return rows

