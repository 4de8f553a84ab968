"""GPU backend of the amortising-asset kernel (CuPy RawKernel, double precision).

The same monthly order of events as the other backends: the month's arithmetic is the C
translation of :mod:`greenabs.assets.recursion` (:func:`~greenabs.assets.recursion.to_c`,
held equal to the Python steps by a test that compiles it on the host), laid out for a GPU:
one thread per (asset, scenario), the state in registers, the month loop inside the thread;
each month's flows are summed over the block's assets (warp shuffles, then shared memory) and
added to the pool totals with one atomic per block, field and month.  Atomic additions make
the order of summation vary between runs, so results agree with the NumPy reference to
rounding (about 1e-12 relative), not bit for bit.

Used when ``backend="cupy"``; needs CuPy and a CUDA device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from greenabs.assets.kernels import FIELDS, Flows, KernelInput, accrued_rate
from greenabs.assets.recursion import foreclosure_step, month_step, to_c

__all__ = ["MAX_DQ_LAG", "MAX_REC_LAG", "available", "project_cupy"]

MAX_DQ_LAG = 24
"""Longest delinquency lag the GPU kernel holds per thread (months)."""
MAX_REC_LAG = 120
"""Longest liquidation lag the GPU kernel tracks per thread under advancing (months)."""

_BODY = r"""
#define NF 11
#define MAXLAG 24
#define MAXREC 120
extern "C" __global__ void project(
    const int n_m, const int n_a, const int n_s, const int tabulated,
    const double* __restrict__ balance0, const double* __restrict__ accrued0,
    const long long* __restrict__ age0, const long long* __restrict__ term,
    const bool* __restrict__ prepayable, const long long* __restrict__ step,
    const long long* __restrict__ code, const double* __restrict__ rates, const int rate_rows,
    const double* __restrict__ tab_accrual, const bool* __restrict__ tab_pay,
    const double* __restrict__ tab_frac, const int tab_rows,
    const double* __restrict__ smm_vals, const int smm_len, const long long* __restrict__ smm_off,
    const double* __restrict__ mdr_vals, const int mdr_len, const long long* __restrict__ mdr_off,
    const long long* __restrict__ mdr_stop,
    const double* __restrict__ smm_mult, const int sm_cols,
    const double* __restrict__ mdr_mult, const int dm_cols,
    const double mdq, const int dq_lag, const double cure,
    const double* __restrict__ dmonth, const int has_dt, const double bom,
    const int advance, const int rec_lag, const double severity, const int n_f,
    double* __restrict__ out, double* __restrict__ lvl, const int loan_level)
{
    __shared__ double part[32][NF];
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int s = blockIdx.y;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int n_warps = (blockDim.x + 31) >> 5;
    const bool on = i < n_a;
    double b = on ? balance0[i] : 0.0, ar = on ? accrued0[i] : 0.0, dqb = 0.0;
    double ring[MAXLAG];
    for (int k = 0; k < MAXLAG; ++k) ring[k] = 0.0;
    double u_ring[MAXREC], d_ring[MAXREC];
    if (advance) for (int k = 0; k < rec_lag; ++k) { u_ring[k] = 0.0; d_ring[k] = 0.0; }
    double units = 0.0, cum = 1.0;
    const int lag = mdq > 0.0 ? dq_lag : 0;
    const double dt = (on && has_dt) ? dmonth[(size_t)s * n_a + i] : -1.0;
    const double adv_p = advance == 2 ? 1.0 : 0.0;
    double growth = -1.0;  /* (1 + r)^n at the next payment; -1: not yet known */
    for (int j = 0; j < n_m; ++j) {
        double v[NF] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        if (on) {
            const long long age = age0[i] + j + 1;
            double accr, frac, payf;
            if (tabulated) {
                if (j >= tab_rows) { accr = 0.0; payf = 1.0; frac = 1.0; }
                else {
                    const size_t at = (size_t)j * n_a + i;
                    accr = tab_accrual[at]; payf = tab_pay[at] ? 1.0 : 0.0; frac = tab_frac[at];
                }
            } else {
                const long long left = term[i] - age;
                const double r = rates[(size_t)(j < rate_rows ? j : rate_rows - 1) * n_a + i];
                if (left < 0) { accr = 0.0; payf = 1.0; frac = 1.0; }
                else {
                    accr = r / 12.0;
                    const bool paid = code[i] == 3 ? left == 0 : (age % step[i]) == 0;
                    payf = paid ? 1.0 : 0.0;
                    if (!paid) frac = 0.0;
                    else if (left == 0) frac = 1.0;
                    else {
                        const double n = (double)(left / step[i] + 1);
                        if (code[i] == 0) {
                            const double rp = r * step[i] / 12.0;
                            if (rp > 1e-12) {
                                if (rate_rows > 1 || growth < 0.0) growth = pow(1.0 + rp, n);
                                frac = rp / (growth - 1.0);
                                growth /= 1.0 + rp;  /* one payment fewer next time */
                            } else frac = 1.0 / n;
                        } else frac = code[i] == 1 ? 1.0 / n : 0.0;
                    }
                }
            }
            long long si = smm_off[i] + j; if (si > smm_len - 1) si = smm_len - 1;
            long long mi = mdr_off[i] + j; if (mi > mdr_len - 1) mi = mdr_len - 1;
            const double sm = smm_mult[(size_t)s * sm_cols + (j < sm_cols ? j : sm_cols - 1)];
            const double dm = mdr_mult[(size_t)s * dm_cols + (j < dm_cols ? j : dm_cols - 1)];
            const double smm = fmin(prepayable[i] ? smm_vals[si] * sm : 0.0, 1.0);
            double mdr = fmin(age > mdr_stop[i] ? 0.0 : mdr_vals[mi] * dm, 1.0);
            if (dt == (double)j) mdr = 1.0;
            const int slot = lag > 0 ? j % lag : 0;
            const double back = lag > 0 ? ring[slot] : 0.0;
            double nd, begin, it, sp, pp, d;
            month_step(b, ar, dqb, back, accr, payf, frac, smm, mdr, lag > 0 ? mdq : 0.0, cure,
                       bom, &b, &ar, &dqb, &nd, &begin, &it, &sp, &pp, &d);
            if (lag > 0) ring[slot] = nd;
            v[0] = begin; v[1] = it; v[2] = sp; v[3] = pp; v[4] = d; v[5] = b + dqb; v[6] = dqb;
            if (advance) {
                const int rs = j % rec_lag;
                double u_new, a_prin, a_int, rec, loss;
                foreclosure_step(units, cum, u_ring[rs], d_ring[rs], d, frac, accr, severity,
                                 adv_p, 1.0, &units, &cum, &u_new, &a_prin, &a_int, &rec, &loss);
                u_ring[rs] = u_new; d_ring[rs] = d;
                v[7] = a_prin; v[8] = a_int; v[9] = rec; v[10] = loss;
            }
            if (loan_level && s == 0)
                for (int f = 0; f < n_f; ++f) lvl[((size_t)f * n_a + i) * n_m + j] = v[f];
        }
        for (int f = 0; f < n_f; ++f) {
            double x = v[f];
            for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffff, x, o);
            if (lane == 0) part[warp][f] = x;
        }
        __syncthreads();
        if (warp == 0) {
            for (int f = 0; f < n_f; ++f) {
                double x = lane < n_warps ? part[lane][f] : 0.0;
                for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffff, x, o);
                if (lane == 0) atomicAdd(&out[((size_t)f * n_s + s) * n_m + j], x);
            }
        }
        __syncthreads();
    }
}
"""


def source() -> str:
    """The kernel's CUDA C: the translated monthly steps, then the driver."""
    return to_c(month_step) + to_c(foreclosure_step) + _BODY


_kernel: Any = None


def available() -> bool:
    """Whether CuPy is installed and sees a CUDA device."""
    try:
        import cupy

        return bool(cupy.cuda.runtime.getDeviceCount() > 0)
    except Exception:  # any import or driver failure means "not here"
        return False


def project_cupy(k: KernelInput, loan_level: bool) -> tuple[Flows, Flows | None]:
    """GPU kernel; same contract as :func:`greenabs.assets.kernels.project_numpy`."""
    import cupy as cp

    from greenabs.errors import Problem, SpecError

    global _kernel
    if _kernel is None:
        _kernel = cp.RawKernel(source(), "project", options=("-std=c++14",))
    lag = k.dq_lag if k.mdq > 0 else 0
    if lag > MAX_DQ_LAG:
        why = f"the GPU backend holds at most {MAX_DQ_LAG} months"
        raise SpecError("<argument>", Problem("delinquency.lag_months", why))
    if k.advance and k.rec_lag > MAX_REC_LAG:
        why = f"the GPU backend tracks at most {MAX_REC_LAG} months under advancing"
        raise SpecError("<argument>", Problem("recovery.lag_months", why))
    n_s, n_m, n_a = k.smm_mult.shape[0], k.n_months, k.balance0.shape[0]
    n_f = k.n_fields

    def dev(a: Any, dtype: Any) -> Any:
        return cp.asarray(np.ascontiguousarray(a, dtype=dtype))

    has_dt = k.default_month is not None and k.default_month.size > 0
    dmonth = k.default_month if has_dt else np.full((1, 1), -1.0)
    rates = np.atleast_2d(k.rates)
    out = cp.zeros((n_f, n_s, n_m), dtype=cp.float64)
    lvl = cp.zeros((n_f, n_a, n_m) if loan_level else (1,), dtype=cp.float64)
    threads = 256
    grid = ((n_a + threads - 1) // threads, n_s)
    _kernel(grid, (threads,), (
        np.int32(n_m), np.int32(n_a), np.int32(n_s), np.int32(1 if k.tabulated else 0),
        dev(k.balance0, np.float64), dev(accrued_rate(k), np.float64), dev(k.age0, np.int64),
        dev(k.term, np.int64), dev(k.prepayable, np.bool_), dev(k.step, np.int64),
        dev(k.code, np.int64), dev(rates, np.float64), np.int32(rates.shape[0]),
        dev(k.tab_accrual, np.float64), dev(k.tab_pay, np.bool_), dev(k.tab_frac, np.float64),
        np.int32(k.tab_frac.shape[0] if k.tabulated else 0),
        dev(k.smm_vals, np.float64), np.int32(len(k.smm_vals)), dev(k.smm_off, np.int64),
        dev(k.mdr_vals, np.float64), np.int32(len(k.mdr_vals)), dev(k.mdr_off, np.int64),
        dev(k.mdr_stop, np.int64), dev(k.smm_mult, np.float64), np.int32(k.smm_mult.shape[1]),
        dev(k.mdr_mult, np.float64), np.int32(k.mdr_mult.shape[1]),
        np.float64(k.mdq), np.int32(lag), np.float64(k.cure),
        dev(dmonth, np.float64), np.int32(1 if has_dt else 0), np.float64(k.bom),
        np.int32(k.advance), np.int32(max(k.rec_lag, 1)), np.float64(k.severity), np.int32(n_f),
        out, lvl, np.int32(1 if loan_level else 0),
    ))  # fmt: skip
    host = cp.asnumpy(out)
    pool = {f: host[n] for n, f in enumerate(FIELDS[:n_f])}
    level = None
    if loan_level:
        lv = cp.asnumpy(lvl)
        level = {f: lv[n] for n, f in enumerate(FIELDS[:n_f])}
    return pool, level
