"""`thinktrim report`: read the input folders, lay out the page's data, write the HTML (and PNGs)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from thinktrim.data.store import atomic_open
from thinktrim.errors import UserError
from thinktrim.evaluate.paper_table import RunInput
from thinktrim.refine.stats import ratio_tag
from thinktrim.report.config import ReportConfig
from thinktrim.report.eval_section import (
    answer_sources,
    drilldown,
    iso_eff,
    length_quartiles,
    metric_rows,
    run_info,
    scatter_points,
)
from thinktrim.report.inputs import (
    EvalFolder,
    Folder,
    RefineFolder,
    SummaryFolder,
    find_folders,
    read_eval,
    read_folder,
)
from thinktrim.report.page import chunked, pack, write_page
from thinktrim.report.refine_section import chain_records, refine_summary
from thinktrim.report.style import style_payload
from thinktrim.report.training_section import comparison_table, curate_funnel, train_curve, train_summary

CATEGORIES_MAX = 12  # an audit field with at most this many distinct values is counted value by value


def display_names(paths: list[Path]) -> list[str]:
    """Folder names, with the parent's name added where two inputs share a name."""
    counts = Counter(p.name for p in paths)
    return [f"{p.parent.name}/{p.name}" if counts[p.name] > 1 else p.name for p in paths]


def refine_part(folder: RefineFolder, name: str, run: int, limit: int | None,
                blobs: list[tuple[str, str]]) -> dict[str, Any]:
    part = refine_summary(folder, name)
    part["ratio_tags"] = [ratio_tag(r) for r in folder.ratios]
    index: dict[str, list[Any]] = {"ids": [], "status": [], "steps": [], "units": [], "chunk": []}
    chunk_ids = []
    for k, group in enumerate(chunked(chain_records(folder, limit))):
        blob_id = f"c{run}-{k}"
        blobs.append((blob_id, pack(group)))
        chunk_ids.append(blob_id)
        for rec in group:
            index["ids"].append(rec["id"])
            index["status"].append(rec["status"])
            index["steps"].append(len(rec["steps"]))
            index["units"].append(len({s[3] for s in rec["steps"] if s[3] is not None}))
            index["chunk"].append(k)
    part["index"], part["chunks"] = index, chunk_ids
    return part


def eval_part(folders: list[EvalFolder], names: list[str], baseline: int,
              blobs: list[tuple[str, str]]) -> dict[str, Any]:
    drill: dict[int, dict[str, str]] = {}
    for i, folder in enumerate(folders):
        for bench in folder.graded:
            blob_id = f"q{i}-{len(blobs)}"
            blobs.append((blob_id, pack(drilldown(folder, bench))))
            drill.setdefault(i, {})[bench] = blob_id
    sources = {name: s for folder, name in zip(folders, names) if (s := answer_sources(folder))}
    return {
        "runs": [run_info(f, n, i) for i, (f, n) in enumerate(zip(folders, names))],
        "baseline": names[baseline],
        "rows": metric_rows(folders, names, baseline),
        "scatter": (points := scatter_points(folders, names)),
        "iso_eff": iso_eff(points),
        "quartiles": {n: length_quartiles(f) for f, n in zip(folders, names)},
        "sources": sources,
        "drill": drill,
        "paper_table": comparison_table([RunInput(names[i], folders[i].results, folders[i].graded.get,
                                                  str(folders[i].path))  # the base first, as `eval compare`
                                         for i in [baseline, *(j for j in range(len(folders)) if j != baseline)]]),
    }


def summary_part(folder: SummaryFolder, name: str, index: int = 0) -> dict[str, Any]:
    part: dict[str, Any] = {"name": name, "path": str(folder.path), "summary": folder.summary}
    if folder.kind == "train":
        part["summary"], part["curve"] = train_summary(folder.summary), train_curve(folder.summary, name, index)
    if folder.kind == "curate":
        part["rows_n"] = len(folder.rows)
        part["funnel"] = curate_funnel(folder.summary)
        values: dict[str, Counter[str]] = {}
        for row in folder.rows:
            for k, v in row.items():
                if isinstance(v, (str, bool)):
                    values.setdefault(k, Counter())[str(v)] += 1
        part["categorical"] = {k: dict(c.most_common()) for k, c in values.items() if len(c) <= CATEGORIES_MAX}
    return part


def _baseline_index(cfg: ReportConfig, evals: list[EvalFolder], names: list[str]) -> int:
    if cfg.baseline is None:
        return 0
    wanted = Path(cfg.baseline).resolve()
    for i, folder in enumerate(evals):
        if folder.path.resolve() in (wanted, wanted.parent):
            return i
    evals.insert(0, read_eval(wanted))
    names.insert(0, wanted.name + " (baseline)")
    return 0


def build_report(cfg: ReportConfig) -> dict[str, Any]:
    """Write the report (and PNGs); returns what it wrote, for the summary line."""
    from thinktrim import __version__

    found = find_folders(cfg.inputs)
    folders: list[Folder] = [read_folder(kind, path, cfg.response_chars) for kind, path in found]
    names = display_names([f.path for f in folders])
    blobs: list[tuple[str, str]] = []
    refine_inputs = [(f, n) for f, n in zip(folders, names) if isinstance(f, RefineFolder)]
    refine = [refine_part(f, n, i, cfg.viewer_limit, blobs) for i, (f, n) in enumerate(refine_inputs)]
    evals = [f for f in folders if isinstance(f, EvalFolder)]
    eval_names = [n for f, n in zip(folders, names) if isinstance(f, EvalFolder)]
    if cfg.baseline is not None and not evals:
        raise UserError("baseline: given, but no eval run is among the inputs")
    baseline = _baseline_index(cfg, evals, eval_names) if evals else 0
    data = {
        "subtitle": f"thinktrim {__version__} · {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · "
                    + ", ".join(f"{kind} {p}" for kind, p in found),
        "style": style_payload(),
        "refine": refine,
        "eval": eval_part(evals, eval_names, baseline, blobs) if evals else None,
        "train": [summary_part(f, n, i) for i, (f, n) in enumerate(
                  (f, n) for f, n in zip(folders, names) if isinstance(f, SummaryFolder) and f.kind == "train")],
        "curate": [summary_part(f, n) for f, n in zip(folders, names)
                   if isinstance(f, SummaryFolder) and f.kind == "curate"],
    }
    out = Path(cfg.output)
    if out.is_dir():
        raise UserError(f"output: {out} is a folder; give a file name such as {out / 'report.html'}")
    if cfg.png:  # before the page is written: a --png that cannot be written leaves nothing behind
        from thinktrim.report.figures import prepare_folder

        prepare_folder(Path(cfg.png))
    try:
        with atomic_open(out) as f:
            write_page(f, cfg.title, data, blobs)
    except OSError as e:
        raise UserError(f"output: cannot write {out} ({e.strerror or e})") from None
    pngs: list[Path] = []
    if cfg.png:
        from thinktrim.report.figures import write_figures

        pngs = write_figures(Path(cfg.png), data)
    return {"path": out, "bytes": out.stat().st_size, "chains": sum(len(r["index"]["ids"]) for r in refine),
            "eval_runs": len(evals), "pngs": pngs}


def run_report(cfg: ReportConfig) -> None:
    """The command: write the report and print where it is."""
    import typer

    done = build_report(cfg)
    if done["pngs"]:
        typer.echo(f"{len(done['pngs'])} PNG figures in {cfg.png}")
    typer.echo(f"report: {done['path'].resolve()} ({done['bytes'] / 1e6:.1f} MB; {done['chains']} chains, "
               f"{done['eval_runs']} eval runs)")
