"""Projection kernels for amortising assets: a NumPy reference and a Numba backend.

Both take the same arrays and follow the same monthly order of events (SIFMA Standard Formulas,
section C): interest accrued before the cut-off (``accrued0``) is collected on the first payment
date like any other; then on the balance performing at the start of month ``j``

1. defaults ``D = B * MDR`` leave the performing balance (their accrued interest is lost);
2. interest accrues on the remaining balance, ``B * accrual_rate``;
3. scheduled principal ``P = B * sched_frac`` is due (payment months only);
4. voluntary prepayment ``V = (B - P) * SMM`` is paid with its share of accrued interest;
5. on payment months the accrued interest of the surviving balance is collected.

Loops: months outermost (a state recursion), assets innermost over contiguous arrays so the
inner loop vectorises; scenarios are a leading array axis (NumPy) or a parallel loop (Numba).
Results agree between backends to rounding (sums are taken in a different order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["available_backends", "project_numpy", "select"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Flows = dict[str, FloatArray]
Kernel = Callable[..., tuple[Flows, Flows | None]]

_FIELDS = (
    "begin_balance",
    "interest",
    "scheduled_principal",
    "prepayment",
    "default",
    "end_balance",
)


def project_numpy(
    balance0: FloatArray,
    accrued0: FloatArray,
    age0: IntArray,
    accrual: FloatArray,
    pay: BoolArray,
    sched: FloatArray,
    prepayable: BoolArray,
    smm_vals: FloatArray,
    smm_off: IntArray,
    mdr_vals: FloatArray,
    mdr_off: IntArray,
    mdr_stop: IntArray,
    smm_mult: FloatArray,
    mdr_mult: FloatArray,
    loan_level: bool,
) -> tuple[Flows, Flows | None]:
    """Reference kernel: returns pool flows (S, M) per field and, if asked, loan level (N, M)."""
    n_s = smm_mult.shape[0]
    n_m, n_a = accrual.shape
    bal = np.repeat(balance0[None, :], n_s, axis=0).astype(np.float64)
    acc = np.repeat(accrued0[None, :], n_s, axis=0).astype(np.float64)
    out = {f: np.zeros((n_s, n_m)) for f in _FIELDS}
    lvl = {f: np.zeros((n_a, n_m)) for f in _FIELDS} if loan_level else None
    smm_last, mdr_last = len(smm_vals) - 1, len(mdr_vals) - 1
    prep = prepayable.astype(np.float64)
    sm = smm_mult[:, None]
    dm = mdr_mult[:, None]
    for j in range(n_m):
        smm_i = smm_vals[np.minimum(smm_off + j, smm_last)] * prep
        mdr_i = mdr_vals[np.minimum(mdr_off + j, mdr_last)]
        mdr_i = np.where(age0 + j + 1 > mdr_stop, 0.0, mdr_i)
        smm = np.minimum(smm_i[None, :] * sm, 1.0)
        mdr = np.minimum(mdr_i[None, :] * dm, 1.0)
        begin = bal
        dflt = bal * mdr
        bal = bal - dflt
        acc = acc * (1.0 - mdr) + bal * accrual[j]
        f = sched[j]
        sp = bal * f
        pp = (bal - sp) * smm
        share = np.where(pay[j], 1.0, (1.0 - f) * smm)
        intr = acc * share
        acc = acc - intr
        bal = bal - sp - pp
        out["begin_balance"][:, j] = begin.sum(axis=1)
        out["interest"][:, j] = intr.sum(axis=1)
        out["scheduled_principal"][:, j] = sp.sum(axis=1)
        out["prepayment"][:, j] = pp.sum(axis=1)
        out["default"][:, j] = dflt.sum(axis=1)
        out["end_balance"][:, j] = bal.sum(axis=1)
        if lvl is not None:
            lvl["begin_balance"][:, j] = begin[0]
            lvl["interest"][:, j] = intr[0]
            lvl["scheduled_principal"][:, j] = sp[0]
            lvl["prepayment"][:, j] = pp[0]
            lvl["default"][:, j] = dflt[0]
            lvl["end_balance"][:, j] = bal[0]
    return out, lvl


_numba_kernel: Any = None


def _build_numba() -> Any:
    import numba

    @numba.njit(parallel=True, fastmath=False, cache=True)
    def kernel(
        balance0: Any,
        accrued0: Any,
        age0: Any,
        accrual: Any,
        pay: Any,
        sfrac: Any,
        prepayable: Any,
        smm_vals: Any,
        smm_off: Any,
        mdr_vals: Any,
        mdr_off: Any,
        mdr_stop: Any,
        smm_mult: Any,
        mdr_mult: Any,
        out: Any,
        lvl: Any,
        loan_level: bool,
    ) -> None:  # pragma: no cover - compiled
        n_s = smm_mult.shape[0]
        n_m, n_a = accrual.shape
        smm_last = smm_vals.shape[0] - 1
        mdr_last = mdr_vals.shape[0] - 1
        for s in numba.prange(n_s):
            bal = balance0.copy()
            acc = accrued0.copy()
            for j in range(n_m):
                t_beg = 0.0
                t_int = 0.0
                t_sp = 0.0
                t_pp = 0.0
                t_d = 0.0
                t_end = 0.0
                for i in range(n_a):
                    b = bal[i]
                    si = min(smm_off[i] + j, smm_last)
                    smm = smm_vals[si] * smm_mult[s] if prepayable[i] else 0.0
                    smm = min(smm, 1.0)
                    mi = min(mdr_off[i] + j, mdr_last)
                    mdr = 0.0 if age0[i] + j + 1 > mdr_stop[i] else mdr_vals[mi]
                    mdr = min(mdr * mdr_mult[s], 1.0)
                    d = b * mdr
                    b2 = b - d
                    a = acc[i] * (1.0 - mdr) + b2 * accrual[j, i]
                    f = sfrac[j, i]
                    sp = b2 * f
                    pp = (b2 - sp) * smm
                    share = 1.0 if pay[j, i] else (1.0 - f) * smm
                    it = a * share
                    acc[i] = a - it
                    e = b2 - sp - pp
                    bal[i] = e
                    t_beg += b
                    t_int += it
                    t_sp += sp
                    t_pp += pp
                    t_d += d
                    t_end += e
                    if loan_level and s == 0:
                        lvl[0, i, j] = b
                        lvl[1, i, j] = it
                        lvl[2, i, j] = sp
                        lvl[3, i, j] = pp
                        lvl[4, i, j] = d
                        lvl[5, i, j] = e
                out[0, s, j] = t_beg
                out[1, s, j] = t_int
                out[2, s, j] = t_sp
                out[3, s, j] = t_pp
                out[4, s, j] = t_d
                out[5, s, j] = t_end

    return kernel


def project_numba(
    balance0: FloatArray,
    accrued0: FloatArray,
    age0: IntArray,
    accrual: FloatArray,
    pay: BoolArray,
    sched: FloatArray,
    prepayable: BoolArray,
    smm_vals: FloatArray,
    smm_off: IntArray,
    mdr_vals: FloatArray,
    mdr_off: IntArray,
    mdr_stop: IntArray,
    smm_mult: FloatArray,
    mdr_mult: FloatArray,
    loan_level: bool,
) -> tuple[Flows, Flows | None]:
    """Numba kernel (parallel over scenarios); same contract as :func:`project_numpy`."""
    global _numba_kernel
    if _numba_kernel is None:
        _numba_kernel = _build_numba()
    n_s = smm_mult.shape[0]
    n_m, n_a = accrual.shape
    out = np.zeros((len(_FIELDS), n_s, n_m))
    lvl = np.zeros((len(_FIELDS), n_a, n_m) if loan_level else (len(_FIELDS), 1, 1))
    _numba_kernel(
        np.ascontiguousarray(balance0, dtype=np.float64),
        np.ascontiguousarray(accrued0, dtype=np.float64),
        np.ascontiguousarray(age0, dtype=np.int64),
        np.ascontiguousarray(accrual),
        np.ascontiguousarray(pay),
        np.ascontiguousarray(sched),
        np.ascontiguousarray(prepayable),
        np.ascontiguousarray(smm_vals, dtype=np.float64),
        np.ascontiguousarray(smm_off, dtype=np.int64),
        np.ascontiguousarray(mdr_vals, dtype=np.float64),
        np.ascontiguousarray(mdr_off, dtype=np.int64),
        np.ascontiguousarray(mdr_stop, dtype=np.int64),
        np.ascontiguousarray(smm_mult, dtype=np.float64),
        np.ascontiguousarray(mdr_mult, dtype=np.float64),
        out,
        lvl,
        loan_level,
    )
    pool = {f: out[k] for k, f in enumerate(_FIELDS)}
    level = {f: lvl[k] for k, f in enumerate(_FIELDS)} if loan_level else None
    return pool, level


def available_backends() -> list[str]:
    """Backends that can run here: ``numpy`` always, ``numba`` when it is installed."""
    names = ["numpy"]
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        return names
    return [*names, "numba"]


def select(backend: str) -> Kernel:
    """The kernel for a backend name (``numpy``, ``numba`` or ``auto``)."""
    if backend == "auto":
        backend = "numba" if "numba" in available_backends() else "numpy"
    if backend == "numpy":
        return project_numpy
    if backend == "numba":
        if "numba" not in available_backends():
            from greenabs.errors import Problem, SpecError

            raise SpecError("<argument>", Problem("backend", "numba is not installed"))
        return project_numba
    from greenabs.errors import Problem, SpecError

    raise SpecError("<argument>", Problem("backend", f"unknown backend {backend!r}"))
