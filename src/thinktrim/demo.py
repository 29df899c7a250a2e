"""The last words of `make demo`: what was refined and how much each ratio cut, the eval runs side by side
(`thinktrim eval compare`'s table, AES against the first run), and the report with what to look at in it.

    python -m thinktrim.demo REFINE_DIR REPORT_HTML RUN_DIR...

A newcomer reads this instead of scrolling back through each command's output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from thinktrim.errors import UserError, user_errors


def refine_lines(stats: dict[str, Any]) -> list[str]:
    """One line for the chains refined, one per ratio with the share of thinking tokens it removed."""
    status = stats.get("status", {})
    scored = status.get("scored", 0)
    others = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(status.items()) if k != "scored" and n)
    lines = [f"refine: {stats['chains']} chains read, {scored} scored by PIR" + (f" ({others})" if others else "")]
    for tag, r in stats["ratios"].items():
        units = sum(r["units_removed"].values())
        lines.append(f"  ratio {r['ratio']:g} ({tag}): {units} functional units removed, thinking tokens "
                     f"{r['thinking_tokens_before']:,} → {r['thinking_tokens_after']:,} "
                     f"(−{100 * r['token_reduction']:.1f} %)")
    return lines


def report_lines(report: Path) -> list[str]:
    return [f"report: {report.resolve()}",
            "  open it in a browser (it fetches nothing): in the chain viewer, move the ratio slider to see which "
            "verification and correction steps each ratio strikes; under Evaluation, accuracy against tokens "
            "puts the runs on one chart, and a click on a question shows each sample's answer."]


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: python -m thinktrim.demo REFINE_DIR REPORT_HTML RUN_DIR...", file=sys.stderr)
        return 2
    from thinktrim.data.store import read_json_object
    from thinktrim.evaluate.cli import run_compare
    from thinktrim.evaluate.config import CompareConfig
    from thinktrim.evaluate.summary import load_results

    refine_dir, report, runs = Path(argv[0]), Path(argv[1]), argv[2:]
    with user_errors():  # one line and exit 2, as every command
        if not (refine_dir / "stats.json").is_file():
            raise UserError(f"{refine_dir / 'stats.json'}: not found (did the demo's refine step finish?)")
        stats = read_json_object(refine_dir / "stats.json", "refine stats")
        for run in runs:
            load_results(Path(run))  # every run readable before anything is printed
    print("\n=== What the demo did ===")
    print("\n".join(refine_lines(stats)))
    print(f"\neval: the embedded model (SmolLM2-135M) on the bundled `arith` set, {len(runs)} settings, "
          f"compared with the first ({Path(runs[0]).name}) as `thinktrim eval compare` does:", flush=True)
    run_compare(CompareConfig(runs=tuple(runs)))  # the same table as the command prints
    print("\n".join(report_lines(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
