"""The GPU default-month search (montecarlo/_cuda.py): its CUDA source compiled on the host
with the launch grid emulated, held to the NumPy reference's integers; and, where a GPU is,
the whole Monte Carlo on ``--backend cupy`` against NumPy."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from greenabs.assets.backends import available_backends
from greenabs.montecarlo import _cuda
from greenabs.montecarlo.defaults import cumulative, default_months

# The kernel's source with CUDA's keywords and launch variables given host meanings; run()
# launches it over the grid the host code uses (blocks of THREADS obligors, one row of blocks
# per scenario), thread by thread.
_HARNESS = """
struct Dim { unsigned x, y, z; };
static Dim blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __restrict__
#include <stddef.h>
%s
extern "C" void run(const double* curves, const double* u, const long long* combo, int n_s,
                    int n_items, int n_k, int n_t, long long* out, int threads,
                    int grid_y) {
    blockDim.x = threads;
    gridDim.y = grid_y;
    for (unsigned by = 0; by < (unsigned)grid_y; ++by)
        for (unsigned bx = 0; bx < (unsigned)((n_items + threads - 1) / threads); ++bx)
            for (unsigned tx = 0; tx < (unsigned)threads; ++tx) {
                blockIdx.x = bx; blockIdx.y = by; threadIdx.x = tx;
                search(curves, u, combo, n_s, n_items, n_k, n_t, out);
            }
}
"""


@pytest.fixture(scope="module")
def host_kernel(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if shutil.which("c++") is None:
        pytest.skip("needs a C++ compiler")
    folder: Path = tmp_path_factory.mktemp("cuda_host")
    (folder / "search.cpp").write_text(_HARNESS % _cuda.SOURCE)
    lib = folder / "search.so"
    subprocess.run(
        ["c++", "-O2", "-shared", "-fPIC", "-o", str(lib), str(folder / "search.cpp")],
        check=True,
    )
    so = ctypes.CDLL(str(lib))
    so.run.restype = None
    return so.run


def _host_search(
    run: Any, curves: Any, u: Any, combo: Any, threads: int, grid_y: int | None = None
) -> Any:
    curves = np.ascontiguousarray(curves, dtype=np.float64)
    u = np.ascontiguousarray(u, dtype=np.float64)
    combo = np.ascontiguousarray(combo, dtype=np.int64)
    out = np.full(u.shape, -7, dtype=np.int64)
    ptr = np.ctypeslib.as_ctypes
    run(
        ptr(curves.reshape(-1)),
        ptr(u.reshape(-1)),
        ptr(combo),
        ctypes.c_int(u.shape[0]),
        ctypes.c_int(u.shape[1]),
        ctypes.c_int(curves.shape[1]),
        ctypes.c_int(curves.shape[2]),
        ptr(out.reshape(-1)),
        ctypes.c_int(threads),
        ctypes.c_int(min(u.shape[0], _cuda.MAX_GRID_Y) if grid_y is None else grid_y),
    )
    return out


@pytest.mark.parametrize(
    ("n_items", "threads", "grid_y"), [(1, 256, None), (300, 256, None), (513, 64, 2)]
)
def test_cuda_search_equals_the_numpy_reference(
    host_kernel: Any, n_items: int, threads: int, grid_y: int | None
) -> None:
    """Random curves (some never reaching the uniforms, some reaching 1, some 0) and uniforms
    drawn partly from the curves' own values (ties: ``u == F`` is not a default, as
    ``searchsorted(side="right")``): the same month for every (scenario, obligor), threads
    past the last obligor writing nothing, and scenarios beyond a grid of fewer rows taken
    in strides (CUDA's y limit)."""
    rng = np.random.default_rng(4)
    n_s, n_k, n_t = 5, 4, 37
    curves = cumulative(rng.uniform(0.0, 0.08, (n_s, n_k, n_t)))
    curves[:, 1] = 0.0  # an obligor that never defaults
    curves[:, 2, 20:] = 1.0  # one that surely defaults by month 21
    combo = rng.integers(0, n_k, n_items)
    u = rng.random((n_s, n_items))
    ties = rng.random((n_s, n_items)) < 0.3
    months = rng.integers(0, n_t, (n_s, n_items))
    rows = curves[np.arange(n_s)[:, None], combo[None, :], months]
    u = np.where(ties, rows, u)
    expected = default_months(curves, u, combo, "numpy")
    got = _host_search(host_kernel, curves, u, combo, threads, grid_y)  # 2: rows in strides
    np.testing.assert_array_equal(got, expected)
    if n_items > 1:  # both outcomes are compared
        assert (expected > 0).any()
        assert (expected == 0).any()


@pytest.mark.skipif("cupy" not in available_backends(), reason="needs CuPy and a CUDA device")
def test_cupy_monte_carlo_matches_numpy() -> None:  # pragma: no cover - runs where a GPU is
    """On a GPU: default months equal, and every tranche and pool column within 1e-9."""
    from greenabs import load_deal
    from greenabs.montecarlo import monte_carlo, settings

    rng = np.random.default_rng(1)
    curves = cumulative(rng.uniform(0.0, 0.05, (8, 3, 60)))
    u = rng.random((8, 1000))
    combo = rng.integers(0, 3, 1000)
    np.testing.assert_array_equal(
        default_months(curves, u, combo, "cupy"), default_months(curves, u, combo, "numpy")
    )
    deal = load_deal("examples/ib_green_2014.yaml")
    sim = settings(deal, scenarios=64, seed=3)
    gpu, ref = monte_carlo(deal, sim, backend="cupy"), monte_carlo(deal, sim, backend="numpy")
    for col in ("principal_loss", "discounted_loss", "wal"):
        np.testing.assert_allclose(gpu.tranches[col], ref.tranches[col], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(gpu.pool["loss_rate"], ref.pool["loss_rate"], rtol=1e-9)
