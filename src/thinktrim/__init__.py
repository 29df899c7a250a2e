"""thinktrim: make reasoning models think less and answer better.

Each command is one function here, the function the command calls: it takes the command's config dataclass
(the same fields as the command's options, the same defaults) and returns what it wrote::

    import thinktrim

    run = thinktrim.refine(thinktrim.RefineConfig(input="traces.jsonl", output_dir="refined", ratios=(0.3,)))
    print(run.files["r0.3"], run.stats["ratios"]["r0.3"]["token_reduction"])
    results = thinktrim.evaluate(thinktrim.EvalConfig(benchmarks=("gsm8k",), limit=20, output_dir="eval"))
    print(results["overall"]["metrics"])

Names load on first use (PEP 562), so `import thinktrim` stays light: no torch and no model code until a
function runs. Bad input raises `thinktrim.errors.UserError` (a ValueError) with the message the command
prints; rerunning resumes. What each step computes, and where thinktrim departs from the papers, is in
docs/methods.md.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.2.0"

# Public name -> (module, name in it); "" is the module itself: `refine`, `evaluate` and `curate` are the
# command subpackages, which are callable (`_make_callable`).
_EXPORTS: dict[str, tuple[str, str]] = {
    "refine": ("thinktrim.refine", ""),
    "RefineConfig": ("thinktrim.refine.config", "RefineConfig"),
    "RefineResult": ("thinktrim.refine.run", "RefineResult"),
    "evaluate": ("thinktrim.evaluate", ""),
    "EvalConfig": ("thinktrim.evaluate.config", "EvalConfig"),
    "GenerationConfig": ("thinktrim.lm.generation.types", "GenerationConfig"),
    "curate": ("thinktrim.curate", ""),
    "CurateConfig": ("thinktrim.curate.config", "CurateConfig"),
    "train_sft": ("thinktrim.train.sft", "run_sft"),
    "TrainConfig": ("thinktrim.train.config", "TrainConfig"),
    "o1_pruner_sample": ("thinktrim.train.o1_pruner.sample", "run_sample"),
    "SampleConfig": ("thinktrim.train.o1_pruner.config", "SampleConfig"),
    "o1_pruner_build": ("thinktrim.train.o1_pruner.build", "run_build"),
    "BuildConfig": ("thinktrim.train.o1_pruner.config", "BuildConfig"),
    "o1_pruner_fit": ("thinktrim.train.o1_pruner.fit", "run_fit"),
    "FitConfig": ("thinktrim.train.o1_pruner.config", "FitConfig"),
    # the parts configs nest, and the errors a user can fix
    "InputConfig": ("thinktrim.data.inputs", "InputConfig"),
    "JudgeConfig": ("thinktrim.refine.judge", "JudgeConfig"),
    "UserError": ("thinktrim.errors", "UserError"),
    "ConfigError": ("thinktrim.config", "ConfigError"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access, and keep the value so later lookups skip this."""
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'thinktrim' has no attribute {name!r}") from None
    value = importlib.import_module(module)
    if attr:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _CommandPackage(types.ModuleType):
    """A command's subpackage that, called, runs the command's function.

    Importing any module of `thinktrim.refine` binds the subpackage to the name `refine` here (the import system
    does that), so a function of the same name would be shadowed as soon as anything imported, say,
    `thinktrim.refine.config`. The subpackage itself is therefore the function: `thinktrim.refine(cfg)` is
    `thinktrim.refine.run.refine(cfg)` whatever was imported first, and `thinktrim.refine.pipeline` stays a module.
    """

    _command: tuple[str, str]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, attr = self._command
        return getattr(importlib.import_module(module), attr)(*args, **kwargs)


def _make_callable(package: str, module: str, attr: str) -> None:
    """Make the (imported) subpackage `package` callable as `module.attr` (see `_CommandPackage`)."""
    target = sys.modules[package]
    target.__class__ = _CommandPackage
    target._command = (module, attr)  # type: ignore[attr-defined]
