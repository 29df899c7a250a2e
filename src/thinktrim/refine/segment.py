"""Split a reasoning chain into steps of a few sentences, losslessly.

The paper asks an LLM to group sentences into "sub-thinking" steps of 3–4 sentences; we do it with rules:
pieces end at sentence ends and line breaks (never inside display math), a discourse marker ("Wait",
"Alternatively", …) always opens a new step, and otherwise a step closes once it holds `target_sentences`
sentences, preferably at a paragraph break. Steps are `[start, end)` spans whose concatenation is the input;
the white space between two steps belongs to the later one, so no step ends in white space.

Functional steps cover just the check: a sentence that shows a check or a correction ("that's correct", "this
is wrong") opens a step of its own out of forward reasoning, and a step opened that way or by a marker ends
where forward progress resumes ("So …", "Therefore", "Now", "Next" with nothing checked in that sentence), so
the computation that follows a check is not swallowed by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from thinktrim.config import Config, ConfigError
from thinktrim.data.trace import Step

# A sentence ends at . ! ? (optionally closed by quotes/brackets/**) followed by white space.
_SENTENCE_END = re.compile(r"[.!?](?:[\"')\]]|\*\*)*(?=\s)")
_DISPLAY_MATH = re.compile(r"\\\[.*?\\\]|\$\$.*?\$\$", re.S)
# Interjections that may precede a marker at the start of a sentence: "Hmm, wait", "But wait", "Oh, alternatively".
_INTERJECTIONS = r"but|and|so|hmm+|oh|ah|ok|okay|well|no|yes|actually|now|then"


@dataclass(frozen=True)
class SegmentConfig(Config):
    """How big steps are. Defaults follow the paper's 3–4 sentences per step."""

    target_sentences: int = field(default=4, metadata={
        "min": 1, "help": "Sentences per step before a break is taken (the paper's 3–4)."})
    max_sentences: int | None = field(default=None, metadata={
        "min": 1, "help": "Hard cap of sentences per step: close a step even mid-paragraph (default: 8, or "
                          "--target-sentences when larger)."})
    max_chars: int = field(default=1500, metadata={
        "min": 1, "help": "Close a step at the next sentence end past this many characters."})
    split_on_markers: bool = field(default=True, metadata={"help": "A discourse marker always opens a new step."})
    split_on_evidence: bool = field(
        default=True,
        metadata={"help": "A sentence showing a check or correction (a lexicon `anywhere` phrase) opens a new step "
                  "when the current step is forward reasoning."},
    )
    end_at_progress: bool = field(
        default=True,
        metadata={"help": "A step opened by a marker or such a sentence ends where forward progress resumes (a "
                  "lexicon `progress` phrase such as So, Therefore, Now, Next opening a sentence that checks "
                  "nothing)."},
    )

    def check(self) -> None:
        if self.max_sentences is None:
            object.__setattr__(self, "max_sentences", max(8, self.target_sentences))
        elif self.max_sentences < self.target_sentences:
            raise ConfigError(f"must be >= target_sentences ({self.target_sentences}), got {self.max_sentences}",
                              "max_sentences")


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    paragraph_end: bool  # a blank line follows the piece (or the text ends)


def _protected_ranges(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _DISPLAY_MATH.finditer(text)]


def _cut_points(text: str) -> list[tuple[int, bool]]:
    """Offsets where a piece may end, with whether the white space there holds a blank line.

    A cut sits *before* the white space that follows a sentence end or holds a line break: the white space
    between two steps opens the later step. So a step never ends in white space, and leaving out any steps
    but the first never leaves white space at the edges of a stripped thinking (where the tags' own white
    space goes when the refined thinking is written back).
    """
    blocked = _protected_ranges(text)
    last = len(text.rstrip())  # no cut inside the trailing white space: no white-space-only step

    def inside_math(i: int) -> bool:
        return any(a < i < b for a, b in blocked)

    cuts: dict[int, bool] = {}
    for m in re.finditer(r"\s+", text):
        if "\n" in m.group() and not inside_math(m.start()):
            cuts[m.start()] = m.group().count("\n") >= 2
    for m in _SENTENCE_END.finditer(text):
        if not inside_math(m.start()):
            cuts.setdefault(m.end(), False)  # m.end() is where the white space after the sentence starts
    return sorted((i, para) for i, para in cuts.items() if 0 < i < last)


def sentence_pieces(text: str) -> list[_Piece]:
    pieces, start = [], 0
    for cut, para in _cut_points(text):
        pieces.append(_Piece(start, cut, para))
        start = cut
    if start < len(text) or not pieces:
        pieces.append(_Piece(start, len(text), True))
    return pieces


def phrase_alternatives(phrases: list[str] | tuple[str, ...]) -> str:
    """Phrases as regex alternatives, longest first, any run of white space matching a space."""
    return "|".join(re.escape(p).replace("\\ ", r"\s+") for p in sorted(phrases, key=len, reverse=True))


def opening_marker_regex(phrases: list[str] | tuple[str, ...], lead_in: tuple[str, ...] = ()) -> re.Pattern[str]:
    """A regex matching any phrase at the start of a text, after optional interjections (and `lead_in` phrases)."""
    words = _INTERJECTIONS + (f"|{phrase_alternatives(lead_in)}" if lead_in else "")
    return re.compile(rf"^\s*(?:[*#>\-]+\s*)?(?:(?:{words})\b[,.!]?\s*)*({phrase_alternatives(phrases)})(?!\w)", re.I)


def segment(
    thinking: str,
    config: SegmentConfig | None = None,
    markers: re.Pattern[str] | None = None,
    evidence: re.Pattern[str] | None = None,
    progress: re.Pattern[str] | None = None,
) -> list[Step]:
    """Split `thinking` into steps; `markers` (an opening-marker regex) forces a new step where it matches.

    `evidence` (found anywhere in a sentence) and `progress` (opening a sentence) shape functional steps as the
    module docstring says, when the config asks for it.
    """
    config = config or SegmentConfig()
    if not thinking:
        return []
    steps: list[Step] = []
    start, count, prev_para, functional = 0, 0, False, False
    for piece in sentence_pieces(thinking):
        text = thinking[piece.start : piece.end]
        marker = bool(config.split_on_markers and markers is not None and markers.match(text))
        checks = bool(evidence is not None and evidence.search(text))
        shows = config.split_on_evidence and checks
        if count:
            resumes = (config.end_at_progress and functional and not checks and progress is not None
                       and bool(progress.match(text)))
            full = count >= config.target_sentences and (prev_para or piece.start - start >= config.max_chars)
            if marker or (shows and not functional) or resumes or full or count >= config.max_sentences:
                steps.append(Step(start, piece.start))
                start, count = piece.start, 0
        if not count:
            functional = marker or shows
        count += 1
        prev_para = piece.paragraph_end
    steps.append(Step(start, len(thinking)))
    return steps
