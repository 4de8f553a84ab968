"""Scenario drivers: what varies between the S scenarios of one run.

A :class:`Scenarios` carries, each optional:

* per-scenario multipliers on prepayment and default rates, ``(S,)``, or per scenario and
  month, ``(S, M)``;
* per-scenario monthly **paths** of the annual prepayment (CPR) and default (CDR) rates,
  ``(S, M)``, covering every month of the projection, which replace the deal's curves (not
  combined with the multiplier of the same rate);
* **default months** ``(S, N)``: the month (1-based, month ``m`` ending ``m`` months after the
  cut-off) in which each asset of the pool (in the deal's order) defaults, ``0`` for never.
  When given, the deal's default curve is switched off: the asset defaults its performing
  balance in that month, and recovers after the recovery lag;
* per-scenario monthly **index paths** ``{name: (S, M)}`` for floating coupons of assets and
  tranches;
* per-scenario **recovery rates** ``(S,)`` replacing the deal's recovery rate (not with
  servicer advancing, whose recoveries are fixed);
* named **driver arrays** ``{name: (S, ...)}`` for asset families with random drivers of their
  own (read by the family from :class:`~greenabs.assets.ProjectionContext`);
* a root **seed**.  Random streams derive from it through :class:`numpy.random.SeedSequence`,
  one child per scenario and stream (:func:`generator`), so the numbers of a scenario do not
  depend on how scenarios are split into blocks or in which order blocks run.

Shapes are checked against the deal when a run starts; every problem is a
:class:`~greenabs.errors.SpecError` naming the argument.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from greenabs.errors import Problem, SpecError

__all__ = ["Scenarios", "generator"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def generator(seed: int, scenario: int, stream: str = "") -> np.random.Generator:
    """The random generator of one scenario and stream (e.g. an asset family's name):
    ``SeedSequence(seed, spawn_key=(scenario, crc32(stream)))``."""
    key = (int(scenario), zlib.crc32(stream.encode("utf-8")))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _bad(where: str, reason: str) -> SpecError:
    return SpecError("<argument>", Problem(where, reason))


def _float_array(name: str, value: Any) -> FloatArray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _bad(name, f"expected numbers ({exc})") from None
    if not np.all(np.isfinite(arr)):
        raise _bad(name, "every value must be finite (no NaN or infinity)")
    return arr


def _rate_path(name: str, value: Any, n: int | None) -> FloatArray:
    arr = _float_array(name, value)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise _bad(name, f"expected shape (scenarios, months), got {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise _bad(name, f"has {arr.shape[0]} scenarios, expected {n}")
    return arr


@dataclass(frozen=True, eq=False)
class Scenarios:
    """Drivers of S scenarios (see the module docstring).  Build it with
    :meth:`Scenarios.build`, which checks shapes and values."""

    n: int
    smm_mult: FloatArray
    mdr_mult: FloatArray
    cpr_path: FloatArray | None = None
    cdr_path: FloatArray | None = None
    default_month: IntArray | None = None
    index_paths: Mapping[str, FloatArray] = field(default_factory=dict)
    drivers: Mapping[str, FloatArray] = field(default_factory=dict)
    seed: int | None = None
    offset: int = 0
    recovery_rate: FloatArray | None = None
    """Index of the first scenario in the set these were taken from (random streams follow
    the global index)."""

    @classmethod
    def build(
        cls,
        *,
        smm_mult: npt.ArrayLike | None = None,
        mdr_mult: npt.ArrayLike | None = None,
        cpr_path: npt.ArrayLike | None = None,
        cdr_path: npt.ArrayLike | None = None,
        default_month: npt.ArrayLike | None = None,
        index_paths: Mapping[str, npt.ArrayLike] | None = None,
        drivers: Mapping[str, npt.ArrayLike] | None = None,
        seed: int | None = None,
        recovery_rate: npt.ArrayLike | None = None,
    ) -> Scenarios:
        """Validated scenarios; S is taken from the first array given (1 when none is)."""
        sizes: dict[str, int] = {}
        mults: dict[str, FloatArray] = {}
        for name, value in (("smm_mult", smm_mult), ("mdr_mult", mdr_mult)):
            if value is None:
                continue
            arr = _float_array(name, value)
            if arr.ndim == 0:
                arr = arr[None]
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim != 2 or arr.size == 0:
                raise _bad(
                    name, f"expected shape (scenarios,) or (scenarios, months), got {arr.shape}"
                )
            if np.any(arr < 0):
                raise _bad(name, "multipliers must not be negative")
            mults[name] = arr
            sizes[name] = arr.shape[0]
        paths: dict[str, FloatArray] = {}
        for name, value in (("cpr_path", cpr_path), ("cdr_path", cdr_path)):
            if value is None:
                continue
            arr = _rate_path(name, value, None)
            if np.any((arr < 0) | (arr > 1)):
                raise _bad(name, "annual rates must lie between 0 and 1")
            paths[name] = arr
            sizes[name] = arr.shape[0]
        dmonth = None
        if default_month is not None:
            whole = isinstance(default_month, np.ndarray) and default_month.dtype.kind in "iu"
            # integer arrays (the Monte Carlo's) need no rounding check
            raw: Any = default_month if whole else _float_array("default_month", default_month)
            if raw.ndim == 1:
                raw = raw[None, :]
            if raw.ndim != 2:
                raise _bad("default_month", f"expected shape (scenarios, assets), got {raw.shape}")
            if (not whole and np.any(raw != np.round(raw))) or raw.min(initial=0) < 0:
                raise _bad("default_month", "months are whole numbers >= 1 (0: never defaults)")
            dmonth = raw.astype(np.int64, copy=not whole)
            sizes["default_month"] = dmonth.shape[0]
        rrate = None
        if recovery_rate is not None:
            rrate = _float_array("recovery_rate", recovery_rate)
            if rrate.ndim != 1 or rrate.size == 0:
                raise _bad("recovery_rate", f"expected shape (scenarios,), got {rrate.shape}")
            if np.any((rrate < 0) | (rrate > 1)):
                raise _bad("recovery_rate", "recovery rates must lie between 0 and 1")
            sizes["recovery_rate"] = rrate.shape[0]
        idx: dict[str, FloatArray] = {}
        for name, value in (index_paths or {}).items():
            arr = _rate_path(f"index_paths[{name!r}]", value, None)
            if np.any((arr < -0.1) | (arr > 1.0)):
                raise _bad(f"index_paths[{name!r}]", "index values must lie between -10% and 100%")
            idx[name] = arr
            sizes[f"index_paths[{name!r}]"] = arr.shape[0]
        drv: dict[str, FloatArray] = {}
        for name, value in (drivers or {}).items():
            arr = _float_array(f"drivers[{name!r}]", value)
            if arr.ndim == 0:
                raise _bad(f"drivers[{name!r}]", "needs a leading scenario axis")
            drv[name] = arr
            sizes[f"drivers[{name!r}]"] = arr.shape[0]
        clashes = [
            ("cpr_path", "smm_mult"),
            ("cdr_path", "mdr_mult"),
            ("default_month", "mdr_mult"),
            ("default_month", "cdr_path"),
        ]
        for a, b in clashes:
            if a in sizes and b in sizes:
                why = f"give {a} or {b}, not both: {a} replaces the curve {b} would scale"
                raise _bad(a, why)
        counts = set(sizes.values())
        if len(counts) > 1:
            # multipliers of one scenario broadcast to any count
            rest = {k: v for k, v in sizes.items() if not (k.endswith("_mult") and v == 1)}
            counts = set(rest.values())
            if len(counts) > 1:
                listed = ", ".join(f"{k}: {v}" for k, v in sizes.items())
                raise _bad("scenarios", f"arrays disagree on the number of scenarios ({listed})")
        n = counts.pop() if counts else 1
        if n < 1:
            raise _bad("scenarios", "at least one scenario is needed")
        if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
            raise _bad("seed", f"expected a non-negative integer, got {seed!r}")
        ones = np.ones((n, 1))
        out = cls(
            n=n,
            smm_mult=np.broadcast_to(
                mults.get("smm_mult", ones), (n, mults.get("smm_mult", ones).shape[1])
            ).copy(),
            mdr_mult=np.broadcast_to(
                mults.get("mdr_mult", ones), (n, mults.get("mdr_mult", ones).shape[1])
            ).copy(),
            cpr_path=paths.get("cpr_path"),
            cdr_path=paths.get("cdr_path"),
            default_month=dmonth,
            index_paths=MappingProxyType(idx),
            drivers=MappingProxyType(drv),
            seed=None if seed is None else int(seed),
            recovery_rate=rrate,
        )
        for arr in out._arrays():
            arr.flags.writeable = False
        return out

    @classmethod
    def resolve(
        cls,
        scenarios: Scenarios | None,
        smm_mult: npt.ArrayLike | None = None,
        mdr_mult: npt.ArrayLike | None = None,
    ) -> Scenarios:
        """``scenarios``, or the multipliers as scenarios (the shorthand of ``run``); giving
        both is an error."""
        if scenarios is None:
            return cls.build(smm_mult=smm_mult, mdr_mult=mdr_mult)
        if smm_mult is not None or mdr_mult is not None:
            raise _bad("scenarios", "give scenarios or multipliers, not both")
        return scenarios

    def _arrays(self) -> list[Any]:
        arrs: list[Any] = [self.smm_mult, self.mdr_mult]
        optional = (self.cpr_path, self.cdr_path, self.default_month, self.recovery_rate)
        arrs += [a for a in optional if a is not None]
        return arrs + list(self.index_paths.values()) + list(self.drivers.values())

    def check(self, n_assets: int, n_months: int) -> None:
        """Shapes against a pool of ``n_assets`` projected over ``n_months`` months."""
        if self.default_month is not None:
            if self.default_month.shape[1] != n_assets:
                raise _bad(
                    "default_month",
                    f"has {self.default_month.shape[1]} assets per scenario, the pool has "
                    f"{n_assets}",
                )
            late = int(self.default_month.max(initial=0))
            if late > n_months:
                raise _bad(
                    "default_month",
                    f"month {late} is outside the projection (months 1 to {n_months}; 0: never)",
                )
        for name, arr in (("smm_mult", self.smm_mult), ("mdr_mult", self.mdr_mult)):
            if arr.shape[1] not in (1, n_months):
                raise _bad(name, f"needs 1 or {n_months} months per scenario, got {arr.shape[1]}")
        paths = {"cpr_path": self.cpr_path, "cdr_path": self.cdr_path}
        paths.update({f"index_paths[{k!r}]": v for k, v in self.index_paths.items()})
        for name, path in paths.items():
            if path is not None and path.shape[1] < n_months:
                raise _bad(
                    name,
                    f"covers {path.shape[1]} months, the projection has {n_months}: give a value "
                    "for every month",
                )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its fields (a Monte Carlo block's scenarios come back from workers)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["index_paths"] = dict(self.index_paths)
        fields["drivers"] = dict(self.drivers)
        return (_rebuild, (fields,))

    def take(self, start: int, stop: int) -> Scenarios:
        """Scenarios ``start .. stop - 1`` (a block); random streams keep their numbers."""

        def cut(a: Any) -> Any:
            return None if a is None else a[start:stop]

        return Scenarios(
            n=stop - start,
            smm_mult=self.smm_mult[start:stop],
            mdr_mult=self.mdr_mult[start:stop],
            cpr_path=cut(self.cpr_path),
            cdr_path=cut(self.cdr_path),
            default_month=cut(self.default_month),
            index_paths=MappingProxyType({k: v[start:stop] for k, v in self.index_paths.items()}),
            drivers=MappingProxyType({k: v[start:stop] for k, v in self.drivers.items()}),
            seed=self.seed,
            offset=self.offset + start,
            recovery_rate=cut(self.recovery_rate),
        )


def _rebuild(fields: dict[str, Any]) -> Scenarios:
    """Scenarios from their pickled fields, read-only again."""
    fields["index_paths"] = MappingProxyType(fields["index_paths"])
    fields["drivers"] = MappingProxyType(fields["drivers"])
    out = Scenarios(**fields)
    for arr in out._arrays():
        arr.flags.writeable = False
    return out
