"""The Monte Carlo on other executors: local processes and a Dask cluster give the same
numbers, bit for bit, whatever the number of workers, the order blocks finish in, or a
worker killed in the middle of a run."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import greenabs
from greenabs.errors import SpecError
from greenabs.montecarlo import MonteCarloResult, monte_carlo, settings
from greenabs.montecarlo.executors import (
    DaskExecutor,
    InProcess,
    Job,
    ProcessExecutor,
    make_executor,
)
from tests.conftest import EXAMPLES
from tests.test_cli import cli

DEAL = EXAMPLES / "ib_green_2014.yaml"


@pytest.fixture(scope="module")
def deal() -> greenabs.DealSpec:
    return greenabs.load_deal(DEAL)


@pytest.fixture(scope="module")
def sim(deal: greenabs.DealSpec) -> Any:
    return settings(deal, scenarios=600, seed=12, block_size=50)


@pytest.fixture(scope="module")
def reference(deal: greenabs.DealSpec, sim: Any) -> MonteCarloResult:
    return monte_carlo(deal, sim)


def same(a: MonteCarloResult, b: MonteCarloResult) -> None:
    for part in ("tranches", "pool"):
        x, y = getattr(a, part), getattr(b, part)
        pd.testing.assert_frame_equal(x, y, check_exact=True)


class Reversed(InProcess):
    """Blocks finishing in the reverse order."""

    def map(self, job: Job, blocks: Any) -> Iterator[Any]:
        yield from super().map(job, list(reversed(blocks)))


def test_the_order_blocks_finish_in_does_not_matter(
    deal: greenabs.DealSpec, sim: Any, reference: MonteCarloResult
) -> None:
    same(reference, monte_carlo(deal, sim, executor=Reversed()))


@pytest.mark.parametrize("workers", [1, 2])
def test_local_processes_equal_in_process(
    deal: greenabs.DealSpec, sim: Any, reference: MonteCarloResult, workers: int
) -> None:
    same(reference, monte_carlo(deal, sim, executor="processes", workers=workers))


def _killer(ex: Any, killed: list[int]) -> Any:
    """A progress callback that SIGKILLs one of ``ex``'s workers after the first block
    (noting its pid in ``killed``)."""

    def kill_one(done: int, total: int) -> None:
        if not killed and done < total:
            pid = ex.pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    return kill_one


def test_a_killed_worker_process_loses_no_block(
    deal: greenabs.DealSpec, sim: Any, reference: MonteCarloResult
) -> None:
    ex = ProcessExecutor(2)
    killed: list[int] = []
    kill_one = _killer(ex, killed)

    result = monte_carlo(deal, sim, executor=ex, progress=kill_one)
    assert killed
    same(reference, result)


def test_dask_cluster_equals_in_process_and_survives_a_lost_worker(
    deal: greenabs.DealSpec, sim: Any, reference: MonteCarloResult
) -> None:
    pytest.importorskip("distributed")
    same(reference, monte_carlo(deal, sim, executor="dask", workers=2))
    ex = DaskExecutor(2)
    killed: list[int] = []
    kill_one = _killer(ex, killed)

    same(reference, monte_carlo(deal, sim, executor=ex, progress=kill_one))
    assert killed


def test_sizing_with_flows_from_workers(deal: greenabs.DealSpec, sim: Any) -> None:
    from greenabs.montecarlo.sizing import size_tranches

    here = monte_carlo(deal, sim, keep_flows=True)
    there = monte_carlo(deal, sim, keep_flows=True, executor="processes", workers=2)
    a = size_tranches(here, {"A": "AAA"}).targets
    b = size_tranches(there, {"A": "AAA"}).targets
    assert a == b


@pytest.mark.parametrize(
    ("kind", "workers", "why"),
    [
        ("spark", None, "unknown executor 'spark'"),
        ("processes", 0, "must be 1 to 1024"),
        ("processes", 2.5, "expected a whole number"),
    ],
)
def test_bad_executor_arguments(kind: str, workers: Any, why: str) -> None:
    with pytest.raises(SpecError, match=why):
        make_executor(kind, workers)


def test_cli_executors(tmp_path: Any) -> None:
    outs = []
    for flags in ([], ["--executor", "processes", "--workers", "2"]):
        out = tmp_path / f"r{len(outs)}.json"
        proc = cli("rate", str(DEAL), "--scenarios", "400", "-q", "--json", str(out), *flags)
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_text())
    import json

    a, b = (json.loads(o) for o in outs)
    assert a["rating"] == b["rating"]
    assert a["pool"] == b["pool"]
    proc = cli("rate", str(DEAL), "-q", "--executor", "spark")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: --executor: unknown executor 'spark'")


def test_processes_after_numba_threads_in_the_parent(deal: greenabs.DealSpec) -> None:
    """A parent whose Numba kernels ran threads cannot fork safely: workers are spawned."""
    pytest.importorskip("numba")
    small = settings(deal, scenarios=200, seed=3, block_size=50)
    here = monte_carlo(deal, small, backend="numba")
    there = monte_carlo(deal, small, backend="numba", executor="processes", workers=2)
    same(here, there)
