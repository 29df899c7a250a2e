"""Evaluation: answer extraction, grading, metrics and the `thinktrim eval` run loop.

The package is callable: `thinktrim.evaluate(cfg)` is `thinktrim.evaluate.run.evaluate(cfg)`, the whole command.
"""

from thinktrim import _make_callable

_make_callable(__name__, "thinktrim.evaluate.run", "evaluate")
