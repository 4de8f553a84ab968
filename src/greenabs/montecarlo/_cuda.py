"""The GPU kernel of the default-month search (CuPy RawKernel; imported only for ``cupy``).

One thread per (scenario, obligor), scenarios past the grid's y limit in strides: the binary
search of :func:`greenabs.montecarlo.defaults.default_months` over the obligor's conditional
curve, with the same comparisons as the NumPy reference (``np.searchsorted(side="right")``)
and the Numba kernel, so the three give the same integers.  Integers need no summation: the GPU's
default months equal the CPU's exactly, and from them the collateral kernel's flows agree to
rounding.  The source is plain C inside one ``__global__`` function, compiled on the host by
a test that emulates the launch grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["SOURCE", "THREADS", "search"]

THREADS = 256
"""Threads per block (obligors of one scenario)."""
MAX_GRID_Y = 65_535
"""CUDA's limit on a grid's y dimension: more scenarios are taken in strides of it."""

SOURCE = r"""
extern "C" __global__ void search(
    const double* __restrict__ curves, const double* __restrict__ u,
    const long long* __restrict__ combo, const int n_s, const int n_items, const int n_k,
    const int n_t, long long* __restrict__ out)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_items) return;
    for (int s = blockIdx.y; s < n_s; s += gridDim.y) {  /* scenarios beyond the grid's y */
        const double* row = curves + ((size_t)s * n_k + (size_t)combo[i]) * n_t;
        const double x = u[(size_t)s * n_items + i];
        long long found = 0;
        if (row[n_t - 1] > x) {  /* most obligors never default: one compare */
            int lo = 0, hi = n_t;
            while (lo < hi) {
                const int mid = (lo + hi) >> 1;
                if (row[mid] <= x) lo = mid + 1; else hi = mid;
            }
            found = lo < n_t ? lo + 1 : 0;
        }
        out[(size_t)s * n_items + i] = found;
    }
}
"""

_kernel: Any = None


def search(curves: Any, u: Any, combo: Any) -> Any:
    """Default months (S, n_items) int64 on the host: the first month ``t`` (1-based) with
    ``u[s, i] < curves[s, combo[i], t - 1]``, 0 if none."""
    import cupy as cp

    global _kernel
    if _kernel is None:
        _kernel = cp.RawKernel(SOURCE, "search")
    n_s, n_items = u.shape
    n_k, n_t = curves.shape[1], curves.shape[2]
    if n_s == 0 or n_items == 0:
        return np.zeros((n_s, n_items), dtype=np.int64)
    d_curves = cp.asarray(np.ascontiguousarray(curves, dtype=np.float64))
    d_u = cp.asarray(np.ascontiguousarray(u, dtype=np.float64))
    d_combo = cp.asarray(np.ascontiguousarray(combo, dtype=np.int64))
    d_out = cp.empty((n_s, n_items), dtype=cp.int64)
    grid = ((n_items + THREADS - 1) // THREADS, min(n_s, MAX_GRID_Y))
    args = (d_curves, d_u, d_combo, np.int32(n_s), np.int32(n_items), np.int32(n_k))
    _kernel(grid, (THREADS,), (*args, np.int32(n_t), d_out))
    return cp.asnumpy(d_out)
