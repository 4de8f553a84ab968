"""The run: a validated deal through collateral projection and the waterfall to results."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from greenabs.calendar import build_calendar
from greenabs.collateral import project_pool
from greenabs.results import RunResult
from greenabs.scenarios import Scenarios
from greenabs.spec.deal import AssumptionsSpec, DealSpec
from greenabs.waterfall import run_waterfall

__all__ = ["run", "with_assumptions"]


def with_assumptions(deal: DealSpec, **changes: Any) -> DealSpec:
    """A copy of the deal with some assumptions replaced (validated again)."""
    data = deal.assumptions.model_dump()
    data.update(changes)
    return deal.model_copy(update={"assumptions": AssumptionsSpec.model_validate(data)})


def run(
    deal: DealSpec,
    *,
    backend: str = "numpy",
    loan_level: bool = False,
    smm_mult: npt.ArrayLike | None = None,
    mdr_mult: npt.ArrayLike | None = None,
    scenarios: Scenarios | None = None,
) -> RunResult:
    """Run a deal end to end.

    Parameters
    ----------
    deal
        A validated deal (:func:`greenabs.load_deal`).
    backend
        Collateral kernel: ``numpy`` (reference), ``numba``, ``cupy`` (CUDA GPU) or ``auto``.
    loan_level
        Keep per-asset monthly flows (:meth:`RunResult.loan_level`).
    smm_mult, mdr_mult
        Optional per-scenario multipliers (shape (S,)) on prepayment and default rates: the
        same pool and structure run for S scenarios at once.

    Returns
    -------
    RunResult
        Tables as DataFrames; the conservation audit has passed for every period and scenario.
    """
    pool = project_pool(
        deal.pool.assets,
        deal.assumptions,
        deal.dates.cutoff,
        smm_mult=None if smm_mult is None else np.atleast_1d(np.asarray(smm_mult, dtype=float)),
        mdr_mult=None if mdr_mult is None else np.atleast_1d(np.asarray(mdr_mult, dtype=float)),
        scenarios=scenarios,
        backend=backend,
        loan_level=loan_level,
        advancing=deal.pool.advancing,
    )
    d = deal.dates
    cal = build_calendar(
        d.cutoff,
        d.closing,
        d.first_payment,
        d.frequency,
        d.day_count,
        pool.n_months,
        determination_days=d.determination_days,
        business_day=d.business_day,
        end_of_month=d.end_of_month,
    )
    wf = run_waterfall(deal, pool, cal)
    return RunResult(deal=deal, calendar=cal, pool=pool, waterfall=wf, backend=backend)
