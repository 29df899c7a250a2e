"""What every chart shares, in the page and in the PNGs: the step-kind palette and labels, run colours, and the
reference figures from the LIMOPro paper (docs/methods.md §1) that a run is drawn next to."""

from __future__ import annotations

from thinktrim.data.trace import StepKind

# Okabe-Ito colours: told apart by readers with any common colour-vision deficiency, and in greyscale print
# by their lightness (blue darkest, orange lightest).
KIND_COLOURS = {
    StepKind.PROGRESSIVE.value: "#0072B2",
    StepKind.VERIFICATION.value: "#E69F00",
    StepKind.MULTI_METHOD.value: "#009E73",
    StepKind.ERROR_CORRECTION.value: "#CC79A7",
}
KIND_LABELS = {
    StepKind.PROGRESSIVE.value: "progressive",
    StepKind.VERIFICATION.value: "verification",
    StepKind.MULTI_METHOD.value: "multi-method",
    StepKind.ERROR_CORRECTION.value: "error correction",
}
RUN_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

# LIMOPro (arXiv 2505.19187): token share by step kind, in %, progressive / verification / multi-method /
# error correction.
PAPER_SHARES = {
    "LIMO": (59.7, 11.8, 10.9, 17.6),
    "LIMO-V2": (64.3, 9.8, 12.7, 13.2),
    "S1K": (71.4, 9.2, 13.9, 5.5),
}
# LIMOPro: training-token reduction (%) of LIMO at pruning ratios 0.2 … 0.8.
PAPER_LIMO_REDUCTION = ((0.2, 3.4), (0.3, 5.4), (0.4, 8.2), (0.5, 11.7), (0.6, 13.3), (0.7, 15.6), (0.8, 18.0))


def paper_shares() -> dict[str, dict[str, float]]:
    """The paper's shares as fractions keyed by step kind, like a run's `token_share`."""
    kinds = [k.value for k in StepKind]
    return {name: {k: v / 100 for k, v in zip(kinds, shares)} for name, shares in PAPER_SHARES.items()}


def run_colour(i: int) -> str:
    return RUN_COLOURS[i % len(RUN_COLOURS)]


def style_payload() -> dict[str, object]:
    """The same figures for the page's script."""
    return {
        "kinds": [k.value for k in StepKind],
        "kindColours": KIND_COLOURS,
        "kindLabels": KIND_LABELS,
        "paperShares": paper_shares(),
        "paperReduction": [[r, v / 100] for r, v in PAPER_LIMO_REDUCTION],
    }
