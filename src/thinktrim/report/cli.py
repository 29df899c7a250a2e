"""`thinktrim report`: options come from `ReportConfig`; the work is in `thinktrim.report.build`."""

from __future__ import annotations

from thinktrim.config import command
from thinktrim.report.config import ReportConfig


def _run(cfg: ReportConfig) -> None:
    from thinktrim.report.build import run_report  # reads folders and imports refine/eval code: only when run

    run_report(cfg)


report_command = command(ReportConfig, _run)
