"""The numeric core of the systemic-risk index: pure functions on arrays.

Matrices have periods as rows and indicators as columns, **already oriented so that higher
means riskier**.  Formulas: shared reference systemic_risk.md sections 1.1-1.2 (entropy weight,
CRITIC after Diakoulaki et al. 1995, equal variance after Sun and Huang 2016, PCA loadings,
Saaty's AHP with its consistency ratio, CISS after Hollo, Kremer and Lo Duca 2012 with the
recursive empirical CDF of Chavleishvili and Kremer 2025).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from greenabs.errors import DataError, Problem

__all__ = [
    "RANDOM_INDEX",
    "ahp_weights",
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


def _matrix(x: npt.ArrayLike, min_rows: int, what: str, names: list[str] | None) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise DataError(
            "<matrix>", Problem("", f"{what} needs a 2-D matrix (periods x indicators)")
        )
    if a.shape[0] < min_rows:
        raise DataError(
            "<matrix>", Problem("", f"{what} needs at least {min_rows} periods, got {a.shape[0]}")
        )
    if not np.isfinite(a).all():
        col = int(np.argmax(~np.isfinite(a).all(axis=0)))
        name = names[col] if names else f"column {col}"
        raise DataError(
            "<matrix>",
            Problem(
                name, "has missing or infinite values: fill or drop them with a named method first"
            ),
        )
    sd = a.std(axis=0)
    flat = np.nonzero(sd <= 1e-12 * np.maximum(np.abs(a).max(axis=0), 1.0))[0]
    if flat.size:
        name = names[int(flat[0])] if names else f"column {int(flat[0])}"
        raise DataError(
            "<matrix>",
            Problem(name, "is constant (zero variance): it carries no information for weighting"),
        )
    return a


def minmax(x: npt.ArrayLike) -> FloatArray:
    """``(x - min) / (max - min)`` per column."""
    a = np.asarray(x, dtype=np.float64)
    lo, hi = np.nanmin(a, axis=0), np.nanmax(a, axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    out: FloatArray = (a - lo) / span
    return out


def zscore(x: npt.ArrayLike) -> FloatArray:
    """``(x - mean) / sd`` per column (population sd)."""
    a = np.asarray(x, dtype=np.float64)
    sd = np.nanstd(a, axis=0)
    out: FloatArray = (a - np.nanmean(a, axis=0)) / np.where(sd > 0, sd, 1.0)
    return out


def ecdf(x: npt.ArrayLike, *, recursive: bool = True) -> FloatArray:
    """Empirical CDF transform of a series: ``r / n`` with ties at their highest rank.

    Recursive (the default, as the CISS revision recommends): the value at ``t`` is ranked only
    among observations up to ``t``, so no later data changes it (no look-ahead).  Missing
    values stay missing and are not counted.
    """
    a = np.asarray(x, dtype=np.float64)
    out = np.full(a.shape, np.nan)
    if not recursive:
        ok = np.isfinite(a)
        vals = a[ok]
        out[ok] = np.searchsorted(np.sort(vals), vals, side="right") / vals.size
        return out
    seen: list[float] = []
    for t, v in enumerate(a):
        if not np.isfinite(v):
            continue
        seen.append(float(v))
        out[t] = np.sum(np.asarray(seen) <= v) / len(seen)
    return out


def entropy_weights(
    x: npt.ArrayLike, *, shift: float = 1e-4, names: list[str] | None = None
) -> FloatArray:
    """Entropy weights: min-max normalise, ``p = z / sum z``, ``e = -sum p ln p / ln n``,
    ``w = (1 - e) / sum (1 - e)``.  ``shift`` is added before the shares (Chinese practice) so
    that a zero contributes ``0 ln 0 = 0`` smoothly."""
    a = _matrix(x, 2, "entropy weighting", names)
    z = minmax(a) + shift
    p = z / z.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)  # 0 ln 0 := 0
    e = -plogp.sum(axis=0) / np.log(a.shape[0])
    d = 1.0 - e
    out: FloatArray = d / d.sum()
    return out


def critic_weights(x: npt.ArrayLike, *, names: list[str] | None = None) -> FloatArray:
    """CRITIC weights: on min-max normalised columns, ``C_j = sd_j x sum_k (1 - r_jk)``,
    ``w = C / sum C`` (sample sd)."""
    a = _matrix(x, 3, "CRITIC weighting", names)
    z = minmax(a)
    sd = z.std(axis=0, ddof=1)
    r = np.corrcoef(z, rowvar=False) if a.shape[1] > 1 else np.ones((1, 1))
    c = sd * (1.0 - r).sum(axis=0)
    if c.sum() <= 0:
        return np.full(a.shape[1], 1.0 / a.shape[1])
    out: FloatArray = c / c.sum()
    return out


def pca_weights(
    x: npt.ArrayLike, *, threshold: float = 0.85, names: list[str] | None = None
) -> FloatArray:
    """PCA weights: eigen-decompose the correlation matrix, keep components up to
    ``threshold`` of the variance, loadings ``a_jk = v_jk sqrt(lambda_k)``, weight each
    indicator by the variance-share-weighted absolute loadings, normalised to sum to one."""
    a = _matrix(x, 3, "PCA weighting", names)
    if a.shape[1] == 1:
        return np.ones(1)
    r = np.corrcoef(zscore(a), rowvar=False)
    lam, vec = np.linalg.eigh(r)
    order = np.argsort(lam)[::-1]
    lam, vec = np.clip(lam[order], 0.0, None), vec[:, order]
    share = lam / lam.sum()
    keep = int(np.searchsorted(np.cumsum(share), threshold) + 1)
    load = np.abs(vec[:, :keep] * np.sqrt(lam[:keep]))
    w = load @ share[:keep]
    out: FloatArray = w / w.sum()
    return out


def ahp_weights(
    matrix: npt.ArrayLike, *, names: list[str] | None = None
) -> tuple[FloatArray, float]:
    """Weights of a pairwise comparison matrix (principal eigenvector) and its consistency
    ratio ``CR = ((lambda_max - n) / (n - 1)) / RI``.  The matrix must be positive with
    ``a_ji = 1 / a_ij`` and ones on the diagonal; the error names the first bad cell."""
    m = np.asarray(matrix, dtype=np.float64)
    n = m.shape[0]
    label = names or [str(i) for i in range(n)]
    if m.ndim != 2 or m.shape[1] != n:
        raise DataError("<ahp>", Problem("", f"the AHP matrix must be square (got {m.shape})"))
    for i in range(n):
        for j in range(n):
            cell = f"cell ({label[i]}, {label[j]})"
            if not np.isfinite(m[i, j]) or m[i, j] <= 0:
                raise DataError("<ahp>", Problem(cell, f"must be a positive number, got {m[i, j]}"))
            if i == j and abs(m[i, j] - 1.0) > 1e-9:
                raise DataError("<ahp>", Problem(cell, "the diagonal must be 1"))
            if abs(m[i, j] * m[j, i] - 1.0) > 1e-6:
                raise DataError(
                    "<ahp>", Problem(cell, f"not reciprocal: {m[i, j]} x {m[j, i]} != 1")
                )
    lam, vec = np.linalg.eig(m)
    k = int(np.argmax(lam.real))
    w = np.abs(vec[:, k].real)
    w = w / w.sum()
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
    s = np.asarray(subjective, dtype=np.float64)
    o = np.asarray(objective, dtype=np.float64)
    if s.shape != o.shape:
        raise DataError(
            "<weights>", Problem("", "subjective and objective weights differ in length")
        )
    w = s * o if method == "multiplicative" else alpha * s + (1.0 - alpha) * o
    out: FloatArray = w / w.sum()
    return out


def ewma_correlations(s: npt.ArrayLike, *, lam: float = 0.93, centre: float = 0.5) -> FloatArray:
    """Time-varying correlations (T, k, k) of sub-indices by exponentially weighted moving
    averages of the centred values ``s - centre`` (CISS, Hollo et al. 2012, lambda = 0.93).
    The recursion starts from the first observation's cross products."""
    a = np.asarray(s, dtype=np.float64) - centre
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
    a = np.asarray(s, dtype=np.float64)
    k = a.shape[1]
    w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64)
    corr = ewma_correlations(a, lam=lam)
    ws = a * w
    out: FloatArray = np.einsum("ti,tij,tj->t", ws, corr, ws)
    return out, corr
