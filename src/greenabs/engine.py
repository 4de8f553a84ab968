"""The run: a validated deal through collateral projection and the waterfall to results."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy.typing as npt
import pandas as pd
from pydantic import ValidationError

from greenabs.assets.backends import resolve_backend
from greenabs.collateral import PoolCashflows, project
from greenabs.compile import CompiledDeal, compile_deal
from greenabs.errors import ARGUMENT, Problem, SpecError
from greenabs.results import RunResult
from greenabs.scenarios import Scenarios
from greenabs.spec.deal import AssumptionsSpec, DealSpec, cross_check
from greenabs.spec.io import problems_from
from greenabs.waterfall import run_waterfall

__all__ = ["compile_deal", "run", "simulate", "with_assumptions"]


def with_assumptions(deal: DealSpec, **changes: Any) -> DealSpec:
    """A copy of the deal with some assumptions replaced (validated again)."""
    data = deal.assumptions.model_dump()
    data.update(changes)
    model: type[AssumptionsSpec] = type(deal.assumptions)  # plug-in sections included
    try:
        assumptions = model.model_validate(data)
    except ValidationError as exc:  # each problem named by its field path
        raise SpecError(ARGUMENT, problems_from(exc, "assumptions")) from None
    new = deal.model_copy(update={"assumptions": assumptions})
    problems = cross_check(new)  # whole-deal rules that involve the assumptions
    if problems:
        parts = [p.partition(": ") for p in problems]
        raise SpecError(ARGUMENT, [Problem(where, why) for where, _, why in parts])
    return new


def run(
    deal: DealSpec | CompiledDeal,
    *,
    backend: str = "numpy",
    loan_level: bool = False,
    smm_mult: npt.ArrayLike | None = None,
    mdr_mult: npt.ArrayLike | None = None,
    scenarios: Scenarios | None = None,
    settle: date | None = None,
    block_size: int | None = None,
    flows: PoolCashflows | None = None,
    supports: bool = True,
) -> RunResult:
    """Run a deal end to end: compile (unless given a compiled deal), project the pool, run the
    waterfall.

    Parameters
    ----------
    deal
        A validated deal (:func:`greenabs.load_deal`) or a :class:`~greenabs.compile.CompiledDeal`
        (:func:`compile_deal`; reuse it to rerun structures without recompiling the pool).
    backend
        Collateral kernel: ``numpy`` (reference), ``numba``, ``cupy`` (CUDA GPU) or ``auto``.
    loan_level
        Keep per-asset monthly flows of scenario 0 (:meth:`RunResult.loan_level`).
    smm_mult, mdr_mult
        Shorthand for ``scenarios=Scenarios.build(smm_mult=..., mdr_mult=...)``.
    scenarios
        Scenario drivers (:class:`~greenabs.scenarios.Scenarios`): multipliers, default months,
        rate and index paths, family drivers, seed.
    settle
        Settlement date for yields and prices (closing when not given).
    block_size
        Project scenarios in blocks of this many (memory stays bounded); the numbers do not
        depend on it.
    flows
        Pool flows projected before (``result.pool`` of an earlier run of the same compiled
        pool and scenarios): the run then reruns only the waterfall, as structure comparisons
        and tranche sizing do.
    supports
        Whether the deal's external supports (``structure.supports``: guarantees, shortfall
        undertakings) pay (default).  ``False`` runs the waterfall as if the deal had none,
        for the rating without support; providers' default months come from the
        ``support:NAME`` drivers of ``scenarios``.

    Returns
    -------
    RunResult
        Tables as DataFrames; the conservation audit has passed for every period and scenario.
    """
    compiled = deal if isinstance(deal, CompiledDeal) else compile_deal(deal)
    if scenarios is None:
        scenarios = Scenarios.build(smm_mult=smm_mult, mdr_mult=mdr_mult)
    elif smm_mult is not None or mdr_mult is not None:
        raise SpecError(
            "<argument>", Problem("scenarios", "give scenarios or multipliers, not both")
        )
    backend = resolve_backend(backend)
    if flows is None:
        pool = project(
            compiled.pool, scenarios, backend=backend, loan_level=loan_level, block_size=block_size
        )
    elif (
        flows.original_balance != compiled.pool.balance or flows.n_months != compiled.pool.n_months
    ):
        why = "these flows were projected from another pool or assumptions"
        raise SpecError("<argument>", Problem("flows", why))
    else:
        pool = flows
    wf = run_waterfall(compiled, pool, scenarios, supports=supports)
    return RunResult(
        deal=compiled.deal,
        calendar=compiled.calendar,
        pool=pool,
        waterfall=wf,
        backend=backend,
        settle=settle,
    )


def simulate(
    deal: DealSpec | CompiledDeal,
    scenarios: Scenarios,
    *,
    block_size: int = 500,
    backend: str = "numpy",
    discount_rate: float | None = None,
    settle: date | None = None,
) -> pd.DataFrame:
    """Per-scenario results of many scenarios with memory bounded by ``block_size``.

    Each block of scenarios is projected, run through the waterfall and reduced to one row per
    (scenario, tranche) (:meth:`RunResult.scenario_metrics`: principal loss, loss rate,
    interest shortfall, WAL, yield, duration, discount margin, discounted loss); the period
    records of a block are dropped before the next one runs.  The rows do not depend on the
    block size: scenario ``s`` draws its random numbers from its own stream.
    """
    compiled = deal if isinstance(deal, CompiledDeal) else compile_deal(deal)
    if not isinstance(block_size, int) or block_size < 1:
        why = f"expected a whole number of scenarios >= 1, got {block_size!r}"
        raise SpecError("<argument>", Problem("block_size", why))
    frames = []
    for start in range(0, scenarios.n, block_size):
        block = scenarios.take(start, min(scenarios.n, start + block_size))
        result = run(compiled, scenarios=block, backend=backend, settle=settle)
        frame = result.scenario_metrics(discount_rate)
        frame["scenario"] += start
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
