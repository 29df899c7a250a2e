"""The reference log-probs, computed once, in one pass before training, and stored.

The released trainer keeps a second frozen model and scores every batch with it. Its log-probs never change, so
scoring every example once with the starting model (before the first step, policy and reference are the same
weights) gives the same objective with one model in memory. The pass goes through `Trainer.predict` (the
trainer's `prediction_step` returns the loss's own statistic), so it runs where and how training runs: one
device, DDP, ZeRO-3 or FSDP. Examples go in chunks sorted by length (little padding); each chunk's values are
appended and fsync'ed to `OUT/reference_logps-<fingerprint>.jsonl`, so a killed pass resumes with what it had,
and a resumed training run reuses them. The fingerprint covers what the values depend on (model, data,
tokenization, precision); files with another fingerprint are removed.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from thinktrim.data.store import JsonlStore, read_jsonl_records

PREFIX = "reference_logps"
CHUNK_BATCHES = 16  # per-device batches per chunk: few predict set-ups, little lost to a kill


def reference_file(out: Path, depends_on: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(depends_on, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    return out / f"{PREFIX}-{digest}.jsonl"


def reference_pass(trainer: Any, dataset: Any, path: Path) -> tuple[list[float], dict[str, Any]]:
    """Each example's mean completion log-prob under the model as it is now (the reference), in dataset order,
    and the pass's figures (computed, reused, tokens, seconds)."""
    from tqdm.auto import tqdm
    from transformers import ProgressCallback

    main = trainer.accelerator.is_main_process
    keys, lengths = dataset["key"], [len(ids) for ids in dataset["input_ids"]]
    store = None
    if main:
        for stale in path.parent.glob(f"{PREFIX}-*.jsonl"):
            if stale != path:
                stale.unlink()
        store = JsonlStore(path, key="key")
    trainer.accelerator.wait_for_everyone()
    done = {r["key"]: r["ref_logp"] for r in read_jsonl_records(path)} if path.exists() else {}
    todo = sorted((i for i, k in enumerate(keys) if k not in done), key=lambda i: lengths[i])
    trainer.remove_callback(ProgressCallback)  # one bar for the whole pass instead of one per chunk
    chunk = CHUNK_BATCHES * trainer.args.per_device_eval_batch_size * trainer.accelerator.num_processes
    tokens, start = 0, time.perf_counter()
    with tqdm(total=len(todo), desc="reference log-probs", unit="example", disable=not main,
              dynamic_ncols=True) as bar:
        for first in range(0, len(todo), chunk):
            part = todo[first:first + chunk]
            values = trainer.predict(dataset.select(part)).predictions[:, 0]
            for i, value in zip(part, values.tolist()):
                done[keys[i]] = value
                if store is not None:
                    store.append({"key": keys[i], "ref_logp": value})
            tokens += sum(lengths[i] for i in part)
            bar.update(len(part))
            bar.set_postfix(tok_s=f"{tokens / max(1e-9, time.perf_counter() - start):,.0f}")
    seconds = time.perf_counter() - start
    if store is not None:
        store.close()
    figures = {"mode": "precomputed", "file": path.name, "examples": len(keys), "computed": len(todo),
               "reused": len(keys) - len(todo), "tokens": tokens, "seconds": seconds,
               "tokens_per_second": tokens / seconds if todo and seconds > 0 else None}
    return [float(done[k]) for k in keys], figures
