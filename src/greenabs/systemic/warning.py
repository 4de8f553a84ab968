"""Early warning on an index or an indicator: thresholds, signal extraction, regimes.

* :func:`threshold_flags`: stress when the value exceeds ``mean + k sd`` (k = 1, 1.5, 2), or a
  percentile of the sample;
* :func:`signal_extraction` (Kaminsky, Lizondo and Reinhart 1998): a signal at ``t`` is right
  when a crisis starts within ``horizon`` periods (``t .. t + horizon``); over a percentile
  grid of thresholds it counts A (signal, crisis), B (signal, none), C (no signal, crisis), D
  (neither) and reports the noise-to-signal ratio ``[B/(B+D)] / [A/(A+C)]`` and the
  usefulness ``U = min(theta, 1 - theta) - L`` with loss
  ``L = theta C/(A+C) + (1 - theta) B/(B+D)`` (Alessi and Detken; Sarlin 2013);
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

__all__ = ["SignalResult", "markov_switching", "signal_extraction", "threshold_flags"]


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


def signal_extraction(
    x: pd.Series,
    crisis_periods: list[str],
    *,
    horizon: int = 1,
    percentiles: np.ndarray | None = None,
    theta: float = 0.5,
) -> SignalResult:
    """KLR signal extraction for one series (higher = riskier) and known crisis starts."""
    labels = [str(p) for p in x.index]
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
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 0:
        raise DataError(
            "argument horizon", Problem("", f"must be a whole number of periods >= 0 ({horizon!r})")
        )
    theta = _finite_number(theta, "theta", 0.0, 1.0)
    values = _series(x, "x")
    if np.isnan(values).any():
        raise DataError("argument x", Problem("", "has missing values"))
    starts = np.array([lab in crisis_periods for lab in labels])
    n = len(labels)
    ahead = np.array([starts[t : t + horizon + 1].any() for t in range(n)])
    grid = (
        np.arange(50.0, 96.0, 5.0)
        if percentiles is None
        else np.array([_finite_number(q, "percentiles", 0.0, 100.0) for q in percentiles])
    )
    if grid.size == 0:
        raise DataError("argument percentiles", Problem("", "give at least one percentile"))
    rows = []
    for q in grid:
        tau = float(np.nanpercentile(values, q))
        sig = values > tau
        a = int((sig & ahead).sum())
        b = int((sig & ~ahead).sum())
        c = int((~sig & ahead).sum())
        d = int((~sig & ~ahead).sum())
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
        for _ in range(5):  # a few starts: the likelihood has local maxima
            start = model.start_params + rng.normal(0, 0.1, len(model.start_params))
            try:
                res = model.fit(start_params=start, disp=False)
            except (np.linalg.LinAlgError, ValueError, OverflowError, ZeroDivisionError):
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
