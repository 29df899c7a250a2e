"""Evaluation's and data's views of where the thinking ends both come from the one span scanner in answers.py.

The two functions below are frozen copies of the splitters as they were before they shared that scanner (one
regex-based in answers.py, one span-based in data/thinking.py, each with its own table of tags); the properties
check that the shared version gives the same result on responses mixing tags of both families, text, several
blocks, lone closings, unclosed openings and solution tags.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinktrim.answers import THINK_TAGS, split_reasoning, think_spans
from thinktrim.data.thinking import split_spans, split_thinking, strip_span

# ------------------------------------------------------------------------ frozen copies of the old splitters

_OLD_EVAL_TAGS = (("<think>", "</think>"), ("<|begin_of_thought|>", "<|end_of_thought|>"))
_OLD_DATA_MARKERS = (
    ("<|begin_of_thought|>", "<|end_of_thought|>", "<|begin_of_solution|>", "<|end_of_solution|>"),
    ("<think>", "</think>", None, None),
)


def old_split_reasoning(text: str) -> tuple[str, str | None]:
    thinking: list[str] = []
    for open_tag, close_tag in _OLD_EVAL_TAGS:
        if open_tag not in text and close_tag not in text:
            continue
        block = re.compile(re.escape(open_tag) + "(.*?)" + re.escape(close_tag), re.S)
        thinking += block.findall(text)
        text = block.sub("", text)
        close = text.rfind(close_tag)
        if close >= 0:
            thinking.append(text[:close])
            text = text[close + len(close_tag) :]
        open_ = text.find(open_tag)
        if open_ >= 0:
            text = text[:open_]
    for tag in ("<|begin_of_solution|>", "<|end_of_solution|>"):
        text = text.replace(tag, "")
    return text.strip(), ("\n".join(thinking) if thinking else None)


def old_split_spans(text: str) -> tuple[tuple[int, int], tuple[int, int], bool, str] | None:
    for opening, closing, sol_open, sol_close in _OLD_DATA_MARKERS:
        o, c = text.find(opening), text.find(closing)
        if o < 0 and c < 0:
            continue
        start = 0
        if o >= 0 and (c < 0 or o < c):
            start = o + len(opening)
            c = text.find(closing, start)
        if c < 0:
            return strip_span(text, start, len(text)), (len(text), len(text)), False, "unclosed"
        a_start, a_end = c + len(closing), len(text)
        if sol_open is not None and (s := text.find(sol_open, a_start)) >= 0:
            a_start = s + len(sol_open)
            e = text.find(sol_close, a_start) if sol_close else -1
            a_end = e if e >= 0 else len(text)
        return strip_span(text, start, c), strip_span(text, a_start, a_end), True, closing
    return None


def old_split_thinking(response: str) -> tuple[str, str, bool]:
    sp = old_split_spans(response)
    if sp is None:
        a, b = strip_span(response, 0, len(response))
        return response[a:b], "", False
    return response[slice(*sp[0])], response[slice(*sp[1])], sp[2]


# ------------------------------------------------------------------------------------------------- inputs

_TAGS = [tag for t in THINK_TAGS for tag in (t.open, t.close, t.solution_open, t.solution_close) if tag]
# Text never holds a "<": every tag in a generated response is one the generator placed whole. (The old
# regex splitter also saw a tag that cutting a block out glued together, e.g. `</thi<think>x</think>nk>`; the
# span scanner reads tags where they stand in the response.)
_text = st.text(alphabet="ax1 \n\t>/|_{}\\$", max_size=8)
_token = st.one_of(st.sampled_from(_TAGS), _text, st.just("\\boxed{7}"))
_mixed = st.lists(_token, max_size=16).map("".join)


def _family(tags: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(tags), _text), max_size=12).map("".join)


_one_family = st.one_of(
    _family(("<think>", "</think>")),
    _family(tuple(_TAGS[2:])),
)


def _assert_same(text: str) -> None:
    assert split_reasoning(text) == old_split_reasoning(text), text
    sp = split_spans(text)
    new = None if sp is None else (sp.thinking, sp.answer, sp.closed, sp.marker)
    assert new == old_split_spans(text), text
    assert split_thinking(text) == old_split_thinking(text), text


@settings(max_examples=3000, deadline=None)
@given(_mixed)
def test_same_split_as_before_on_mixed_tags(text: str) -> None:
    _assert_same(text)


@settings(max_examples=1500, deadline=None)
@given(_one_family)
def test_same_split_as_before_on_one_family(text: str) -> None:
    _assert_same(text)


@pytest.mark.parametrize(
    "text",
    [
        "<think>a</think>b<think>c</think>d",  # several blocks
        "a</think>b</think>c<think>d</think>e<think>f",  # lone closings, a block, an unclosed opening
        "pre<think>a<think>b</think>c",  # an opening inside a block is text
        "<|begin_of_thought|>a<think>b</think>c<|end_of_thought|>d",  # a block that spans another family's
        "<think>a<|begin_of_thought|>b</think>c<|end_of_thought|>d",
        "<|begin_of_thought|>t<|end_of_thought|>x<|begin_of_solution|>s<|end_of_solution|>y",
        "<think>t</think><|begin_of_solution|>s",
        "</think></think>",
        "no tags at all",
        "",
    ],
)
def test_same_split_as_before_on_examples(text: str) -> None:
    _assert_same(text)


def test_scanner_reads_blocks_lone_closings_and_an_unclosed_opening() -> None:
    text = "a</think>b<think>c</think>d</think>e<think>f"
    sp = think_spans(text, THINK_TAGS[0])
    assert [text[a:b] for a, b in sp.blocks] == ["c"]
    assert [text[:c] for c in sp.lone_closes] == ["a", "a</think>b<think>c</think>d"]
    assert sp.unclosed is not None and text[sp.unclosed :] == "<think>f"
    plain = think_spans("plain", THINK_TAGS[1])
    assert (plain.blocks, plain.lone_closes, plain.unclosed) == ((), (), None)
