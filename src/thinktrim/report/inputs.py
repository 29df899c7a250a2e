"""Find and read the folders a report is made from: every file the report reads is read here, and only here.

A folder's kind is known by the file only that command writes: `annotations.jsonl` (refine), `results.json`
(eval), `train.json` (train), `audit.jsonl` (curate). A folder holding none of them is searched one level down,
so `eval-out/` with one run per model works as one input. Fields that only newer versions write (the answer
`source` of a graded sample, `protected_functional` of an annotation) are passed through when present.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinktrim.data.annotation import ChainAnnotation, load_annotations
from thinktrim.data.store import read_jsonl_records
from thinktrim.errors import UserError
from thinktrim.refine.pipeline import ANNOTATIONS, REJECTS, RUN_FILE, input_changed

MARKERS = {"refine": ANNOTATIONS, "eval": "results.json", "train": "train.json", "curate": "audit.jsonl"}


@dataclass
class RefineFolder:
    """A `thinktrim refine` output folder: its settings, stats and every chain's annotation."""

    path: Path
    run: dict[str, Any]
    stats: dict[str, Any] | None
    annotations: dict[str, ChainAnnotation]
    questions: dict[str, str] = field(default_factory=dict)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        if "ratios" in self.run:
            return sorted(float(r) for r in self.run["ratios"])
        return sorted(float(r["ratio"]) for r in (self.stats or {}).get("ratios", {}).values())

    @property
    def scope(self) -> str:
        return str(self.run.get("scope") or (self.stats or {}).get("scope") or "chain")


@dataclass
class EvalFolder:
    """A `thinktrim eval` run folder: results.json, and per benchmark its graded samples and responses."""

    path: Path
    results: dict[str, Any]
    graded: dict[str, list[dict[str, Any]]]
    responses: dict[str, dict[str, str]]
    questions: dict[str, dict[str, str]]
    notes: list[str] = field(default_factory=list)


@dataclass
class SummaryFolder:
    """A train or curate output folder, shown as the summary it wrote (and, for curate, its audit rows)."""

    kind: str
    path: Path
    summary: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)


Folder = RefineFolder | EvalFolder | SummaryFolder


def kinds_of(folder: Path) -> list[str]:
    return [kind for kind, marker in MARKERS.items() if (folder / marker).is_file()]


def find_folders(paths: tuple[str, ...] | list[str]) -> list[tuple[str, Path]]:
    """(kind, folder) for every input; a results.json file stands for its run folder."""
    found: list[tuple[str, Path]] = []
    for given in paths:
        path = Path(given)
        if path.is_file() and path.name in MARKERS.values():
            path = path.parent
        if not path.exists():
            raise UserError(f"{given}: no such folder")
        if not path.is_dir():
            raise UserError(f"{given}: expected an output folder, got a file")
        here = [(kind, path) for kind in kinds_of(path)]
        below = [(kind, sub) for sub in sorted(p for p in path.iterdir() if p.is_dir()) for kind in kinds_of(sub)]
        if not here and not below:
            raise UserError(f"{given}: not a refine, eval, train or curate output folder (no "
                            f"{', '.join(MARKERS.values())} in it or in its subfolders)")
        found += here or below
    return found


def read_folder(kind: str, path: Path, response_chars: int = 600) -> Folder:
    if kind == "refine":
        return read_refine(path)
    if kind == "eval":
        return read_eval(path, response_chars)
    summary_file = path / ("train.json" if kind == "train" else "stats.json")
    rows = list(read_jsonl_records(path / "audit.jsonl")) if kind == "curate" else []
    return SummaryFolder(kind, path, _json(summary_file) if summary_file.is_file() else {}, rows)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from None


def read_refine(path: Path) -> RefineFolder:
    run = _json(path / RUN_FILE) if (path / RUN_FILE).is_file() else {}
    stats = _json(path / "stats.json") if (path / "stats.json").is_file() else None
    folder = RefineFolder(path, run, stats, load_annotations(path / ANNOTATIONS))
    if (path / REJECTS).is_file():
        folder.rejects = list(read_jsonl_records(path / REJECTS))
    if stats is None:
        folder.notes.append("no stats.json (the run did not finish its write phase): summary charts left out")
    folder.questions = _refine_questions(run, folder.notes)
    return folder


def _refine_questions(run: dict[str, Any], notes: list[str]) -> dict[str, str]:
    """Question of each chain, from the run's input when it can still be read (it is optional).

    The input is read as the run read it: the split and subset of a datasets folder or hub id, and the
    --start/--end range run.json records. Chain ids made from positions (`traces-3`) are the same in every
    split, and an id may repeat outside the range, so reading the input any other way would put another
    record's question beside a chain. An input whose fingerprint differs from the one run.json records has
    changed since the run and is not used either."""
    from thinktrim.data.formats import SourceRecord, read_records
    from thinktrim.data.hf import is_dataset_source

    source = run.get("input")
    if not source or not (is_dataset_source(source) or Path(source).is_file()):
        if source:
            notes.append(f"input {source} not found: questions not shown")
        return {}
    part = {"split": run.get("split"), "subset": run.get("subset")}
    try:
        if input_changed(run):
            notes.append(f"input {source} changed since the run read it (sha256 differs): questions not shown")
            return {}
        items = read_records(source, layout=run.get("layout", "auto"), file_format=run.get("file_format", "auto"),
                             on_error="skip", start=run.get("start") or 0, end=run.get("end"), **part)
        return {it.trace.id: it.trace.question for it in items if isinstance(it, SourceRecord)}
    except (UserError, OSError) as e:
        notes.append(f"input {source} unreadable ({e}): questions not shown")
        return {}


def read_eval(path: Path, response_chars: int = 600) -> EvalFolder:
    from thinktrim.evaluate.summary import load_results

    results = load_results(path)
    graded: dict[str, list[dict[str, Any]]] = {}
    responses: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    for bench in results.get("benchmarks", {}):
        graded_file, samples_file = path / bench / "graded.jsonl", path / bench / "samples.jsonl"
        if not graded_file.is_file():
            notes.append(f"{graded_file} not found: no drill-down for {bench}")
            continue
        graded[bench] = list(read_jsonl_records(graded_file))
        if samples_file.is_file() and response_chars:
            responses[bench] = {str(r.get("key")): str(r.get("response", ""))[-response_chars:]
                                for r in read_jsonl_records(samples_file)}
    return EvalFolder(path, results, graded, responses, _eval_questions(results, notes), notes)


def _eval_questions(results: dict[str, Any], notes: list[str]) -> dict[str, dict[str, str]]:
    """Question texts per benchmark, from the registry or the run's --data input read with the run's split,
    subset and --start/--end (optional: left out if gone)."""
    from thinktrim.data.benchmarks import load_benchmark, load_custom
    from thinktrim.evaluate.config import data_name

    cfg = results.get("config", {})
    span = {"start": cfg.get("start") or 0, "end": cfg.get("end")}  # the questions the run read, as it read them
    out: dict[str, dict[str, str]] = {}
    for bench in results.get("benchmarks", {}):
        try:
            if cfg.get("data") and data_name(cfg["data"]) == bench:
                items = load_custom(cfg["data"], cfg.get("question_field", "question"),
                                    cfg.get("answer_field", "answer"), kind=cfg.get("kind", "expression"),
                                    id_field=cfg.get("id_field"), split=cfg.get("split"),
                                    subset=cfg.get("subset"), **span)
            else:
                items = load_benchmark(bench, path=cfg.get("path"), **span)
        except (UserError, OSError) as e:  # an unknown benchmark, a file gone or changed
            notes.append(f"questions of {bench} not found ({str(e).splitlines()[0]})")
            continue
        out[bench] = {item.id: item.question for item in items}
    return out
