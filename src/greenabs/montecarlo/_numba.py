"""The Numba kernel of the default-month search (imported only when Numba is used)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = ["search"]


@numba.njit(parallel=True, cache=True)
def search(curves: Any, u: Any, combo: Any) -> Any:  # pragma: no cover - compiled
    """First month ``t`` (1-based) with ``u[s, i] < curves[s, combo[i], t - 1]``, 0 if none:
    a binary search per item, scenarios in parallel (``np.searchsorted(side="right")``)."""
    n_s, n_items = u.shape
    n_t = curves.shape[2]
    out = np.zeros((n_s, n_items), dtype=np.int64)
    for s in numba.prange(n_s):
        for i in range(n_items):
            row = curves[s, combo[i]]
            x = u[s, i]
            if row[n_t - 1] <= x:  # most obligors never default: one compare
                continue
            lo, hi = 0, n_t
            while lo < hi:
                mid = (lo + hi) >> 1
                if row[mid] <= x:
                    lo = mid + 1
                else:
                    hi = mid
            out[s, i] = lo + 1 if lo < n_t else 0
    return out
