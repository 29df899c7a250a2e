"""How a command reads files of traces: one set of settings shared by refine, curate and `train sft`.

Each of those configs nests an `InputConfig` under `inputs`; its settings are options of their own (`--layout`,
`--format`, `--on-error`) and may be written flat in YAML. The files themselves are each command's positional
argument (refine takes one input, curate several pools, train several training files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from thinktrim.config import Config
from thinktrim.data.layouts import LAYOUTS, check_layout

FileFormat = Literal["auto", "jsonl", "json", "parquet"]
OnError = Literal["raise", "skip"]

LAYOUT_HELP = (
    f"Input layout: auto (detected per file), {', '.join(LAYOUTS)}, or the fields yourself: "
    "'question=KEY,response=KEY' (thinking and answer in one text, split at </think>), "
    "'question=KEY,thinking=KEY,response=KEY' (thinking in its own field) or 'question=KEY,answer=KEY' (problems "
    "without chains); optional answer=KEY (reference answer) and id=KEY; nested fields as a.b.0."
)


def _check_layout(layout: str) -> None:
    try:
        check_layout(layout)
    except ValueError as e:  # its messages start with the layout itself, which the setting's name replaces
        message = str(e)
        for head in (f"layout {layout!r}: ", f"layout={layout!r}: "):
            message = message.removeprefix(head)
        raise ValueError(message) from None


@dataclass
class InputConfig(Config):
    """Layout, file format and what to do with malformed records (see the module docstring)."""

    layout: str = field(default="auto", metadata={"check": _check_layout, "help": LAYOUT_HELP})
    file_format: FileFormat = field(default="auto", metadata={
        "flag": "--format", "help": "Input file format (by extension by default)."})
    on_error: OnError = field(default="raise", metadata={
        "help": "Malformed records: raise (stop, naming file, line and field) or skip (each listed with its "
                "reason in the output folder's rejects.jsonl)."})
