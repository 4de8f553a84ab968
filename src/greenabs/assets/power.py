"""Renewable power plants: solar, wind and hydro, with the grid tariff and the central subsidy.

A plant sells electricity at the provincial coal benchmark (the **tariff** leg, paid monthly
by the grid) and, for projects in the subsidy catalogue, receives a **subsidy** per kWh from
the Renewable Energy Development Fund, paid with a long lag, only on the "reasonable
utilisation hours" up to a cap (财建〔2020〕426号) and within ``subsidy_years`` of the
commercial operation date.  An SPV buys both legs (an income right) or only the subsidy (a
subsidy-receivable deal like China Resources Power's or Three Gorges' 2021 ABNs).

Energy of projection month ``m`` (MWh)::

    capacity_mw x p50_hours x seasonal weight x (1 - curtailment) x availability
        x (1 - degradation)^(whole years since cod) x share of the month in operation

Each leg's revenue is energy x 1,000 x its price (currency per kWh), collected its lag after
the month of generation.  The subsidy counts full-load hours (energy / capacity) from
``subsidy_hours_used`` at the cut-off; the month that crosses ``subsidy_hours_cap`` is
subsidised on the hours up to it.

Random drivers (declared in :data:`PowerFamily.random`): the year's resource (a standard normal
``z``; the year's energy is ``max(1 + sd z, 0)`` times the P50, ``sd`` from ``p90_hours`` as
``(1 - p90/p50) / 1.2816`` or from ``hours_sd``), the year's curtailment (``curtailment +
curtailment_sd z``, kept in [0, 1]) and the operator's default.  Defaults that depend on the
type are in :data:`TYPE_DEFAULTS` and docs/eco-assets.md, with their sources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from greenabs.assets.base import AssetSpecBase, CompileContext, RandomDriver
from greenabs.assets.revenue import (
    RevenueBlock,
    RevenueSpecBase,
    common_arrays,
    month_grid,
    operator_driver,
    year_values,
)
from greenabs.calendar import DealDate, add_months, months_between

__all__ = [
    "FAMILIES",
    "TYPE_DEFAULTS",
    "HydroPlantFamily",
    "HydroPlantSpec",
    "PowerAssumptions",
    "PowerBlock",
    "PowerSpecBase",
    "SolarPlantFamily",
    "SolarPlantSpec",
    "WindFarmFamily",
    "WindFarmSpec",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TypeDefaults:
    """Documented defaults of one plant type (each overridable per plant)."""

    seasonality: tuple[float, ...]
    degradation: float
    curtailment: float
    availability: float
    resource_sd: float
    subsidy_hours_cap: float | None


TYPE_DEFAULTS: dict[str, TypeDefaults] = {
    # seasonality: illustrative shapes for northern China (solar peaks in late spring, wind in
    # winter and spring, hydro in the Jun-Sep wet season); give a plant's own profile.
    # degradation: PV median 0.5 %/yr (Jordan & Kurtz 2013, doi 10.1002/pip.1182).
    # curtailment: wind 4 % national 2019 (NEA via cippe.net); PV about 2 % (assumed).
    # subsidy_hours_cap: PV resource zone II 26,000 h (财建〔2020〕426号); wind zone II 44,000 h
    # (same notice, as reported; see ../shared reference green_assets.md 2a).
    "solar_plant": TypeDefaults(
        seasonality=(6.2, 7.0, 8.6, 9.4, 10.0, 9.5, 9.4, 9.2, 8.5, 8.0, 7.0, 6.2),
        degradation=0.005,
        curtailment=0.02,
        availability=0.98,
        resource_sd=0.05,
        subsidy_hours_cap=26_000.0,
    ),
    "wind_farm": TypeDefaults(
        seasonality=(9.5, 9.0, 10.0, 10.5, 9.5, 7.0, 6.0, 5.5, 6.5, 8.0, 9.0, 9.5),
        degradation=0.0,
        curtailment=0.04,
        availability=0.97,
        resource_sd=0.08,
        subsidy_hours_cap=44_000.0,
    ),
    "hydro_plant": TypeDefaults(
        seasonality=(5.0, 4.5, 5.5, 7.0, 9.0, 11.5, 13.0, 12.5, 11.0, 9.0, 6.5, 5.5),
        degradation=0.0,
        curtailment=0.0,
        availability=0.97,
        resource_sd=0.12,
        subsidy_hours_cap=None,
    ),
}
"""Per-type defaults: seasonal weights (normalised when used), annual degradation,
curtailment, availability, the year-to-year standard deviation of energy as a share of P50
(when neither ``p90_hours`` nor ``hours_sd`` is given: illustrative) and the subsidy hour
cap."""

SUBSIDY_LAG_MONTHS = 24
"""Default subsidy collection lag: first subsidy cash about two years after connection, 18-36
months from application (qianinfo.com 2016; solarpwr.cn)."""

Leg = Literal["tariff", "subsidy"]


class PowerSpecBase(RevenueSpecBase):
    """A power plant whose sales (and subsidy) the SPV bought (see the module docstring)."""

    capacity_mw: float = Field(gt=0, le=100_000, description="Installed capacity (MW)")
    cod: DealDate = Field(description="Commercial operation date")
    p50_hours: float = Field(
        gt=0, description="Full-load equivalent hours a year at P50 (at most 8,760)"
    )
    p90_hours: float | None = Field(None, gt=0, description="One-year P90 full-load hours")
    hours_sd: float | None = Field(
        None, ge=0, description="Year-to-year standard deviation of full-load hours"
    )
    seasonality: tuple[float, ...] | None = Field(
        None, description="12 positive monthly weights, January first (normalised)"
    )
    degradation: float | None = Field(None, ge=0, lt=0.2, description="Loss of output a year")
    curtailment: float | None = Field(None, ge=0, le=1, description="Share of output curtailed")
    availability: float | None = Field(None, gt=0, le=1, description="Technical availability")
    tariff: float = Field(ge=0, le=10, description="Grid price per kWh (the coal benchmark)")
    subsidy: float = Field(0.0, ge=0, le=10, description="Subsidy per kWh from the fund")
    tariff_lag_months: int = Field(0, ge=0, le=120, description="Months to collect the tariff")
    subsidy_lag_months: int = Field(
        SUBSIDY_LAG_MONTHS, ge=0, le=120, description="Months to collect the subsidy"
    )
    subsidy_hours_cap: float | None = Field(
        None, gt=0, description="Lifetime subsidised full-load hours (type default)"
    )
    subsidy_hours_used: float = Field(
        0.0, ge=0, description="Subsidised full-load hours used before the cut-off"
    )
    subsidy_years: int = Field(20, ge=1, le=40, description="Years from cod the subsidy lasts")
    legs: tuple[Leg, ...] | None = Field(
        None,
        description="Revenue legs the SPV bought: [tariff, subsidy] by default, [subsidy] for a "
        "subsidy-receivable deal ([tariff] when there is no subsidy)",
    )
    opex_per_mw_year: float = Field(
        0.0, ge=0, le=1e8, description="Operating cost a year per MW, deducted from collections"
    )

    REPORTED: ClassVar[tuple[str, ...]] = (
        *RevenueSpecBase.REPORTED,
        "seasonality",
        "degradation",
        "curtailment",
        "availability",
        "subsidy_lag_months",
        "subsidy_hours_cap",
        "subsidy_years",
        "legs",
        "resource_sd",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.p50_hours > 8760:
            raise ValueError(
                f"p50_hours ({self.p50_hours:g}) is above 8,760: a capacity factor above 1"
            )
        if self.p90_hours is not None:
            if self.hours_sd is not None:
                raise ValueError("give p90_hours or hours_sd, not both")
            if self.p90_hours > self.p50_hours:
                raise ValueError(
                    f"p90_hours ({self.p90_hours:g}) is above p50_hours ({self.p50_hours:g})"
                )
        if self.seasonality is not None and (
            len(self.seasonality) != 12 or min(self.seasonality) <= 0
        ):
            raise ValueError(
                f"seasonality needs 12 positive monthly weights, got {list(self.seasonality)}"
            )
        legs = self.resolved("legs")
        if len(set(legs)) != len(legs):
            raise ValueError(f"legs names a leg twice: {list(legs)}")
        if "subsidy" in legs and self.subsidy == 0 and "legs" in self.model_fields_set:
            raise ValueError("legs includes subsidy but the plant's subsidy is 0 per kWh")
        if "subsidy" in legs and self.subsidy_lag_months > self.term_months:
            raise ValueError(
                f"subsidy_lag_months ({self.subsidy_lag_months}) is longer than the revenue "
                f"term sold (term_months {self.term_months})"
            )
        return self

    def resolved(self, name: str) -> Any:
        """A field's value, after the type's defaults."""
        d = TYPE_DEFAULTS[self.type]
        if name == "legs":
            if self.legs is not None:
                return self.legs
            return ("tariff", "subsidy") if self.subsidy > 0 else ("tariff",)
        if name == "resource_sd":
            return self.resource_sd()
        value = getattr(self, name)
        if value is None and hasattr(d, name):
            return getattr(d, name)
        return value

    def resource_sd(self) -> float:
        """Year-to-year standard deviation of energy as a share of P50."""
        if self.p90_hours is not None:
            return (1.0 - self.p90_hours / self.p50_hours) / 1.2815515655446004
        if self.hours_sd is not None:
            return self.hours_sd / self.p50_hours
        return TYPE_DEFAULTS[self.type].resource_sd


class SolarPlantSpec(PowerSpecBase):
    """A solar PV plant."""

    type: Literal["solar_plant"] = "solar_plant"


class WindFarmSpec(PowerSpecBase):
    """An onshore or offshore wind farm."""

    type: Literal["wind_farm"] = "wind_farm"


class HydroPlantSpec(PowerSpecBase):
    """A (small) hydro plant."""

    type: Literal["hydro_plant"] = "hydro_plant"


class PowerAssumptions(BaseModel):
    """A plant type's assumptions section (``assumptions.solar_plant`` and the like): stresses
    on every plant of the type."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    generation_factor: float = Field(
        1.0, gt=0, le=2, description="Multiplies every plant's P50 energy (stress)"
    )
    curtailment_add: float = Field(
        0.0, ge=-1, le=1, description="Added to every plant's curtailment (stress)"
    )
    curtailment_sd: float = Field(
        0.02, ge=0, le=1, description="Standard deviation of a year's curtailment (drivers)"
    )
    price_factor: float = Field(
        1.0, gt=0, le=2, description="Multiplies the tariff and the subsidy (stress)"
    )
    subsidy_delay_months: int = Field(
        0, ge=0, le=120, description="Extra months every subsidy is collected late (stress)"
    )


@dataclass(frozen=True, eq=False, kw_only=True)
class PowerBlock(RevenueBlock):
    """Plants of one type as arrays: base hours (n_gen, N) at P50 after seasonality,
    degradation, availability and operation, and per-plant prices and subsidy terms."""

    capacity: FloatArray
    base_hours: FloatArray
    sd: FloatArray
    curtailment: FloatArray
    curtailment_sd: float
    tariff: FloatArray
    subsidy: FloatArray
    sub_window: FloatArray
    hours_cap: FloatArray
    hours_used: FloatArray
    opex: FloatArray
    bought: Mapping[str, npt.NDArray[np.bool_]]

    def _hours(self, values: Mapping[str, FloatArray], n_s: int) -> FloatArray:
        g = self.n_gen
        z = year_values(values.get(f"{self.kind}.resource"), n_s, g, 0.0)
        zc = year_values(values.get(f"{self.kind}.curtailment"), n_s, g, 0.0)
        res = np.maximum(1.0 + self.sd[None, None, :] * z, 0.0)
        curt = np.clip(self.curtailment[None, None, :] + self.curtailment_sd * zc, 0.0, 1.0)
        out: FloatArray = self.base_hours[None] * res * (1.0 - curt)
        return out

    def generate(
        self, values: Mapping[str, FloatArray], n_s: int
    ) -> tuple[dict[str, FloatArray], FloatArray | None]:
        """Tariff and subsidy legs (the bought ones) and operating costs."""
        hours = self._hours(values, n_s)
        mwh = hours * self.capacity[None, None, :]
        legs: dict[str, FloatArray] = {}
        if self.bought["tariff"].any():
            legs["tariff"] = mwh * 1000.0 * (self.tariff * self.bought["tariff"])[None, None, :]
        if self.bought["subsidy"].any():
            before = self.hours_used[None, None, :] + np.cumsum(hours, axis=1) - hours
            sub_h = np.clip(self.hours_cap[None, None, :] - before, 0.0, hours)
            price = (self.subsidy * self.bought["subsidy"])[None, None, :]
            legs["subsidy"] = (
                sub_h * self.sub_window[None] * self.capacity[None, None, :] * (1000.0 * price)
            )
        opex = self.opex[None] if self.opex.any() else None
        return legs, opex

    def physical(self) -> dict[str, FloatArray]:
        """Expected generation (MWh) by month and plant."""
        return {"mwh": self._hours({}, 1)[0] * self.capacity[None, :]}


def _operation(
    cod: date, cutoff: date, n: int, ends: list[date], until: date | None = None
) -> FloatArray:
    """Share of each month's days after ``cod`` (and before ``until``)."""
    starts = [cutoff, *ends[:-1]]
    out = np.zeros(n)
    for j, (s, e) in enumerate(zip(starts, ends, strict=True)):
        lo = max(s, cod)
        hi = e if until is None else min(e, until)
        out[j] = min(max((hi - lo).days / max((e - s).days, 1), 0.0), 1.0)
    return out


def _compile(specs: Sequence[PowerSpecBase], ctx: CompileContext, kind: str) -> PowerBlock:
    n = len(specs)
    section: PowerAssumptions = ctx.section(kind) or PowerAssumptions()
    g = max(s.term_months for s in specs)
    cal, _, ends = month_grid(ctx.cutoff, g)
    starts = [ctx.cutoff, *ends[:-1]]
    base = np.zeros((g, n))
    window = np.zeros((g, n))
    opex = np.zeros((g, n))
    for i, s in enumerate(specs):
        w = np.asarray(s.resolved("seasonality"), dtype=np.float64)
        w = w / w.sum()
        sold = (np.arange(g) < s.term_months).astype(np.float64)
        op = _operation(s.cod, ctx.cutoff, g, ends) * sold
        # whole years of operation completed when the month starts (degradation steps once a
        # year, as annual energy models apply it)
        years = np.array([max(months_between(s.cod, st), 0) // 12 for st in starts])
        degr = (1.0 - s.resolved("degradation")) ** years
        base[:, i] = (
            s.p50_hours * w[cal - 1] * degr * s.resolved("availability") * op
        ) * section.generation_factor
        until = add_months(s.cod, 12 * s.subsidy_years)
        window[:, i] = _operation(s.cod, ctx.cutoff, g, ends, until)
        opex[:, i] = s.opex_per_mw_year * s.capacity_mw / 12.0 * op
    legs = [s.resolved("legs") for s in specs]
    return PowerBlock(
        **common_arrays(specs),
        kind=kind,
        random=_drivers(kind),
        n_gen=g,
        lags={
            "tariff": np.fromiter((s.tariff_lag_months for s in specs), np.int64, n),
            "subsidy": np.fromiter(
                (s.subsidy_lag_months + section.subsidy_delay_months for s in specs), np.int64, n
            ),
        },
        age0=np.fromiter((max(months_between(s.cod, ctx.cutoff), 0) for s in specs), np.int64, n),
        capacity=np.fromiter((s.capacity_mw for s in specs), np.float64, n),
        base_hours=base,
        sd=np.fromiter((s.resource_sd() for s in specs), np.float64, n),
        curtailment=np.clip(
            np.fromiter((s.resolved("curtailment") for s in specs), np.float64, n)
            + section.curtailment_add,
            0.0,
            1.0,
        ),
        curtailment_sd=section.curtailment_sd,
        tariff=np.fromiter((s.tariff for s in specs), np.float64, n) * section.price_factor,
        subsidy=np.fromiter((s.subsidy for s in specs), np.float64, n) * section.price_factor,
        sub_window=window,
        hours_cap=np.array(
            [s.resolved("subsidy_hours_cap") or np.inf for s in specs], dtype=np.float64
        ),
        hours_used=np.fromiter((s.subsidy_hours_used for s in specs), np.float64, n),
        opex=opex,
        bought={
            leg: np.fromiter((leg in x for x in legs), np.bool_, n) for leg in ("tariff", "subsidy")
        },
    )


def _drivers(kind: str) -> tuple[RandomDriver, ...]:
    return (
        RandomDriver(
            name=f"{kind}.resource",
            distribution="normal",
            per="year",
            description="Standard normal z of a year's resource: energy is max(1 + sd z, 0) "
            "x P50, sd from p90_hours, hours_sd or the type default",
        ),
        RandomDriver(
            name=f"{kind}.curtailment",
            distribution="normal",
            per="year",
            description="Standard normal z of a year's curtailment: curtailment + "
            "curtailment_sd z, kept in [0, 1]",
            adverse="high",
        ),
        operator_driver(kind),
    )


class _PowerFamily:
    """What the three plant families share: the assumptions section and the compiler."""

    type_name: ClassVar[str]
    spec: ClassVar[type[AssetSpecBase]]
    assumptions: ClassVar[type[BaseModel]] = PowerAssumptions
    random: ClassVar[tuple[RandomDriver, ...]]

    @classmethod
    def compile(cls, specs: Sequence[Any], ctx: CompileContext) -> PowerBlock:
        """All plants of the type in a pool as one block."""
        return _compile(specs, ctx, cls.type_name)


class SolarPlantFamily(_PowerFamily):
    """Registered family for :class:`SolarPlantSpec`."""

    type_name = "solar_plant"
    spec = SolarPlantSpec
    random = _drivers("solar_plant")


class WindFarmFamily(_PowerFamily):
    """Registered family for :class:`WindFarmSpec`."""

    type_name = "wind_farm"
    spec = WindFarmSpec
    random = _drivers("wind_farm")


class HydroPlantFamily(_PowerFamily):
    """Registered family for :class:`HydroPlantSpec`."""

    type_name = "hydro_plant"
    spec = HydroPlantSpec
    random = _drivers("hydro_plant")


FAMILIES: tuple[type[Any], ...] = (SolarPlantFamily, WindFarmFamily, HydroPlantFamily)
"""The power families, registered by :mod:`greenabs.assets`."""
