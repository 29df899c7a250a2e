"""One way to show a results table: rich in the terminal, Markdown in files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def format_cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 10 ** -digits or abs(value) >= 1e6):
            return f"{value:.{digits}g}"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> None:
    """Print a table to the terminal (stderr stays free for progress bars)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, caption=caption or None, caption_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(format_cell(v) for v in row))
    Console(width=max(100, sum(len(c) + 6 for c in columns))).print(table)


def print_counts(title: str, counts: Mapping[str, Mapping[str, int]], caption: str = "") -> None:
    """Counters by reason (`thinktrim.data.counters.Counts.to_dict()`) as (counted, reason, count) rows;
    nothing is printed when nothing was counted."""
    rows = [[group, reason, n] for group, reasons in counts.items() for reason, n in reasons.items()]
    if rows:
        print_table(title, ["counted", "reason", "count"], rows, caption)


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(format_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
