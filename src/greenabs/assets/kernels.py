"""Projection kernels for amortising assets: a NumPy reference, a Numba backend (and a CuPy
one in :mod:`greenabs.assets.kernels_cuda`).

All take the same arrays and follow the same monthly order of events (SIFMA Standard
Formulas, section C).  Interest accrued before the cut-off (``accrued0``) is collected on the first
payment like any other; then, on the balance performing at the start of month ``j``:

0. (with delinquency) balance that went delinquent ``dq_lag`` months ago comes back: a
   ``cure`` share to the performing balance, the rest defaults; then a monthly ``mdq`` share of
   the performing balance goes delinquent and pays nothing (its accrued interest is lost);
1. defaults ``D = B * MDR`` leave the performing balance (their accrued interest is lost);
2. interest accrues on the remaining balance, ``B * accrual_rate``;
3. scheduled principal ``P = B * sched_frac`` is due (payment months only);
4. voluntary prepayment ``V = (B - P) * SMM`` is paid with its share of accrued interest;
5. on payment months the accrued interest of the surviving balance is collected.

A block's schedule comes in one of two forms.  *Parametric* (standard loans): per-asset payment
step, amortisation code and rate (fixed, or a monthly path), from which each month's row is
computed on the fly, so no (month x asset) matrix is ever built.  *Tabulated* (leases,
receivables, projected vectors): (month x asset) matrices of accrual rate, payment flag and
scheduled fraction.

Loops.  NumPy: months outermost (a state recursion), each month's schedule row computed once
and applied to an (S, N) state array.  Numba: loans in cache-sized blocks; for each block the
schedule tables are computed once (in parallel over loans), then every scenario runs through
the block's months in parallel, its state in cache.  CuPy: one thread per (loan, scenario),
state in registers.  Both carry a level-pay loan's ``(1 + r)^n`` as a running quotient, so
``pow`` runs once per loan (each month only when its rate floats).  Results agree
between backends to rounding (sums run in a different order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["KernelInput", "available_backends", "project"]

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
)
"""Flows per month; balances (begin, end, delinquent) include delinquent, undefaulted assets."""
LEVEL, LINEAR, INTEREST_ONLY, BULLET = 0, 1, 2, 3


@dataclass(frozen=True, eq=False)
class KernelInput:
    """Everything a kernel reads, as contiguous arrays (N assets, M months, S scenarios).

    Parametric schedule: ``step``, ``code`` (N,) and ``rates`` (R, N) with R = 1 (fixed) or M.
    Tabulated schedule: ``tab_accrual``, ``tab_frac`` (M, N) and ``tab_pay`` (M, N).
    Unused arrays of the other form are empty.  Delinquency: a monthly rate ``mdq`` of the
    performing balance goes delinquent; ``dq_lag`` months later a ``cure`` share returns to
    performing and the rest defaults (``dq_lag = 0``: no delinquency).
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


def _row(k: KernelInput, j: int) -> tuple[FloatArray, BoolArray, FloatArray]:
    """Accrual rate, payment flag and scheduled fraction of month ``j`` (each (N,)).

    Past maturity (reached only by balance cured from delinquency) all that is left is due.
    """
    if k.tabulated:
        if j >= k.tab_frac.shape[0]:
            n = k.balance0.shape[0]
            return np.zeros(n), np.ones(n, dtype=np.bool_), np.ones(n)
        return k.tab_accrual[j], k.tab_pay[j], k.tab_frac[j]
    age = k.age0 + (j + 1)
    left = k.term - age  # months after this one
    alive = left >= 0
    at_maturity = left == 0
    r = k.rates[min(j, k.rates.shape[0] - 1)]
    pay = np.where(k.code == BULLET, at_maturity, alive & (age % k.step == 0))
    n = np.maximum(left // k.step + 1, 1)
    rp = r * k.step / 12.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        level = np.where(rp > 1e-12, rp / ((1.0 + rp) ** n - 1.0), 1.0 / n)
    frac = np.where(k.code == LEVEL, level, np.where(k.code == LINEAR, 1.0 / n, 0.0))
    frac = np.where(pay, np.where(at_maturity, 1.0, frac), 0.0)
    past = ~alive
    return np.where(alive, r / 12.0, 0.0), pay | past, np.where(past, 1.0, frac)


def project_numpy(k: KernelInput, loan_level: bool) -> tuple[Flows, Flows | None]:
    """Reference kernel: pool flows (S, M) per field and, if asked, loan level (N, M)."""
    n_s, n_m, n_a = k.smm_mult.shape[0], k.n_months, k.balance0.shape[0]
    bal = np.repeat(k.balance0[None, :], n_s, axis=0).astype(np.float64)
    acc = np.repeat(k.accrued0[None, :], n_s, axis=0).astype(np.float64)
    out = {f: np.zeros((n_s, n_m)) for f in FIELDS}
    lvl = {f: np.zeros((n_a, n_m)) for f in FIELDS} if loan_level else None
    smm_last, mdr_last = len(k.smm_vals) - 1, len(k.mdr_vals) - 1
    prep = k.prepayable.astype(np.float64)
    sm, dm = k.smm_mult[:, None], k.mdr_mult[:, None]
    lag = k.dq_lag if k.mdq > 0 else 0
    ring = np.zeros((lag, n_s, n_a)) if lag else None
    dq_bal = np.zeros((n_s, n_a))
    for j in range(n_m):
        accrual, pay, f = _row(k, j)
        smm_i = k.smm_vals[np.minimum(k.smm_off + j, smm_last)] * prep
        mdr_i = k.mdr_vals[np.minimum(k.mdr_off + j, mdr_last)]
        mdr_i = np.where(k.age0 + j + 1 > k.mdr_stop, 0.0, mdr_i)
        smm = np.minimum(smm_i[None, :] * sm, 1.0)
        mdr = np.minimum(mdr_i[None, :] * dm, 1.0)
        begin = bal + dq_bal
        dflt = bal * mdr
        bal = bal - dflt
        acc = acc * (1.0 - mdr)
        if ring is not None:
            back = ring[j % lag]
            dflt = dflt + back * (1.0 - k.cure)
            new_dq = bal * k.mdq
            acc = acc * (1.0 - k.mdq)
            bal = bal - new_dq + back * k.cure
            dq_bal = dq_bal - back + new_dq
            ring[j % lag] = new_dq
        acc = acc + bal * accrual
        sp = bal * f
        pp = (bal - sp) * smm
        intr = acc * np.where(pay, 1.0, (1.0 - f) * smm)
        acc = acc - intr
        bal = bal - sp - pp
        for name, arr in zip(
            FIELDS, (begin, intr, sp, pp, dflt, bal + dq_bal, dq_bal), strict=True
        ):
            out[name][:, j] = arr.sum(axis=1)
            if lvl is not None:
                lvl[name][:, j] = arr[0]
    return out, lvl


_numba_kernel: Any = None
BLOCK = 128
"""Loans per block in the Numba kernel: a block's schedule tables (about 40 bytes per loan and
month) stay in a core's cache while every scenario runs through them."""


def _build_numba() -> Any:
    import numba

    @numba.njit(parallel=True, fastmath={"reassoc", "contract", "nsz"}, cache=True)
    def kernel(  # pragma: no cover - compiled
        n_m: int,
        tabulated: bool,
        balance0: Any,
        accrued0: Any,
        age0: Any,
        term: Any,
        prepayable: Any,
        step: Any,
        code: Any,
        rates: Any,
        tab_accrual: Any,
        tab_pay: Any,
        tab_frac: Any,
        smm_vals: Any,
        smm_off: Any,
        mdr_vals: Any,
        mdr_off: Any,
        mdr_stop: Any,
        smm_mult: Any,
        mdr_mult: Any,
        mdq: float,
        dq_lag: int,
        cure: float,
        out: Any,
        lvl: Any,
        loan_level: bool,
    ) -> None:
        n_s = smm_mult.shape[0]
        n_a = balance0.shape[0]
        smm_last = smm_vals.shape[0] - 1
        mdr_last = mdr_vals.shape[0] - 1
        lag = dq_lag if mdq > 0.0 else 0
        floating = rates.shape[0] > 1
        for start in range(0, n_a, BLOCK):
            stop = min(start + BLOCK, n_a)
            nb = stop - start
            # 1. the block's schedule and base curve rates, once for all scenarios
            accr_t = np.empty((n_m, nb))
            frac_t = np.empty((n_m, nb))
            pay_t = np.empty((n_m, nb))  # 1.0 on payment months, else 0.0
            smm_t = np.empty((n_m, nb))
            mdr_t = np.empty((n_m, nb))
            for ii in numba.prange(nb):
                i = start + ii
                growth = -1.0  # (1 + r)^n at the next payment; -1: not yet known
                for j in range(n_m):
                    age = age0[i] + j + 1
                    if tabulated:
                        if j >= tab_frac.shape[0]:  # past the schedule: all left is due
                            accr, payf, frac = 0.0, True, 1.0
                        else:
                            accr, payf, frac = tab_accrual[j, i], tab_pay[j, i], tab_frac[j, i]
                    else:
                        left = term[i] - age
                        r = rates[min(j, rates.shape[0] - 1), i]
                        if left < 0:  # past maturity: all that is left is due
                            accr, payf, frac = 0.0, True, 1.0
                        else:
                            accr = r / 12.0
                            st = step[i]
                            payf = left == 0 if code[i] == 3 else (st == 1 or age % st == 0)
                            if not payf:
                                frac = 0.0
                            elif left == 0:
                                frac = 1.0
                            else:
                                n = left // st + 1
                                if code[i] == 0:
                                    rp = r * st / 12.0
                                    if rp > 1e-12:
                                        if floating or growth < 0.0:
                                            growth = (1.0 + rp) ** n
                                        frac = rp / (growth - 1.0)
                                        growth /= 1.0 + rp  # one payment fewer next time
                                    else:
                                        frac = 1.0 / n
                                elif code[i] == 1:
                                    frac = 1.0 / n
                                else:
                                    frac = 0.0
                    accr_t[j, ii] = accr
                    pay_t[j, ii] = 1.0 if payf else 0.0
                    frac_t[j, ii] = frac
                    smm_t[j, ii] = smm_vals[min(smm_off[i] + j, smm_last)] if prepayable[i] else 0.0
                    mdr_t[j, ii] = (
                        0.0 if age > mdr_stop[i] else mdr_vals[min(mdr_off[i] + j, mdr_last)]
                    )
            # 2. every scenario through the block's months, in parallel
            for s in numba.prange(n_s):
                bal = balance0[start:stop].copy()
                acc = accrued0[start:stop].copy()
                dqb = np.zeros(nb)
                ring = np.zeros((max(lag, 1), nb))
                sm = smm_mult[s]
                dm = mdr_mult[s]
                if lag == 0 and not (loan_level and s == 0):
                    # the common case without delinquency or loan-level capture: a branchless
                    # loop the compiler vectorises (the general loop below is the same algebra)
                    for j in range(n_m):
                        t_beg = 0.0
                        t_int = 0.0
                        t_sp = 0.0
                        t_pp = 0.0
                        t_d = 0.0
                        t_end = 0.0
                        for ii in range(nb):
                            smm = min(smm_t[j, ii] * sm, 1.0)
                            mdr = min(mdr_t[j, ii] * dm, 1.0)
                            frac = frac_t[j, ii]
                            pw = pay_t[j, ii]
                            b = bal[ii]
                            d = b * mdr
                            b2 = b - d
                            a = acc[ii] * (1.0 - mdr) + b2 * accr_t[j, ii]
                            sp = b2 * frac
                            pp = (b2 - sp) * smm
                            it = a * (pw + (1.0 - pw) * (1.0 - frac) * smm)
                            acc[ii] = a - it
                            e = b2 - sp - pp
                            bal[ii] = e
                            t_beg += b
                            t_int += it
                            t_sp += sp
                            t_pp += pp
                            t_d += d
                            t_end += e
                        out[0, s, j] += t_beg
                        out[1, s, j] += t_int
                        out[2, s, j] += t_sp
                        out[3, s, j] += t_pp
                        out[4, s, j] += t_d
                        out[5, s, j] += t_end
                    continue
                for j in range(n_m):
                    t_beg = 0.0
                    t_int = 0.0
                    t_sp = 0.0
                    t_pp = 0.0
                    t_d = 0.0
                    t_end = 0.0
                    t_dq = 0.0
                    for ii in range(nb):
                        smm = min(smm_t[j, ii] * sm, 1.0)
                        mdr = min(mdr_t[j, ii] * dm, 1.0)
                        frac = frac_t[j, ii]
                        b = bal[ii]
                        begin = b + dqb[ii]
                        d = b * mdr
                        b2 = b - d
                        a = acc[ii] * (1.0 - mdr)
                        if lag > 0:
                            slot = j % lag
                            back = ring[slot, ii]
                            d += back * (1.0 - cure)
                            nd = b2 * mdq
                            a *= 1.0 - mdq
                            b2 = b2 - nd + back * cure
                            dqb[ii] += nd - back
                            ring[slot, ii] = nd
                        a += b2 * accr_t[j, ii]
                        sp = b2 * frac
                        pp = (b2 - sp) * smm
                        pw = pay_t[j, ii]
                        it = a * (pw + (1.0 - pw) * (1.0 - frac) * smm)
                        acc[ii] = a - it
                        e = b2 - sp - pp
                        bal[ii] = e
                        q = dqb[ii]
                        t_beg += begin
                        t_int += it
                        t_sp += sp
                        t_pp += pp
                        t_d += d
                        t_end += e + q
                        t_dq += q
                        if loan_level and s == 0:
                            i = start + ii
                            lvl[0, i, j] = begin
                            lvl[1, i, j] = it
                            lvl[2, i, j] = sp
                            lvl[3, i, j] = pp
                            lvl[4, i, j] = d
                            lvl[5, i, j] = e + q
                            lvl[6, i, j] = q
                    out[0, s, j] += t_beg
                    out[1, s, j] += t_int
                    out[2, s, j] += t_sp
                    out[3, s, j] += t_pp
                    out[4, s, j] += t_d
                    out[5, s, j] += t_end
                    out[6, s, j] += t_dq

    return kernel


def project_numba(k: KernelInput, loan_level: bool) -> tuple[Flows, Flows | None]:
    """Numba kernel (scenarios in parallel); same contract as :func:`project_numpy`."""
    global _numba_kernel
    if _numba_kernel is None:
        _numba_kernel = _build_numba()
    n_s, n_m, n_a = k.smm_mult.shape[0], k.n_months, k.balance0.shape[0]
    out = np.zeros((len(FIELDS), n_s, n_m))
    lvl = np.zeros((len(FIELDS), n_a, n_m) if loan_level else (len(FIELDS), 1, 1))
    c = np.ascontiguousarray
    _numba_kernel(
        n_m, k.tabulated, c(k.balance0, np.float64), c(k.accrued0, np.float64),
        c(k.age0, np.int64), c(k.term, np.int64), c(k.prepayable), c(k.step, np.int64),
        c(k.code, np.int64), c(np.atleast_2d(k.rates), np.float64), c(k.tab_accrual),
        c(k.tab_pay), c(k.tab_frac), c(k.smm_vals, np.float64), c(k.smm_off, np.int64),
        c(k.mdr_vals, np.float64), c(k.mdr_off, np.int64), c(k.mdr_stop, np.int64),
        c(k.smm_mult, np.float64), c(k.mdr_mult, np.float64), float(k.mdq), int(k.dq_lag),
        float(k.cure), out, lvl, loan_level,
    )  # fmt: skip
    pool = {f: out[i] for i, f in enumerate(FIELDS)}
    level = {f: lvl[i] for i, f in enumerate(FIELDS)} if loan_level else None
    return pool, level


def available_backends() -> list[str]:
    """Backends that can run here: ``numpy`` always, ``numba`` when it is installed,
    ``cupy`` when CuPy sees a CUDA device."""
    from greenabs.assets import kernels_cuda

    names = ["numpy"]
    try:
        import numba  # noqa: F401

        names.append("numba")
    except ImportError:  # pragma: no cover - depends on the environment
        pass
    if kernels_cuda.available():  # pragma: no cover - needs a GPU
        names.append("cupy")
    return names


def project(k: KernelInput, backend: str, loan_level: bool) -> tuple[Flows, Flows | None]:
    """Run the kernel of a backend (``numpy``, ``numba`` or ``auto``)."""
    from greenabs.errors import Problem, SpecError

    if backend == "auto":
        backend = "numba" if "numba" in available_backends() else "numpy"
    if backend == "numpy":
        return project_numpy(k, loan_level)
    if backend == "numba":
        if "numba" not in available_backends():
            raise SpecError("<argument>", Problem("backend", "numba is not installed"))
        return project_numba(k, loan_level)
    if backend == "cupy":
        from greenabs.assets import kernels_cuda

        if not kernels_cuda.available():
            raise SpecError("<argument>", Problem("backend", "cupy needs CuPy and a CUDA device"))
        return kernels_cuda.project_cupy(k, loan_level)
    raise SpecError(
        "<argument>",
        Problem(
            "backend",
            f"unknown backend {backend!r} (use {', '.join(available_backends())} or auto)",
        ),
    )
