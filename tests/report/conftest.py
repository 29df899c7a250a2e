"""Real inputs for the report, made once per session: a refine folder of two bundled R1 traces scored by the
embedded model, two small gsm8k eval runs with different settings, and the report written from them."""

import base64
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "src/thinktrim/data/samples/thought_anchors_sample.jsonl"
CLI = [sys.executable, "-m", "thinktrim.cli"]


def run_cli(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"thinktrim {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test of the report (skipped where there is none)."""
    from thinktrim.report.browser import chromium, missing

    reason = missing()
    if reason:
        pytest.skip(f"no headless Chromium: {reason}")
    with chromium(1400, 1000) as driver:
        yield driver


@pytest.fixture(scope="session")
def refine_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report-inputs") / "refine"
    run_cli("refine", str(SAMPLE), "-o", str(out), "--ratios", "0.2,0.5", "--limit", "2")
    return out


@pytest.fixture(scope="session")
def eval_dirs(tmp_path_factory) -> list[Path]:
    """Two runs of the embedded model on 2 gsm8k questions × 2 samples: sampled with 32 new tokens, greedy with 16."""
    root = tmp_path_factory.mktemp("report-evals")
    settings = {"sampled": ["--max-new-tokens", "32"], "greedy": ["--max-new-tokens", "16", "--temperature", "0"]}
    for name, extra in settings.items():
        run_cli("eval", "--benchmark", "gsm8k", "--limit", "2", "-n", "2", "--device", "cpu", "--grade-processes",
                "0", "-o", str(root / name), *extra)
    return [root / name for name in settings]


@pytest.fixture(scope="session")
def demo_report(refine_dir, eval_dirs, tmp_path_factory) -> Path:
    """The report of the refine folder and both eval runs (AES against the sampled run), with PNGs."""
    out = tmp_path_factory.mktemp("report")
    proc = run_cli("report", str(refine_dir), *map(str, eval_dirs), "-o", str(out / "report.html"),
                   "--png", str(out / "png"), "--baseline", str(eval_dirs[0]))
    assert f"report: {(out / 'report.html').resolve()}" in proc.stdout
    return out / "report.html"


DATA_TAG = '<script id="tt-data" type="application/json">'


def page_data(report: Path) -> dict:
    """The JSON the page's script reads (everything but the compressed blobs)."""
    text = report.read_text(encoding="utf-8")
    start = text.index(DATA_TAG) + len(DATA_TAG)
    return json.loads(text[start : text.index("</script>", start)])


def page_blobs(report: Path) -> dict[str, object]:
    """The page's gzip+base64 blobs (chain chunks, drill-downs), decoded, by element id."""
    found = re.findall(r'<script id="([^"]+)" type="application/gzip-base64">([^<]*)</script>',
                       report.read_text(encoding="utf-8"))
    return {i: json.loads(gzip.decompress(base64.b64decode(b))) for i, b in found}


@pytest.fixture(scope="session")
def read_page():
    return page_data


@pytest.fixture(scope="session")
def read_blobs():
    return page_blobs


@pytest.fixture(scope="session")
def demo_data(demo_report) -> dict:
    return page_data(demo_report)


@pytest.fixture(scope="session")
def demo_chains(demo_report) -> dict[str, dict]:
    """Every chain record the viewer can show, by id."""
    return {c["id"]: c for blob in page_blobs(demo_report).values() if isinstance(blob, list)
            for c in blob if "steps" in c}


@pytest.fixture(scope="session")
def demo_blobs(demo_report) -> dict[str, object]:
    return page_blobs(demo_report)


@pytest.fixture(scope="session")
def annotations(refine_dir) -> list[dict]:
    return read_jsonl(refine_dir / "annotations.jsonl")


@pytest.fixture(scope="session")
def refined_thinking(refine_dir):
    """tag -> {chain id: thinking} of the refined_{tag} file, read back with the run's layout."""
    from thinktrim.data.formats import SourceRecord, read_records

    run = json.loads((refine_dir / "run.json").read_text())

    def read(tag: str) -> dict[str, str]:
        path = next(refine_dir.glob(f"refined_{tag}.*"))
        return {r.trace.id: r.trace.thinking for r in read_records(path, layout=run["layout"],
                                                                    id_stem=Path(run["input"]).stem)
                if isinstance(r, SourceRecord)}

    return read
