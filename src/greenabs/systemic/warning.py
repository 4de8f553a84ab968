"""Early warning on an index or an indicator: thresholds, signal extraction, regimes.

* :func:`threshold_flags`: stress when the value exceeds ``mean + k sd`` (k = 1, 1.5, 2), or a
  percentile of the sample;
* :func:`signal_extraction` (Kaminsky, Lizondo and Reinhart 1998): a signal at ``t`` is right
  when a crisis starts within ``horizon`` periods (``t .. t + horizon``); over a percentile
  grid of thresholds it counts A (signal, crisis), B (signal, none), C (no signal, crisis), D
  (neither) and reports the noise-to-signal ratio ``[B/(B+D)] / [A/(A+C)]`` and the
  usefulness ``U = min(theta, 1 - theta) - L`` with loss
  ``L = theta C/(A+C) + (1 - theta) B/(B+D)`` (Alessi and Detken; Sarlin 2013).  The
  ``post_crisis`` periods after each crisis start are left out of the counts (the crisis and
  its aftermath are neither calm nor pre-crisis; Bussiere and Fratzscher 2006), unless they
  lie in the horizon of another crisis;
* :func:`composite_signal` (KLR 1998; Edison 2003): each indicator's best threshold, the
  indicators whose noise-to-signal ratio is below 1, and the composite
  ``sum_j s_jt / NSR_j`` of their signals;
* :func:`markov_switching`: a two-regime Markov-switching mean and variance model
  (statsmodels ``MarkovRegression``); the high-stress regime is the one with the higher mean,
  and a period is flagged when its smoothed probability exceeds 0.5.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from greenabs.errors import DataError, Problem
from greenabs.systemic.core import _finite_number

__all__ = [
    "CompositeSignal",
    "SignalResult",
    "composite_signal",
    "markov_switching",
    "signal_extraction",
    "threshold_flags",
]


def threshold_flags(
    x: pd.Series, *, k: float | None = 1.5, percentile: float | None = None
) -> pd.Series:
    """Periods above ``mean + k sd`` (population sd), or above the ``percentile`` (0-100)."""
    values = _series(x, "x")
    if not np.isfinite(values).any():
        raise DataError("argument x", Problem("", "the series has no value"))
    if percentile is not None:
        q = _finite_number(percentile, "percentile", 0.0, 100.0)
        level = float(np.nanpercentile(values, q))
    else:
        kk = _finite_number(k or 0.0, "k", -1e6, 1e6)
        level = float(np.nanmean(values) + kk * np.nanstd(values))
    return x > level


def _series(x: pd.Series, name: str) -> np.ndarray:
    """The values of a series: numbers, missing allowed, never infinite."""
    try:
        values = np.asarray(x.to_numpy(dtype=float), dtype=float)
    except (TypeError, ValueError, AttributeError):
        raise DataError(f"argument {name}", Problem("", "needs a series of numbers")) from None
    if np.isinf(values).any():
        raise DataError(f"argument {name}", Problem("", "has infinite values"))
    return values


@dataclass(frozen=True)
class SignalResult:
    """The threshold grid and the threshold with the lowest noise-to-signal ratio."""

    table: pd.DataFrame
    best: dict[str, Any]


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise DataError(
            f"argument {name}", Problem("", f"must be a whole number of periods >= 0 ({value!r})")
        )
    return int(value)


def _windows(
    labels: list[str], crisis_periods: list[str], horizon: int, post_crisis: int
) -> tuple[np.ndarray, np.ndarray]:
    """(pre-crisis: a crisis starts within t..t+horizon; excluded: within post_crisis periods
    after a crisis start and not pre-crisis)."""
    starts = np.array([lab in crisis_periods for lab in labels])
    n = len(labels)
    ahead = np.array([starts[t : t + horizon + 1].any() for t in range(n)])
    after = np.array([starts[max(t - post_crisis, 0) : t].any() for t in range(n)])
    return ahead, after & ~ahead


def _check_crises(labels: list[str], crisis_periods: list[str]) -> list[str]:
    crisis_periods = [str(c).strip() for c in crisis_periods]
    unknown = [c for c in crisis_periods if c not in labels]
    if unknown:
        raise DataError(
            "argument crisis_periods",
            Problem(
                "",
                f"periods not in the data: {', '.join(map(repr, unknown))} "
                f"(the data run {labels[0] if labels else '-'} to {labels[-1] if labels else '-'})",
            ),
        )
    if not crisis_periods:
        raise DataError("argument crisis_periods", Problem("", "give at least one crisis period"))
    return crisis_periods


def _grid(percentiles: Any) -> np.ndarray:
    grid = (
        np.arange(50.0, 96.0, 5.0)
        if percentiles is None
        else np.array([_finite_number(q, "percentiles", 0.0, 100.0) for q in percentiles])
    )
    if grid.size == 0:
        raise DataError("argument percentiles", Problem("", "give at least one percentile"))
    return grid


def signal_extraction(
    x: pd.Series,
    crisis_periods: list[str],
    *,
    horizon: int = 1,
    percentiles: np.ndarray | None = None,
    theta: float = 0.5,
    post_crisis: int = 0,
) -> SignalResult:
    """KLR signal extraction for one series (higher = riskier) and known crisis starts.

    Missing values and the ``post_crisis`` periods after each crisis start are left out of
    the counts (column ``excluded`` of the table)."""
    labels = [str(p) for p in x.index]
    crisis_periods = _check_crises(labels, crisis_periods)
    horizon = _whole(horizon, "horizon")
    post_crisis = _whole(post_crisis, "post_crisis")
    theta = _finite_number(theta, "theta", 0.0, 1.0)
    values = _series(x, "x")
    ahead, excluded = _windows(labels, crisis_periods, horizon, post_crisis)
    counted = ~excluded & np.isfinite(values)
    if not counted.any():
        raise DataError("argument x", Problem("", "no period is left to count signals on"))
    grid = _grid(percentiles)
    rows = []
    for q in grid:
        tau = float(np.nanpercentile(values[counted], q))
        sig = np.where(counted, values > tau, False)
        a = int((sig & ahead & counted).sum())
        b = int((sig & ~ahead & counted).sum())
        c = int((~sig & ahead & counted).sum())
        d = int((~sig & ~ahead & counted).sum())
        hit = a / (a + c) if a + c else math.nan
        false = b / (b + d) if b + d else 0.0
        nsr = false / hit if hit and hit > 0 else math.inf
        loss = theta * (c / (a + c) if a + c else 0.0) + (1 - theta) * false
        use = min(theta, 1 - theta) - loss
        rows.append(
            {
                "percentile": q,
                "threshold": tau,
                "A": a,
                "B": b,
                "C": c,
                "D": d,
                "excluded": int((~counted).sum()),
                "noise_to_signal": nsr,
                "loss": loss,
                "usefulness": use,
                "relative_usefulness": use / min(theta, 1 - theta),
            }
        )
    table = pd.DataFrame(rows)
    row = table.iloc[int(np.argmin(table["noise_to_signal"].to_numpy()))]
    best = {str(k): v for k, v in row.items()}
    return SignalResult(table=table, best=best)


@dataclass(frozen=True)
class CompositeSignal:
    """Per indicator its best threshold and noise-to-signal ratio (``indicators``: columns
    ``threshold``, ``noise_to_signal``, ``weight``, ``used``), and the composite
    ``sum_j s_jt / NSR_j`` over the indicators used (``composite``)."""

    indicators: pd.DataFrame
    composite: pd.Series
    signals: pd.DataFrame


def composite_signal(
    x: pd.DataFrame,
    crisis_periods: list[str],
    *,
    horizon: int = 1,
    percentiles: np.ndarray | None = None,
    post_crisis: int = 0,
) -> CompositeSignal:
    """KLR composite indicator over the columns of ``x`` (periods x indicators, higher =
    riskier): each indicator signals above its threshold of lowest noise-to-signal ratio
    (NSR); indicators with NSR of 1 or more are dropped (KLR 1998); the composite weighs each
    signal by ``1 / NSR_j``.  An NSR of 0 (no false alarm) is taken at half a false alarm,
    ``(0.5 / (B + D)) / (A / (A + C))``, so its weight stays finite.  A missing value
    signals nothing."""
    if not isinstance(x, pd.DataFrame) or x.shape[1] == 0:
        raise DataError("argument x", Problem("", "needs a table of indicators (columns)"))
    rows = []
    signals = {}
    for name in x.columns:
        res = signal_extraction(
            x[name],
            crisis_periods,
            horizon=horizon,
            percentiles=percentiles,
            post_crisis=post_crisis,
        )
        b = res.best
        nsr = float(b["noise_to_signal"])
        if nsr == 0.0:
            hit = b["A"] / (b["A"] + b["C"])
            nsr = (0.5 / (b["B"] + b["D"])) / hit if b["B"] + b["D"] else math.inf
        used = bool(math.isfinite(nsr) and nsr < 1.0)
        rows.append(
            {
                "indicator": str(name),
                "threshold": float(b["threshold"]),
                "noise_to_signal": float(b["noise_to_signal"]),
                "weight": 1.0 / nsr if used else 0.0,
                "used": used,
            }
        )
        signals[str(name)] = (x[name].to_numpy(dtype=float) > b["threshold"]).astype(float)
    table = pd.DataFrame(rows).set_index("indicator")
    sig = pd.DataFrame(signals, index=x.index)
    composite = (sig * table["weight"]).sum(axis=1)
    return CompositeSignal(indicators=table, composite=composite, signals=sig)


def markov_switching(x: pd.Series, *, min_periods: int = 12, seed: int = 0) -> pd.DataFrame:
    """Smoothed probability of the high-stress regime, and the flag, for each period."""
    _series(x, "x")
    y = x.dropna().astype(float)
    if len(y) < min_periods:
        raise DataError(
            "argument x",
            Problem("", f"a two-regime model needs at least {min_periods} periods, got {len(y)}"),
        )
    if float(y.std(ddof=0)) <= 1e-12 * max(float(y.abs().max()), 1e-300):
        raise DataError("argument x", Problem("", "the series is constant: it has no regimes"))
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    model = MarkovRegression(y.to_numpy(), k_regimes=2, trend="c", switching_variance=True)
    rng = np.random.default_rng(seed)
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free = model.untransform_params(model.start_params)
        for k in range(5):  # a few starts: the likelihood has local maxima
            # perturbed in the unconstrained space, so probabilities and variances stay valid
            noise = rng.normal(0, 0.1, len(free)) if k else np.zeros(len(free))
            start = model.transform_params(free + noise)
            try:
                res = model.fit(start_params=start, disp=False)
            except (
                np.linalg.LinAlgError,
                ValueError,
                OverflowError,
                ZeroDivisionError,
                RuntimeError,  # statsmodels: no steady-state probabilities
            ):
                continue
            if not np.isfinite(res.llf):
                continue
            if best is None or res.llf > best.llf:
                best = res
    if best is None:
        raise DataError("argument x", Problem("", "the regime model did not converge"))
    means = [
        best.params[f"const[{i}]"] if isinstance(best.params, pd.Series) else best.params[2 + i]
        for i in range(2)
    ]
    high = int(np.argmax(means))
    prob = np.asarray(best.smoothed_marginal_probabilities)[:, high]
    if not np.isfinite(prob).all():
        raise DataError(
            "argument x", Problem("", "the regime model gave no probabilities (did not converge)")
        )
    return pd.DataFrame({"prob_high": prob, "high_stress": prob > 0.5}, index=y.index)
