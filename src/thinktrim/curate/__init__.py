"""LIMO-style curation of reasoning data: `thinktrim curate POOL... -o OUT`.

In Python: `thinktrim.curate(cfg)` (the package is callable) is `thinktrim.curate.pipeline.curate(cfg)`, which
also takes `quality_fn=...`; `thinktrim.curate.quality.quality_score(text)` is the chain score on its own.
Steps live one per module (read, dedup, decontaminate, verify, difficulty, quality, select) and share the
signature in `base.py`.
"""

from thinktrim import _make_callable

_make_callable(__name__, "thinktrim.curate.pipeline", "curate")
