"""The numeric core of the systemic-risk index: pure functions on arrays.

Matrices have periods as rows and indicators as columns, **already oriented so that higher
means riskier**.  Formulas: shared reference systemic_risk.md sections 1.1-1.2 (entropy weight,
CRITIC after Diakoulaki et al. 1995, equal variance after Sun and Huang 2016, PCA loadings,
Saaty's AHP with its consistency ratio, CISS after Hollo, Kremer and Lo Duca 2012 with the
recursive empirical CDF of Chavleishvili and Kremer 2025).

Every finite number is accepted: each column is rescaled by a power of two before it is
normalised (exact, and every method here is invariant to a column's scale), so values near the
largest float (1e308) neither overflow nor turn into NaN.  Errors name ``source`` (the data
file when the caller knows it, else the argument).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from greenabs.errors import DataError, Problem

__all__ = [
    "AHP_SCALE",
    "RANDOM_INDEX",
    "ahp_weights",
    "check_judgements",
    "ciss",
    "combine_weights",
    "critic_weights",
    "ecdf",
    "entropy_weights",
    "ewma_correlations",
    "minmax",
    "pca_weights",
    "zscore",
]

FloatArray = npt.NDArray[np.float64]

RANDOM_INDEX = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
}
"""Saaty's random consistency index RI by matrix size (Saaty 1980)."""

AHP_SCALE = (1 / 9, 9.0)
"""Saaty's fundamental scale: a pairwise judgement lies from 1/9 to 9."""


def _as_floats(x: Any, source: str, what: str) -> FloatArray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(source, Problem("", f"{what} needs numbers ({exc})")) from None
    return a


def _scaled(a: FloatArray) -> FloatArray:
    """Each column divided by a power of two near its largest magnitude (afterwards below 2 in
    magnitude): exact (no rounding), and no sum or difference of the column can overflow."""
    if a.size == 0:
        return a
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: nanmax warns
        big = np.nanmax(np.abs(a), axis=0)
    big = np.where(np.isfinite(big) & (big > 0), big, 1.0)
    _, exp = np.frexp(big)  # big = m 2^exp with 0.5 <= m < 1
    out: FloatArray = a / np.ldexp(1.0, exp - 1)  # 2^(exp-1) is finite even for 1.7e308
    return out


def _finite_number(value: Any, name: str, lo: float, hi: float, *, low_open: bool = False) -> float:
    """``value`` as a float in [lo, hi] (or (lo, hi]), else a DataError naming the argument."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    ok = math.isfinite(v) and (lo < v if low_open else lo <= v) and v <= hi
    if not ok:
        span = f"{'(' if low_open else '['}{lo:g}, {hi:g}]"
        raise DataError(f"argument {name}", Problem("", f"must lie in {span} (got {value!r})"))
    return v


def _matrix(
    x: npt.ArrayLike,
    min_rows: int,
    what: str,
    names: list[str] | None,
    source: str = "argument x",
    *,
    allow_missing: bool = False,
) -> FloatArray:
    """The matrix, checked (2-D, enough periods, finite, no constant column) and with each
    column rescaled exactly by a power of two (the weights do not depend on a column's
    scale).  With ``allow_missing`` a column may have missing values (NaN) but needs
    ``min_rows`` observed ones; infinite values are refused either way."""
    a = _as_floats(x, source, what)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] == 0:
        raise DataError(source, Problem("", f"{what} needs a 2-D matrix (periods x indicators)"))
    if names is not None and len(names) != a.shape[1]:
        raise DataError(
            source, Problem("names", f"{len(names)} names for {a.shape[1]} indicator columns")
        )
    if a.shape[0] < min_rows:
        raise DataError(
            source, Problem("", f"{what} needs at least {min_rows} periods, got {a.shape[0]}")
        )
    bad_cells = np.isinf(a) if allow_missing else ~np.isfinite(a)
    if bad_cells.any():
        col = int(np.argmax(bad_cells.any(axis=0)))
        name = names[col] if names else f"column {col}"
        raise DataError(
            source,
            Problem(
                name,
                "has infinite values"
                if allow_missing
                else "has missing or infinite values: fill or drop them with a named method first",
            ),
        )
    if allow_missing:
        seen = np.isfinite(a).sum(axis=0)
        short = np.nonzero(seen < min_rows)[0]
        if short.size:
            name = names[int(short[0])] if names else f"column {int(short[0])}"
            raise DataError(
                source,
                Problem(
                    name, f"{what} needs at least {min_rows} values, got {int(seen[short[0]])}"
                ),
            )
    a = _scaled(a)
    with np.errstate(invalid="ignore"):
        sd = np.nanstd(a, axis=0)
        top = np.nanmax(np.abs(a), axis=0)
    flat = np.nonzero(sd <= 1e-12 * np.maximum(top, 1e-300))[0]
    if flat.size:
        name = names[int(flat[0])] if names else f"column {int(flat[0])}"
        raise DataError(
            source,
            Problem(name, "is constant (zero variance): it carries no information for weighting"),
        )
    return a


def minmax(x: npt.ArrayLike) -> FloatArray:
    """``(x - min) / (max - min)`` per column (a constant column gives 0).  Missing values stay
    missing; infinite ones are refused."""
    a = _as_floats(x, "argument x", "min-max normalisation")
    if np.isinf(a).any():
        raise DataError("argument x", Problem("", "min-max normalisation needs finite numbers"))
    a = _scaled(a)
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanmin(a, axis=0), np.nanmax(a, axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    out: FloatArray = (a - lo) / span
    return out


def zscore(x: npt.ArrayLike) -> FloatArray:
    """``(x - mean) / sd`` per column (population sd; a constant column gives 0).  Missing
    values stay missing; infinite ones are refused."""
    a = _as_floats(x, "argument x", "z-scores")
    if np.isinf(a).any():
        raise DataError("argument x", Problem("", "z-scores need finite numbers"))
    a = _scaled(a)
    with np.errstate(invalid="ignore"):
        sd = np.nanstd(a, axis=0)
        mean = np.nanmean(a, axis=0)
    out: FloatArray = (a - mean) / np.where(sd > 0, sd, 1.0)
    return out


def ecdf(x: npt.ArrayLike, *, recursive: bool = True, burn_in: int = 0) -> FloatArray:
    """Empirical CDF transform of a series: ``r / n`` with ties at their highest rank.

    Recursive (the default, as the CISS revision recommends): the value at ``t`` is ranked only
    among observations up to ``t``, so no later data changes it (no look-ahead).  ``burn_in``
    observations start the ranking: they are ranked among themselves (the first value is no
    longer 1 by construction), every later one recursively.  Missing values stay missing and
    are not counted.
    """
    if isinstance(burn_in, bool) or not isinstance(burn_in, int | np.integer) or burn_in < 0:
        raise DataError(
            "argument burn_in", Problem("", f"must be a whole number >= 0 (got {burn_in!r})")
        )
    a = _as_floats(x, "argument x", "the ECDF")
    if a.ndim != 1:
        raise DataError("argument x", Problem("", "the ECDF needs one series (1-D)"))
    out = np.full(a.shape, np.nan)
    if not recursive:
        ok = np.isfinite(a)
        vals = a[ok]
        out[ok] = np.searchsorted(np.sort(vals), vals, side="right") / vals.size
        return out
    observed = np.nonzero(np.isfinite(a))[0]
    head = observed[: int(burn_in)]
    if head.size:
        window = np.sort(a[head])
        out[head] = np.searchsorted(window, a[head], side="right") / head.size
    seen = [float(v) for v in a[head]]
    for t in observed[int(burn_in) :]:
        v = float(a[t])
        seen.append(v)
        out[t] = np.sum(np.asarray(seen) <= v) / len(seen)
    return out


def entropy_weights(
    x: npt.ArrayLike,
    *,
    shift: float = 1e-4,
    names: list[str] | None = None,
    source: str = "argument x",
    allow_missing: bool = False,
) -> FloatArray:
    """Entropy weights: min-max normalise, ``p = z / sum z``, ``e = -sum p ln p / ln n``,
    ``w = (1 - e) / sum (1 - e)``.  ``shift`` is added before the shares (Chinese practice) so
    that a zero contributes ``0 ln 0 = 0`` smoothly.  With ``allow_missing`` each column is
    measured over its observed values (``n`` its own count)."""
    shift = _finite_number(shift, "shift", 0.0, 1.0)
    a = _matrix(x, 2, "entropy weighting", names, source, allow_missing=allow_missing)
    z = minmax(a) + shift
    p = z / np.nansum(z, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)  # 0 ln 0 := 0 (and a missing value)
    e = -plogp.sum(axis=0) / np.log(np.isfinite(a).sum(axis=0))
    d = np.clip(1.0 - e, 0.0, None)
    if not d.sum() > 0:  # every column as spread out as can be: no column is more informative
        return np.full(a.shape[1], 1.0 / a.shape[1])
    out: FloatArray = d / d.sum()
    return out


def _pairwise_corr(z: FloatArray) -> FloatArray:
    """Pearson correlations over the periods both columns have (at least 3, else 0: a pair
    seen together too rarely counts as uncorrelated); ones on the diagonal."""
    k = z.shape[1]
    r = np.eye(k)
    ok = np.isfinite(z)
    for i in range(k):
        for j in range(i + 1, k):
            both = ok[:, i] & ok[:, j]
            if both.sum() < 3:
                continue
            u, v = z[both, i] - z[both, i].mean(), z[both, j] - z[both, j].mean()
            den = math.sqrt(float(u @ u) * float(v @ v))
            r[i, j] = r[j, i] = float(u @ v) / den if den > 0 else 0.0
    return r


def critic_weights(
    x: npt.ArrayLike,
    *,
    names: list[str] | None = None,
    source: str = "argument x",
    allow_missing: bool = False,
) -> FloatArray:
    """CRITIC weights: on min-max normalised columns, ``C_j = sd_j x sum_k (1 - r_jk)``,
    ``w = C / sum C`` (sample sd).  With ``allow_missing`` sd over each column's observed
    values and correlations over the periods a pair shares."""
    a = _matrix(x, 3, "CRITIC weighting", names, source, allow_missing=allow_missing)
    z = minmax(a)
    sd = np.nanstd(z, axis=0, ddof=1)
    r: FloatArray
    if a.shape[1] == 1:
        r = np.ones((1, 1))
    elif np.isfinite(z).all():
        r = np.asarray(np.corrcoef(z, rowvar=False), dtype=np.float64)
    else:
        r = _pairwise_corr(z)
    c = sd * (1.0 - r).sum(axis=0)
    if c.sum() <= 0:
        return np.full(a.shape[1], 1.0 / a.shape[1])
    out: FloatArray = c / c.sum()
    return out


def pca_weights(
    x: npt.ArrayLike,
    *,
    threshold: float = 0.85,
    names: list[str] | None = None,
    source: str = "argument x",
    allow_missing: bool = False,
) -> FloatArray:
    """PCA weights: eigen-decompose the correlation matrix, keep components up to
    ``threshold`` of the variance, loadings ``a_jk = v_jk sqrt(lambda_k)``, weight each
    indicator by the variance-share-weighted absolute loadings, normalised to sum to one.
    With ``allow_missing`` the correlations are pairwise (negative eigenvalues of the
    resulting matrix count as zero)."""
    threshold = _finite_number(threshold, "threshold", 0.0, 1.0, low_open=True)
    a = _matrix(x, 3, "PCA weighting", names, source, allow_missing=allow_missing)
    if a.shape[1] == 1:
        return np.ones(1)
    z = zscore(a)
    r = np.corrcoef(z, rowvar=False) if np.isfinite(z).all() else _pairwise_corr(z)
    lam, vec = np.linalg.eigh(r)
    order = np.argsort(lam)[::-1]
    lam, vec = np.clip(lam[order], 0.0, None), vec[:, order]
    share = lam / lam.sum()
    keep = min(int(np.searchsorted(np.cumsum(share), threshold) + 1), len(share))
    load = np.abs(vec[:, :keep] * np.sqrt(lam[:keep]))
    w = load @ share[:keep]
    out: FloatArray = w / w.sum()
    return out


def check_judgements(m: FloatArray, cell_name: Callable[[int, int], str], source: str) -> None:
    """A square pairwise matrix holds judgements: positive, on Saaty's scale (1/9 to 9), ones
    on the diagonal, reciprocal.  The error names ``source`` and the first bad cell."""
    lo, hi = AHP_SCALE
    n = m.shape[0]
    for i in range(n):
        for j in range(n):
            cell = cell_name(i, j)
            v = m[i, j]
            if not np.isfinite(v) or v <= 0:
                raise DataError(source, Problem(cell, f"must be a positive number, got {v}"))
            if not lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
                raise DataError(source, Problem(cell, f"{v:g} is outside Saaty's scale (1/9 to 9)"))
            if i == j and abs(v - 1.0) > 1e-9:
                raise DataError(source, Problem(cell, "the diagonal must be 1"))
            if abs(v * m[j, i] - 1.0) > 1e-6:
                raise DataError(source, Problem(cell, f"not reciprocal: {v} x {m[j, i]} != 1"))


def ahp_weights(
    matrix: npt.ArrayLike, *, names: list[str] | None = None, source: str = "argument matrix"
) -> tuple[FloatArray, float]:
    """Weights of a pairwise comparison matrix (principal eigenvector) and its consistency
    ratio ``CR = ((lambda_max - n) / (n - 1)) / RI``.  The matrix must hold judgements on
    Saaty's scale (1/9 to 9) with ``a_ji = 1 / a_ij`` and ones on the diagonal; the error
    names ``source`` and the first bad cell (by ``names``, else by 0-based index)."""
    m = _as_floats(matrix, source, "an AHP matrix")
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise DataError(source, Problem("", f"the AHP matrix must be square (got {m.shape})"))
    n = m.shape[0]
    if names is not None and len(names) != n:
        raise DataError(source, Problem("names", f"{len(names)} names for a {n}x{n} matrix"))
    label = names or [str(i) for i in range(n)]
    check_judgements(m, lambda i, j: f"cell ({label[i]}, {label[j]})", source)
    lam, vec = np.linalg.eig(m)
    k = int(np.argmax(lam.real))
    w = np.abs(vec[:, k].real)
    w = w / w.sum()
    if not (np.isfinite(w).all() and np.isfinite(lam[k].real)):  # bounded entries: defensive
        raise DataError(source, Problem("", "the principal eigenvector could not be computed"))
    if n < 3:
        return w, 0.0
    ci = (lam[k].real - n) / (n - 1)
    ri = RANDOM_INDEX.get(n, 1.49)
    return w, float(ci / ri)


def combine_weights(
    subjective: npt.ArrayLike,
    objective: npt.ArrayLike,
    *,
    alpha: float = 0.5,
    method: str = "linear",
) -> FloatArray:
    """Combine subjective and objective weights: ``linear`` ``alpha s + (1 - alpha) o``, or
    ``multiplicative`` ``s o / sum(s o)`` (the Lagrange-optimal product combination)."""
    s = _as_floats(subjective, "argument subjective", "combining weights")
    o = _as_floats(objective, "argument objective", "combining weights")
    if s.shape != o.shape or s.ndim != 1:
        raise DataError(
            "argument subjective",
            Problem("", f"subjective and objective weights differ in shape ({s.shape}, {o.shape})"),
        )
    for name, v in (("subjective", s), ("objective", o)):
        if not (np.isfinite(v).all() and (v >= 0).all() and v.sum() > 0):
            raise DataError(
                f"argument {name}",
                Problem("", "weights must be finite, non-negative and not all zero"),
            )
    alpha = _finite_number(alpha, "alpha", 0.0, 1.0)
    if method not in ("linear", "multiplicative"):
        raise DataError(
            "argument method",
            Problem("", f"unknown method {method!r} (use linear or multiplicative)"),
        )
    w = s * o if method == "multiplicative" else alpha * s + (1.0 - alpha) * o
    if not w.sum() > 0:
        raise DataError(
            "argument subjective",
            Problem("", "the product of the weights is zero everywhere: nothing to combine"),
        )
    out: FloatArray = w / w.sum()
    return out


def ewma_correlations(s: npt.ArrayLike, *, lam: float = 0.93, centre: float = 0.5) -> FloatArray:
    """Time-varying correlations (T, k, k) of sub-indices by exponentially weighted moving
    averages of the centred values ``s - centre`` (CISS, Hollo et al. 2012, lambda = 0.93).
    The recursion starts from the first observation's cross products."""
    lam = _finite_number(lam, "lam", 0.0, 1.0, low_open=True)
    a = _as_floats(s, "argument s", "EWMA correlations")
    if a.ndim != 2 or a.shape[0] == 0 or not np.isfinite(a).all():
        raise DataError(
            "argument s", Problem("", "needs a finite 2-D matrix (periods x sub-indices)")
        )
    a = a - centre
    t_n, k = a.shape
    cov = np.outer(a[0], a[0])
    out = np.empty((t_n, k, k))
    for t in range(t_n):
        if t:
            cov = lam * cov + (1.0 - lam) * np.outer(a[t], a[t])
        sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
        rho = cov / np.outer(sd, sd)
        np.fill_diagonal(rho, 1.0)
        out[t] = np.clip(rho, -1.0, 1.0)
    return out


def ciss(
    s: npt.ArrayLike, weights: npt.ArrayLike | None = None, *, lam: float = 0.93
) -> tuple[FloatArray, FloatArray]:
    """CISS: ``(w o s_t)' C_t (w o s_t)`` for sub-indices ``s`` in [0, 1] (T, k).

    Returns the index (T,) and the correlations (T, k, k).  Equal weights by default.  The
    index is highest when stress is high in every segment at once and the segments move
    together.
    """
    a = _as_floats(s, "argument s", "the CISS")
    if a.ndim != 2 or a.shape[1] == 0:
        raise DataError("argument s", Problem("", "needs a 2-D matrix (periods x sub-indices)"))
    k = a.shape[1]
    w = (
        np.full(k, 1.0 / k)
        if weights is None
        else _as_floats(weights, "argument weights", "the CISS")
    )
    if w.shape != (k,) or not np.isfinite(w).all():
        raise DataError("argument weights", Problem("", f"needs {k} finite weights"))
    corr = ewma_correlations(a, lam=lam)
    ws = a * w
    out: FloatArray = np.einsum("ti,tij,tj->t", ws, corr, ws)
    return out, corr
