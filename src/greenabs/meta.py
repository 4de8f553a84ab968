"""What produced an output: the ``meta`` block every command's JSON, workbook and report carry.

:func:`run_meta` names the greenabs version, the kind of run, when it ran (UTC), each input
file with its SHA-256 (so a result can be traced to the exact deal file, tape or bank file),
the assumptions and overrides in force, the seed and the backend, and the Python and platform
it ran on.  It is plain JSON-ready data.
"""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["file_sha256", "run_meta", "sha256", "utc_now"]

_CHUNK = 1 << 20


def sha256(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks (a large tape is never read whole)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def utc_now() -> str:
    """The current time in UTC as ISO 8601 to the second, ``2026-11-30T05:47:26Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_value(v: Any) -> Any:
    """An assumption's value as JSON data (paths as text, tuples as lists)."""
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, Mapping):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_value(x) for x in v]
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)


def run_meta(
    kind: str,
    *,
    inputs: Mapping[str, Path | bytes | tuple[Path, bytes]],
    assumptions: Mapping[str, Any],
    seed: int | None,
    backend: str | None,
) -> dict[str, Any]:
    """The ``meta`` block of a run's output.

    Parameters
    ----------
    kind
        The command: ``run``, ``pool``, ``rate``, ``size``, ``breakeven``, ``bank``,
        ``systemic``.
    inputs
        Each input by role (``deal_file``, ``tape``, ``bank_file``...): a file (its path and
        the SHA-256 of its bytes are recorded), the input's bytes (SHA-256 only, no path), or
        a file and the bytes already read from it (its path, the SHA-256 of those bytes).
    assumptions
        The overrides and flags in force, by name.
    seed, backend
        The root seed of random draws and the projection backend, where the run has them.
    """
    from greenabs import __version__

    files: dict[str, dict[str, str | None]] = {}
    for name, item in inputs.items():
        if isinstance(item, bytes):
            files[name] = {"path": None, "sha256": sha256(item)}
        elif isinstance(item, tuple):
            files[name] = {"path": str(item[0]), "sha256": sha256(item[1])}
        else:
            files[name] = {"path": str(item), "sha256": file_sha256(item)}
    return {
        "greenabs_version": __version__,
        "kind": kind,
        "created": utc_now(),
        "inputs": files,
        "assumptions": {str(k): _json_value(v) for k, v in assumptions.items()},
        "seed": seed,
        "backend": backend,
        "python": platform.python_version(),
        "platform": f"{sys.platform} {platform.machine()}".strip(),
    }
