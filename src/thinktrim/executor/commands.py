"""The functions `thinktrim refine` and `thinktrim eval` are registered with (`thinktrim.cli`): they dispatch
the model work to where `--executor` says it runs and hand it to the commands' own `run_refine` / `run_eval`,
which stay unaware of Ray (refine and evaluate sit below this layer)."""

from __future__ import annotations

from thinktrim.evaluate.config import EvalConfig
from thinktrim.refine.config import RefineConfig


def dispatch_refine(cfg: RefineConfig) -> None:
    """`run_refine` with chains scored in this process, or on Ray workers (`--executor ray`)."""
    from thinktrim.refine.cli import run_refine

    if cfg.parallel.executor == "local":
        run_refine(cfg)
        return
    from thinktrim.executor.refine import RayScoring

    run_refine(cfg, RayScoring(cfg))  # a worker that died is a WorkerFailure, a user error the CLI reports


def dispatch_eval(config: EvalConfig) -> None:
    """`run_eval` with answers generated in this process, or on Ray workers (`--executor ray`)."""
    from thinktrim.evaluate.cli import run_eval

    if config.parallel.executor == "local":
        run_eval(config)
        return
    from thinktrim.executor.generation import RayGenerator

    run_eval(config, lambda: RayGenerator(config))
