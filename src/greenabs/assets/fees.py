"""Treatment-fee concessions: sewage (per m3) and solid waste (per tonne).

A treatment plant bills a municipal payer (a water bureau, an urban-management bureau) a unit
fee on the volume it treats, often with a **guaranteed minimum volume** (保底水量) and with
fee **resets** agreed with the government.  An SPV buys the fee income (an income right, whose
cash depends on the operator running the plant) or the fee claims on the payer (a
receivable).  The payer pays each month's bill ``payer_delay_months`` after the month treated.

Billed volume of projection month ``m`` (m3 or t)::

    capacity a day x days in month m x max(utilisation, min_volume_share) x operating share

where the days come from :func:`greenabs.assets.revenue.month_grid` and the operating share is
the share of the month's days on or after ``start`` (1 for a plant operating at the cut-off)
and within the ``term_months`` sold.  The **fee** leg is billed volume x the fee of each day
(``fee_per_m3`` / ``fee_per_t`` until the first reset, then the fee of the last reset dated on
or before that day), collected ``payer_delay_months + payer_delay_add`` months after the month
treated.  Treatment plants' operating costs stay with the operator: the leg is gross.

Random drivers (declared in :data:`SewageFeeFamily.random` and :data:`WasteFeeFamily.random`):
``<type>.utilisation``, a standard normal ``z`` per year (the year's utilisation is
``utilisation + utilisation_add + utilisation_sd z`` kept in [0, 1], *then* floored at the
minimum volume share), and the operator's default.  A run without the utilisation driver uses
its exact expectation: with ``X ~ N(u, sd)`` and the floor ``a``, the billed share is
``clip(X, a, 1)`` and ``E[clip(X, a, 1)] = a Phi(alpha) + (1 - Phi(beta)) + u (Phi(beta) -
Phi(alpha)) + sd (phi(alpha) - phi(beta))`` with ``alpha = (a - u) / sd`` and ``beta = (1 - u)
/ sd``, so the guarantee's value under uncertainty is in the expected cash (with ``sd = 0``
it is ``max(u, a)``).  Defaults and sources are in docs/eco-assets.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from greenabs.assets.base import AssetSpecBase, CompileContext, RandomDriver
from greenabs.assets.revenue import (
    RevenueBlock,
    RevenueSpecBase,
    common_arrays,
    month_grid,
    operator_driver,
    year_values,
)
from greenabs.calendar import DealDate, months_between

__all__ = [
    "FAMILIES",
    "PAYER_DELAY_MONTHS",
    "FeeAssumptions",
    "FeeBlock",
    "FeeReset",
    "FeeSpecBase",
    "SewageFeeFamily",
    "SewageFeeSpec",
    "WasteFeeFamily",
    "WasteFeeSpec",
    "expected_clip",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PAYER_DELAY_MONTHS = 1
"""Default months between the month treated and the payer's payment: a municipal bureau
settles the month's bill in the following month (illustrative; concession contracts range
from monthly to quarterly settlement)."""

MAX_FEE = 1e5
"""Largest unit fee accepted (currency per m3 or t); Guangdong's average sewage charge was
0.47 RMB/t in 2007 (green_assets.md 2c)."""


class FeeReset(BaseModel):
    """A fee change: from ``date`` (inclusive) the unit fee is ``fee``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    date: DealDate = Field(description="First day the new fee applies")
    fee: float = Field(ge=0, le=MAX_FEE, description="The unit fee from that date")


class FeeSpecBase(RevenueSpecBase):
    """A treatment plant whose fees the SPV bought (see the module docstring).  Each family
    adds its capacity and unit-fee fields (:attr:`CAPACITY`, :attr:`FEE`)."""

    CAPACITY: ClassVar[str] = ""
    FEE: ClassVar[str] = ""

    utilisation: float = Field(
        gt=0, le=1, description="Expected volume treated as a share of design capacity"
    )
    min_volume_share: float = Field(
        0.0,
        ge=0,
        description="Guaranteed minimum volume as a share of design capacity (0: none): the "
        "payer pays for at least this share whatever the volume treated",
    )
    fee_resets: tuple[FeeReset, ...] = Field(
        (), max_length=600, description="Fee changes [{date, fee}], dates strictly increasing"
    )
    payer_delay_months: int = Field(
        PAYER_DELAY_MONTHS,
        ge=0,
        le=60,
        description="Months after the month treated that the payer pays its fee",
    )
    start: DealDate | None = Field(
        None, description="Date operation starts (default: operating at the cut-off)"
    )

    REPORTED: ClassVar[tuple[str, ...]] = (
        *RevenueSpecBase.REPORTED,
        "min_volume_share",
        "fee_resets",
        "payer_delay_months",
    )

    @field_validator("min_volume_share")
    @classmethod
    def _share(cls, v: float) -> float:
        if v > 1:
            raise ValueError(
                f"min_volume_share ({v:g}) is above 1: the guaranteed minimum volume is a share "
                "of design capacity, and a plant cannot be billed for more than it can treat"
            )
        return v

    @field_validator("fee_resets")
    @classmethod
    def _resets(cls, v: tuple[FeeReset, ...]) -> tuple[FeeReset, ...]:
        for a, b in pairwise(v):
            if b.date <= a.date:
                raise ValueError(
                    f"fee_resets dates must be strictly increasing: {b.date} follows {a.date}"
                )
        return v

    def capacity(self) -> float:
        """Design capacity a day (m3 or t)."""
        return float(getattr(self, type(self).CAPACITY))

    def fee(self) -> float:
        """Unit fee at the cut-off, before any reset."""
        return float(getattr(self, type(self).FEE))


class SewageFeeSpec(FeeSpecBase):
    """A sewage treatment plant's fees (per m3 treated)."""

    CAPACITY: ClassVar[str] = "capacity_m3_day"
    FEE: ClassVar[str] = "fee_per_m3"

    type: Literal["sewage_fee"] = "sewage_fee"
    capacity_m3_day: float = Field(gt=0, le=1e9, description="Design capacity (m3 a day)")
    fee_per_m3: float = Field(ge=0, le=MAX_FEE, description="Treatment fee per m3")


class WasteFeeSpec(FeeSpecBase):
    """A solid-waste treatment plant's fees (per tonne treated)."""

    CAPACITY: ClassVar[str] = "capacity_t_day"
    FEE: ClassVar[str] = "fee_per_t"

    type: Literal["waste_fee"] = "waste_fee"
    capacity_t_day: float = Field(gt=0, le=1e9, description="Design capacity (t a day)")
    fee_per_t: float = Field(ge=0, le=MAX_FEE, description="Treatment fee per tonne")


class FeeAssumptions(BaseModel):
    """A fee family's assumptions section (``assumptions.sewage_fee``,
    ``assumptions.waste_fee``): stresses on every plant of the type."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    utilisation_add: float = Field(
        0.0,
        ge=-1,
        le=1,
        description="Added to every plant's utilisation, before the minimum-volume floor (stress)",
    )
    utilisation_sd: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Standard deviation of a year's utilisation (drivers; illustrative)",
    )
    fee_factor: float = Field(
        1.0, gt=0, le=2, description="Multiplies every unit fee and reset (stress)"
    )
    payer_delay_add: int = Field(
        0, ge=0, le=60, description="Extra months every payer pays late (stress)"
    )


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def expected_clip(mu: float, sd: float, lo: float, hi: float) -> float:
    """``E[clip(X, lo, hi)]`` for ``X ~ N(mu, sd)`` (``lo <= hi``; ``sd = 0``: ``clip(mu)``)."""
    if sd <= 0:
        return min(max(mu, lo), hi)
    a, b = (lo - mu) / sd, (hi - mu) / sd
    pa, pb = _cdf(a), _cdf(b)
    return lo * pa + hi * (1.0 - pb) + mu * (pb - pa) + sd * (_phi(a) - _phi(b))


@dataclass(frozen=True, eq=False, kw_only=True)
class FeeBlock(RevenueBlock):
    """Plants of one fee type as arrays: capacity-days (n_gen, N) (capacity x days x
    operating share), the mean daily fee of each month (n_gen, N), utilisation and floor."""

    unit: str
    capacity_days: FloatArray
    fee: FloatArray
    utilisation: FloatArray
    floor: FloatArray
    utilisation_sd: float

    def _share(self, values: Mapping[str, FloatArray], n_s: int) -> FloatArray:
        """Billed share of capacity, (S|1, n_gen, N)."""
        z = values.get(f"{self.kind}.utilisation")
        if z is None:
            exp = [
                expected_clip(u, self.utilisation_sd, a, 1.0)
                for u, a in zip(self.utilisation, self.floor, strict=True)
            ]
            return np.broadcast_to(np.asarray(exp)[None, None, :], (1, self.n_gen, len(exp)))
        zy = year_values(z, n_s, self.n_gen, 0.0)
        u = np.clip(self.utilisation[None, None, :] + self.utilisation_sd * zy, 0.0, 1.0)
        out: FloatArray = np.maximum(u, self.floor[None, None, :])
        return out

    def generate(
        self, values: Mapping[str, FloatArray], n_s: int
    ) -> tuple[dict[str, FloatArray], FloatArray | None]:
        """The fee leg by month treated; no operating costs."""
        share = self._share(values, n_s)
        return {"fee": (self.capacity_days * self.fee)[None] * share}, None

    def physical(self) -> dict[str, FloatArray]:
        """Expected volume treated (not billed: the guarantee adds no volume) by month."""
        treated = [expected_clip(u, self.utilisation_sd, 0.0, 1.0) for u in self.utilisation]
        return {self.unit: self.capacity_days * np.asarray(treated)[None, :]}


def active_days(start: date | None, lo: date, hi: date) -> int:
    """Days of the period ``(lo, hi]`` on or after ``start``."""
    if start is None:
        return (hi - lo).days
    return max((hi - max(lo, start - timedelta(days=1))).days, 0)


def _daily_fee(spec: FeeSpecBase, starts: list[date], ends: list[date]) -> FloatArray:
    """Mean fee over the days ``(start, end]`` of each month, after the resets."""
    out = np.full(len(ends), spec.fee())
    for r_prev, r in zip((None, *spec.fee_resets), spec.fee_resets, strict=False):
        prev = spec.fee() if r_prev is None else r_prev.fee
        for j, (s, e) in enumerate(zip(starts, ends, strict=True)):
            days = (e - s).days
            after = active_days(r.date, s, e)
            out[j] += (r.fee - prev) * after / max(days, 1)
    return out


def _compile(specs: Sequence[FeeSpecBase], ctx: CompileContext, kind: str) -> FeeBlock:
    n = len(specs)
    section: FeeAssumptions = ctx.section(kind) or FeeAssumptions()
    g = max(s.term_months for s in specs)
    _, days, ends = month_grid(ctx.cutoff, g)
    starts = [ctx.cutoff, *ends[:-1]]
    cap_days = np.zeros((g, n))
    fee = np.zeros((g, n))
    for i, s in enumerate(specs):
        active = (
            days
            if s.start is None
            else np.array([active_days(s.start, a, b) for a, b in zip(starts, ends, strict=True)])
        )
        sold = np.arange(g) < s.term_months
        cap_days[:, i] = s.capacity() * active * sold
        fee[:, i] = _daily_fee(s, starts, ends) * section.fee_factor
    return FeeBlock(
        **common_arrays(specs),
        kind=kind,
        random=_drivers(kind),
        n_gen=g,
        lags={
            "fee": np.fromiter(
                (s.payer_delay_months + section.payer_delay_add for s in specs), np.int64, n
            )
        },
        age0=np.fromiter(
            (max(months_between(s.start, ctx.cutoff), 0) if s.start else 0 for s in specs),
            np.int64,
            n,
        ),
        unit="m3_wastewater" if kind == "sewage_fee" else "t_waste",
        capacity_days=cap_days,
        fee=fee,
        utilisation=np.clip(
            np.fromiter((s.utilisation for s in specs), np.float64, n) + section.utilisation_add,
            0.0,
            1.0,
        ),
        floor=np.fromiter((s.min_volume_share for s in specs), np.float64, n),
        utilisation_sd=section.utilisation_sd,
    )


def _drivers(kind: str) -> tuple[RandomDriver, ...]:
    return (
        RandomDriver(
            name=f"{kind}.utilisation",
            distribution="normal",
            per="year",
            description="Standard normal z of a year's utilisation: utilisation + "
            "utilisation_add + utilisation_sd z, kept in [0, 1], then floored at "
            "min_volume_share",
        ),
        operator_driver(kind),
    )


class _FeeFamily:
    """What the two fee families share: the assumptions section and the compiler."""

    type_name: ClassVar[str]
    spec: ClassVar[type[AssetSpecBase]]
    assumptions: ClassVar[type[BaseModel]] = FeeAssumptions
    random: ClassVar[tuple[RandomDriver, ...]]

    @classmethod
    def compile(cls, specs: Sequence[Any], ctx: CompileContext) -> FeeBlock:
        """All plants of the type in a pool as one block."""
        return _compile(specs, ctx, cls.type_name)


class SewageFeeFamily(_FeeFamily):
    """Registered family for :class:`SewageFeeSpec`."""

    type_name = "sewage_fee"
    spec = SewageFeeSpec
    random = _drivers("sewage_fee")


class WasteFeeFamily(_FeeFamily):
    """Registered family for :class:`WasteFeeSpec`."""

    type_name = "waste_fee"
    spec = WasteFeeSpec
    random = _drivers("waste_fee")


FAMILIES: tuple[type[Any], ...] = (SewageFeeFamily, WasteFeeFamily)
"""The fee families, registered by :mod:`greenabs.assets`."""
