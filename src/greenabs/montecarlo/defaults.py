"""Correlated default times: cumulative default curves, factor models and the month search.

Every obligor (an asset, a revenue asset's payer or operator, a support's provider) is an
*item* with a cumulative default probability curve ``P[c, t]`` (the probability of default by
the end of month ``t + 1``, from the deal's default assumption) and a place in the factor
structure: its common correlation ``rho``, its group and the group correlation
``rho_g >= rho``.  Conditional on a scenario's factors the items default independently, so a
scenario is a table of conditional default curves ``F[k, t]``, one per *combination* ``k`` of
curve and factor loading, and one uniform ``U_i`` per item: item ``i`` has defaulted by month
``t + 1`` when ``U_i < F[k_i, t]``.  This is the one-factor copula of the latent variable
``X_i = sqrt(rho) Z + sqrt(rho_g - rho) Z_g + sqrt(1 - rho_g) e_i`` (``e_i = Phi^-1(U_i)``)
written with the factors integrated first:

* Gaussian, one period: ``F = Phi((Phi^-1(P) - A) / sqrt(1 - rho_g))``, ``A = sqrt(rho) Z +
  sqrt(rho_g - rho) Z_g``;
* Student t: the latent variable divided by ``sqrt(W / nu)``, ``W ~ chi2(nu)`` per scenario:
  ``F = Phi((T_nu^-1(P) sqrt(W / nu) - A) / sqrt(1 - rho_g))``;
* annual factors: new factors each year; the year's conditional default probability
  ``p_y = Phi((Phi^-1(q_y) - A_y) / sqrt(1 - rho_g))`` of the unconditional one ``q_y``
  (given survival to the year's start), spread over the year's months by raising the
  monthly survival to the power ``log(1 - p_y) / log(1 - q_y)``.  With independent years the
  unconditional curve is kept exactly; defaults cluster in years with a low factor.

The search (first month with ``U < F``) has a NumPy reference, a Numba kernel and a CUDA kernel
(``_cuda.py``) that give the same integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special, stats

__all__ = [
    "FactorDraw",
    "ItemSet",
    "conditional_curves",
    "cumulative",
    "default_months",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def cumulative(hazards: FloatArray) -> FloatArray:
    """Cumulative default probabilities (..., T) from monthly hazards (..., T)."""
    h = np.clip(hazards, 0.0, 1.0)
    out: FloatArray = -np.expm1(np.cumsum(np.log1p(-np.minimum(h, 1.0 - 1e-16)), axis=-1))
    return np.where(np.maximum.accumulate(h >= 1.0, axis=-1), 1.0, out)


@dataclass(frozen=True, eq=False)
class ItemSet:
    """Obligors in the factor structure.

    ``curves`` (C, T) cumulative default probabilities; per combination ``k``: ``curve[k]``
    its row of ``curves``, ``group[k]`` its group (-1: none), ``rho[k]`` and ``rho_g[k]``;
    ``combo`` (n_items,) each item's combination.
    """

    curves: FloatArray
    curve: IntArray
    group: IntArray
    rho: FloatArray
    rho_g: FloatArray
    combo: IntArray
    n_groups: int

    @property
    def n_months(self) -> int:
        """Months T of the curves."""
        return int(self.curves.shape[1])

    @classmethod
    def build(
        cls,
        curves: FloatArray,
        curve_of: IntArray,
        group_of: IntArray,
        rho_of: FloatArray,
        rho_g_of: FloatArray,
    ) -> ItemSet:
        """Items given per item: curve row, group (-1 none), correlations."""
        keys = np.stack(
            [curve_of.astype(np.float64), group_of.astype(np.float64), rho_of, rho_g_of], axis=1
        )
        uniq, combo = np.unique(keys, axis=0, return_inverse=True)
        n_groups = int(group_of.max(initial=-1)) + 1
        return cls(
            curves=np.ascontiguousarray(curves, dtype=np.float64),
            curve=uniq[:, 0].astype(np.int64),
            group=uniq[:, 1].astype(np.int64),
            rho=uniq[:, 2].copy(),
            rho_g=uniq[:, 3].copy(),
            combo=combo.reshape(-1).astype(np.int64),
            n_groups=n_groups,
        )


@dataclass(frozen=True, eq=False)
class FactorDraw:
    """The factors of S scenarios: common ``z`` (S, Y), group ``zg`` (S, G, Y) and the t
    copula's ``w`` (S,) (``None`` for the Gaussian copula), Y = 1 for one period."""

    z: FloatArray
    zg: FloatArray
    w: FloatArray | None
    nu: float


def _systematic(items: ItemSet, f: FactorDraw) -> FloatArray:
    """``A`` (S, K, Y): each combination's systematic part of the latent variable."""
    a = np.sqrt(items.rho)[None, :, None] * f.z[:, None, :]
    grouped = items.group >= 0
    if grouped.any():
        g = np.where(grouped, items.group, 0)
        load = np.sqrt(np.maximum(items.rho_g - items.rho, 0.0)) * grouped
        a = a + load[None, :, None] * f.zg[:, g, :]
    out: FloatArray = a
    return out


def conditional_curves(items: ItemSet, f: FactorDraw, periods: str) -> FloatArray:
    """Conditional cumulative default curves ``F`` (S, K, T) of each combination."""
    a = _systematic(items, f)
    scale = np.sqrt(1.0 - items.rho_g)[None, :, None]
    p = items.curves[items.curve]  # (K, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        if periods == "one":
            if f.w is None:
                q = special.ndtri(p)[None, :, :]
            else:
                q = stats.t.ppf(p, f.nu)[None, :, :] * np.sqrt(f.w / f.nu)[:, None, None]
            out: FloatArray = special.ndtr((q - a[:, :, :1]) / scale)
            return np.where(p[None] >= 1.0, 1.0, np.where(p[None] <= 0.0, 0.0, out))
        return _annual(p, a, scale, f)


def _annual(p: FloatArray, a: FloatArray, scale: FloatArray, f: FactorDraw) -> FloatArray:
    """Annual factors: each year's conditional default probability, spread over its months."""
    n_k, n_t = p.shape
    surv = 1.0 - p
    n_y = -(-n_t // 12)
    out = np.empty((a.shape[0], n_k, n_t))
    start = np.ones((a.shape[0], n_k))  # conditional survival at the year's start
    for y in range(n_y):
        t0, t1 = 12 * y, min(12 * y + 12, n_t)
        s0 = surv[:, t0 - 1] if y else np.ones(n_k)
        rel = np.divide(
            surv[:, t0:t1], s0[:, None], out=np.zeros((n_k, t1 - t0)), where=s0[:, None] > 0
        )
        q = 1.0 - rel[:, -1]  # unconditional default probability of the year
        ay = a[:, :, min(y, a.shape[2] - 1)]
        if f.w is None:
            thr = special.ndtri(q)[None, :]
        else:
            thr = stats.t.ppf(q, f.nu)[None, :] * np.sqrt(f.w / f.nu)[:, None]
        pc = np.where(
            q >= 1.0, 1.0, np.where(q <= 0.0, 0.0, special.ndtr((thr - ay) / scale[:, :, 0]))
        )
        # conditional monthly survival = unconditional ** kappa; kappa = log(1 - pc) / log(1 - q)
        lq = np.log1p(-np.minimum(q, 1.0 - 1e-16))
        kappa = np.divide(
            np.log1p(-np.minimum(pc, 1.0 - 1e-16)),
            lq[None, :],
            out=np.zeros_like(pc),
            where=lq[None, :] < 0,
        )
        with np.errstate(divide="ignore"):
            lrel = np.log(rel)  # (K, months)
        cond = start[:, :, None] * np.exp(kappa[:, :, None] * lrel[None, :, :])
        cond = np.where(rel[None] <= 0.0, 0.0, cond)
        out[:, :, t0:t1] = 1.0 - cond
        start = cond[:, :, -1]
    return out


def _search_numpy(curves: FloatArray, u: FloatArray, combo: IntArray) -> IntArray:
    n_s, n_items = u.shape
    n_t = curves.shape[2]
    out = np.zeros((n_s, n_items), dtype=np.int64)
    members = [np.flatnonzero(combo == k) for k in range(curves.shape[1])]
    for s in range(n_s):
        for k, idx in enumerate(members):
            if idx.size:
                pos = np.searchsorted(curves[s, k], u[s, idx], side="right")
                out[s, idx] = np.where(pos < n_t, pos + 1, 0)
    return out


def default_months(
    curves: FloatArray, u: FloatArray, combo: IntArray, backend: str = "numpy"
) -> IntArray:
    """Each item's default month (1-based, 0: not within the curves' months) in each scenario:
    the first month ``t`` with ``u[s, i] < curves[s, combo[i], t - 1]``.

    ``curves`` (S, K, T) non-decreasing in T; ``u`` (S, n_items) uniforms.  ``backend``
    ``numba`` runs the compiled search, ``cupy`` the GPU kernel (the same integers as the
    NumPy reference on each).
    """
    if backend == "cupy":
        from greenabs.montecarlo import _cuda

        found: IntArray = _cuda.search(curves, u, combo)
        return found
    if backend == "numba":
        from greenabs.montecarlo import _numba

        out: IntArray = _numba.search(
            np.ascontiguousarray(curves), np.ascontiguousarray(u), np.ascontiguousarray(combo)
        )
        return out
    return _search_numpy(curves, u, combo)


def large_pool_multipliers(
    items: ItemSet, weights: FloatArray, f: FactorDraw, periods: str
) -> FloatArray:
    """Monthly default-rate multipliers (S, T) of the large-pool option: the pool's
    conditional monthly default rate (the balance-weighted conditional curves of the items)
    over its unconditional one; 1 where the unconditional rate is 0."""
    cond = conditional_curves(items, f, periods)  # (S, K, T)
    w = np.bincount(items.combo, weights=weights, minlength=cond.shape[1])
    w = w / w.sum() if w.sum() > 0 else w
    pool_c = np.einsum("skt,k->st", cond, w)
    pool_u = items.curves[items.curve].T @ w  # (T,)

    def hazard(cum: Any) -> Any:
        prev = np.concatenate([np.zeros_like(cum[..., :1]), cum[..., :-1]], axis=-1)
        return np.divide(cum - prev, 1.0 - prev, out=np.zeros_like(cum), where=prev < 1.0)

    hu = hazard(pool_u)
    hc = hazard(pool_c)
    out: FloatArray = np.divide(hc, hu[None, :], out=np.ones_like(hc), where=hu[None, :] > 0)
    return out
