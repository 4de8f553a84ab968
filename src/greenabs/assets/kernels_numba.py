"""The Numba backend of the amortising-asset kernel (imported only when Numba is used).

The monthly arithmetic is :mod:`greenabs.assets.recursion`'s, inlined; see
:mod:`greenabs.assets.kernels` for the contract and the loop layout.  Module-level functions so
that Numba's on-disk cache holds across processes.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from greenabs.assets.recursion import foreclosure_step, month_step, performing_step, scalar

__all__ = ["BLOCK", "kernel"]

BLOCK = 128
"""Loans per block: a block's schedule tables (about 40 bytes per loan and month) stay in a
core's cache while every scenario runs through them."""

_FAST = {"reassoc", "contract", "nsz"}
step = numba.njit(inline="always", fastmath=_FAST, cache=True)(scalar(month_step))
pstep = numba.njit(inline="always", fastmath=_FAST, cache=True)(scalar(performing_step))
fstep = numba.njit(inline="always", fastmath=_FAST, cache=True)(scalar(foreclosure_step))


@numba.njit(fastmath=_FAST, cache=True)
def _general(  # pragma: no cover - compiled
    s: int,
    start: int,
    bal: Any,
    acc: Any,
    accr_t: Any,
    pay_t: Any,
    frac_t: Any,
    smm_t: Any,
    mdr_t: Any,
    sm_row: Any,
    dm_row: Any,
    dmonth_row: Any,
    bom: float,
    mdq: float,
    lag: int,
    cure: float,
    advance: int,
    rec_lag: int,
    severity: float,
    out: Any,
    lvl: Any,
    level: bool,
) -> None:
    """One scenario through a block's months with delinquency, foreclosure (advancing) or
    loan-level capture."""
    nb = bal.shape[0]
    n_m = accr_t.shape[0]
    sm_last = sm_row.shape[0] - 1
    dm_last = dm_row.shape[0] - 1
    adv_p = 1.0 if advance == 2 else 0.0
    rl = max(rec_lag, 1)
    dqb = np.zeros(nb)
    ring = np.zeros((max(lag, 1), nb))
    units = np.zeros(nb)
    cum = np.ones(nb)
    u_ring = np.zeros((rl, nb))
    d_ring = np.zeros((rl, nb))
    for j in range(n_m):
        sm = sm_row[min(j, sm_last)]
        dm = dm_row[min(j, dm_last)]
        t_beg = 0.0
        t_int = 0.0
        t_sp = 0.0
        t_pp = 0.0
        t_d = 0.0
        t_end = 0.0
        t_dq = 0.0
        t_ap = 0.0
        t_ai = 0.0
        t_rec = 0.0
        t_loss = 0.0
        slot = j % max(lag, 1)
        rslot = j % rl
        for ii in range(nb):
            mdr = min(mdr_t[j, ii] * dm, 1.0)
            mdr = 1.0 if dmonth_row[start + ii] == j else mdr
            back = ring[slot, ii] if lag > 0 else 0.0
            accr = accr_t[j, ii]
            frac = frac_t[j, ii]
            b, a, q, nd, begin, it, sp, pp, d = step(
                bal[ii], acc[ii], dqb[ii], back, accr, pay_t[j, ii], frac,
                min(smm_t[j, ii] * sm, 1.0), mdr, mdq if lag > 0 else 0.0, cure, bom,
            )  # fmt: skip
            if lag > 0:
                ring[slot, ii] = nd
            bal[ii] = b
            acc[ii] = a
            dqb[ii] = q
            ap = 0.0
            ai = 0.0
            rec = 0.0
            loss = 0.0
            if advance > 0:
                un, cu, u_new, ap, ai, rec, loss = fstep(
                    units[ii], cum[ii], u_ring[rslot, ii], d_ring[rslot, ii], d,
                    frac, accr, severity, adv_p, 1.0,
                )  # fmt: skip
                units[ii] = un
                cum[ii] = cu
                u_ring[rslot, ii] = u_new
                d_ring[rslot, ii] = d
            t_beg += begin
            t_int += it
            t_sp += sp
            t_pp += pp
            t_d += d
            t_end += b + q
            t_dq += q
            t_ap += ap
            t_ai += ai
            t_rec += rec
            t_loss += loss
            if level:
                i = start + ii
                lvl[0, i, j] = begin
                lvl[1, i, j] = it
                lvl[2, i, j] = sp
                lvl[3, i, j] = pp
                lvl[4, i, j] = d
                lvl[5, i, j] = b + q
                lvl[6, i, j] = q
                if advance > 0:
                    lvl[7, i, j] = ap
                    lvl[8, i, j] = ai
                    lvl[9, i, j] = rec
                    lvl[10, i, j] = loss
        out[0, s, j] += t_beg
        out[1, s, j] += t_int
        out[2, s, j] += t_sp
        out[3, s, j] += t_pp
        out[4, s, j] += t_d
        out[5, s, j] += t_end
        out[6, s, j] += t_dq
        if advance > 0:
            out[7, s, j] += t_ap
            out[8, s, j] += t_ai
            out[9, s, j] += t_rec
            out[10, s, j] += t_loss


@numba.njit(parallel=True, fastmath=_FAST, cache=True)
def kernel(  # pragma: no cover - compiled
    n_m: int,
    tabulated: bool,
    balance0: Any,
    accrued0: Any,
    age0: Any,
    term: Any,
    prepayable: Any,
    step_m: Any,
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
    dmonth: Any,
    has_dt: bool,
    bom: float,
    advance: int,
    rec_lag: int,
    severity: float,
    out: Any,
    lvl: Any,
    loan_level: bool,
) -> None:
    n_s = smm_mult.shape[0]
    n_a = balance0.shape[0]
    smm_last = smm_vals.shape[0] - 1
    mdr_last = mdr_vals.shape[0] - 1
    sm_last = smm_mult.shape[1] - 1
    dm_last = mdr_mult.shape[1] - 1
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
                        st = step_m[i]
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
                mdr_t[j, ii] = 0.0 if age > mdr_stop[i] else mdr_vals[min(mdr_off[i] + j, mdr_last)]
        # 2. every scenario through the block's months, in parallel
        for s in numba.prange(n_s):
            bal = balance0[start:stop].copy()
            acc = accrued0[start:stop].copy()
            srow = s * int(has_dt)  # without default months: one row of -1
            if lag == 0 and advance == 0 and not (loan_level and s == 0):
                # the common case: no delinquency, foreclosure or loan-level capture, in a loop
                # nest the compiler vectorises; default months are sparse, so each month's
                # are found through a list by month (head[j], then nxt[ii]) and flagged in hit
                drow = dmonth[srow]
                hit = np.zeros(nb)
                head = np.full(n_m, -1, dtype=np.int64)
                nxt = np.full(nb, -1, dtype=np.int64)
                if has_dt:
                    for ii in range(nb):
                        mo = drow[start + ii]
                        if 0.0 <= mo < n_m:
                            nxt[ii] = head[int(mo)]
                            head[int(mo)] = ii
                for j in range(n_m):
                    sm = smm_mult[s, min(j, sm_last)]
                    dm = mdr_mult[s, min(j, dm_last)]
                    t_beg = 0.0
                    t_int = 0.0
                    t_sp = 0.0
                    t_pp = 0.0
                    t_d = 0.0
                    t_end = 0.0
                    ii = head[j]
                    while ii >= 0:
                        hit[ii] = 1.0
                        ii = nxt[ii]
                    for ii in range(nb):
                        mdr = max(min(mdr_t[j, ii] * dm, 1.0), hit[ii])
                        begin = bal[ii]
                        b, a, it, sp, pp, d = pstep(
                            begin, acc[ii], accr_t[j, ii], pay_t[j, ii], frac_t[j, ii],
                            min(smm_t[j, ii] * sm, 1.0), mdr, bom,
                        )  # fmt: skip
                        bal[ii] = b
                        acc[ii] = a
                        t_beg += begin
                        t_int += it
                        t_sp += sp
                        t_pp += pp
                        t_d += d
                        t_end += b
                    ii = head[j]
                    while ii >= 0:
                        hit[ii] = 0.0
                        ii = nxt[ii]
                    out[0, s, j] += t_beg
                    out[1, s, j] += t_int
                    out[2, s, j] += t_sp
                    out[3, s, j] += t_pp
                    out[4, s, j] += t_d
                    out[5, s, j] += t_end
            else:
                _general(
                    s, start, bal, acc, accr_t, pay_t, frac_t, smm_t, mdr_t, smm_mult[s],
                    mdr_mult[s], dmonth[srow], bom, mdq, lag, cure, advance, rec_lag, severity,
                    out, lvl, loan_level and s == 0,
                )  # fmt: skip
