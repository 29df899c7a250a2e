"""The run functions `thinktrim refine` and `thinktrim eval` are registered with (`thinktrim.cli`): they pick
where the model work runs from `--executor` and hand it to the commands' own run functions, which stay
unaware of Ray (refine and evaluate sit below this layer)."""

from __future__ import annotations

from thinktrim.evaluate.config import EvalConfig
from thinktrim.refine.config import RefineConfig


def run_refine(cfg: RefineConfig) -> None:
    from thinktrim.executor.ray_workers import WorkerFailure
    from thinktrim.refine.cli import fail, run_refine

    if cfg.parallel.executor == "local":
        run_refine(cfg)
        return
    from thinktrim.executor.refine import RayScoring

    try:
        run_refine(cfg, RayScoring(cfg))
    except WorkerFailure as e:
        fail(str(e))


def run_eval(config: EvalConfig) -> None:
    from thinktrim.evaluate.cli import run_eval

    if config.parallel.executor == "local":
        run_eval(config)
        return
    from thinktrim.executor.generation import RayGenerator

    run_eval(config, lambda: RayGenerator(config))
