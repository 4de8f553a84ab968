"""Bond analytics on tranche cash flows: pure functions of times (years) and amounts.

Conventions: times are ACT/365F years from settlement; yields are nominal annual rates
compounded ``freq`` times a year (the deal's payment frequency by default), so
``PV = sum(cf_k / (1 + y/freq) ** (freq * t_k))``.  Prices are amounts unless a function says
"per 100".
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "discount_margin",
    "macaulay_duration",
    "modified_duration",
    "price_from_dm",
    "price_from_yield",
    "wal",
    "yield_from_price",
]

FloatArray = npt.NDArray[np.float64]


def wal(times: FloatArray, principal: FloatArray) -> float:
    """Weighted-average life in years: ``sum(t * principal) / sum(principal)`` (NaN if none)."""
    total = float(np.sum(principal))
    return float(np.dot(times, principal) / total) if total > 0 else math.nan


def price_from_yield(times: FloatArray, cashflows: FloatArray, y: float, freq: int = 1) -> float:
    """Present value of the cash flows at yield ``y`` compounded ``freq`` times a year."""
    return float(np.sum(cashflows * (1.0 + y / freq) ** (-freq * np.asarray(times))))


def yield_from_price(
    times: FloatArray, cashflows: FloatArray, price: float, freq: int = 1
) -> float:
    """The yield that discounts the cash flows to ``price`` (NaN when no yield in
    (-99%, 1000%) does: e.g. cash flows that total less than a 99% loss)."""
    cf = np.asarray(cashflows, dtype=np.float64)
    t = np.asarray(times, dtype=np.float64)
    if price <= 0 or not np.any(cf > 0):
        return math.nan

    def f(y: float) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return price_from_yield(t, cf, y, freq) - price

    from scipy.optimize import brentq  # deferred: importing scipy.optimize takes ~0.25 s

    # present value falls as the yield rises: widen the bracket until it holds the root
    hi = next((h for h in (1.0, 10.0) if f(h) < 0), None)
    lo = next(
        (lo for lo in (-0.2, -0.5, -0.9, -0.99) if np.isfinite(f(lo * freq)) and f(lo * freq) > 0),
        None,
    )
    if hi is None or lo is None:
        return math.nan
    return float(brentq(f, lo * freq, hi, xtol=1e-14, rtol=1e-14, maxiter=500))


def macaulay_duration(times: FloatArray, cashflows: FloatArray, y: float, freq: int = 1) -> float:
    """Present-value-weighted average time of the cash flows, in years."""
    t = np.asarray(times, dtype=np.float64)
    pv = np.asarray(cashflows) * (1.0 + y / freq) ** (-freq * t)
    total = float(pv.sum())
    return float(np.dot(t, pv) / total) if total > 0 else math.nan


def modified_duration(times: FloatArray, cashflows: FloatArray, y: float, freq: int = 1) -> float:
    """``-(1/P) dP/dy``: Macaulay duration divided by ``1 + y/freq``."""
    return macaulay_duration(times, cashflows, y, freq) / (1.0 + y / freq)


def price_from_dm(
    accruals: FloatArray, index: FloatArray, cashflows: FloatArray, dm: float
) -> float:
    """Price of a floater's projected cash flows discounted at index + discount margin.

    ``accruals[k]`` is the year fraction of period k and ``index[k]`` the index rate set for it;
    the discount factor compounds ``1 + (index + dm) * accrual`` period by period.
    """
    growth = 1.0 + (np.asarray(index) + dm) * np.asarray(accruals)
    return float(np.sum(np.asarray(cashflows) / np.cumprod(growth)))


def discount_margin(
    accruals: FloatArray, index: FloatArray, cashflows: FloatArray, price: float
) -> float:
    """The discount margin that prices the cash flows at ``price`` (NaN if none)."""
    if price <= 0 or not np.any(np.asarray(cashflows) > 0):
        return math.nan

    def f(dm: float) -> float:
        return price_from_dm(accruals, index, cashflows, dm) - price

    from scipy.optimize import brentq

    try:
        return float(brentq(f, -0.5, 5.0, xtol=1e-14, maxiter=500))
    except ValueError:
        return math.nan
