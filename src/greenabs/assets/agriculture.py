"""Agriculture: a farm's or a cooperative's seasonal crop sales, collected as receivables.

A farm sells its crop in the months of its season; buyers (processors, wholesalers, a state
purchaser) pay ``receivable_lag_months`` later.  The SPV buys the sales (an income right that
depends on the farm operating) or the receivables (a true sale of claims on the buyers).

Sales of projection month ``m`` (year ``y = m // 12`` from the cut-off, 0-based; calendar
month ``c``)::

    output = area_ha x yield_t_ha            (or annual_output_t)
    t_crop = output x w[c] / sum(w) x yield_factor x yield driver of year y
             x drought factor of year y
    sales  = t_crop x price_per_t x (1 + price_growth)^y x price_factor
             x price driver of year y

``w`` are the season's weights: ``seasonality`` (12 non-negative weights, January first) or
``sales_months`` ({calendar month: weight}); by default an autumn harvest sold in September to
November (illustrative).  The **yield** driver (a standard normal ``z`` a year) gives the
year's output ``max(1 + yield_sd z, 0)`` times the expected; the **price** driver (a standard
normal a year) multiplies the price by ``exp(sd z - sd^2 / 2)`` (mean 1, ``sd = price_sd`` of
the assumptions section); the **drought** driver (a uniform ``u`` a year) cuts the year's
output by ``drought_loss`` when ``u < drought_probability``.  The deterministic run uses the
expected values: yield 1, price 1, drought ``1 - drought_probability x drought_loss``.
Defaults and their sources are in docs/eco-assets.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from greenabs.assets.base import MAX_AMOUNT, AssetSpecBase, CompileContext, RandomDriver
from greenabs.assets.revenue import (
    RevenueBlock,
    RevenueSpecBase,
    common_arrays,
    month_grid,
    operator_driver,
    year_values,
)

__all__ = [
    "AUTUMN_HARVEST",
    "FAMILIES",
    "AgricultureAssumptions",
    "AgricultureBlock",
    "AgricultureFamily",
    "FarmSpec",
]

FloatArray = npt.NDArray[np.float64]

AUTUMN_HARVEST: tuple[float, ...] = (0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0)
"""Default season (illustrative): an autumn harvest sold September to November, most in
October.  Give a farm's own ``seasonality`` or ``sales_months``."""

YIELD_SD = 0.10
"""Default year-to-year standard deviation of output as a share of the expected
(illustrative).  For scale: the weather-driven ("meteorological") yield of China's crops
1981-2010 fluctuated most for fruits, 17.76 % for citrus and 15.83 % for apples ("Analysis of
factors influencing yield variability of major crops in China", 2013, via
expertfinder.cgiar.org gardian-5a7a090f224a9a1072ed46c0); grains less."""

DROUGHT_LOSS = 0.3
"""Default share of a year's output a drought destroys: China's disaster statistics count an
area as damaged (成灾) when its yield falls by more than three tenths (Tian & Boken, citing the
State Statistical Bureau 1996).  Droughts are off unless ``drought_probability`` is given."""


class FarmSpec(RevenueSpecBase):
    """A farm's (or cooperative's) seasonal sales bought by the SPV (see the module
    docstring)."""

    type: Literal["agriculture"] = "agriculture"
    area_ha: float | None = Field(None, gt=0, le=1e8, description="Area cropped (ha)")
    yield_t_ha: float | None = Field(
        None, gt=0, le=1_000, description="Expected output per ha a year (t), with area_ha"
    )
    annual_output_t: float | None = Field(
        None, gt=0, le=MAX_AMOUNT, description="Expected output a year (t), instead of area_ha"
    )
    price_per_t: float = Field(ge=0, le=1e8, description="Price per tonne at the cut-off")
    price_growth: float = Field(0.0, ge=-0.5, le=0.5, description="Annual growth of the price")
    seasonality: tuple[float, ...] | None = Field(
        None, description="12 non-negative monthly sales weights, January first (normalised)"
    )
    sales_months: dict[int, float] | None = Field(
        None, description="Calendar months (1-12) of the sales with their weights (normalised)"
    )
    receivable_lag_months: int = Field(
        2, ge=0, le=60, description="Months from a sale to the buyer's payment"
    )
    yield_sd: float = Field(
        YIELD_SD, ge=0, le=2, description="Year-to-year standard deviation of output (share)"
    )
    drought_probability: float = Field(
        0.0, ge=0, le=1, description="Annual probability of a drought"
    )
    drought_loss: float = Field(
        DROUGHT_LOSS, ge=0, le=1, description="Share of a year's output a drought destroys"
    )
    opex_per_year: float = Field(
        0.0, ge=0, le=MAX_AMOUNT, description="Operating cost a year, deducted from collections"
    )

    REPORTED: ClassVar[tuple[str, ...]] = (
        *RevenueSpecBase.REPORTED,
        "seasonality",
        "price_growth",
        "receivable_lag_months",
        "yield_sd",
        "drought_probability",
        "drought_loss",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.area_ha is None) == (self.annual_output_t is None):
            raise ValueError("give area_ha (with yield_t_ha) or annual_output_t, one of them")
        if self.area_ha is not None and self.yield_t_ha is None:
            raise ValueError("area_ha needs yield_t_ha (the expected tonnes per ha a year)")
        if self.area_ha is None and self.yield_t_ha is not None:
            raise ValueError("yield_t_ha is given without area_ha")
        if self.seasonality is not None:
            if self.sales_months is not None:
                raise ValueError("give seasonality or sales_months, not both")
            w = self.seasonality
            if len(w) != 12 or min(w) < 0 or sum(w) <= 0:
                raise ValueError(
                    f"seasonality needs 12 non-negative monthly weights with a positive sum, "
                    f"got {list(w)}"
                )
        if self.sales_months is not None:
            bad = [k for k in self.sales_months if not 1 <= k <= 12]
            if bad:
                raise ValueError(f"sales_months: calendar months are 1-12, got {bad[0]}")
            if min(self.sales_months.values(), default=0) < 0 or not any(
                v > 0 for v in self.sales_months.values()
            ):
                raise ValueError(
                    "sales_months needs non-negative weights with a positive sum, got "
                    f"{self.sales_months}"
                )
        if self.receivable_lag_months > self.term_months:
            raise ValueError(
                f"receivable_lag_months ({self.receivable_lag_months}) is longer than the "
                f"revenue term sold (term_months {self.term_months})"
            )
        return self

    def resolved(self, name: str) -> Any:
        """A field's value, after defaults (the season's weights, January first)."""
        if name == "seasonality":
            if self.seasonality is not None:
                return self.seasonality
            if self.sales_months is not None:
                return tuple(float(self.sales_months.get(c, 0.0)) for c in range(1, 13))
            return AUTUMN_HARVEST
        return getattr(self, name)

    def defaults_used(self) -> dict[str, Any]:
        """The reported fields the deal left out, with the value used (the season counts as
        given when ``sales_months`` is)."""
        out = super().defaults_used()
        if self.sales_months is not None:
            out.pop("seasonality", None)
        return out

    def output_t(self) -> float:
        """Expected output a year (t)."""
        if self.annual_output_t is not None:
            return self.annual_output_t
        assert self.area_ha is not None
        assert self.yield_t_ha is not None
        return self.area_ha * self.yield_t_ha


class AgricultureAssumptions(BaseModel):
    """The ``assumptions.agriculture`` section: stresses on every farm and the volatility of
    the price driver."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    yield_factor: float = Field(
        1.0, ge=0, le=2, description="Multiplies every farm's expected output (stress)"
    )
    price_factor: float = Field(
        1.0, gt=0, le=5, description="Multiplies every farm's price (stress)"
    )
    receivable_delay_months: int = Field(
        0, ge=0, le=60, description="Extra months every buyer pays late (stress)"
    )
    price_sd: float = Field(
        0.15,
        ge=0,
        le=2,
        description="Standard deviation of the log price factor of a year (drivers; illustrative)",
    )


@dataclass(frozen=True, eq=False, kw_only=True)
class AgricultureBlock(RevenueBlock):
    """Farms as arrays: expected tonnes by month (n_gen, N) after the season, prices by month
    (n_gen, N), areas and weather parameters."""

    tonnes: FloatArray
    price: FloatArray
    area: FloatArray
    sold: FloatArray
    yield_sd: FloatArray
    drought_p: FloatArray
    drought_loss: FloatArray
    opex: FloatArray
    price_sd: float

    def _tonnes(self, values: Mapping[str, FloatArray], n_s: int) -> FloatArray:
        g = self.n_gen
        z = year_values(values.get(f"{self.kind}.yield"), n_s, g, 0.0)
        factor = np.maximum(1.0 + self.yield_sd[None, None, :] * z, 0.0)
        u = values.get(f"{self.kind}.drought")
        if u is None:
            drought = (1.0 - self.drought_p * self.drought_loss)[None, None, :]
        else:
            uy = year_values(u, n_s, g, 0.0)
            drought = np.where(
                uy < self.drought_p[None, None, :], 1.0 - self.drought_loss[None, None, :], 1.0
            )
        out: FloatArray = self.tonnes[None] * factor * drought
        return out

    def generate(
        self, values: Mapping[str, FloatArray], n_s: int
    ) -> tuple[dict[str, FloatArray], FloatArray | None]:
        """The sales leg and operating costs."""
        t = self._tonnes(values, n_s)
        z = values.get(f"{self.kind}.price")
        sales = t * self.price[None]
        if z is not None:
            sd = self.price_sd
            sales = sales * np.exp(sd * year_values(z, n_s, self.n_gen, 0.0) - 0.5 * sd * sd)
        opex = self.opex[None] if self.opex.any() else None
        return {"sales": sales}, opex

    def physical(self) -> dict[str, FloatArray]:
        """Expected crop sold (t) and, when a farm gives its area, the area managed (ha; 0
        for farms given by output)."""
        out = {"t_crop": self._tonnes({}, 1)[0]}
        if self.area.any():
            out["ha_managed"] = self.area[None, :] * self.sold
        return out


def _compile(specs: Sequence[FarmSpec], ctx: CompileContext) -> AgricultureBlock:
    n = len(specs)
    kind = "agriculture"
    section: AgricultureAssumptions = ctx.section(kind) or AgricultureAssumptions()
    g = max(s.term_months for s in specs)
    cal, _, _ = month_grid(ctx.cutoff, g)
    year = (np.arange(g) // 12).astype(np.float64)[:, None]
    sold = (np.arange(g)[:, None] < np.array([s.term_months for s in specs])[None, :]).astype(
        np.float64
    )
    weights = np.zeros((g, n))
    for i, s in enumerate(specs):
        w = np.asarray(s.resolved("seasonality"), dtype=np.float64)
        weights[:, i] = (w / w.sum())[cal - 1]

    def arr(name: str) -> FloatArray:
        return np.fromiter((float(getattr(s, name)) for s in specs), np.float64, n)

    output = np.fromiter((s.output_t() for s in specs), np.float64, n)
    return AgricultureBlock(
        **common_arrays(specs),
        kind=kind,
        random=_drivers(kind),
        n_gen=g,
        lags={
            "sales": np.fromiter(
                (s.receivable_lag_months + section.receivable_delay_months for s in specs),
                np.int64,
                n,
            )
        },
        age0=np.zeros(n, dtype=np.int64),
        tonnes=output[None, :] * weights * sold * section.yield_factor,
        price=arr("price_per_t")
        * (1.0 + arr("price_growth"))[None, :] ** year
        * section.price_factor
        * sold,
        area=np.array([s.area_ha or 0.0 for s in specs], dtype=np.float64),
        sold=sold,
        yield_sd=arr("yield_sd"),
        drought_p=arr("drought_probability"),
        drought_loss=arr("drought_loss"),
        opex=(arr("opex_per_year") / 12.0)[None, :] * sold,
        price_sd=section.price_sd,
    )


def _drivers(kind: str) -> tuple[RandomDriver, ...]:
    return (
        RandomDriver(
            name=f"{kind}.yield",
            distribution="normal",
            per="year",
            description="Standard normal z of a year's weather: output is max(1 + yield_sd z, "
            "0) x the expected",
        ),
        RandomDriver(
            name=f"{kind}.price",
            distribution="normal",
            per="year",
            description="Standard normal z of a year's crop price: the price is multiplied by "
            "exp(sd z - sd^2/2), sd = price_sd of the assumptions section",
        ),
        RandomDriver(
            name=f"{kind}.drought",
            distribution="uniform",
            per="year",
            description="Uniform u of a year: a drought when u < drought_probability cuts the "
            "year's output by drought_loss",
        ),
        operator_driver(kind),
    )


class AgricultureFamily:
    """Registered family for :class:`FarmSpec`."""

    type_name: ClassVar[str] = "agriculture"
    spec: ClassVar[type[AssetSpecBase]] = FarmSpec
    assumptions: ClassVar[type[BaseModel]] = AgricultureAssumptions
    random: ClassVar[tuple[RandomDriver, ...]] = _drivers("agriculture")

    @staticmethod
    def compile(specs: Sequence[Any], ctx: CompileContext) -> AgricultureBlock:
        """All farms of a pool as one block."""
        return _compile(specs, ctx)


FAMILIES: tuple[type[Any], ...] = (AgricultureFamily,)
"""The families of this module, registered by :mod:`greenabs.assets`."""
