"""From raw thinking to annotated steps: segment, classify by markers, protect, link and group into units.

The LLM judge (judge.py) is an optional pass between marker classification and linking; scoring and pruning
come after (score.py, prune.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from thinktrim.data.trace import Step
from thinktrim.refine.classify import (
    REFUTATION,
    ClassifyConfig,
    MarkerLexicon,
    assign_units,
    classify_by_markers,
    link_to_progressive,
    protect,
)
from thinktrim.refine.segment import SegmentConfig, segment

Judge = Callable[[str, list[Step]], list[Step]]


def annotate_steps(
    thinking: str,
    final_value: str | None,
    segment_config: SegmentConfig | None = None,
    lexicon: MarkerLexicon | None = None,
    judge: Judge | None = None,
    classify_config: ClassifyConfig | None = None,
) -> list[Step]:
    """Steps of `thinking` with kind, link, protection and unit set (PIR not yet scored).

    `final_value` is the chain's final answer (`answer_mentions.final_value`): the steps stating it are protected.
    """
    lexicon = lexicon or MarkerLexicon.load()
    evidence = lexicon.evidence_regex()
    if (classify_config or ClassifyConfig()).refutations:  # a refuting sentence opens a step of its own, too
        evidence = re.compile(f"{evidence.pattern}|{REFUTATION.pattern}" if evidence else REFUTATION.pattern, re.I)
    steps = segment(thinking, segment_config, lexicon.split_regex(), evidence, lexicon.progress_regex())
    steps = classify_by_markers(thinking, steps, lexicon, classify_config)
    if judge is not None:
        steps = judge(thinking, steps)
    steps = protect(thinking, steps, final_value)
    steps = link_to_progressive(steps)
    return assign_units(steps)
