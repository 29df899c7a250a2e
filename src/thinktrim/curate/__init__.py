"""LIMO-style curation of reasoning data: `thinktrim curate POOL... -o OUT`.

In Python: `thinktrim.curate.pipeline.curate(CurateConfig(...), quality_fn=...)` runs the pipeline;
`thinktrim.curate.quality.quality_score(text)` is the chain score on its own. Steps live one per module
(read, dedup, decontaminate, verify, difficulty, quality, select) and share the signature in `base.py`.
"""
