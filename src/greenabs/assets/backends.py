"""Which kernel runs: the backends available here, a user's choice checked once at the edge,
and the dispatch.

``numpy`` (the reference) always; ``numba`` when Numba is installed (extra ``fast``); ``cupy``
when CuPy sees a CUDA device; ``auto`` picks Numba when it is there.  The kernels themselves
never see an unchecked name.
"""

from __future__ import annotations

from greenabs.assets.kernels import Flows, KernelInput, project_numba, project_numpy
from greenabs.errors import Problem, SpecError

__all__ = ["BACKENDS", "available_backends", "resolve_backend", "run_kernel"]

BACKENDS = ("numpy", "numba", "cupy")
"""Every backend greenabs knows, available here or not."""


def _has_numba() -> bool:
    """Whether Numba can be imported (found without importing it: the import is slow)."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def available_backends() -> list[str]:
    """Backends that can run here: ``numpy`` always, ``numba`` when it is installed,
    ``cupy`` when CuPy sees a CUDA device."""
    from greenabs.assets import kernels_cuda

    names = ["numpy"]
    if _has_numba():
        names.append("numba")
    if kernels_cuda.available():  # pragma: no cover - needs a GPU
        names.append("cupy")
    return names


def resolve_backend(name: str) -> str:
    """A user's backend choice as the backend that will run; a clear error naming the argument
    when it is unknown or not available here."""
    if name == "numpy":
        return name
    if name == "auto":
        return "numba" if _has_numba() else "numpy"
    if name not in BACKENDS:
        known = ", ".join([*BACKENDS, "auto"])
        raise SpecError("<argument>", Problem("backend", f"unknown backend {name!r} ({known})"))
    if name not in available_backends():
        why = "numba is not installed" if name == "numba" else "cupy needs CuPy and a CUDA device"
        raise SpecError("<argument>", Problem("backend", why))
    return name


def run_kernel(k: KernelInput, backend: str, loan_level: bool) -> tuple[Flows, Flows | None]:
    """Run the kernel of a resolved backend (see :func:`resolve_backend`)."""
    if backend == "numpy":
        return project_numpy(k, loan_level)
    if backend == "numba":
        return project_numba(k, loan_level)
    if backend == "cupy":
        from greenabs.assets import kernels_cuda

        return kernels_cuda.project_cupy(k, loan_level)
    raise AssertionError(f"backend {backend!r} was not resolved")  # a bug, not a user error
