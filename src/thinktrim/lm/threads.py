"""CPU threads on shared cores: how torch's OpenMP threads wait, and how many there are.

By default torch's OpenMP worker threads spin (busy-wait) after each parallel region, waiting for the next one.
Next to another CPU-bound process the spinning threads take the time slices the other process's threads need,
and both jobs slow down many-fold: an eval next to a refine on 2 cores took 6.8× its time (issue 15).
`OMP_WAIT_POLICY=PASSIVE` makes idle threads sleep instead, but alone it cost generation about 12 % on a quiet
2-core machine: decoding runs many small parallel regions back to back, and a sleeping thread is slow to wake.
So the default is both: PASSIVE, plus `GOMP_SPINCOUNT=3000` for GNU OpenMP (torch's runtime on Linux), a spin
of a few microseconds before sleeping. That covers the gap between two regions and gives up the core well before
another job's time slice (measured: eval alone as fast as with spinning, 1.9× next to a competitor instead of
2.5–3.6×; README, Performance: Shared cores). Other runtimes (LLVM's libomp) read the policy alone. The runtime
reads both once, when torch is first imported, so the `thinktrim` command sets them (unless the user set
either) before anything imports torch.

`import thinktrim` as a library changes nothing process-wide: a program that imports thinktrim may run other
OpenMP work of its own. Call `prefer_passive_wait()` before importing torch (or export OMP_WAIT_POLICY=PASSIVE
GOMP_SPINCOUNT=3000) to get the command's behaviour.

The thread count stays torch's own by default (one per core torch sees, or OMP_NUM_THREADS): alone it was the
faster one (one thread: 17–68 % slower on 2 cores), and next to another torch job both counts stayed within 2×
of their time alone (README, Performance: Shared cores).
`threads_field()` is the one definition of the `threads` setting that every command running a model adds to its
config; `use_threads()` applies it, and `thinktrim.lm.load.load_causal_lm` calls it before loading a model.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import field
from typing import Any

WAIT_POLICY = "OMP_WAIT_POLICY"
SPIN_COUNT = "GOMP_SPINCOUNT"
SHORT_SPIN = "3000"  # busy-wait loop turns before sleeping (GNU OpenMP's default: 300,000; PASSIVE alone: 0)


def prefer_passive_wait() -> bool:
    """Set OMP_WAIT_POLICY=PASSIVE and GOMP_SPINCOUNT=3000 unless the user set either (to anything); True when
    they were set now.

    It takes effect only if torch (its OpenMP runtime) has not been imported yet in this process; child
    processes inherit it.
    """
    if os.environ.get(WAIT_POLICY, "").strip() or os.environ.get(SPIN_COUNT, "").strip():
        return False
    os.environ[WAIT_POLICY] = "PASSIVE"
    os.environ[SPIN_COUNT] = SHORT_SPIN
    return True


def threads_field(more: str = "") -> Any:
    """The `threads` field of a command's config: `threads: int | None = threads_field()`; `more` is added to
    its help (what the count means in that command beyond this process)."""
    return field(default=None, metadata={
        "min": 1,
        "help": "CPU threads torch uses for the model (default: torch's own, one per core, or OMP_NUM_THREADS "
                "when set). Idle threads sleep after a short spin (OMP_WAIT_POLICY=PASSIVE, GOMP_SPINCOUNT=3000, "
                "unless you set either), so the default shares cores well; fewer threads keep cores free but get a "
                "smaller share of them."
                + (f" {more}" if more else ""),
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
