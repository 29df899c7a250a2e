"""`thinktrim report` without a browser: the page's data against the refine and eval outputs it was made from,
PNGs, train/curate folders, and one-line errors on bad input."""

import base64
import fnmatch
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from thinktrim.data.trace import Step
from thinktrim.report.build import display_names
from thinktrim.report.eval_section import iso_eff
from thinktrim.report.page import asset, chunked, pack, script_json
from thinktrim.report.refine_section import quantiles

CLI = [sys.executable, "-m", "thinktrim.cli"]


# ---- pure parts ------------------------------------------------------------------------------------------------


def test_quantiles_interpolate_between_order_statistics() -> None:
    assert quantiles([3.0, 1.0, 2.0, 4.0, 5.0]) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert quantiles([0.0, 1.0]) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert quantiles([7.0]) == [7.0] * 5


def test_blobs_round_trip_and_chunks_keep_order() -> None:
    records = [{"id": str(i), "text": "x" * 100} for i in range(50)]
    groups = list(chunked(records, limit=1000))
    assert [r for g in groups for r in g] == records and len(groups) > 1
    assert all(len(json.dumps(g)) < 1000 + 200 for g in groups)
    assert json.loads(gzip.decompress(base64.b64decode(pack(records)))) == records
    assert "<" not in script_json({"t": "</script><!-- x"}) and json.loads(script_json({"t": "</s>"})) == {"t": "</s>"}


def test_iso_eff_rays_span_the_runs_efficiencies() -> None:
    points = [{"x": 10.6, "y": 0.25}, {"x": 13.75, "y": 0.375}, {"x": 37.2, "y": 0.156}]
    assert iso_eff(points) == pytest.approx([0.002, 0.005, 0.01, 0.02, 0.05])
    assert iso_eff([{"x": 16.0, "y": 0.0}, {"x": 32.0, "y": 0.0}]) == pytest.approx([0.002, 0.005])  # all wrong


def test_display_names_tell_apart_folders_of_one_name() -> None:
    paths = [Path("a/run"), Path("b/run"), Path("c/other")]
    assert display_names(paths) == ["a/run", "b/run", "other"]


# ---- errors ----------------------------------------------------------------------------------------------------


def report_error(*args: str) -> str:
    proc = subprocess.run([*CLI, "report", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_bad_inputs_get_one_line(tmp_path: Path) -> None:
    assert "no such folder" in report_error(str(tmp_path / "nope"), "-o", str(tmp_path / "r.html"))
    (tmp_path / "empty").mkdir()
    assert "not a refine, eval, train or curate output folder" in report_error(str(tmp_path / "empty"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "annotations.jsonl").write_text('{"id": "a", "status": "scored", "steps": []}\n{"id": "b", "steps": []}\n')
    line = report_error(str(bad), "-o", str(tmp_path / "r.html"))
    assert f"{bad / 'annotations.jsonl'}:2: not an annotation record: field 'status' missing" in line
    (bad / "annotations.jsonl").write_text('{"id": "a", "status": "scored", "steps": [{"start": 0}]}\n')
    assert ":1: not an annotation record: field 'end' missing" in report_error(str(bad), "-o", str(tmp_path / "r.html"))
    assert "should end in .html" in report_error(str(bad), "-o", str(tmp_path / "r.txt"))


def test_train_and_curate_folders_get_a_summary(tmp_path: Path, read_page) -> None:
    train, curate = tmp_path / "sft", tmp_path / "curated"
    train.mkdir()
    curate.mkdir()
    (train / "train.json").write_text(json.dumps({"model": "tiny", "epochs": 3, "loss": {"first": 2.5, "last": 0.7}}))
    (curate / "stats.json").write_text(json.dumps({"read": 10, "kept": 4}))
    (curate / "audit.jsonl").write_text("".join(json.dumps({"id": i, "decision": "kept" if i < 4 else "dropped"}) + "\n"
                                                for i in range(10)))
    out = tmp_path / "r.html"
    subprocess.run([*CLI, "report", str(tmp_path), "-o", str(out)], check=True, capture_output=True, timeout=120)
    data = read_page(out)
    assert data["train"][0]["summary"]["loss"] == {"first": 2.5, "last": 0.7}
    assert data["curate"][0]["rows_n"] == 10
    assert data["curate"][0]["categorical"]["decision"] == {"dropped": 6, "kept": 4}
    assert data["refine"] == [] and data["eval"] is None


# ---- the demo report -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_report_is_one_self_contained_file(demo_report: Path) -> None:
    text = demo_report.read_text(encoding="utf-8")
    # KaTeX is inlined unmodified; its `<img src=` builds \includegraphics, which math.js turns off (trust: false)
    katex = asset("katex/katex.min.js")
    assert text.count(katex) == 1 and "trust: false" in asset("math.js")
    text = text.replace(katex, "")
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", text)
    assert not re.search(r"\b(fetch|XMLHttpRequest|import)\s*\(", text.split('id="tt-data"')[0])
    assert "@import" not in text and "url(http" not in text
    urls = re.findall(r"url\(([^)]{0,40})", text)
    assert len(urls) >= 20 and all(u.startswith("data:font/woff2;base64,") for u in urls)  # KaTeX's fonts, inline


@pytest.mark.slow
def test_struck_units_are_what_the_refined_files_removed(demo_data, demo_chains, annotations,
                                                        refined_thinking) -> None:
    (run,) = demo_data["refine"]
    chains = demo_chains
    assert list(chains) == run["index"]["ids"] == [a["id"] for a in annotations]
    for tag in run["ratio_tags"]:
        refined = refined_thinking(tag)
        for cid, chain in chains.items():
            kept = "".join(s[0] for s in chain["steps"] if s[3] is None or s[3] not in chain["removed"][tag])
            assert kept == refined[cid], (tag, cid)
    some = [c for c in chains.values() if c["removed"]["r0.5"]]
    assert some, "nothing pruned at 0.5: the comparison above would prove nothing"
    for a in annotations:  # the viewer's steps are the annotation's, in order, with kind, link, unit, PIR
        steps = [Step.from_dict(d) for d in a["steps"]]
        shown = chains[a["id"]]["steps"]
        assert [s[0] for s in shown] == [d["text"] for d in a["steps"]]
        assert [(s[2], s[3], s[5]) for s in shown] == [(x.link, x.unit, int(x.protected)) for x in steps]


@pytest.mark.slow
def test_refine_summary_matches_stats(demo_data, refine_dir: Path) -> None:
    stats = json.loads((refine_dir / "stats.json").read_text())
    (run,) = demo_data["refine"]
    assert run["token_share"] == stats["token_share"] and run["chains"] == stats["chains"] == 2
    assert [r["token_reduction"] for r in run["per_ratio"]] == [stats["ratios"][t]["token_reduction"]
                                                               for t in ("r0.2", "r0.5")]
    n_units = {k: v for k, v in stats["functional_units"].items() if v}
    assert {k: run["pir"][k]["n"] for k in n_units} == n_units


@pytest.mark.slow
def test_eval_part_has_a_row_per_run_and_benchmark(demo_data, demo_blobs, eval_dirs: list[Path]) -> None:
    ev = demo_data["eval"]
    assert [r["name"] for r in ev["runs"]] == ["sampled", "greedy"] and ev["baseline"] == "sampled"
    assert [(r["run"], r["benchmark"]) for r in ev["rows"]] == [("sampled", "gsm8k"), ("greedy", "gsm8k")]
    results = [json.loads((d / "results.json").read_text()) for d in eval_dirs]
    for row, res in zip(ev["rows"], results):
        assert row["tokens"] == res["overall"]["metrics"]["tokens:mean"]
    assert ev["rows"][0]["is_baseline"] and not ev["rows"][1]["is_baseline"]
    assert [p["run"] for p in ev["scatter"]] == ["sampled", "greedy"]
    drill = demo_blobs[ev["drill"]["0"]["gsm8k"]]
    assert len(drill) == 2 and all(len(q["samples"]) == 2 for q in drill)
    assert all(q["question"] for q in drill) and all(s["tail"] for q in drill for s in q["samples"])


@pytest.mark.slow
def test_png_figures(demo_report: Path) -> None:
    pngs = sorted(p.name for p in (demo_report.parent / "png").glob("*.png"))
    assert pngs == ["eval_length_quartiles.png", "eval_scatter.png", "refine_pir.png", "refine_token_reduction.png",
                    "refine_token_share.png", "refine_units_removed.png"]
    for name in pngs:
        head = (demo_report.parent / "png" / name).read_bytes()
        assert head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) > 10_000


def handmade_refine_folder(folder: Path) -> None:
    """Three chains written as refine writes them: two scored (dataset scope, ratio 0.5) and one unclosed."""

    def step(text: str, kind: str = "progressive", link=None, unit=None, pir=None, protected=False) -> dict:
        return {"text": text, "kind": kind, "link": link, "unit": unit, "pir": pir, "protected": protected,
                "tokens": len(text.split())}

    chains = [
        ("a", "scored", [step("First. ", protected=True), step("Wait, check. ", "verification", 0, 0, 0.5),
                         step("Next. "), step("Alternatively, redo. ", "multi_method", 2, 1, -0.2)]),
        ("b", "scored", [step("Start. ", protected=True), step("Let me verify. ", "verification", 0, 0, 0.1),
                         step("Hmm, re-check. ", "verification", 0, 0, 0.1), step("Then. "),
                         step("Another way. ", "multi_method", 3, 1, 0.3)]),
        ("c", "unclosed", [step("Never closes ")]),
    ]
    folder.mkdir()
    lines = []
    for cid, status, steps in chains:
        pos = 0
        for s in steps:
            s["start"], s["end"] = pos, pos + len(s["text"])
            pos = s["end"]
        lines.append(json.dumps({"id": cid, "status": status, "reason": "never closes" if status != "scored" else "",
                                 "steps": steps, "protected_functional": 0}))
    (folder / "annotations.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "rejects.jsonl").write_text(json.dumps({"location": "in.jsonl:4", "field": "response",
                                                      "reason": "missing"}) + "\n")
    (folder / "run.json").write_text(json.dumps({"input": str(folder / "gone.jsonl"), "scope": "dataset",
                                                 "ratios": [0.5]}))


def test_refine_part_without_stats_in_dataset_scope(tmp_path: Path, read_page, read_blobs) -> None:
    handmade_refine_folder(tmp_path / "refine")
    out = tmp_path / "r.html"
    (tmp_path / "cfg.yaml").write_text(f"output: {out}\ntitle: Handmade\nviewer_limit: 2\n")
    proc = subprocess.run([*CLI, "report", str(tmp_path / "refine"), "--config", str(tmp_path / "cfg.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (run,) = read_page(out)["refine"]
    assert "<title>Handmade</title>" in out.read_text()
    assert run["status"]["scored"] == 2 and run["status"]["unclosed"] == 1
    assert run["not_scored"] == [{"id": "c", "status": "unclosed", "reason": "never closes"},
                                 {"id": "in.jsonl:4", "status": "rejected", "reason": "response: missing"}]
    assert run["rejected"] == 1
    assert any("stats.json" in n for n in run["notes"]) and any("gone.jsonl" in n for n in run["notes"])
    assert run["index"]["ids"] == ["a", "b"]  # --viewer-limit 2; the counts above still cover all three
    assert run["pir"]["verification"]["n"] == 2 and run["pir"]["multi_method"]["n"] == 2
    chains = {c["id"]: c for blob in read_blobs(out).values() for c in blob}
    # dataset scope, ratio 0.5: the lower-PIR half of each type across chains: b's verification, a's multi-method
    assert chains["a"]["removed"] == {"r0.5": [1]} and chains["b"]["removed"] == {"r0.5": [0]}
    assert chains["a"]["extra"] == {"protected_functional": 0}


def test_package_data_ships_every_report_asset() -> None:
    """KaTeX is vendored in a folder of its own: a wheel must carry it, or `pip install` gives a page without maths."""
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["thinktrim"]
    package = root / "src" / "thinktrim"
    files = [f.relative_to(package).parts for f in (package / "report" / "assets").rglob("*") if f.is_file()]
    assert any(p[-1] == "katex.min.js" for p in files) and sum(p[-1].endswith(".woff2") for p in files) == 20

    def shipped(parts: tuple[str, ...]) -> bool:  # a setuptools glob: `*` stays within one folder
        return any(len(g.split("/")) == len(parts) and all(map(fnmatch.fnmatchcase, parts, g.split("/")))
                   for g in globs)

    assert [p for p in files if not shipped(p)] == []
