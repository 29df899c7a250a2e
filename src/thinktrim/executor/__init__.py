"""Where `refine` and `eval` run their model: this process (`--executor local`, the default) or Ray actors that
each load the model once (`--executor ray`), on a laptop or a cluster (`--ray-address`).

The driver keeps the work `refine` and `eval` already do: it reads the input, skips what its resumable store
holds, and appends each result as it arrives (the store stays single-writer, so a killed driver resumes).
Only the per-item model work moves to the workers: `refine.ChainScorer` (a chain → its annotation record),
`generation.RayGenerator` (batches of prompts → completions, transformers or vLLM). `ray_workers` is the
generic part: actors, their resources, and the streaming loop with retries.
"""
