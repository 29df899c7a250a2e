"""How a command reads files of traces: one set of settings shared by refine, curate and `train sft`.

Each of those configs nests an `InputConfig` under `inputs`; its settings are options of their own (`--layout`,
`--format`, `--on-error`, `--split`, `--subset`, `--start`, `--end`) and may be written flat in YAML. The files
themselves are each command's positional argument (refine takes one input, curate several pools, train several
training files); each may also be a `datasets` save_to_disk folder or a hub dataset id in the local cache
(`data/hf.py`), of which `--split` and `--subset` pick the part. `--start`/`--end` take a range of records by
index in input order (half-open, as LIMOPro's FILE_ID_MIN…FILE_ID_MAX), before `--limit` and `--shard`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from thinktrim.config import Config, ConfigError
from thinktrim.data.layouts import LAYOUTS, check_layout

FileFormat = Literal["auto", "jsonl", "json", "parquet"]
OnError = Literal["raise", "skip"]

LAYOUT_HELP = (
    f"Input layout: auto (detected per file), {', '.join(LAYOUTS)}, or the fields yourself: "
    "'question=KEY,response=KEY' (thinking and answer in one text, split at </think>), "
    "'question=KEY,thinking=KEY,response=KEY' (thinking in its own field) or 'question=KEY,answer=KEY' (problems "
    "without chains); optional answer=KEY (reference answer) and id=KEY; nested fields as a.b.0."
)


def check_source(sources: str | tuple[str, ...]) -> None:
    """Data files, `datasets` save_to_disk folders or hub dataset ids (whether one is cached is checked when
    it is opened)."""
    from pathlib import Path

    from thinktrim.data.hf import is_dataset_source

    for source in (sources,) if isinstance(sources, str) else sources:
        p = Path(source)
        if is_dataset_source(source):
            continue
        if not p.exists():
            raise ValueError(f"{source}: no such file, datasets folder or hub dataset id")
        if not p.is_file():
            raise ValueError(f"{source}: is a folder, but no datasets save_to_disk folder (no state.json)")


def _check_layout(layout: str) -> None:
    try:
        check_layout(layout)
    except ValueError as e:  # its messages start with the layout itself, which the setting's name replaces
        message = str(e)
        for head in (f"layout {layout!r}: ", f"layout={layout!r}: "):
            message = message.removeprefix(head)
        raise ValueError(message) from None


def check_range(start: int, end: int | None) -> None:
    """--start…--end must hold a record: the rule every config with an index range follows."""
    if end is not None and end <= start:
        raise ConfigError(f"must be above --start ({start}), got {end}", "end")


@dataclass
class InputConfig(Config):
    """Layout, file format and what to do with malformed records (see the module docstring)."""

    layout: str = field(default="auto", metadata={"check": _check_layout, "help": LAYOUT_HELP})
    file_format: FileFormat = field(default="auto", metadata={
        "flag": "--format", "help": "Input file format (by extension by default)."})
    on_error: OnError = field(default="raise", metadata={
        "help": "Malformed records: raise (stop, naming file, line and field) or skip (each listed with its "
                "reason in the output folder's rejects.jsonl)."})
    split: str | None = field(default=None, metadata={
        "nonempty": True, "help": "Split of a datasets folder or hub dataset (default: its only one)."})
    subset: str | None = field(default=None, metadata={
        "nonempty": True, "help": "Subset (configuration) of a hub dataset."})
    start: int = field(default=0, metadata={
        "min": 0, "help": "First record to read, by 0-based index in input order (with --end: a half-open range)."})
    end: int | None = field(default=None, metadata={
        "min": 1, "help": "Read records up to this 0-based index, excluded (default: to the end)."})

    def check(self) -> None:
        check_range(self.start, self.end)

    def in_range(self, index: int) -> bool:
        """Whether the record at this 0-based index (valid or not) is in --start…--end."""
        return index >= self.start and (self.end is None or index < self.end)

    @property
    def ranged(self) -> bool:
        return self.start > 0 or self.end is not None
