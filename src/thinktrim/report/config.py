"""Every setting of `thinktrim report`, in one dataclass: the CLI options and `--config` YAML come from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from thinktrim.config import Config


def _check_html(path: str) -> None:
    if not path.endswith((".html", ".htm")):
        raise ValueError(f"{path!r} should end in .html")


@dataclass
class ReportConfig(Config):
    """Write one self-contained HTML report (charts, chain viewer, eval drill-down) from output folders.

    INPUT is any mix of `thinktrim refine` output folders, `thinktrim eval` run folders, train and curate output
    folders, or folders holding several of them (one level down).
    """

    inputs: tuple[str, ...] = field(
        default=(),
        metadata={"help": "Refine, eval, train or curate output folders (or a folder of them).", "argument": True,
                  "nonempty": True},
    )
    output: str = field(default="report.html", metadata={
        "check": _check_html, "help": "The HTML file to write.", "short": "-o"})
    png: str | None = field(
        default=None, metadata={"help": "Also write every chart as a PNG (matplotlib) into this folder."}
    )
    baseline: str | None = field(
        default=None,
        metadata={"help": "Eval run folder that AES is computed against (default: the first eval input)."},
    )
    title: str = field(default="thinktrim report", metadata={"help": "Title at the top of the page."})
    viewer_limit: int | None = field(
        default=None,
        metadata={"min": 1,
                  "help": "Put at most this many chains per refine folder in the chain viewer (default: all); "
                          "the charts always cover every chain."},
    )
    response_chars: int = field(
        default=600,
        metadata={"min": 0, "help": "Characters of each eval response's end shown in the per-question drill-down."},
    )
