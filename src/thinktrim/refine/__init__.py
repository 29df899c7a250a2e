"""PIR refinement: segment the thinking into steps, classify them, score functional units, prune.

The package is callable: `thinktrim.refine(cfg)` is `thinktrim.refine.run.refine(cfg)`, the whole command.
"""

from thinktrim import _make_callable

_make_callable(__name__, "thinktrim.refine.run", "refine")
