"""Scenic-area tickets: visitors x price, strongly seasonal, exposed to rare severe shocks.

An SPV buys a scenic area's ticket income (an income right, dependent on the operator running
the area; the originator's shortfall undertaking and a group guarantee are structure, not
cash flow) or ticket claims already sold (a receivable).

Visitors of projection month ``m`` (0-based, projection year ``y = m // 12``)::

    annual_visitors x visitor_factor x (1 + visitor_growth)^y x w[calendar month of m]
        x operating share x shock share

with ``w`` the 12 seasonal weights normalised to sum 1 (the month is the calendar month of
its end date, as for power plants), the operating share the share of the month's days on or
after ``start`` within the ``term_months`` sold.  The **tickets** leg is visitors x
``ticket_price x price_factor x (1 + price_growth)^y``, collected ``ticket_lag_months`` after
the month of the visit.

**Shocks.**  A shock that starts in month ``k`` cuts month ``k + j``'s traffic to ``1 -
shock_depth x (1 - r_j)``, where ``r`` is ``shock_recovery`` (shares of normal traffic, one
a quarter or a month after the start, per ``shock_recovery_period``; 1 after the path).  The
default path is the 2020 Chinese domestic tourism shock (quarterly trips year on year: Q1
-83.4 %, Q2 -51.0 %, Q3 -34.3 %, Q4 -32.9 %; 2021 at 65 % of 2019 trips; travel.gmw.cn
2021-02-19, mct.gov.cn t20210301_922353, lvjie.com.cn 2021-10-28, via
green_assets.md 2c) with ``shock_depth`` 1.  With the driver ``tourism_ticket.shock`` (a
uniform ``u`` a year), a shock starts in projection year ``y`` when ``u_y < p`` (``p`` the
asset's ``shock_probability`` plus ``shock_probability_add``), in month ``12 y + floor(12 u_y
/ p)`` of it (``u_y / p`` is uniform given a shock, so the start month is uniform over the
year); overlapping shocks take the deepest cut.  A run without the driver uses the
**expected** effect: a shock starts in each month with probability ``p / 12``, and the
expected share is ``max(0, 1 - sum_k (p / 12) x shock_depth x (1 - r_(m - k)))`` over the
months ``k <= m`` since the cut-off (the probability-weighted loss along the recovery path;
it counts overlapping shocks twice, an error of order ``p^2``, and assumes no shock is under
way at the cut-off).

Random drivers: ``tourism_ticket.shock`` (uniform, per year), ``tourism_ticket.visitors`` (a
standard normal ``z`` per year: the year's visitors are ``max(1 + visitor_sd z, 0)`` times the
expected, ``visitor_sd`` in the assumptions section) and the operator's default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
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
    "COVID_2020_RECOVERY",
    "FAMILIES",
    "SCENIC_SEASONALITY",
    "SHOCK_PROBABILITY",
    "TourismAssumptions",
    "TourismBlock",
    "TourismTicketFamily",
    "TourismTicketSpec",
    "recovery_losses",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SCENIC_SEASONALITY: tuple[float, ...] = (
    5.5,
    7.0,
    6.5,
    8.0,
    10.0,
    8.0,
    11.5,
    12.0,
    8.0,
    11.0,
    6.5,
    6.0,
)
"""Default monthly weights, January first (illustrative): a scenic area in China busiest in the
July-August summer holidays, in October (the National Day Golden Week) and in May (Labour
Day), with a Spring Festival bump in February and quiet winters.  Give an area's own profile."""

COVID_2020_RECOVERY: tuple[float, ...] = (0.166, 0.490, 0.657, 0.671, 0.65, 0.65, 0.65, 0.65)
"""Quarterly shares of normal traffic after a shock, the 2020 default: domestic trips year on
year in 2020 Q1 -83.4 %, Q2 -51.0 %, Q3 -34.3 %, Q4 -32.9 %, and 2021 at 65 % of 2019 trips
(travel.gmw.cn 2021-02-19; mct.gov.cn t20210301_922353; lvjie.com.cn 2021-10-28; see
green_assets.md 2c).  Normal from the ninth quarter (an assumption: 2022 is not in the
source).  Ticket revenue is taken to fall with trips (2020 tourism revenue fell more, -61.1 %,
as spending per trip fell too)."""

SHOCK_PROBABILITY = 0.05
"""Default annual probability of a severe nationwide shock (illustrative: SARS in 2003 and
COVID-19 in 2020, two in about twenty years, rounded down as SARS was milder)."""


class TourismTicketSpec(RevenueSpecBase):
    """A scenic area whose ticket income the SPV bought (see the module docstring)."""

    type: Literal["tourism_ticket"] = "tourism_ticket"
    annual_visitors: float = Field(le=1e10, description="Ticketed visitors a year at the cut-off")
    seasonality: tuple[float, ...] | None = Field(
        None, description="12 positive monthly weights, January first (normalised)"
    )
    ticket_price: float = Field(ge=0, le=1e5, description="Average ticket revenue per visitor")
    visitor_growth: float = Field(
        0.0, ge=-0.5, le=1, description="Annual growth of visitors (by projection year)"
    )
    price_growth: float = Field(
        0.0, ge=-0.5, le=1, description="Annual growth of the ticket price (by projection year)"
    )
    start: DealDate | None = Field(
        None, description="Date the area opens (default: open at the cut-off)"
    )
    ticket_lag_months: int = Field(
        0, ge=0, le=60, description="Months after the visit that ticket income is collected"
    )
    shock_probability: float = Field(
        SHOCK_PROBABILITY, ge=0, le=1, description="Annual probability a severe shock starts"
    )
    shock_depth: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Scales the loss of traffic along the recovery path (1: as in 2020)",
    )
    shock_recovery: tuple[float, ...] = Field(
        COVID_2020_RECOVERY,
        min_length=1,
        max_length=600,
        description="Shares of normal traffic in each period after a shock starts (normal "
        "after the path); default the 2020-21 quarterly path",
    )
    shock_recovery_period: Literal["month", "quarter"] = Field(
        "quarter", description="Length of each shock_recovery period"
    )

    REPORTED: ClassVar[tuple[str, ...]] = (
        *RevenueSpecBase.REPORTED,
        "seasonality",
        "visitor_growth",
        "price_growth",
        "ticket_lag_months",
        "shock_probability",
        "shock_depth",
        "shock_recovery",
        "shock_recovery_period",
    )

    @field_validator("annual_visitors")
    @classmethod
    def _visitors(cls, v: float) -> float:
        if v < 0:
            raise ValueError(
                f"annual_visitors ({v:g}) is negative: a count of visitors is 0 or more"
            )
        return v

    @field_validator("seasonality")
    @classmethod
    def _seasonality(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if v is not None and (len(v) != 12 or min(v) <= 0):
            raise ValueError(
                f"seasonality needs 12 positive monthly weights, January first; got {len(v)} "
                f"value(s): {list(v)}"
            )
        return v

    @field_validator("shock_recovery")
    @classmethod
    def _recovery(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if min(v) < 0 or max(v) > 1:
            raise ValueError(
                f"shock_recovery holds shares of normal traffic from 0 to 1, got {list(v)}"
            )
        return v

    def resolved(self, name: str) -> Any:
        """A field's value, after the family's defaults."""
        if name == "seasonality" and self.seasonality is None:
            return SCENIC_SEASONALITY
        return getattr(self, name)


class TourismAssumptions(BaseModel):
    """The ``assumptions.tourism_ticket`` section: stresses on every scenic area."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    visitor_factor: float = Field(
        1.0, gt=0, le=2, description="Multiplies every area's visitors (stress)"
    )
    price_factor: float = Field(
        1.0, gt=0, le=2, description="Multiplies every ticket price (stress)"
    )
    shock_probability_add: float = Field(
        0.0,
        ge=-1,
        le=1,
        description="Added to every area's shock_probability, kept in [0, 1] (stress)",
    )
    visitor_sd: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Standard deviation of a year's visitors as a share of the expected "
        "(drivers; illustrative)",
    )


def recovery_losses(spec: TourismTicketSpec, n: int) -> FloatArray:
    """Loss of traffic ``shock_depth x (1 - r_j)`` in months ``j = 0 .. n-1`` after a shock
    starts (0 after the recovery path)."""
    step = 3 if spec.shock_recovery_period == "quarter" else 1
    path = np.repeat(np.asarray(spec.shock_recovery, dtype=np.float64), step)
    out = np.zeros(n)
    k = min(n, path.size)
    out[:k] = spec.shock_depth * (1.0 - path[:k])
    return out


@dataclass(frozen=True, eq=False, kw_only=True)
class TourismBlock(RevenueBlock):
    """Scenic areas as arrays: expected visitors before shocks (n_gen, N), price (n_gen, N),
    shock probabilities (N,) and the loss after a shock by month since its start
    (n_gen, N)."""

    visitors: FloatArray
    price: FloatArray
    shock_p: FloatArray
    losses: FloatArray
    visitor_sd: float

    def _expected_share(self) -> FloatArray:
        """Expected share of normal traffic (n_gen, N): the probability-weighted loss."""
        g = self.n_gen
        cum = np.cumsum(self.losses, axis=0)  # sum_{j <= m} loss_j = sum_{k <= m} loss_(m-k)
        out: FloatArray = np.maximum(1.0 - (self.shock_p / 12.0)[None, :] * cum[:g], 0.0)
        return out

    def _shock_share(self, u: FloatArray) -> FloatArray:
        """Share of normal traffic (S, n_gen, N) under yearly uniforms ``u`` (S,) or (S, Y)."""
        g, n = self.n_gen, len(self.ids)
        u2 = u[:, None] if u.ndim == 1 else u
        n_s = u2.shape[0]
        months = np.arange(g)[None, :, None]
        cut = np.zeros((n_s, g, n))
        p = self.shock_p[None, :]
        for y in range(-(-g // 12)):
            uy = u2[:, min(y, u2.shape[1] - 1)][:, None]  # (S, 1)
            hit = uy < p  # (S, N)
            with np.errstate(divide="ignore", invalid="ignore"):
                within = np.where(hit, np.floor(12.0 * uy / np.where(hit, p, 1.0)), 0.0)
            k = 12 * y + np.minimum(within, 11.0).astype(np.int64)  # (S, N)
            j = months - k[:, None, :]  # months since the start
            ok = hit[:, None, :] & (j >= 0)
            loss = np.take_along_axis(
                np.broadcast_to(self.losses[None], (n_s, g, n)), np.clip(j, 0, g - 1), axis=1
            )
            cut = np.maximum(cut, np.where(ok, loss, 0.0))
        out: FloatArray = 1.0 - cut
        return out

    def _visitors(self, values: Mapping[str, FloatArray], n_s: int) -> FloatArray:
        u = values.get(f"{self.kind}.shock")
        share = (
            self._expected_share()[None]
            if u is None
            else self._shock_share(np.asarray(u, dtype=np.float64))
        )
        z = year_values(values.get(f"{self.kind}.visitors"), n_s, self.n_gen, 0.0)
        out: FloatArray = self.visitors[None] * share * np.maximum(1.0 + self.visitor_sd * z, 0.0)
        return out

    def generate(
        self, values: Mapping[str, FloatArray], n_s: int
    ) -> tuple[dict[str, FloatArray], FloatArray | None]:
        """The tickets leg by month of visit; no operating costs."""
        return {"tickets": self._visitors(values, n_s) * self.price[None]}, None

    def physical(self) -> dict[str, FloatArray]:
        """Expected visitors by month (after the expected shock effect)."""
        return {"visitors": self._visitors({}, 1)[0]}


def _active(start: date | None, lo: date, hi: date) -> float:
    """Share of the days ``(lo, hi]`` on or after ``start``."""
    days = (hi - lo).days
    if start is None or days <= 0:
        return 1.0
    return max((hi - max(lo, start - timedelta(days=1))).days, 0) / days


def _compile(specs: Sequence[TourismTicketSpec], ctx: CompileContext) -> TourismBlock:
    kind = TourismTicketFamily.type_name
    n = len(specs)
    section: TourismAssumptions = ctx.section(kind) or TourismAssumptions()
    g = max(s.term_months for s in specs)
    cal, _, ends = month_grid(ctx.cutoff, g)
    starts = [ctx.cutoff, *ends[:-1]]
    year = np.arange(g) // 12
    visitors = np.zeros((g, n))
    price = np.zeros((g, n))
    losses = np.zeros((g, n))
    for i, s in enumerate(specs):
        w = np.asarray(s.resolved("seasonality"), dtype=np.float64)
        w = w / w.sum()
        sold = (np.arange(g) < s.term_months).astype(np.float64)
        op = np.array([_active(s.start, a, b) for a, b in zip(starts, ends, strict=True)])
        visitors[:, i] = (
            s.annual_visitors
            * section.visitor_factor
            * (1.0 + s.visitor_growth) ** year
            * w[cal - 1]
            * op
            * sold
        )
        price[:, i] = s.ticket_price * section.price_factor * (1.0 + s.price_growth) ** year
        losses[:, i] = recovery_losses(s, g)
    return TourismBlock(
        **common_arrays(specs),
        kind=kind,
        random=_drivers(kind),
        n_gen=g,
        lags={"tickets": np.fromiter((s.ticket_lag_months for s in specs), np.int64, n)},
        age0=np.fromiter(
            (max(months_between(s.start, ctx.cutoff), 0) if s.start else 0 for s in specs),
            np.int64,
            n,
        ),
        visitors=visitors,
        price=price,
        shock_p=np.clip(
            np.fromiter((s.shock_probability for s in specs), np.float64, n)
            + section.shock_probability_add,
            0.0,
            1.0,
        ),
        losses=losses,
        visitor_sd=section.visitor_sd,
    )


def _drivers(kind: str) -> tuple[RandomDriver, ...]:
    return (
        RandomDriver(
            name=f"{kind}.shock",
            distribution="uniform",
            per="year",
            description="Uniform u of a year: a shock starts in year y when u_y < "
            "shock_probability, in month floor(12 u_y / shock_probability) of the year, and "
            "traffic follows the recovery path",
        ),
        RandomDriver(
            name=f"{kind}.visitors",
            distribution="normal",
            per="year",
            description="Standard normal z of a year's visitors: max(1 + visitor_sd z, 0) "
            "times the expected",
        ),
        operator_driver(kind),
    )


class TourismTicketFamily:
    """Registered family for :class:`TourismTicketSpec`."""

    type_name: ClassVar[str] = "tourism_ticket"
    spec: ClassVar[type[AssetSpecBase]] = TourismTicketSpec
    assumptions: ClassVar[type[BaseModel]] = TourismAssumptions
    random: ClassVar[tuple[RandomDriver, ...]] = _drivers("tourism_ticket")

    @staticmethod
    def compile(specs: Sequence[Any], ctx: CompileContext) -> TourismBlock:
        """All scenic areas of a pool as one block."""
        return _compile(specs, ctx)


FAMILIES: tuple[type[Any], ...] = (TourismTicketFamily,)
"""The tourism family, registered by :mod:`greenabs.assets`."""
