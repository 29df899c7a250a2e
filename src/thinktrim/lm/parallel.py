"""How a command that runs a model spreads its work past one process: shards of the input, and Ray workers that
each hold a model. One settings object, shared by `refine` and `eval` (the `parallel` field of their configs;
its fields are options of their own on the command line and may be written flat in YAML).

- `--shard i/N`: this process takes the items whose id hashes to shard i and writes its own resumable store
  under `<output>/shards/i-of-N/`; a merge command turns the N shards into the single-process outputs.
- `--executor ray`: the driver (this process) reads the input and keeps the one store; Ray actors each load
  the model once and score or generate what the driver streams to them (`thinktrim.executor`). Each worker
  uses the command's own `--threads` (torch threads, and the CPU slots it holds on Ray).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from thinktrim.config import Config, ConfigError
from thinktrim.data.shards import Shard

Executor = Literal["local", "ray"]
# What `--threads` (thinktrim.lm.threads) means for the commands that have Ray workers.
WORKER_THREADS_HELP = ("With --executor ray: per worker, and the CPU slots each worker holds on Ray (default: the "
                       "cluster's CPUs ÷ workers, so 1 when --num-workers is left at one worker per core).")
_RAY_ONLY = ("num_workers", "gpus_per_worker", "ray_address")


def _check_shard(spec: str) -> None:
    Shard.parse(spec)


@dataclass
class ParallelConfig(Config):
    """Shards and workers (see the module docstring)."""

    shard: str | None = field(default=None, metadata={
        "check": _check_shard,
        "help": "Process only shard i of N (e.g. 0/4; items go to a shard by a stable hash of their id) into "
                "<output>/shards/i-of-N/; merge the N shards afterwards (`refine-merge`, `eval merge`)."})
    executor: Executor = field(default="local", metadata={
        "help": "local (this process) or ray (Ray actors that each load the model once; pip install "
                "'thinktrim[ray]')."})
    num_workers: int | None = field(default=None, metadata={
        "min": 1, "help": "ray: workers (default: one per GPU of the cluster, or one per CPU core without GPUs)."})
    gpus_per_worker: float | None = field(default=None, metadata={
        "min": 0, "help": "ray: GPUs each worker holds (default: 1 when the cluster has GPUs, else 0; a fraction packs "
                "several workers on one GPU; vllm: the tensor-parallel size of each engine)."})
    ray_address: str | None = field(default=None, metadata={
        "help": "ray: cluster to join, as for ray.init(address=…): HOST:PORT, auto, or local (a new local Ray "
                "for this run); default: $RAY_ADDRESS, else the latest `ray start` on this machine, else local."})

    def check(self) -> None:
        if self.executor == "local":
            given = [name for name in _RAY_ONLY if getattr(self, name) is not None]
            if given:
                raise ConfigError("a setting of the Ray executor; add --executor ray", given[0])

    @property
    def shard_spec(self) -> Shard | None:
        return Shard.parse(self.shard) if self.shard is not None else None
