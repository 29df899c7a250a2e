"""CPU threads on shared cores: how torch's OpenMP threads wait, and how many there are.

By default torch's OpenMP worker threads spin (busy-wait) after each parallel region, waiting for the next one.
Next to another CPU-bound process the spinning threads take the time slices the other process's threads need,
and both jobs slow down many-fold: an eval next to a refine on 2 cores took 6.8× its time (issue 15).
`OMP_WAIT_POLICY=PASSIVE` makes idle threads sleep instead. The OpenMP runtime reads it once, when torch is
first imported, so the `thinktrim` command sets it (unless the user did) before anything imports torch.

`import thinktrim` as a library changes nothing process-wide: a program that imports thinktrim may run other
OpenMP work of its own. Call `prefer_passive_wait()` before importing torch (or export OMP_WAIT_POLICY=PASSIVE)
to get the command's behaviour.

The thread count stays torch's own by default (one per core torch sees, or OMP_NUM_THREADS): with idle threads
asleep it was the only count that kept both eval and refine within 2.5× of their time alone next to another
torch job, since the scheduler shares cores per thread and a 1-thread job gets less of them (README,
Performance: Shared cores).
`threads_field()` is the one definition of the `threads` setting that every command running a model adds to its
config; `use_threads()` applies it, and `thinktrim.lm.load.load_causal_lm` calls it before loading a model.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import field
from typing import Any

WAIT_POLICY = "OMP_WAIT_POLICY"


def prefer_passive_wait() -> bool:
    """Set OMP_WAIT_POLICY=PASSIVE unless the user set it (to anything); True when it was set now.

    It takes effect only if torch (its OpenMP runtime) has not been imported yet in this process; child
    processes inherit it.
    """
    if os.environ.get(WAIT_POLICY, "").strip():
        return False
    os.environ[WAIT_POLICY] = "PASSIVE"
    return True


def threads_field() -> Any:
    """The `threads` field of a command's config: `threads: int | None = threads_field()`."""
    return field(default=None, metadata={
        "min": 1,
        "help": "CPU threads torch uses for the model (default: torch's own, one per core, or OMP_NUM_THREADS "
                "when set). Idle threads sleep rather than spin (OMP_WAIT_POLICY=PASSIVE unless you set it), so "
                "the default shares cores well; fewer threads keep cores free but get a smaller share of them.",
    })


def use_threads(threads: int | None) -> int:
    """Make torch use `threads` intra-op threads (None: leave torch's count); returns the count in use."""
    import torch

    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads: must be >= 1, got {threads}")
        torch.set_num_threads(threads)
        # Settable once per process, before any inter-op work; model forwards use the intra-op pool anyway.
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(threads)
    return int(torch.get_num_threads())
