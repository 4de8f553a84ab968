"""Where the Monte Carlo's scenario blocks run: in this process, in local worker processes,
or on a Dask cluster.

A block (scenarios ``start .. stop - 1``) is a pure function of the run's :class:`Job` (the
compiled deal, the settings, the backend) and its bounds: every scenario draws from its own
seeded streams, so a block gives the same numbers wherever and in whatever order it runs.
The job is shipped to each worker once (a process pool's initializer; a Dask ``scatter``
broadcast), never per block.  Blocks come back in any order; the engine puts them in order.
A block whose worker dies is run again (a new process pool; Dask's own retries), never
dropped.  docs/scale.md says how to run on a real cluster.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import numpy as np
import pandas as pd

from greenabs.collateral import PoolCashflows, project
from greenabs.compile import CompiledDeal
from greenabs.engine import run
from greenabs.errors import Problem, SpecError
from greenabs.montecarlo.generate import ScenarioModel, support_driver
from greenabs.scenarios import Scenarios
from greenabs.spec.simulation import SimulationSpec

__all__ = [
    "EXECUTORS",
    "BlockOutput",
    "DaskExecutor",
    "Executor",
    "InProcess",
    "Job",
    "ProcessExecutor",
    "make_executor",
    "prepare",
    "run_block",
]

EXECUTORS = ("inprocess", "processes", "dask")
IN_FLIGHT = 2
"""Blocks submitted ahead per worker."""
MAX_RESTARTS = 3
"""Times a process pool whose worker died is started again before the run gives up."""


@dataclass(frozen=True, eq=False)
class Job:
    """What every block of a run needs (shipped to each worker once)."""

    compiled: CompiledDeal
    sim: SimulationSpec
    backend: str
    settle: date | None = None
    table: Any = None
    keep_flows: bool = False
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True, eq=False)
class BlockOutput:
    """A block's rows (see :class:`~greenabs.montecarlo.results.MonteCarloResult`), and its
    pool flows and scenarios when the run keeps them."""

    start: int
    tranches: pd.DataFrame
    tranches_without_support: pd.DataFrame | None
    pool: pd.DataFrame
    supports: pd.DataFrame | None
    flows: PoolCashflows | None = None
    scenarios: Scenarios | None = None


def _tranche_rows(
    compiled: CompiledDeal,
    pool: PoolCashflows,
    sc: Scenarios,
    settle: date | None,
    supports: bool,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One row per (scenario, tranche) of a block, and what each support paid (S,)."""
    result = run(compiled, flows=pool, scenarios=sc, settle=settle, supports=supports)
    m = result.scenario_metrics()
    m["scenario"] += sc.offset
    keep = [
        "scenario",
        "name",
        "original_balance",
        "principal_loss",
        "interest_shortfall",
        "legal_final_shortfall",
        "support_paid",
        "discounted_loss",
        "wal",
        "yield",
    ]
    return m[keep].copy(), result.support_draws()


_MODELS: dict[str, ScenarioModel] = {}
"""The scenario model of each job a worker has seen (built once per worker)."""


def prepare(job: Job) -> ScenarioModel:
    """The job's scenario model, built once per process (checking the settings against the
    deal) and kept for its blocks."""
    model = _MODELS.get(job.token)
    if model is None:
        _MODELS.clear()  # one run at a time per worker
        model = ScenarioModel(job.compiled, job.sim, job.backend, job.table)
        _MODELS[job.token] = model
    return model


def run_block(job: Job, start: int, stop: int) -> BlockOutput:
    """Scenarios ``start .. stop - 1`` of a run: drawn, projected, through the waterfall
    (twice with supports: with and without them) and reduced to rows."""
    model = prepare(job)
    compiled = job.compiled
    draw = model.block(start, stop)
    sc = draw.scenarios
    pool = project(compiled.pool, sc, backend=job.backend)
    frame, draws = _tranche_rows(compiled, pool, sc, job.settle, True)
    free = None
    sup_rows = None
    if model.supports:
        free = _tranche_rows(compiled, pool, sc, job.settle, False)[0]
        parts = []
        for sup in model.supports:
            key = support_driver(sup.name)
            month = sc.drivers[key] if key in sc.drivers else np.zeros(stop - start)
            parts.append(
                pd.DataFrame(
                    {
                        "scenario": np.arange(start, stop),
                        "support": sup.name,
                        "draw": draws.get(sup.name, np.zeros(stop - start)),
                        "provider_default_month": np.asarray(month, dtype=np.int64),
                    }
                )
            )
        sup_rows = pd.concat(parts, ignore_index=True)
    orig = pool.original_balance
    rec = sc.recovery_rate
    pool_rows = pd.DataFrame(
        {
            "scenario": np.arange(start, stop),
            "factor": draw.factor,
            "default_rate": pool.flows["default"].sum(axis=1) / orig,
            "loss_rate": pool.flows["loss"].sum(axis=1) / orig,
            "recovery_rate": rec if rec is not None else compiled.pool.assumptions.recovery.rate,
        }
    )
    return BlockOutput(
        start=start,
        tranches=frame,
        tranches_without_support=free,
        pool=pool_rows,
        supports=sup_rows,
        flows=pool if job.keep_flows else None,
        scenarios=sc if job.keep_flows else None,
    )


Blocks = Sequence[tuple[int, int]]


class Executor(Protocol):
    """Runs a job's blocks and yields their outputs as they finish (any order)."""

    def map(self, job: Job, blocks: Blocks) -> Iterator[BlockOutput]:
        """Each block's output, once, whatever fails on the way (or an error)."""
        ...


class InProcess:
    """Blocks one after another in this process (the default)."""

    def map(self, job: Job, blocks: Blocks) -> Iterator[BlockOutput]:
        for start, stop in blocks:
            yield run_block(job, start, stop)


_JOB: Job | None = None


def _init_worker(job: Job, threads: int) -> None:
    """A worker process's start: the job, once; the kernels' threads per worker."""
    global _JOB
    _JOB = job
    if job.backend == "numba":
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]


def _worker_block(start: int, stop: int) -> BlockOutput:
    assert _JOB is not None, "worker not initialised"
    return run_block(_JOB, start, stop)


class ProcessExecutor:
    """Blocks in ``workers`` local processes, started fresh (``spawn``: a parent whose
    Numba kernels run threads must not fork) with the job pickled to each once.  A worker that
    dies (killed, out of memory) breaks the pool: a new pool runs the blocks not yet done,
    at most :data:`MAX_RESTARTS` times."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.pool: ProcessPoolExecutor | None = None

    def pids(self) -> list[int]:
        """The worker processes' ids (while a run is going)."""
        procs = getattr(self.pool, "_processes", None) or {}
        return [int(p) for p in procs]

    def map(self, job: Job, blocks: Blocks) -> Iterator[BlockOutput]:
        todo = dict.fromkeys(blocks)
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        for _ in range(MAX_RESTARTS + 1):
            self.pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded parent
                initializer=_init_worker,
                initargs=(job, threads),
            )
            pending = iter(list(todo))
            futures: dict[Future[BlockOutput], tuple[int, int]] = {}
            try:
                while True:
                    # a few blocks in flight per worker: memory stays bounded and Ctrl-C
                    # leaves little to cancel
                    room = IN_FLIGHT * self.workers - len(futures)
                    for bounds in itertools.islice(pending, room):
                        futures[self.pool.submit(_worker_block, *bounds)] = bounds
                    if not futures:
                        break
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for fut in done:
                        bounds = futures.pop(fut)
                        out = fut.result()  # BrokenProcessPool if a worker died
                        del todo[bounds]
                        yield out
                self.pool.shutdown()
                return
            except BrokenProcessPool:
                self.pool.shutdown(wait=True, cancel_futures=True)
            except BaseException:  # Ctrl-C or an error in a block: stop every worker
                self.pool.shutdown(wait=False, cancel_futures=True)
                raise
        why = f"worker processes died {MAX_RESTARTS + 1} times; {len(todo)} blocks not run"
        raise SpecError("<argument>", Problem("executor", why))


def _dask_block(job: Job, start: int, stop: int) -> BlockOutput:
    return run_block(job, start, stop)


class DaskExecutor:
    """Blocks on a Dask cluster: ``address`` joins a running scheduler
    (``tcp://host:8786``); without it a local cluster of ``workers`` processes is started
    for the run and closed after it.  The job is scattered to every worker once; a lost
    worker's blocks are recomputed by Dask (``retries``)."""

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.address = address
        self.client: Any = None  # the run's client, while a run is going

    def pids(self) -> list[int]:
        """The worker processes' ids (while a run is going)."""
        return [] if self.client is None else list(self.client.run(os.getpid).values())

    def map(self, job: Job, blocks: Blocks) -> Iterator[BlockOutput]:
        try:
            import distributed
        except ImportError:  # pragma: no cover - the optional dependency
            why = "needs dask[distributed] (pip install 'greenabs[scale]')"
            raise SpecError("<argument>", Problem("executor", why)) from None
        dist: Any = distributed  # untyped
        cluster = None
        client: Any
        stack = contextlib.ExitStack()
        if self.address is None:
            import dask

            threads = max(1, (os.cpu_count() or 1) // self.workers)
            # Dask's default MALLOC_TRIM_THRESHOLD_ makes glibc map and unmap every large
            # temporary (the kernels' month arrays): 4 to 5 times slower blocks; kept off for
            # the run, so that a worker the nanny restarts runs as fast
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
            environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            stack.enter_context(dask.config.set({"distributed.nanny.pre-spawn-environ": environ}))
            cluster = dist.LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"NUMBA_NUM_THREADS": str(threads)},
            )
            client = dist.Client(cluster)
        else:
            try:
                client = dist.Client(self.address, timeout=10)
            except (OSError, TimeoutError) as exc:
                why = f"cannot reach the Dask scheduler at {self.address!r} ({exc})"
                raise SpecError("<argument>", Problem("--dask", why)) from None
        self.client = client
        futures: list[Any] = []
        try:
            shared = client.scatter(job, broadcast=True)
            pending = iter(blocks)

            def submit(bounds: tuple[int, int]) -> Any:
                fut = client.submit(_dask_block, shared, *bounds, retries=MAX_RESTARTS, pure=False)
                futures.append(fut)
                return fut

            slots = sum(client.nthreads().values()) or self.workers  # the cluster's threads
            first = [submit(b) for b in itertools.islice(pending, IN_FLIGHT * slots)]
            queue = dist.as_completed(first)
            for fut in queue:
                nxt = next(pending, None)
                if nxt is not None:
                    queue.add(submit(nxt))
                yield fut.result()
        except BaseException:
            client.cancel(futures)
            raise
        finally:
            self.client = None
            client.close()
            if cluster is not None:
                cluster.close()
            stack.close()


def make_executor(
    kind: str = "inprocess", workers: int | None = None, address: str | None = None
) -> Executor:
    """An executor by name (``inprocess``, ``processes``, ``dask``); ``address`` joins a Dask
    scheduler (and implies ``dask``)."""
    if address is not None:
        kind = "dask"
    if kind not in EXECUTORS:
        why = f"unknown executor {kind!r} ({', '.join(EXECUTORS)})"
        raise SpecError("<argument>", Problem("executor", why))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise SpecError(
            "<argument>", Problem("workers", f"expected a whole number, got {workers!r}")
        )
    if workers is not None and not 1 <= workers <= 1024:
        raise SpecError("<argument>", Problem("workers", f"must be 1 to 1024, got {workers}"))
    if kind == "processes":
        return ProcessExecutor(workers)
    if kind == "dask":
        return DaskExecutor(workers, address)
    return InProcess()
