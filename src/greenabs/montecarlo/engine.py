"""The Monte Carlo engine: scenario blocks through the compiled deal, reduced per tranche.

Each block of scenarios is drawn (:class:`~greenabs.montecarlo.generate.ScenarioModel`),
the pool is projected once for the block, the waterfall runs over the block's scenario axis
(twice when the deal has supports: with and without them) and the block is reduced to one
row per scenario and tranche; the block's period records are dropped before the next one, so
memory stays bounded by the block size.  The numbers do not depend on the block size or the
backend: every scenario draws from its own streams.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from greenabs.assets.backends import resolve_backend
from greenabs.collateral import PoolCashflows, project
from greenabs.compile import CompiledDeal, compile_deal
from greenabs.engine import run
from greenabs.errors import Problem, SpecError
from greenabs.montecarlo.generate import ScenarioModel, check_scenarios, support_driver
from greenabs.montecarlo.results import MonteCarloResult
from greenabs.scenarios import Scenarios
from greenabs.spec.deal import DealSpec
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
        return SimulationSpec.model_validate(base)
    except ValidationError as exc:
        raise SpecError("<argument>", problems_from(exc, "simulation")) from None


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


def monte_carlo(
    deal: DealSpec | CompiledDeal,
    sim: SimulationSpec | None = None,
    *,
    backend: str = "numpy",
    settle: date | None = None,
    progress: Progress | None = None,
    keep_flows: bool = False,
    table: Any = None,
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
        Collateral kernel and default-time search: ``numpy`` (reference), ``numba``,
        ``cupy`` or ``auto``; the same numbers on each (to rounding).
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
    """
    compiled = deal if isinstance(deal, CompiledDeal) else compile_deal(deal)
    spec = compiled.deal
    sim = settings(spec) if sim is None else sim
    if not isinstance(sim, SimulationSpec):
        raise SpecError("<argument>", Problem("sim", "expected simulation settings"))
    n = check_scenarios(sim.scenarios)
    backend = resolve_backend(backend)
    model = ScenarioModel(compiled, sim, backend, table)
    has_support = bool(model.supports)
    rows, rows_free, pool_rows, support_rows = [], [], [], []
    kept_flows: list[PoolCashflows] = []  # kept for sizing (reruns only the waterfall)
    kept_scenarios: list[Scenarios] = []
    t0 = time.perf_counter()
    for start in range(0, n, sim.block_size):
        stop = min(n, start + sim.block_size)
        draw = model.block(start, stop)
        sc = draw.scenarios
        pool = project(compiled.pool, sc, backend=backend)
        frame, draws = _tranche_rows(compiled, pool, sc, settle, True)
        rows.append(frame)
        if has_support:
            rows_free.append(_tranche_rows(compiled, pool, sc, settle, False)[0])
            for sup in model.supports:
                drawn = draws.get(sup.name, np.zeros(stop - start))
                key = support_driver(sup.name)
                month = sc.drivers[key] if key in sc.drivers else np.zeros(stop - start)
                support_rows.append(
                    pd.DataFrame(
                        {
                            "scenario": np.arange(start, stop),
                            "support": sup.name,
                            "draw": drawn,
                            "provider_default_month": np.asarray(month, dtype=np.int64),
                        }
                    )
                )
        orig = pool.original_balance
        pool_rows.append(
            pd.DataFrame(
                {
                    "scenario": np.arange(start, stop),
                    "factor": draw.factor,
                    "default_rate": pool.flows["default"].sum(axis=1) / orig,
                    "loss_rate": pool.flows["loss"].sum(axis=1) / orig,
                    "recovery_rate": sc.recovery_rate
                    if sc.recovery_rate is not None
                    else compiled.pool.assumptions.recovery.rate,
                }
            )
        )
        if keep_flows:
            kept_flows.append(pool)
            kept_scenarios.append(sc)
        if progress is not None:
            progress(stop, n)
    elapsed = time.perf_counter() - t0
    return MonteCarloResult(
        deal=spec,
        settings=sim,
        backend=backend,
        tranches=pd.concat(rows, ignore_index=True),
        tranches_without_support=pd.concat(rows_free, ignore_index=True) if rows_free else None,
        pool=pd.concat(pool_rows, ignore_index=True),
        supports=pd.concat(support_rows, ignore_index=True) if support_rows else None,
        seconds=elapsed,
        compiled=compiled,
        blocks=(tuple(kept_flows), tuple(kept_scenarios)) if keep_flows else None,
    )
