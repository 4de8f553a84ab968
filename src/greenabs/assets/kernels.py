"""Projection kernels for amortising assets: a NumPy reference, a Numba backend (and a CuPy
one in :mod:`greenabs.assets.kernels_cuda`).

The arithmetic of a month is :mod:`greenabs.assets.recursion` (its docstring is the order of
events), shared by every backend; this module feeds it.  Interest accrued before the cut-off
(``accrued0``) is collected on the first payment like any other.

Scenario inputs: per-scenario (or per-scenario and month) multipliers on the prepayment and
default rates, and optionally each asset's default month in each scenario (an asset
defaulting in month ``t`` defaults its whole performing balance then; the default curve is not
applied on top).  Servicer advancing (``advance``: 0 none, 1 interest, 2 principal and
interest) tracks each asset's loans in foreclosure for ``rec_lag`` months and liquidates them
at their amortised default balance (:func:`~greenabs.assets.recursion.foreclosure_step`);
without advancing, recoveries are the pool's defaults shifted by the lag (in
:mod:`greenabs.collateral`).

A block's schedule comes in one of two forms.  *Parametric* (standard loans): per-asset payment
step, amortisation code and rate (fixed, or a monthly path), from which each month's row is
computed on the fly, so no (month x asset) matrix is ever built.  *Tabulated* (leases,
receivables, projected vectors): (month x asset) matrices of accrual rate, payment flag and
scheduled fraction.  Past an asset's maturity everything left is due.

Loops.  NumPy: months outermost (a state recursion), each month's schedule row computed once
and applied to an (S, N) state array.  Numba: loans in cache-sized blocks; for each block the
schedule tables are computed once (in parallel over loans), then every scenario runs through
the block's months in parallel, its state in cache.  CuPy: one thread per (loan, scenario),
state in registers.  Both carry a level-pay loan's ``(1 + r)^n`` as a running quotient, so
``pow`` runs once per loan (each month only when its rate floats).  Results agree
between backends to rounding (sums run in a different order).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from greenabs.assets.recursion import foreclosure_step, month_step, performing_step

__all__ = ["FIELDS", "KernelInput", "accrued_rate", "project_numba", "project_numpy"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Flows = dict[str, FloatArray]

FIELDS = (
    "begin_balance",
    "interest",
    "scheduled_principal",
    "prepayment",
    "default",
    "end_balance",
    "delinquent",
    "advanced_principal",
    "advanced_interest",
    "recovery",
    "loss",
)
"""Flows per month; balances (begin, end, delinquent) include delinquent, undefaulted assets
but not loans in foreclosure.  The last four are produced only with advancing."""
CORE = 7
"""Fields every kernel run produces (the first seven)."""
LEVEL, LINEAR, INTEREST_ONLY, BULLET = 0, 1, 2, 3
NO_ADVANCE, ADVANCE_INTEREST, ADVANCE_ALL = 0, 1, 2


@dataclass(frozen=True, eq=False)
class KernelInput:
    """Everything a kernel reads, as contiguous arrays (N assets, M months, S scenarios).

    Parametric schedule: ``step``, ``code`` (N,) and ``rates`` (R, N) with R = 1 (fixed) or M.
    Tabulated schedule: ``tab_accrual``, ``tab_frac`` (M, N) and ``tab_pay`` (M, N).
    Unused arrays of the other form are empty.  ``smm_mult``, ``mdr_mult``: (S, 1) per
    scenario or (S, M) per scenario and month.  ``default_month`` (S, N): the 0-based month
    each asset defaults in each scenario, -1 for never; shape (0, 0) when not given.
    Delinquency: a monthly rate ``mdq`` of the performing balance goes delinquent; ``dq_lag``
    months later a ``cure`` share returns to performing and the rest defaults.  ``bom``: 1.0
    for prepayments on the beginning-of-month balance (Standard Formulas), 0.0 for "defaults
    first".  ``advance``, ``rec_lag``, ``severity``: servicer advancing and the liquidation of
    loans in foreclosure.
    """

    n_months: int
    tabulated: bool
    balance0: FloatArray
    accrued0: FloatArray
    age0: IntArray
    term: IntArray
    prepayable: BoolArray
    step: IntArray
    code: IntArray
    rates: FloatArray
    tab_accrual: FloatArray
    tab_pay: BoolArray
    tab_frac: FloatArray
    smm_vals: FloatArray
    smm_off: IntArray
    mdr_vals: FloatArray
    mdr_off: IntArray
    mdr_stop: IntArray
    smm_mult: FloatArray
    mdr_mult: FloatArray
    mdq: float = 0.0
    dq_lag: int = 0
    cure: float = 0.0
    default_month: IntArray | None = None
    bom: float = 1.0
    advance: int = NO_ADVANCE
    rec_lag: int = 0
    severity: float = 1.0

    @property
    def n_fields(self) -> int:
        """Fields the kernel fills: the core seven, all eleven with advancing."""
        return len(FIELDS) if self.advance else CORE


def _row(k: KernelInput, j: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Accrual rate, payment flag (1.0/0.0) and scheduled fraction of month ``j`` (each (N,)).

    Past maturity (reached only by balance cured from delinquency) all that is left is due.
    """
    n = k.balance0.shape[0]
    if k.tabulated:
        if j >= k.tab_frac.shape[0]:
            return np.zeros(n), np.ones(n), np.ones(n)
        return k.tab_accrual[j], k.tab_pay[j].astype(np.float64), k.tab_frac[j]
    age = k.age0 + (j + 1)
    left = k.term - age  # months after this one
    alive = left >= 0
    at_maturity = left == 0
    r = k.rates[min(j, k.rates.shape[0] - 1)]
    pay = np.where(k.code == BULLET, at_maturity, alive & (age % k.step == 0))
    periods = np.maximum(left // k.step + 1, 1)
    rp = r * k.step / 12.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        level = np.where(rp > 1e-12, rp / ((1.0 + rp) ** periods - 1.0), 1.0 / periods)
    frac = np.where(k.code == LEVEL, level, np.where(k.code == LINEAR, 1.0 / periods, 0.0))
    frac = np.where(pay, np.where(at_maturity, 1.0, frac), 0.0)
    past = ~alive
    return (
        np.where(alive, r / 12.0, 0.0),
        (pay | past).astype(np.float64),
        np.where(past, 1.0, frac),
    )


def accrued_rate(k: KernelInput) -> FloatArray:
    """Interest accrued at the cut-off per unit of balance (the kernels' state)."""
    bal = np.asarray(k.balance0, dtype=np.float64)
    out: FloatArray = np.divide(
        np.asarray(k.accrued0, dtype=np.float64), bal, out=np.zeros_like(bal), where=bal > 0
    )
    return out


CACHE_ELEMENTS = 1 << 16
"""(scenario, asset) elements of one tile of the NumPy kernel: its state arrays (512 KiB
each) stay in a core's cache while the months run through them."""
TILE_ASSETS = 1024
"""Assets per row of a tile at least (long rows keep the monthly sums over assets efficient;
with few scenarios a row takes the whole tile, so that Python's per-month calls stay few)."""
_PER_ASSET = ("balance0", "accrued0", "age0", "term", "prepayable", "step", "code")
_PER_ASSET_COLUMNS = ("rates", "tab_accrual", "tab_pay", "tab_frac", "default_month")
_PER_ASSET_OFFSETS = ("smm_off", "mdr_off", "mdr_stop")


def _asset_chunk(k: KernelInput, lo: int, hi: int) -> KernelInput:
    """The kernel input of assets ``lo .. hi - 1``."""
    n_a = k.balance0.shape[0]
    cut: dict[str, Any] = {}
    for name in _PER_ASSET + _PER_ASSET_OFFSETS:
        v = getattr(k, name)
        cut[name] = v[lo:hi] if v.shape[0] == n_a else v
    for name in _PER_ASSET_COLUMNS:
        v = getattr(k, name)
        if v is not None and v.ndim == 2 and v.shape[1] == n_a:
            cut[name] = v[:, lo:hi]
    return replace(k, **cut)


def _scenario_chunk(k: KernelInput, lo: int, hi: int) -> KernelInput:
    """The kernel input of scenarios ``lo .. hi - 1``."""
    cut: dict[str, Any] = {"smm_mult": k.smm_mult[lo:hi], "mdr_mult": k.mdr_mult[lo:hi]}
    if k.default_month is not None and k.default_month.size:
        cut["default_month"] = k.default_month[lo:hi]
    return replace(k, **cut)


def project_numpy(k: KernelInput, loan_level: bool) -> tuple[Flows, Flows | None]:
    """Reference kernel: pool flows (S, M) per field and, if asked, loan level (N, M).

    Scenarios and assets run in tiles of about :data:`CACHE_ELEMENTS` (scenario, asset)
    elements, rows of up to :data:`TILE_ASSETS` assets: the tiles' pool flows are added over
    assets and stacked over scenarios (loan-level flows, scenario 0's, stacked over assets)."""
    n_s, n_a = k.smm_mult.shape[0], k.balance0.shape[0]
    width = min(n_a, max(TILE_ASSETS, CACHE_ELEMENTS // max(n_s, 1)))  # few scenarios: wide
    rows = max(1, CACHE_ELEMENTS // width)
    if n_s <= rows and n_a <= width:
        return _project_numpy(k, loan_level)
    stacked: dict[str, list[FloatArray]] = {}
    levels: list[Flows] = []
    for s0 in range(0, n_s, rows):
        ks = _scenario_chunk(k, s0, s0 + rows)
        total: Flows | None = None
        for a0 in range(0, n_a, width):
            flows, lvl = _project_numpy(_asset_chunk(ks, a0, a0 + width), loan_level and s0 == 0)
            total = flows if total is None else {f: total[f] + v for f, v in flows.items()}
            if lvl is not None:
                levels.append(lvl)
        assert total is not None
        for f, v in total.items():
            stacked.setdefault(f, []).append(v)
    out = {f: np.concatenate(v, axis=0) for f, v in stacked.items()}
    level = {f: np.vstack([p[f] for p in levels]) for f in levels[0]} if levels else None
    return out, level


def _capped(rates: FloatArray, mult: FloatArray) -> FloatArray:
    """Monthly rates (N,) times per-scenario multipliers (S, 1), capped at 1 (the cap is a
    pass skipped when no product can exceed 1)."""
    out: FloatArray = rates[None, :] * mult
    if rates.size and mult.size and float(rates.max()) * float(mult.max()) > 1.0:
        np.minimum(out, 1.0, out=out)
    return out


def _project_numpy(k: KernelInput, loan_level: bool) -> tuple[Flows, Flows | None]:
    n_s, n_m, n_a = k.smm_mult.shape[0], k.n_months, k.balance0.shape[0]
    n_f = k.n_fields
    bal = np.repeat(k.balance0[None, :], n_s, axis=0).astype(np.float64)
    acc = np.repeat(accrued_rate(k)[None, :], n_s, axis=0)
    out = {f: np.zeros((n_s, n_m)) for f in FIELDS[:n_f]}
    lvl = {f: np.zeros((n_a, n_m)) for f in FIELDS[:n_f]} if loan_level else None
    smm_last, mdr_last = len(k.smm_vals) - 1, len(k.mdr_vals) - 1
    prep = k.prepayable.astype(np.float64)
    lag = k.dq_lag if k.mdq > 0 else 0
    ring = np.zeros((max(lag, 1), n_s, n_a))
    dq_bal = np.zeros((n_s, n_a))
    dmonth = k.default_month if k.default_month is not None and k.default_month.size else None
    if k.advance:
        assert k.rec_lag >= 1, "advancing needs a recovery lag"
        u_ring = np.zeros((k.rec_lag, n_s, n_a))
        d_ring = np.zeros((k.rec_lag, n_s, n_a))
        units = np.zeros((n_s, n_a))
        cum = np.ones((n_s, n_a))
    for j in range(n_m):
        accrual, pay, f = _row(k, j)
        smm_i = k.smm_vals[np.minimum(k.smm_off + j, smm_last)] * prep
        mdr_i = k.mdr_vals[np.minimum(k.mdr_off + j, mdr_last)]
        mdr_i = np.where(k.age0 + j + 1 > k.mdr_stop, 0.0, mdr_i)
        sm = k.smm_mult[:, min(j, k.smm_mult.shape[1] - 1), None]
        dm = k.mdr_mult[:, min(j, k.mdr_mult.shape[1] - 1), None]
        smm = _capped(smm_i, sm)
        if dmonth is None:
            mdr = _capped(mdr_i, dm)
        elif mdr_i.any():
            mdr = np.where(dmonth == j, 1.0, _capped(mdr_i, dm))
        else:  # default times alone (the curve is off): the month's defaulters
            mdr = (dmonth == j).astype(np.float64)
        if lag:
            bal, acc, dq_bal, nd, begin, intr, sp, pp, dflt = month_step(
                bal, acc, dq_bal, ring[j % lag], accrual, pay, f, smm, mdr, k.mdq, k.cure, k.bom
            )
            ring[j % lag] = nd
        else:  # the same algebra without delinquency (held equal by a test)
            begin = bal
            bal, acc, intr, sp, pp, dflt = performing_step(
                bal, acc, accrual, pay, f, smm, mdr, k.bom
            )
        fields = [begin, intr, sp, pp, dflt, bal + dq_bal if lag else bal, dq_bal]
        if k.advance:
            slot = j % k.rec_lag
            units, cum, u_new, a_prin, a_int, rec, loss = foreclosure_step(
                units, cum, u_ring[slot], d_ring[slot], dflt, f, accrual, k.severity,
                float(k.advance == ADVANCE_ALL), 1.0,
            )  # fmt: skip
            u_ring[slot] = u_new
            d_ring[slot] = dflt
            fields += [a_prin, a_int, rec, loss]
        for name, arr in zip(FIELDS, fields, strict=False):
            if arr is dq_bal and not lag:
                continue  # no delinquency: zero
            out[name][:, j] = arr.sum(axis=1)
            if lvl is not None:
                lvl[name][:, j] = arr[0]
    return out, lvl


def project_numba(k: KernelInput, loan_level: bool) -> tuple[Flows, Flows | None]:
    """Numba kernel (scenarios in parallel); same contract as :func:`project_numpy`."""
    from greenabs.assets.kernels_numba import kernel

    n_s, n_m, n_a = k.smm_mult.shape[0], k.n_months, k.balance0.shape[0]
    n_f = k.n_fields
    out = np.zeros((n_f, n_s, n_m))
    lvl = np.zeros((n_f, n_a, n_m) if loan_level else (n_f, 1, 1))
    has_dt = k.default_month is not None and k.default_month.size > 0
    # default months as float64 (exact): a compare of the loop's own width vectorises
    dmonth = k.default_month if has_dt else np.full((1, n_a), -1)
    c = np.ascontiguousarray
    kernel(
        n_m, k.tabulated, c(k.balance0, np.float64), accrued_rate(k),
        c(k.age0, np.int64), c(k.term, np.int64), c(k.prepayable), c(k.step, np.int64),
        c(k.code, np.int64), c(np.atleast_2d(k.rates), np.float64), c(k.tab_accrual),
        c(k.tab_pay), c(k.tab_frac), c(k.smm_vals, np.float64), c(k.smm_off, np.int64),
        c(k.mdr_vals, np.float64), c(k.mdr_off, np.int64), c(k.mdr_stop, np.int64),
        c(k.smm_mult, np.float64), c(k.mdr_mult, np.float64), float(k.mdq), int(k.dq_lag),
        float(k.cure), c(dmonth, np.float64), has_dt, float(k.bom), int(k.advance),
        int(k.rec_lag), float(k.severity), out, lvl, loan_level,
    )  # fmt: skip
    pool = {f: out[i] for i, f in enumerate(FIELDS[:n_f])}
    level = {f: lvl[i] for i, f in enumerate(FIELDS[:n_f])} if loan_level else None
    return pool, level
