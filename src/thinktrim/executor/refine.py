"""`refine` on Ray: each worker holds a `Refiner` with its scoring model loaded, and turns chains into annotation
records; the driver's `score_all` streams the chains to them and appends the records to its store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from thinktrim.data.trace import Trace
from thinktrim.executor.ray_workers import RayWorkers, resolved
from thinktrim.refine.config import RefineConfig
from thinktrim.refine.pipeline import Refiner

# Chains read ahead and reordered at a time: a few MB of traces, and enough to keep the tail short.
LOOKAHEAD = 256


def longest_first(traces: Iterable[Trace], window: int = LOOKAHEAD) -> Iterator[Trace]:
    """The chains in windows of `window`, each window longest first (by thinking length, a proxy for scoring
    cost). A long chain handed out last keeps one worker busy while the others sit idle; longest first leaves
    the short chains for the end, so the workers finish close together. Results are keyed by id, so order does
    not change the outputs."""
    buffer: list[Trace] = []
    for trace in traces:
        buffer.append(trace)
        if len(buffer) == window:
            yield from sorted(buffer, key=lambda t: len(t.thinking), reverse=True)
            buffer = []
    yield from sorted(buffer, key=lambda t: len(t.thinking), reverse=True)


class ChainScorer:
    """What one Ray worker holds: a Refiner whose model is loaded once, on `device`."""

    def __init__(self, cfg: RefineConfig, device: str) -> None:
        self.refiner = Refiner(replace(cfg, device=device))
        self.refiner.scorer  # noqa: B018 - loads the model now, not on the first chain

    def __call__(self, trace: Trace) -> dict[str, Any]:
        return self.refiner.process(trace).to_record()


class RayScoring:
    """`thinktrim.refine.pipeline.ChainScoring` on Ray workers (`--executor ray`)."""

    def __init__(self, cfg: RefineConfig) -> None:
        # paths the workers read, made absolute: they may run in another folder
        judge = replace(cfg.judge, prompt=resolved(cfg.judge.prompt)) if cfg.judge is not None else None
        self.cfg = replace(cfg, model=resolved(cfg.model) or cfg.model, markers=resolved(cfg.markers), judge=judge)
        self.workers = RayWorkers(cfg.parallel, cfg.threads, partial(ChainScorer, self.cfg), cfg.device)

    def __enter__(self) -> RayScoring:
        self.workers.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.workers.__exit__(*exc)

    def map(self, traces: Iterator[Trace]) -> Iterator[dict[str, Any]]:
        return self.workers.map(longest_first(traces))
