"""The over-long policy on tokenized examples: nothing is cut or dropped without being counted."""

import pytest

from thinktrim.train.lengths import OverlongError, apply_overlong, padding_share

P = -100
EXAMPLES = [([1, 2, 3, 4], [P, P, 3, 4]), ([1, 2, 3, 4, 5, 6], [P, P, P, 4, 5, 6]), ([1, 2, 3, 4, 5, 6], [P] * 5 + [6])]
WHERE = ["f.jsonl:1", "f.jsonl:2", "f.jsonl:3"]


def test_skip_drops_and_counts() -> None:
    kept, out, report = apply_overlong(EXAMPLES, WHERE, 4, "skip")
    assert kept == [0] and out == [EXAMPLES[0]]
    s = report.summary()
    assert (s["examples_in"], s["examples"], s["skipped_overlong"], s["truncated"]) == (3, 1, 2, 0)
    assert s["tokens_total"] == 4 and s["completion_share"] == 0.5


def test_truncate_keeps_the_start_and_drops_examples_left_without_completion() -> None:
    kept, out, report = apply_overlong(EXAMPLES, WHERE, 4, "truncate")
    assert kept == [0, 1]
    assert out[1] == ([1, 2, 3, 4], [P, P, P, 4])
    assert (report.truncated, report.no_target_left, report.skipped) == (1, 1, 0)
    assert report.tokens == [4, 4] and report.target_tokens == [2, 1]


def test_error_names_the_example() -> None:
    with pytest.raises(OverlongError, match=r"^f\.jsonl:2: 6 tokens, longer than --max-length 4"):
        apply_overlong(EXAMPLES, WHERE, 4, "error")
    assert apply_overlong(EXAMPLES, WHERE, 6, "error")[0] == [0, 1, 2]


def test_padding_share() -> None:
    assert padding_share(75, 100) == 0.25 and padding_share(0, 0) == 0.0
