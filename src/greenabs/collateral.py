"""Collateral projection: a pool of assets under assumptions to monthly pool cash flows.

Pool cash flows do not depend on the tranches, so they are computed once per assumption set
and scenario set and reused by every waterfall run (sizing, triggers, structure comparisons).
Arrays carry a scenario axis from the start: ``flows[field]`` has shape (S, M).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from greenabs import curves
from greenabs.assets import (
    AssetSpecBase,
    BlockFlows,
    CompileContext,
    ProjectionContext,
    RateTable,
    compile_pool,
)
from greenabs.calendar import add_months
from greenabs.spec.deal import AssumptionsSpec, DefaultSpec, PrepaymentSpec

__all__ = ["POOL_FIELDS", "STOCKS", "PoolCashflows", "project_pool", "rate_tables"]

FloatArray = npt.NDArray[np.float64]

POOL_FIELDS: tuple[str, ...] = (
    "begin_balance",
    "interest",
    "scheduled_principal",
    "prepayment",
    "default",
    "recovery",
    "loss",
    "end_balance",
    "delinquent",
)
"""Monthly pool fields; ``interest`` is gross interest collected, before servicing.  Balances
count every asset not yet defaulted; ``delinquent`` is the part of it that is delinquent."""

STOCKS = ("begin_balance", "end_balance", "delinquent")
"""Fields that are balances at a date, not flows over a period."""


@dataclass(frozen=True, eq=False)
class PoolCashflows:
    """Monthly pool cash flows for S scenarios.

    Attributes
    ----------
    month_ends
        End date of each collection month (M).
    flows
        ``field -> (S, M)`` for every field of :data:`POOL_FIELDS`.
    original_balance
        Cut-off balance of the pool.
    ids, loan_level
        Asset ids and ``field -> (N, M)`` flows of scenario 0, when loan level was asked for.
    """

    month_ends: tuple[date, ...]
    flows: dict[str, FloatArray]
    original_balance: float
    ids: tuple[str, ...] = ()
    loan_level: dict[str, FloatArray] | None = None

    @property
    def n_months(self) -> int:
        """Number of months M."""
        return len(self.month_ends)

    def frame(self, scenario: int = 0) -> pd.DataFrame:
        """Monthly pool cash flows of one scenario as a DataFrame."""
        df = pd.DataFrame({k: v[scenario] for k, v in self.flows.items()})
        df.insert(0, "date", list(self.month_ends))
        df.insert(0, "month", np.arange(1, self.n_months + 1))
        return df

    def loan_level_frame(self) -> pd.DataFrame:
        """Loan-level flows (scenario 0) in long form: one row per asset and month."""
        if self.loan_level is None:
            raise ValueError("loan-level flows were not computed (pass loan_level=True)")
        n, m = self.loan_level["begin_balance"].shape
        df = pd.DataFrame({k: v.ravel() for k, v in self.loan_level.items()})
        df.insert(0, "date", np.tile(np.array(self.month_ends, dtype="datetime64[D]"), n))
        df.insert(0, "month", np.tile(np.arange(1, m + 1), n))
        df.insert(0, "asset_id", np.repeat(np.array(self.ids, dtype=object), m))
        return df


def _table(spec: PrepaymentSpec | DefaultSpec, kind: str, max_age: int, n_months: int) -> RateTable:
    """Monthly rates (SMM or MDR) of a curve, by age or by period."""
    ages = np.arange(0, max_age + n_months + 2, dtype=np.float64)
    if isinstance(spec, PrepaymentSpec):
        if spec.cpr is not None:
            return RateTable(np.array([curves.cpr_to_smm(spec.cpr)]), by_age=False)
        if spec.psa is not None:
            return RateTable(curves.cpr_to_smm(curves.psa_cpr(ages, spec.psa)), by_age=True)
    else:
        if spec.cdr is not None:
            return RateTable(np.array([curves.cdr_to_mdr(spec.cdr)]), by_age=False)
        if spec.sda is not None:
            return RateTable(
                curves.cdr_to_mdr(curves.sda_cdr(ages, spec.sda)), by_age=True, zero_tail_months=12
            )
    assert spec.vector is not None, kind
    vec = np.asarray(spec.vector, dtype=np.float64)
    monthly = curves.cpr_to_smm(vec)
    if spec.by == "age":
        # value k applies at age k + 1: shift so that index age reads it
        return RateTable(np.concatenate([[monthly[0]], monthly]), by_age=True)
    return RateTable(monthly, by_age=False)


def rate_tables(
    assumptions: AssumptionsSpec, max_age: int, n_months: int
) -> tuple[RateTable, RateTable]:
    """SMM and MDR tables for the assumptions."""
    return (
        _table(assumptions.prepayment, "prepayment", max_age, n_months),
        _table(assumptions.default, "default", max_age, n_months),
    )


def _pad(a: FloatArray, n: int) -> FloatArray:
    if a.shape[-1] == n:
        return a
    pad = [(0, 0)] * (a.ndim - 1) + [(0, n - a.shape[-1])]
    return np.pad(a, pad)


def project_pool(
    assets: Sequence[AssetSpecBase],
    assumptions: AssumptionsSpec,
    cutoff: date,
    *,
    smm_mult: FloatArray | None = None,
    mdr_mult: FloatArray | None = None,
    backend: str = "numpy",
    loan_level: bool = False,
) -> PoolCashflows:
    """Project a pool month by month for one or more scenarios.

    Parameters
    ----------
    assets
        Validated asset specs of any registered family.
    assumptions
        Prepayment, default and recovery assumptions and index paths.
    cutoff
        Cut-off date; month ``m`` ends ``m`` months after it.
    smm_mult, mdr_mult
        Per-scenario multipliers (S,) on prepayment and default rates; one scenario of 1.0
        when not given.
    backend
        ``numpy`` (reference), ``numba`` or ``auto``.
    loan_level
        Also return per-asset flows of scenario 0.
    """
    ctx_c = CompileContext(
        cutoff=cutoff,
        index_paths={
            k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in assumptions.rates.items()
        },
        receivable_delay_months=assumptions.receivable_delay_months,
    )
    blocks = compile_pool(assets, ctx_c)
    dq = assumptions.delinquency
    dq_lag = dq.lag_months if dq is not None and dq.rate > 0 else 0
    # delinquent balance cured after maturity is collected up to dq_lag months later
    n_asset_months = max(b.n_months for b in blocks) + dq_lag
    max_age = max(int(np.max(b.summary()["age"])) for b in blocks)
    lag = assumptions.recovery.lag_months
    n_months = n_asset_months + lag
    smm, mdr = rate_tables(assumptions, max_age, n_asset_months)
    s_mult = np.ones(1) if smm_mult is None else np.asarray(smm_mult, dtype=np.float64)
    d_mult = np.ones(1) if mdr_mult is None else np.asarray(mdr_mult, dtype=np.float64)
    if s_mult.shape != d_mult.shape:
        s_mult, d_mult = np.broadcast_arrays(s_mult, d_mult)
    ctx = ProjectionContext(
        mdq=0.0 if dq is None else curves.cdr_to_mdr(dq.rate),
        dq_lag=0 if dq is None else dq.lag_months,
        cure=0.0 if dq is None else dq.cure_rate,
        n_months=n_asset_months,
        smm=smm,
        mdr=mdr,
        smm_mult=s_mult,
        mdr_mult=d_mult,
        backend=backend,
        loan_level=loan_level,
    )
    results: list[BlockFlows] = [b.project(ctx) for b in blocks]
    flows = {
        k: sum((_pad(r.pool[k], n_months) for r in results), np.zeros((s_mult.size, n_months)))
        for k in results[0].pool
    }
    rr = assumptions.recovery.rate
    shifted = np.zeros_like(flows["default"])
    shifted[:, lag:] = flows["default"][:, : n_months - lag]
    flows["recovery"] = shifted * rr
    flows["loss"] = shifted * (1.0 - rr)
    flows = {k: flows[k] for k in POOL_FIELDS}
    level = None
    ids: tuple[str, ...] = ()
    if loan_level:
        ids = tuple(i for r in results for i in r.ids)
        level = {
            k: np.vstack([_pad(r.loan_level[k], n_months) for r in results if r.loan_level])
            for k in results[0].pool
        }
        shifted_l = np.zeros_like(level["default"])
        shifted_l[:, lag:] = level["default"][:, : n_months - lag]
        level["recovery"] = shifted_l * rr
        level["loss"] = shifted_l * (1.0 - rr)
        level = {k: level[k] for k in POOL_FIELDS}
    return PoolCashflows(
        month_ends=tuple(add_months(cutoff, m) for m in range(1, n_months + 1)),
        flows=flows,
        original_balance=float(sum(b.balance for b in blocks)),
        ids=ids,
        loan_level=level,
    )
