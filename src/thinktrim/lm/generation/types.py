"""What generation exchanges: one settings object for every backend, the unit of work, the completion, and
the base every backend builds on (the factory that picks a backend is `factory.py`).

Backends (transformers, vLLM, an OpenAI-compatible server) all implement `stream(jobs, config)`: they yield each
completion as soon as it exists, tagged with its job and sample index, so the evaluation loop can write it to
disk at once and a killed run loses at most the completions in flight. `generate(prompts, config)` (the
`Generator` protocol) is built on top of `stream`. `stream`'s `on_tokens(k)` hears of every generated token once,
as soon as the backend knows it: each decoding step with transformers, each completion with vLLM and servers
(so a progress bar moves before a batch is done).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from thinktrim.config import Config


@dataclass(frozen=True)
class Completion:
    """One generated response: its text, how many tokens it has, and why generation stopped."""

    text: str
    tokens: int
    finish_reason: str  # "stop" or "length"


@runtime_checkable
class Generator(Protocol):
    """Generates `config.n` completions for each chat prompt (a list of {"role", "content"} messages)."""

    def generate(self, prompts: list[list[dict[str, str]]], config: object) -> list[list[Completion]]: ...


Backend = Literal["transformers", "vllm", "openai"]
BACKENDS: tuple[str, ...] = ("transformers", "vllm", "openai")
Messages = list[dict[str, str]]
TokenCallback = Callable[[int], None]  # told how many tokens were just generated


@dataclass
class GenerationConfig(Config):
    """How to sample completions; validated once here so every backend can trust it."""

    max_new_tokens: int = field(default=512, metadata={
        "min": 1, "help": "Most tokens generated per completion; a completion that hits it is 'length'-truncated."})
    temperature: float = field(default=0.7, metadata={
        "min": 0, "below": math.inf,
        "help": "Sampling temperature; 0 means greedy decoding (the papers sample at 0.7)."})
    top_p: float = field(default=1.0, metadata={
        "above": 0, "max": 1, "help": "Nucleus sampling: keep the smallest token set with this probability mass."})
    n: int = field(default=1, metadata={
        "min": 1, "help": "Completions sampled per prompt (the papers use 8 for avg@n).", "flag": "--n", "short": "-n"})
    seed: int | None = field(default=0, metadata={
        "min": 0, "help": "Base random seed; sample i of a prompt uses seed + i where the backend allows it. None "
                          "leaves sampling unseeded."})
    stop: tuple[str, ...] = field(default=(), metadata={
        "help": "Strings that end a completion (not included in its text; empty ones are dropped)."})
    batch_size: int | None = field(default=None, metadata={
        "min": 1, "help": "transformers: sequences decoded together (default 8). vLLM: prompts per engine call, "
                          "results are written after each (default 256). OpenAI: unused (see concurrency)."})

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass(frozen=True)
class Job:
    """One chat prompt and which of its samples to produce (their indices, e.g. (5, 6, 7) after a resume).

    Sample indices matter beyond bookkeeping: backends seed sample i with `config.seed + i`, so the n
    samples of a prompt differ even on servers that honour the seed.
    """

    messages: Messages
    samples: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", tuple(self.samples))
        if not self.samples:
            raise ValueError("Job.samples: at least one sample index is needed")
        if not self.messages or not all(isinstance(m, dict) and "role" in m and "content" in m
                                        for m in self.messages):
            raise ValueError(f"Job.messages: expected a list of {{'role', 'content'}} dicts, got {self.messages!r}")

    def chat(self) -> Messages:
        """A copy of the messages, so a backend cannot alter the job."""
        return [dict(m) for m in self.messages]


class GeneratorBase:
    """What every backend shares: `generate` (the base protocol) on top of the backend's `stream`."""

    def stream(self, jobs: Sequence[Job], config: GenerationConfig,
               on_tokens: TokenCallback | None = None) -> Iterator[tuple[int, int, Completion]]:
        """Yield (job index, sample index, completion) as completions finish, in any order; call `on_tokens`
        with the count of tokens generated, as soon as they are known (their sum is the completions' tokens)."""
        raise NotImplementedError

    def generate(self, prompts: list[Messages], config: GenerationConfig) -> list[list[Completion]]:
        jobs = [Job(p, tuple(range(config.n))) for p in prompts]
        out: list[list[Completion | None]] = [[None] * config.n for _ in prompts]
        for j, s, completion in self.stream(jobs, config):
            out[j][s] = completion
        assert all(c is not None for row in out for c in row), "a backend skipped a sample"
        return out  # type: ignore[return-value]

    def close(self) -> None:
        """Release what the backend holds (threads, connections, GPU memory)."""


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text before the earliest stop string, and whether one was found (backends without native stops)."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
