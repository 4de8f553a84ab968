"""Forestry: timber harvests on a rotation and carbon credits from the forest's sequestration.

A forest (a forestry-rights income right, or a receivable on its sales) earns two legs:

* **timber**: the harvested volume times the timber price, collected ``timber_lag_months``
  after the harvest month;
* **carbon**: credits from the forest's sequestration (CCER forestry projects), a share
  ``carbon_share_sold`` of them sold at the carbon price, collected ``carbon_lag_months``
  after the month of sequestration (monitoring, verification, issuance and sale take time).

The standing stock is tracked per hectare of the whole area (a normal-forest approximation:
harvested stands are replanted and the area's average stock grows at ``growth_m3_ha_year``).
In projection month ``m`` (year ``y = m // 12`` from the cut-off, 0-based)::

    at the start of each projection year:  stock *= fire factor of year y
    stock += growth_m3_ha_year / 12 x growth_factor
    harvested_m3_ha = harvest share of month m x stock;   stock -= harvested_m3_ha
    timber = area_ha x harvested_m3_ha x timber_price x (1 + timber_price_growth)^y
             x timber_price_factor x price driver of year y
    credits = area_ha x sequestration_tco2_ha_year / 12 x fire factor of year y
    carbon = credits x carbon_share_sold x carbon_price x (1 + carbon_price_growth)^y
             x carbon_price_factor x price driver of year y

The harvest share of a month is ``harvest_share_per_year`` (default ``1 / rotation_years``) in
the calendar month ``harvest_month`` of every year, or the ``share`` of each explicit
``harvests`` entry in the month of its date; a share of the area felled takes that share of
the standing stock.  The fire (or pest) factor is ``1 - fire_probability x fire_loss`` in the
deterministic run (the expected loss) and ``1 - fire_loss`` in a year whose ``forestry.fire``
draw ``u`` is below ``fire_probability`` (else 1) in a scenario run: the event destroys that
share of the standing stock and of the year's sequestration.

Random drivers (:data:`ForestryFamily.random`): ``forestry.timber_price`` and
``forestry.carbon_price`` (a standard normal ``z`` a year; the year's price is multiplied by
``exp(sd z - sd^2 / 2)``, mean 1, ``sd`` from the assumptions section), ``forestry.fire`` (a
uniform a year) and the operator's default.  Defaults and their sources are in
docs/eco-assets.md.
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
from greenabs.calendar import DealDate
from greenabs.errors import Problem, SpecError

__all__ = [
    "CARBON_PRICE",
    "FAMILIES",
    "ForestSpec",
    "ForestryAssumptions",
    "ForestryBlock",
    "ForestryFamily",
    "Harvest",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CARBON_PRICE = 70.0
"""Default carbon price (RMB per tCO2e): the middle of the CCER band of 60-80 RMB/t after the
22 Jan 2024 relaunch (ditan.com/carbon/ccer/8214.html; sfmzp.com/article-34751-1.html, via
../shared reference green_assets.md 2c).  The national ETS allowance (CEA) first traded at
52.78 RMB/t (16 Jul 2021)."""

SEQUESTRATION = 1.41
"""Default net sequestration (tCO2e per ha a year): the average projected for China's
state-owned plantation forests 2023-2060 (Chen, Dayananda, Du, Zhou & Wang 2024, Forests
15(5) 886, doi 10.3390/f15050886).  CCER afforestation projects claim more (vendor figures
of 0.8-1.2 t/mu, 12-18 t/ha, greennewpower.cn): give a project's own ex-ante estimate."""

FIRE_PROBABILITY = 0.003
"""Default annual probability of a fire or pest event (illustrative): China's burned forest
area averaged 674,800 ha a year in 1950-2010 (Su, He & Chen 2015, Scientia Silvae Sinicae
51(1) 88, doi 10.11707/j.1001-7488.20150110), about 0.4 % of today's forest area, and
6,542 ha in Jan-Sep 2020 (Ministry of Emergency Management via english.www.gov.cn), a few
thousandths of a percent."""

FIRE_LOSS = 0.5
"""Default share of the standing stock an event destroys (illustrative)."""


class Harvest(BaseModel):
    """One planned harvest: the share of the forest's area clear-felled in the month of
    ``date``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    date: DealDate = Field(description="Harvest date (the collection month containing it)")
    share: float = Field(gt=0, le=1, description="Share of the area (and standing stock) felled")


class ForestSpec(RevenueSpecBase):
    """A forest whose timber and carbon-credit income the SPV bought (see the module
    docstring)."""

    type: Literal["forestry"] = "forestry"
    area_ha: float = Field(gt=0, le=1e8, description="Forest area (ha)")
    growth_m3_ha_year: float = Field(
        ge=0, le=100, description="Growth of the standing volume per ha a year (m3)"
    )
    standing_m3_ha: float = Field(
        ge=0, le=5_000, description="Standing volume per ha at the cut-off (m3)"
    )
    rotation_years: int | None = Field(
        None, ge=1, le=200, description="Years between harvests of a stand (the rotation)"
    )
    harvest_share_per_year: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Share of the area felled each year (default 1 / rotation_years)",
    )
    harvest_month: int = Field(
        12, ge=1, le=12, description="Calendar month of the yearly harvest (1-12)"
    )
    harvests: tuple[Harvest, ...] | None = Field(
        None, description="Explicit harvests {date, share} instead of a yearly share"
    )
    timber_price: float = Field(ge=0, le=1e6, description="Timber price per m3 at the cut-off")
    timber_price_growth: float = Field(
        0.0, ge=-0.5, le=0.5, description="Annual growth of the timber price"
    )
    timber_lag_months: int = Field(
        0, ge=0, le=120, description="Months from harvest to the timber cash"
    )
    sequestration_tco2_ha_year: float = Field(
        SEQUESTRATION, ge=0, le=100, description="Net carbon sequestered per ha a year (tCO2e)"
    )
    carbon_price: float = Field(
        CARBON_PRICE, ge=0, le=1e5, description="Carbon credit price per tCO2e (CCER)"
    )
    carbon_price_growth: float = Field(
        0.0, ge=-0.5, le=0.5, description="Annual growth of the carbon price"
    )
    carbon_share_sold: float = Field(
        1.0, ge=0, le=1, description="Share of the sequestration sold as credits"
    )
    carbon_lag_months: int = Field(
        12, ge=0, le=120, description="Months from sequestration to the credits' cash"
    )
    fire_probability: float = Field(
        FIRE_PROBABILITY, ge=0, le=1, description="Annual probability of a fire or pest event"
    )
    fire_loss: float = Field(
        FIRE_LOSS, ge=0, le=1, description="Share of the standing stock an event destroys"
    )
    opex_per_ha_year: float = Field(
        0.0, ge=0, le=1e7, description="Management cost a year per ha, deducted from collections"
    )

    REPORTED: ClassVar[tuple[str, ...]] = (
        *RevenueSpecBase.REPORTED,
        "harvest_share_per_year",
        "harvest_month",
        "timber_price_growth",
        "timber_lag_months",
        "sequestration_tco2_ha_year",
        "carbon_price",
        "carbon_price_growth",
        "carbon_share_sold",
        "carbon_lag_months",
        "fire_probability",
        "fire_loss",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.harvests is not None:
            if self.harvest_share_per_year is not None:
                raise ValueError("give harvest_share_per_year or harvests, not both")
            dates = [h.date for h in self.harvests]
            for k in range(1, len(dates)):
                if dates[k] <= dates[k - 1]:
                    raise ValueError(
                        f"harvests dates must be increasing: harvests[{k}].date {dates[k]} is "
                        f"not after {dates[k - 1]}"
                    )
        elif self.harvest_share_per_year is None and self.rotation_years is None:
            raise ValueError("give rotation_years, harvest_share_per_year or harvests")
        share, rotation = self.harvest_share_per_year, self.rotation_years
        if share is not None and rotation is not None and share * rotation > 1 + 1e-9:
            raise ValueError(
                f"harvest_share_per_year ({share:g}) x rotation_years ({rotation}) is above "
                "1: more than the whole area felled in a rotation"
            )
        return self

    def defaults_used(self) -> dict[str, Any]:
        """The reported fields the deal left out, with the value used (no yearly harvest
        fields when explicit ``harvests`` are given)."""
        out = super().defaults_used()
        if self.harvests is not None:
            out.pop("harvest_share_per_year", None)
            out.pop("harvest_month", None)
        return out

    def resolved(self, name: str) -> Any:
        """A field's value, after defaults that depend on other fields."""
        if name == "harvest_share_per_year":
            if self.harvest_share_per_year is not None or self.harvests is not None:
                return self.harvest_share_per_year
            assert self.rotation_years is not None
            return 1.0 / self.rotation_years
        return getattr(self, name)


class ForestryAssumptions(BaseModel):
    """The ``assumptions.forestry`` section: stresses on every forest and the volatility of
    the price drivers."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    timber_price_factor: float = Field(
        1.0, gt=0, le=5, description="Multiplies every timber price (stress)"
    )
    carbon_price_factor: float = Field(
        1.0, ge=0, le=10, description="Multiplies every carbon price (stress)"
    )
    growth_factor: float = Field(
        1.0, ge=0, le=2, description="Multiplies every forest's volume growth (stress)"
    )
    fire_probability_factor: float = Field(
        1.0, ge=0, le=100, description="Multiplies every fire probability, capped at 1 (stress)"
    )
    carbon_delay_months: int = Field(
        0, ge=0, le=120, description="Extra months every carbon credit is collected late"
    )
    timber_price_sd: float = Field(
        0.15,
        ge=0,
        le=2,
        description="Standard deviation of the log timber price factor of a year (drivers; "
        "illustrative)",
    )
    carbon_price_sd: float = Field(
        0.25,
        ge=0,
        le=2,
        description="Standard deviation of the log carbon price factor of a year (drivers; "
        "illustrative)",
    )


@dataclass(frozen=True, eq=False, kw_only=True)
class ForestryBlock(RevenueBlock):
    """Forests as arrays: area, stock and growth per ha, the harvest share of each month
    (n_gen, N), price paths by month (n_gen, N) and loss parameters."""

    area: FloatArray
    stock0: FloatArray
    growth: FloatArray
    harvest: FloatArray
    sold: FloatArray
    timber_price: FloatArray
    carbon_price: FloatArray
    seq: FloatArray
    carbon_share: FloatArray
    fire_p: FloatArray
    fire_loss: FloatArray
    opex: FloatArray
    timber_sd: float
    carbon_sd: float

    def _fire_factor(self, values: Mapping[str, FloatArray], n_s: int) -> FloatArray:
        """The loss factor of each month's projection year, (S|1, n_gen, N)."""
        g = self.n_gen
        u = values.get(f"{self.kind}.fire")
        if u is None:
            out: FloatArray = np.broadcast_to(
                (1.0 - self.fire_p * self.fire_loss)[None, None, :], (1, g, len(self.ids))
            )
            return out
        uy = year_values(u, n_s, g, 0.0)
        return np.where(uy < self.fire_p[None, None, :], 1.0 - self.fire_loss[None, None, :], 1.0)

    def _price_factor(self, values: Mapping[str, FloatArray], name: str, sd: float) -> FloatArray:
        z = values.get(f"{self.kind}.{name}")
        if z is None:
            return np.ones((1, self.n_gen, 1))
        zy = year_values(z, 1, self.n_gen, 0.0)
        out: FloatArray = np.exp(sd * zy - 0.5 * sd * sd)
        return out

    def _volumes(self, fire: FloatArray) -> FloatArray:
        """Harvested m3 per ha of the whole area by month, (S|1, n_gen, N)."""
        g = self.n_gen
        stock = np.broadcast_to(self.stock0[None, :], (fire.shape[0], len(self.ids))).copy()
        out = np.zeros((fire.shape[0], g, len(self.ids)))
        for m in range(g):
            if m % 12 == 0:
                stock *= fire[:, m, :]
            stock += self.growth
            cut = self.harvest[m] * stock
            stock -= cut
            out[:, m, :] = cut
        return out

    def generate(
        self, values: Mapping[str, FloatArray], n_s: int
    ) -> tuple[dict[str, FloatArray], FloatArray | None]:
        """Timber and carbon legs and management costs."""
        fire = self._fire_factor(values, n_s)
        cut = self._volumes(fire)
        pt = self._price_factor(values, "timber_price", self.timber_sd)
        pc = self._price_factor(values, "carbon_price", self.carbon_sd)
        timber = cut * (self.area * self.sold * self.timber_price)[None] * pt
        credits = fire * (self.area * self.seq / 12.0 * self.sold)[None]
        carbon = credits * (self.carbon_share * self.carbon_price)[None] * pc
        opex = self.opex[None] if self.opex.any() else None
        return {"timber": timber, "carbon": carbon}, opex

    def physical(self) -> dict[str, FloatArray]:
        """Area managed (ha) and expected carbon sequestered (tCO2e) by month and forest."""
        fire = self._fire_factor({}, 1)[0]
        return {
            "ha_managed": self.area[None, :] * self.sold,
            "tco2_sequestered": fire * (self.area * self.seq / 12.0)[None, :] * self.sold,
        }


def _harvest_shares(
    s: ForestSpec, cutoff: date, cal: IntArray, ends: list[date], g: int, where: str
) -> FloatArray:
    """Share of the area felled in each projection month (0 beyond the term sold)."""
    out = np.zeros(g)
    if s.harvests is None:
        out[cal == s.harvest_month] = s.resolved("harvest_share_per_year")
    else:
        for k, h in enumerate(s.harvests):
            if h.date <= cutoff:
                raise SpecError(
                    "<argument>",
                    Problem(
                        f"{where} harvests[{k}].date",
                        f"{h.date} is not after the cut-off {cutoff}",
                    ),
                )
            j = next((i for i, e in enumerate(ends) if h.date <= e), None)
            if j is not None:
                out[j] += h.share
    out[s.term_months :] = 0.0
    return out


def _compile(specs: Sequence[ForestSpec], ctx: CompileContext) -> ForestryBlock:
    n = len(specs)
    kind = "forestry"
    section: ForestryAssumptions = ctx.section(kind) or ForestryAssumptions()
    g = max(s.term_months for s in specs)
    cal, _, ends = month_grid(ctx.cutoff, g)
    year = (np.arange(g) // 12).astype(np.float64)[:, None]
    sold = (np.arange(g)[:, None] < np.array([s.term_months for s in specs])[None, :]).astype(
        np.float64
    )
    harvest = np.stack(
        [_harvest_shares(s, ctx.cutoff, cal, ends, g, f"forestry asset {s.id!r}:") for s in specs],
        axis=1,
    )

    def arr(name: str) -> FloatArray:
        return np.fromiter((float(s.resolved(name)) for s in specs), np.float64, n)

    area = arr("area_ha")
    return ForestryBlock(
        **common_arrays(specs),
        kind=kind,
        random=_drivers(kind),
        n_gen=g,
        lags={
            "timber": np.fromiter((s.timber_lag_months for s in specs), np.int64, n),
            "carbon": np.fromiter(
                (s.carbon_lag_months + section.carbon_delay_months for s in specs), np.int64, n
            ),
        },
        age0=np.zeros(n, dtype=np.int64),
        area=area,
        stock0=arr("standing_m3_ha"),
        growth=arr("growth_m3_ha_year") / 12.0 * section.growth_factor,
        harvest=harvest,
        sold=sold,
        timber_price=arr("timber_price")
        * (1.0 + arr("timber_price_growth"))[None, :] ** year
        * section.timber_price_factor,
        carbon_price=arr("carbon_price")
        * (1.0 + arr("carbon_price_growth"))[None, :] ** year
        * section.carbon_price_factor,
        seq=arr("sequestration_tco2_ha_year"),
        carbon_share=arr("carbon_share_sold"),
        fire_p=np.minimum(arr("fire_probability") * section.fire_probability_factor, 1.0),
        fire_loss=arr("fire_loss"),
        opex=(arr("opex_per_ha_year") * area / 12.0)[None, :] * sold,
        timber_sd=section.timber_price_sd,
        carbon_sd=section.carbon_price_sd,
    )


def _drivers(kind: str) -> tuple[RandomDriver, ...]:
    return (
        RandomDriver(
            name=f"{kind}.timber_price",
            distribution="normal",
            per="year",
            description="Standard normal z of a year's timber price: the price is multiplied "
            "by exp(sd z - sd^2/2), sd = timber_price_sd of the assumptions section",
        ),
        RandomDriver(
            name=f"{kind}.carbon_price",
            distribution="normal",
            per="year",
            description="Standard normal z of a year's carbon price: the price is multiplied "
            "by exp(sd z - sd^2/2), sd = carbon_price_sd of the assumptions section",
        ),
        RandomDriver(
            name=f"{kind}.fire",
            distribution="uniform",
            per="year",
            description="Uniform u of a year: a fire or pest event when u < fire_probability "
            "destroys fire_loss of the standing stock and of the year's sequestration",
        ),
        operator_driver(kind),
    )


class ForestryFamily:
    """Registered family for :class:`ForestSpec`."""

    type_name: ClassVar[str] = "forestry"
    spec: ClassVar[type[AssetSpecBase]] = ForestSpec
    assumptions: ClassVar[type[BaseModel]] = ForestryAssumptions
    random: ClassVar[tuple[RandomDriver, ...]] = _drivers("forestry")

    @staticmethod
    def compile(specs: Sequence[Any], ctx: CompileContext) -> ForestryBlock:
        """All forests of a pool as one block."""
        return _compile(specs, ctx)


FAMILIES: tuple[type[Any], ...] = (ForestryFamily,)
"""The families of this module, registered by :mod:`greenabs.assets`."""
