"""Bond analytics on tranche cash flows: pure functions of times (years) and amounts.

Conventions: times are ACT/365F years from settlement; yields are nominal annual rates
compounded ``freq`` times a year (the deal's payment frequency by default), so
``PV = sum(cf_k / (1 + y/freq) ** (freq * t_k))``.  Prices are amounts unless a function says
"per 100".

Shapes: every function reduces over the last axis of its cash flows.  Cash flows shaped (K,)
(one scenario) give a ``float``; cash flows shaped (S, K) (one row per scenario; any leading
shape works) give an array of per-scenario values shaped (S,).  Times, accruals and index
rates are (K,), shared by every scenario, or broadcast against the cash flows; a yield, price
or discount margin is one number for every scenario or an array with one per scenario.

Yields and discount margins are solved for every scenario at once: a Newton iteration on
arrays, each step kept inside a bisection bracket, scenario by scenario independent (a
scenario's answer does not depend on which others are solved with it).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = [
    "PerScenario",
    "discount_margin",
    "macaulay_duration",
    "modified_duration",
    "price_from_dm",
    "price_from_yield",
    "wal",
    "yield_from_price",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
PerScenario = float | FloatArray
"""A ``float`` for one scenario's cash flows (K,), an array (S,) for cash flows (S, K)."""

_XTOL = 1e-15
_RTOL = 1e-15
_MAXITER = 200


def _rows(cashflows: npt.ArrayLike) -> tuple[FloatArray, tuple[int, ...]]:
    """Cash flows as rows (N, K) and the leading shape of the result."""
    cf = np.asarray(cashflows, dtype=np.float64)
    if cf.ndim == 0:
        raise ValueError("cash flows must have at least one axis (the payment dates)")
    lead = cf.shape[:-1]
    # rows contiguous: a row sums the same way whether it comes alone or with others (the
    # waterfall's records are column-major), so results do not depend on the block size
    return np.ascontiguousarray(cf.reshape(math.prod(lead), cf.shape[-1])), lead


def _along(values: npt.ArrayLike, cf: FloatArray, lead: tuple[int, ...]) -> FloatArray:
    """Per-date values (K,) or (..., K) broadcast to the rows of ``cf``."""
    v = np.asarray(values, dtype=np.float64)
    n, k = cf.shape
    return np.broadcast_to(v, (*lead, k)).reshape(n, k)


def _per_row(value: npt.ArrayLike, lead: tuple[int, ...]) -> FloatArray:
    """One number, or one per scenario, as a column (N,)."""
    v = np.asarray(value, dtype=np.float64)
    return np.broadcast_to(v, lead).reshape(math.prod(lead))


def _out(values: FloatArray, lead: tuple[int, ...]) -> PerScenario:
    return float(values[0]) if lead == () else values.reshape(lead)


def _solve_decreasing(
    fun: Callable[[FloatArray, npt.NDArray[np.intp]], tuple[FloatArray, FloatArray]],
    lo: FloatArray,
    hi: FloatArray,
    x0: FloatArray,
    ok: BoolArray,
) -> FloatArray:
    """Roots of functions that fall from positive at ``lo`` to negative at ``hi``, row by row.

    ``fun(x, rows)`` returns the values and derivatives at ``x`` of the functions of ``rows``.
    Newton steps are taken when they stay inside the bracket, bisection otherwise; a row stops
    when its step or its bracket is below ``1e-15 * (1 + |x|)``.  Rows not ``ok`` give NaN.
    """
    lo = lo.copy()
    hi = hi.copy()
    x = np.where(ok, np.clip(x0, lo, hi), math.nan)
    active = ok.copy()
    for _ in range(_MAXITER):
        rows = np.nonzero(active)[0]
        if rows.size == 0:
            break
        xi = x[rows]
        val, der = fun(xi, rows)
        up = val > 0  # the function falls: the root lies above x
        lo_i = np.where(up, xi, lo[rows])
        hi_i = np.where(up, hi[rows], xi)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            cand = xi - val / der
        bisect = ~np.isfinite(cand) | (cand <= lo_i) | (cand >= hi_i)
        new = np.where(bisect, 0.5 * (lo_i + hi_i), cand)
        tol = _XTOL + _RTOL * np.abs(xi)
        hit = val == 0
        done = hit | (np.abs(new - xi) <= tol) | (hi_i - lo_i <= tol)
        x[rows] = np.where(hit, xi, new)
        lo[rows] = lo_i
        hi[rows] = hi_i
        active[rows[done]] = False
    return x


def _solvable(cf: FloatArray, price: FloatArray) -> BoolArray:
    """Rows with a positive finite price, finite cash flows and some cash to discount."""
    ok: BoolArray = (
        (price > 0)
        & np.isfinite(price)
        & np.all(np.isfinite(cf), axis=-1)
        & np.any(cf > 0, axis=-1)
    )
    return ok


def wal(times: npt.ArrayLike, principal: npt.ArrayLike) -> PerScenario:
    """Weighted-average life in years: ``sum(t * principal) / sum(principal)`` (NaN if none)."""
    p, lead = _rows(principal)
    t = _along(times, p, lead)
    total = p.sum(axis=-1)
    out = np.full(total.shape, math.nan)
    np.divide((t * p).sum(axis=-1), total, out=out, where=total > 0)
    return _out(out, lead)


def _discount(t: FloatArray, y: FloatArray, freq: int) -> FloatArray:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        v: FloatArray = (1.0 + y[:, None] / freq) ** (-freq * t)
    return v


def price_from_yield(
    times: npt.ArrayLike, cashflows: npt.ArrayLike, y: npt.ArrayLike, freq: int = 1
) -> PerScenario:
    """Present value of the cash flows at yield ``y`` compounded ``freq`` times a year."""
    cf, lead = _rows(cashflows)
    t = _along(times, cf, lead)
    return _out((cf * _discount(t, _per_row(y, lead), freq)).sum(axis=-1), lead)


def yield_from_price(
    times: npt.ArrayLike, cashflows: npt.ArrayLike, price: npt.ArrayLike, freq: int = 1
) -> PerScenario:
    """The yield that discounts the cash flows to ``price`` (NaN when no yield in
    (-99%, 1000%) does: e.g. cash flows that total less than a 99% loss).

    The yield is bracketed as ``scipy.optimize.brentq`` was given it before (up at 100% or
    1000%, down at -20%, -50%, -90% or -99% a period, whichever still discounts to a finite
    value above the price) and solved to about 1e-15.
    """
    cf, lead = _rows(cashflows)
    t = _along(times, cf, lead)
    p = _per_row(price, lead)
    n = cf.shape[0]

    def excess(y: FloatArray, rows: npt.NDArray[np.intp]) -> FloatArray:
        with np.errstate(over="ignore", invalid="ignore"):
            pv: FloatArray = (cf[rows] * _discount(t[rows], y, freq)).sum(axis=-1)
        return pv - p[rows]

    def value_and_slope(y: FloatArray, rows: npt.NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
        with np.errstate(over="ignore", invalid="ignore"):
            pv_k = cf[rows] * _discount(t[rows], y, freq)
            slope = -(t[rows] * pv_k).sum(axis=-1) / (1.0 + y / freq)
        return pv_k.sum(axis=-1) - p[rows], slope

    every = np.arange(n)
    ok = _solvable(cf, p)
    hi = np.full(n, math.nan)
    for h in (10.0, 1.0):  # the lowest upper bound that holds the root
        hi = np.where(excess(np.full(n, h), every) < 0, h, hi)
    lo = np.full(n, math.nan)
    for low in (-0.99, -0.9, -0.5, -0.2):  # the highest lower bound that holds the root
        f_lo = excess(np.full(n, low * freq), every)
        lo = np.where(np.isfinite(f_lo) & (f_lo > 0), low * freq, lo)
    ok &= np.isfinite(hi) & np.isfinite(lo)
    x0 = np.where(ok, np.clip(0.05, lo, hi), math.nan)
    return _out(_solve_decreasing(value_and_slope, lo, hi, x0, ok), lead)


def _macaulay_rows(t: FloatArray, cf: FloatArray, y: FloatArray, freq: int) -> FloatArray:
    pv = cf * _discount(t, y, freq)
    total = pv.sum(axis=-1)
    out = np.full(total.shape, math.nan)
    np.divide((t * pv).sum(axis=-1), total, out=out, where=total > 0)
    return out


def macaulay_duration(
    times: npt.ArrayLike, cashflows: npt.ArrayLike, y: npt.ArrayLike, freq: int = 1
) -> PerScenario:
    """Present-value-weighted average time of the cash flows, in years."""
    cf, lead = _rows(cashflows)
    return _out(_macaulay_rows(_along(times, cf, lead), cf, _per_row(y, lead), freq), lead)


def modified_duration(
    times: npt.ArrayLike, cashflows: npt.ArrayLike, y: npt.ArrayLike, freq: int = 1
) -> PerScenario:
    """``-(1/P) dP/dy``: Macaulay duration divided by ``1 + y/freq``."""
    cf, lead = _rows(cashflows)
    yy = _per_row(y, lead)
    mac = _macaulay_rows(_along(times, cf, lead), cf, yy, freq)
    return _out(mac / (1.0 + yy / freq), lead)


def _dm_growth(
    accruals: FloatArray, index: FloatArray, dm: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Compounded growth to each date and ``sum(accrual_j / growth_j, j <= k)``, the
    sensitivity of its logarithm to the margin."""
    growth = 1.0 + (index + dm[:, None]) * accruals
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        compound: FloatArray = np.cumprod(growth, axis=-1, dtype=np.float64)
        exposure: FloatArray = np.cumsum(accruals / growth, axis=-1)
    return compound, exposure


def price_from_dm(
    accruals: npt.ArrayLike, index: npt.ArrayLike, cashflows: npt.ArrayLike, dm: npt.ArrayLike
) -> PerScenario:
    """Price of a floater's projected cash flows discounted at index + discount margin.

    ``accruals[k]`` is the year fraction of period k and ``index[k]`` the index rate set for it;
    the discount factor compounds ``1 + (index + dm) * accrual`` period by period.  With
    ``dm = 0`` and the coupon path as ``index`` this discounts at a class's own coupon.
    """
    cf, lead = _rows(cashflows)
    compound, _ = _dm_growth(
        _along(accruals, cf, lead), _along(index, cf, lead), _per_row(dm, lead)
    )
    return _out((cf / compound).sum(axis=-1), lead)


def discount_margin(
    accruals: npt.ArrayLike,
    index: npt.ArrayLike,
    cashflows: npt.ArrayLike,
    price: npt.ArrayLike,
) -> PerScenario:
    """The discount margin in (-50%, 500%) that prices the cash flows at ``price`` (NaN if
    none)."""
    cf, lead = _rows(cashflows)
    acc = _along(accruals, cf, lead)
    idx = _along(index, cf, lead)
    p = _per_row(price, lead)
    n = cf.shape[0]

    def value_and_slope(
        dm: FloatArray, rows: npt.NDArray[np.intp]
    ) -> tuple[FloatArray, FloatArray]:
        compound, exposure = _dm_growth(acc[rows], idx[rows], dm)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            pv_k = cf[rows] / compound
            slope = -(pv_k * exposure).sum(axis=-1)
        return pv_k.sum(axis=-1) - p[rows], slope

    every = np.arange(n)
    lo = np.full(n, -0.5)
    hi = np.full(n, 5.0)
    f_lo, _ = value_and_slope(lo, every)
    f_hi, _ = value_and_slope(hi, every)
    ok = _solvable(cf, p)
    x0 = np.zeros(n)
    root = _solve_decreasing(value_and_slope, lo, hi, x0, ok & (f_lo > 0) & (f_hi < 0))
    root = np.where(ok & (f_lo == 0), lo, root)
    root = np.where(ok & (f_hi == 0) & (f_lo != 0), hi, root)
    return _out(root, lead)
