"""The Monte Carlo engine: scenario blocks through the compiled deal, reduced per tranche.

Each block of scenarios is drawn (:class:`~greenabs.montecarlo.generate.ScenarioModel`),
the pool is projected once for the block, the waterfall runs over the block's scenario axis
(twice when the deal has supports: with and without them) and the block is reduced to one
row per scenario and tranche (:func:`~greenabs.montecarlo.executors.run_block`); the block's
period records are dropped before the next one, so memory stays bounded by the block size.
Blocks run where the executor says (this process, local processes, a Dask cluster).  The
numbers do not depend on the block size, the backend, the executor or the number of
workers: every scenario draws from its own streams.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd

from greenabs.assets.backends import resolve_backend
from greenabs.compile import CompiledDeal, compile_deal
from greenabs.errors import Problem, SpecError
from greenabs.montecarlo.executors import BlockOutput, Executor, Job, make_executor, prepare
from greenabs.montecarlo.generate import check_scenarios
from greenabs.montecarlo.results import MonteCarloResult
from greenabs.replines import rep_lines
from greenabs.spec.deal import DealSpec, cross_check
from greenabs.spec.simulation import SimulationSpec

__all__ = ["Progress", "monte_carlo", "settings"]

Progress = Callable[[int, int], None]
"""Called after each block with (scenarios done, scenarios in all)."""


def settings(deal: DealSpec, **overrides: Any) -> SimulationSpec:
    """The deal's simulation settings (its ``simulation`` section or the defaults) with
    ``overrides`` (``scenarios=...``, ``seed=...``, ``default_model={...}``...) validated."""
    from pydantic import ValidationError

    from greenabs.spec.io import problems_from

    base = deal.simulation.model_dump() if deal.simulation is not None else {}
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    try:
        sim = SimulationSpec.model_validate(base)
    except ValidationError as exc:
        raise SpecError("<argument>", problems_from(exc, "simulation")) from None
    # the rules that involve the deal (simulated indices, advancing), as a deal file's
    problems = [
        p
        for p in cross_check(deal.model_copy(update={"simulation": sim}))
        if p.startswith("simulation")
    ]
    if problems:
        parts = [p.partition(": ") for p in problems]
        raise SpecError("<argument>", [Problem(where, why) for where, _, why in parts])
    return sim


def monte_carlo(
    deal: DealSpec | CompiledDeal,
    sim: SimulationSpec | None = None,
    *,
    backend: str = "auto",
    settle: date | None = None,
    progress: Progress | None = None,
    keep_flows: bool = False,
    table: Any = None,
    executor: Executor | str = "inprocess",
    workers: int | None = None,
) -> MonteCarloResult:
    """Simulate a deal's scenarios through its waterfall.

    Parameters
    ----------
    deal
        A validated deal or a compiled one.
    sim
        Simulation settings (:func:`settings`; the deal's ``simulation`` section when not
        given).
    backend
        Collateral kernel and default-time search: ``auto`` (Numba when installed, else
        NumPy), ``numpy`` (the reference), ``numba`` or ``cupy``; the same numbers on each
        (to rounding, 1e-9 relative).
    settle
        Settlement date for yields (closing when not given).
    progress
        Called after each block with (done, total).
    keep_flows
        Keep every block's pool flows and scenarios (for tranche sizing, which reruns only
        the waterfall): memory grows with the scenarios.
    table
        Rating table (or its path) that rated assets' and support providers' default
        probabilities come from (the default table when not given).
    executor, workers
        Where the blocks run: ``inprocess`` (default), ``processes`` (``workers`` local
        processes), ``dask`` (a local cluster of ``workers``), or an
        :class:`~greenabs.montecarlo.executors.Executor` (e.g. a ``DaskExecutor`` joining a
        scheduler).  The numbers are the same on each, bit for bit.
    """
    spec = deal.deal if isinstance(deal, CompiledDeal) else deal
    sim = settings(spec) if sim is None else sim
    if not isinstance(sim, SimulationSpec):
        raise SpecError("<argument>", Problem("sim", "expected simulation settings"))
    if sim.rep_lines is not None:  # simulate the lines; the result names the deal as given
        lines = rep_lines(spec, sim.rep_lines.rate_step, sim.rep_lines.term_step)
        compiled = compile_deal(lines.deal)
    else:
        compiled = deal if isinstance(deal, CompiledDeal) else compile_deal(deal)
    n = check_scenarios(sim.scenarios)
    backend = resolve_backend(backend)
    ex = make_executor(executor, workers) if isinstance(executor, str) else executor
    job = Job(compiled, sim, backend, settle, table, keep_flows)
    prepare(job)  # checks the settings against the deal here, before any block runs
    blocks = [(a, min(n, a + sim.block_size)) for a in range(0, n, sim.block_size)]
    outs: dict[int, BlockOutput] = {}
    t0 = time.perf_counter()
    done = 0
    for out in ex.map(job, blocks):
        outs[out.start] = out
        done += len(out.pool)
        if progress is not None:
            progress(done, n)
    parts = [outs[a] for a, _ in blocks]  # in scenario order, however they finished

    def joined(frames: list[pd.DataFrame | None]) -> pd.DataFrame | None:
        present = [f for f in frames if f is not None]
        return pd.concat(present, ignore_index=True) if present else None

    kept = tuple(p.flows for p in parts), tuple(p.scenarios for p in parts)
    elapsed = time.perf_counter() - t0
    tranches = joined([p.tranches for p in parts])
    pool = joined([p.pool for p in parts])
    assert tranches is not None
    assert pool is not None
    return MonteCarloResult(
        deal=spec,
        settings=sim,
        backend=backend,
        tranches=tranches,
        tranches_without_support=joined([p.tranches_without_support for p in parts]),
        pool=pool,
        supports=joined([p.supports for p in parts]),
        seconds=elapsed,
        compiled=compiled,
        blocks=kept if keep_flows else None,
    )
