"""Ray actors that each hold one model, and the driver loop that streams items to them and results back.

- Layout (`plan_workers`, pure): `--num-workers` actors, each holding `--gpus-per-worker` GPUs (none on CPU)
  and `--threads` CPU slots, which is also its torch thread count; defaults fill the cluster (one worker
  per GPU, or one per core; threads: the cluster's CPUs ÷ workers). A vLLM engine spanning several GPUs
  (tensor parallelism) gets a placement group of one GPU bundle per rank, which the engine's own Ray workers
  join (vLLM's documented pattern).
- Loading: each actor builds its worker once (the model loads in the constructor); a failure there (a model
  that does not exist) is raised in the driver once, as the error it is, not retried.
- Streaming (`RayWorkers.map`): at most `IN_FLIGHT` items queued per actor, results yielded as they finish.
- Failures: an actor whose process dies (kill -9, out of memory) is restarted up to `RESTARTS` times and its
  queued items retried on it (Ray's `max_restarts` / `max_task_retries`); the driver sees each result once.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from thinktrim.errors import MissingExtra, UserError
from thinktrim.lm.parallel import ParallelConfig

INSTALL_HINT = "--executor ray needs Ray: pip install 'thinktrim[ray]'"
RESTARTS = 3  # restarts of a worker whose process died, before the run gives up on it
IN_FLIGHT = 2  # items queued per worker: one running and one waiting, so no worker idles on the driver
WorkerFactory = Callable[[str], Callable[[Any], Any]]  # device → the worker: item → result


class WorkerFailure(UserError, RuntimeError):
    """A worker died more often than it may be restarted (killed, out of memory), or Ray itself failed under the
    run: the machine's or the cluster's to fix, so one line (the Ray error stays its cause, for --debug)."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise MissingExtra(f"{INSTALL_HINT} ({e})") from e
    return ray


@dataclass(frozen=True)
class WorkerPlan:
    """How many workers, and what each one holds."""

    workers: int
    threads: int  # torch threads, and CPU slots reserved
    gpus: float  # GPUs reserved per worker
    engine_gpus: int = 0  # > 1: an engine spanning this many GPUs in its own placement group (vLLM tensor parallel)
    device: str = "cpu"  # what the worker's model loads on

    def describe(self, nodes: int, cpus: float, gpus: float) -> str:
        per = f"{self.threads} thread{'s' * (self.threads > 1)}" + (f", {self.gpus:g} GPU" if self.gpus else "")
        return (f"{self.workers} Ray worker(s) × ({per}) on {nodes} node(s) of a cluster of {cpus:g} CPUs, "
                f"{gpus:g} GPUs")


def plan_workers(parallel: ParallelConfig, threads: int | None, cpus: float, gpus: float, device: str = "auto",
                 multi_gpu_engine: bool = False) -> WorkerPlan:
    """The layout for a cluster with `cpus` and `gpus`, with the command's `threads` per worker; UserError
    naming the setting that cannot be met.

    `multi_gpu_engine`: the worker's engine can span several GPUs (vLLM: `gpus_per_worker` is its tensor-parallel
    size); a transformers worker uses one GPU, or a fraction of one.
    """
    if device.startswith("cuda:"):
        raise UserError(f"--device {device}: names one GPU, but with --executor ray Ray gives each worker its own; "
                        "use --device auto or cuda")
    per = parallel.gpus_per_worker
    if per is None:
        per = 1.0 if gpus >= 1 and device != "cpu" else 0.0
    if per and device == "cpu":
        raise UserError(f"--gpus-per-worker {per:g}: GPUs for workers told --device cpu; drop one of the two")
    if not per and device.startswith("cuda"):
        raise UserError(f"--device {device}: the workers hold no GPU (the cluster has none, or --gpus-per-worker 0)")
    if per > 1 and not multi_gpu_engine:
        raise UserError(f"--gpus-per-worker {per:g}: a transformers worker uses one GPU (a fraction packs several "
                        "workers on one); more than one is the tensor-parallel size of a vllm engine")
    if per > 1 and per != int(per):
        raise UserError(f"--gpus-per-worker {per:g}: above 1 it is a tensor-parallel size, a whole number")
    workers = parallel.num_workers
    if workers is None:
        workers = int(gpus // per) if per else int(cpus // (threads or 1))
        if workers < 1:
            need = f"{per:g} GPU(s)" if per else f"{threads or 1} CPU(s)"
            raise UserError(f"--num-workers: the Ray cluster ({cpus:g} CPUs, {gpus:g} GPUs) cannot hold one worker "
                            f"of {need}")
    if threads is None:
        threads = max(1, int(cpus // workers))
    if workers * per > gpus + 1e-9:
        raise UserError(f"--num-workers {workers}: × {per:g} GPU(s) each needs {workers * per:g} GPUs; the Ray "
                        f"cluster has {gpus:g}")
    engine_gpus = int(per) if per > 1 else 0
    cpus_needed = workers * (engine_gpus or threads)
    if cpus_needed > cpus + 1e-9:
        raise UserError(f"--num-workers {workers}: × {engine_gpus or threads} CPU(s) each needs {cpus_needed} CPUs; "
                        f"the Ray cluster has {cpus:g} (lower --num-workers or --threads)")
    return WorkerPlan(workers, threads, per, engine_gpus, "cuda" if per else ("cpu" if device == "auto" else device))


class ThinktrimWorker:
    """The Ray actor: builds its worker once, with a fixed number of torch threads; `run` applies it to one item.
    A failure to build is kept and raised by every call (Ray would restart a constructor that raises forever)."""

    def __init__(self, make: WorkerFactory, device: str, threads: int) -> None:
        self.worker: Callable[[Any], Any] | None = None
        self.error: Exception | None = None
        try:
            from thinktrim.lm.threads import use_threads

            os.environ["OMP_NUM_THREADS"] = str(threads)  # for what the worker starts
            use_threads(threads)  # before the model loads: workers sharing a machine must not oversubscribe it
            self.worker = make(device)
        except Exception as e:  # raised to the driver by ready()/run(), where it is reported once
            self.error = e

    def ready(self) -> dict[str, Any]:
        """Where the worker runs and with how many threads; raises what building it raised."""
        if self.error is not None:
            raise self.error
        import ray
        import torch

        return {"host": socket.gethostname(), "pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(),
                "threads": torch.get_num_threads()}

    def run(self, item: Any) -> Any:
        if self.worker is None:
            raise self.error or RuntimeError("worker not built")
        return self.worker(item)


class RayWorkers:
    """Workers on Ray, each holding what `make(device)` builds (a callable: item → result). Entering connects to
    Ray (`--ray-address`; a local Ray is started and stopped with the run when none is given or found) and
    waits until every worker has loaded; `map` streams items to them."""

    def __init__(self, parallel: ParallelConfig, threads: int | None, make: WorkerFactory, device: str = "auto",
                 multi_gpu_engine: bool = False) -> None:
        self.parallel, self.threads, self.make = parallel, threads, make
        self.device, self.multi_gpu_engine = device, multi_gpu_engine
        self.actors: list[Any] = []
        self.groups: list[Any] = []
        self.started_ray = False
        self.plan: WorkerPlan | None = None
        self.hosts: list[dict[str, Any]] = []  # per worker: host, pid, Ray node id, torch threads

    def __enter__(self) -> RayWorkers:
        ray = import_ray()
        if not ray.is_initialized():
            connect(ray, self.parallel.ray_address)
            self.started_ray = True
        try:
            resources = ray.cluster_resources()
            cpus, gpus = resources.get("CPU", 0.0), resources.get("GPU", 0.0)
            self.plan = plan = plan_workers(self.parallel, self.threads, cpus, gpus, self.device,
                                                 self.multi_gpu_engine)
            actor = ray.remote(ThinktrimWorker)
            self.actors = [actor.options(**self._placement(ray, plan)).remote(self.make, plan.device, plan.threads)
                           for _ in range(plan.workers)]
            self.hosts = self._get(ray, [a.ready.remote() for a in self.actors])
            nodes = len({h["node"] for h in self.hosts})
            print(f"executor: {plan.describe(nodes, cpus, gpus)}", file=sys.stderr)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _placement(self, ray: Any, plan: WorkerPlan) -> dict[str, Any]:
        options: dict[str, Any] = {"max_restarts": RESTARTS, "max_task_retries": -1}
        if not plan.engine_gpus:
            return {**options, "num_cpus": plan.threads, "num_gpus": plan.gpus}
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        # The engine starts one Ray worker per GPU itself; the actor only reserves their bundles.
        group = ray.util.placement_group([{"GPU": 1, "CPU": 1}] * plan.engine_gpus, strategy="STRICT_PACK")
        self.groups.append(group)
        strategy = PlacementGroupSchedulingStrategy(group, placement_group_capture_child_tasks=True)
        return {**options, "num_cpus": 1, "num_gpus": 0, "scheduling_strategy": strategy}

    def map(self, items: Iterable[Any]) -> Iterator[Any]:
        """The result of each item, as workers finish them (not in input order); items are read lazily, at
        most `IN_FLIGHT` per worker ahead of the results."""
        ray = import_ray()
        idle = [a for _ in range(IN_FLIGHT) for a in self.actors]  # interleaved: each worker gets one first
        pending: dict[Any, Any] = {}
        source = iter(items)
        while True:
            while idle:
                item = next(source, _END)
                if item is _END:
                    break
                actor = idle.pop(0)
                pending[actor.run.remote(item)] = actor
            if not pending:
                return
            [ref], _ = ray.wait(list(pending), num_returns=1)
            actor = pending.pop(ref)
            result = self._get(ray, ref)
            idle.append(actor)
            yield result

    @staticmethod
    def _get(ray: Any, refs: Any) -> Any:
        """ray.get, with a worker's own exception raised as itself and a dead worker as WorkerFailure."""
        from ray.exceptions import RayActorError, RayError, RayTaskError

        try:
            return ray.get(refs)
        except RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, Exception) and not isinstance(cause, RayError):
                raise cause from None
            raise WorkerFailure(f"a Ray worker failed: {str(e).strip().splitlines()[-1]}") from e
        except RayActorError as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise WorkerFailure(f"a Ray worker died and was restarted {RESTARTS} times already ({reason}); rerun the "
                                "same command to resume") from e

    def __exit__(self, *exc: object) -> None:
        ray = import_ray()
        for actor in self.actors:
            ray.kill(actor)
        for group in self.groups:
            ray.util.remove_placement_group(group)
        self.actors, self.groups = [], []
        if self.started_ray:
            ray.shutdown()
            self.started_ray = False


_END = object()


def connect(ray: Any, address: str | None) -> None:
    """ray.init(address=…): HOST:PORT, auto, local, or None (Ray's own lookup: $RAY_ADDRESS, the latest
    `ray start` here, else a new local Ray); UserError naming --ray-address when it cannot connect."""
    try:
        ray.init(address=address, log_to_driver=False, logging_level="warning")
    except ConnectionError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"--ray-address {address or '(auto)'}: cannot join the Ray cluster: {first}") from None


def resolved(path: str | None) -> str | None:
    """An existing local path made absolute (Ray workers may run in another folder); anything else as given."""
    if path is None or not os.path.exists(path):
        return path
    return os.path.abspath(path)

