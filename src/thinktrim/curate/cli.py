"""`thinktrim curate POOL... -o OUT`: the options come from `CurateConfig`; the work is in `pipeline.curate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thinktrim.config import command
from thinktrim.curate.config import CurateConfig


def print_summary(stats: dict[str, Any], out: Path) -> None:
    from thinktrim.curate.outputs import summary_rows
    from thinktrim.table import print_table

    print_table("thinktrim curate", ["step", "in", "out", "dropped", "reasons", "seconds"], summary_rows(stats),
                caption=f"{stats['kept']} of {stats['problems']} problems kept, {stats['chains_written']} records "
                        f"written to {out}/{', '.join(stats['outputs']) or ' (nothing)'}. The read step's `in` "
                        "counts records, the others problems; audit.jsonl says why each problem went.")


def run_curate(cfg: CurateConfig) -> None:
    from thinktrim.curate.pipeline import curate

    stats = curate(cfg)
    print_summary(stats, Path(cfg.output_dir))


curate_command = command(CurateConfig, run_curate)
