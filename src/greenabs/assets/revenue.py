"""Revenue assets: eco-industry income that comes from a physical activity, not a loan balance.

A power plant's electricity sales and subsidy, a sewage plant's treatment fees, a scenic
area's tickets, a forest's timber and carbon credits, a farm's sales: each family computes
its **revenue legs** by month of activity (generation, treatment, visit, harvest) from its
physical and economic drivers, and this module turns them into pool cash flows the same way
for all of them:

1. each leg is collected its lag after the month of activity (per asset and leg);
2. an **income right** (``transfer: income_right``) depends on its operator: the operator's
   default (``operator_pd`` a year) stops the activity for ``replacement_months`` and costs
   ``replacement_cost``; a **receivable** sale (``transfer: receivable``) is isolated from
   it.  This is the paper's incomplete risk isolation;
3. operating costs (``opex`` column) and replacement costs are deducted from the month's
   collections; what a month cannot bear is carried to the next (what is left at the end
   stays with the operator);
4. the asset's **balance** is the present value of its remaining expected collections at its
   ``discount_rate`` (monthly compounding), as US solar deals use a discounted asset
   balance.  Each month the balance falls by ``B(t-1) - B(t)``: collections pay that as
   principal first and the rest is interest; collections short of it write the balance down
   (``writedown``, counted in ``loss``), collections above the expectation are interest;
5. the **payer** (the grid, the Renewable Energy Development Fund, a water bureau, a buyer)
   defaults with ``payer_pd`` a year (or in the month a scenario's ``default_month`` says):
   its whole balance defaults then and the pool's recovery assumption applies.

A deterministic run uses the expected value of every random driver (the operator's default as
an expected interruption).  A Monte Carlo run gives the drivers each family declares
(:class:`~greenabs.assets.base.RandomDriver`) as scenario arrays; :func:`draw_drivers` samples
them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from greenabs.assets.base import (
    MAX_AMOUNT,
    AssetSpecBase,
    BlockFlows,
    ProjectionContext,
    RandomDriver,
    RateTable,
)
from greenabs.calendar import add_months

__all__ = [
    "PHYSICAL",
    "RevenueBlock",
    "RevenueSpecBase",
    "annual_to_monthly",
    "common_arrays",
    "month_grid",
    "operator_driver",
    "year_values",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PHYSICAL = (
    "mwh",
    "m3_wastewater",
    "t_waste",
    "ha_managed",
    "tco2_sequestered",
    "visitors",
    "t_crop",
)
"""Physical quantities a revenue family may report per month of activity (ICMA Harmonised
Framework core indicators and the activity volumes behind the cash)."""


class RevenueSpecBase(AssetSpecBase):
    """Fields every revenue asset has: the months of revenue sold, the discount rate of its
    balance, how it was transferred, its operator and its payer."""

    term_months: int = Field(
        ge=1, le=600, description="Months of revenue sold to the SPV, from the cut-off"
    )
    discount_rate: float = Field(
        0.06,
        ge=0,
        le=0.5,
        description="Annual rate discounting remaining expected collections into the balance",
    )
    transfer: Literal["income_right", "receivable"] = Field(
        "income_right",
        description="income_right: the SPV owns future income and depends on the operator; "
        "receivable: a true sale of claims on the payer, isolated from the operator",
    )
    operator: str | None = Field(None, description="Who runs the asset (income rights)")
    operator_pd: float = Field(
        0.0, ge=0, le=1, description="Annual default probability of the operator"
    )
    replacement_months: int = Field(
        6, ge=0, le=60, description="Months without activity until a new operator takes over"
    )
    replacement_cost: float = Field(
        0.0, ge=0, le=MAX_AMOUNT, description="One-off cost of replacing the operator"
    )
    payer_pd: float = Field(0.0, ge=0, le=1, description="Annual default probability of the payer")

    REPORTED: ClassVar[tuple[str, ...]] = (
        "discount_rate",
        "transfer",
        "operator_pd",
        "replacement_months",
        "payer_pd",
    )
    """Defaultable fields reported when the deal file leaves them out (families add theirs)."""

    def outstanding(self) -> float:
        """Revenue assets have no face balance: their balance is computed when compiled."""
        return 0.0

    def resolved(self, name: str) -> Any:
        """The value a field takes, after family defaults (families override for fields whose
        default depends on the type)."""
        return getattr(self, name)

    def defaults_used(self) -> dict[str, Any]:
        """The fields of :attr:`REPORTED` the deal left out (or gave as null), with the value
        used."""
        given = {k for k in self.model_fields_set if getattr(self, k) is not None}
        return {k: self.resolved(k) for k in type(self).REPORTED if k not in given}


def annual_to_monthly(p: FloatArray) -> FloatArray:
    """Monthly hazard of an annual default probability: ``1 - (1 - p)^(1/12)``."""
    out: FloatArray = 1.0 - (1.0 - np.minimum(p, 1.0 - 1e-15)) ** (1.0 / 12.0)
    return np.where(p >= 1.0, 1.0, out)


def month_grid(cutoff: date, n: int) -> tuple[IntArray, IntArray, list[date]]:
    """Calendar month (1-12), days in the month and end date of projection months 1..n."""
    ends = [add_months(cutoff, m) for m in range(1, n + 1)]
    starts = [cutoff, *ends[:-1]]
    cal = np.array([e.month for e in ends], dtype=np.int64)
    days = np.array([(e - s).days for s, e in zip(starts, ends, strict=True)], dtype=np.int64)
    return cal, days, ends


def year_values(value: FloatArray | None, n_s: int, n_months: int, expected: float) -> FloatArray:
    """A driver given per scenario (S,) or per scenario and year (S, Y) as (S, M, 1) by month
    (a short year axis repeats its last year); ``expected`` when not given."""
    if value is None:
        return np.full((1, n_months, 1), expected)
    v = np.asarray(value, dtype=np.float64)
    if v.ndim == 1:
        return np.broadcast_to(v[:, None, None], (v.shape[0], n_months, 1))
    year = np.minimum(np.arange(n_months) // 12, v.shape[1] - 1)
    return v[:, year][:, :, None]


def operator_driver(type_name: str) -> RandomDriver:
    """The operator-default driver every revenue family declares."""
    return RandomDriver(
        name=f"{type_name}.operator_default",
        distribution="default_month",
        per="asset",
        description="Month (1-based, 0 never) the operator of an income right defaults: its "
        "activity stops for replacement_months and replacement_cost is paid; hazard from "
        "operator_pd",
    )


@dataclass(frozen=True, eq=False, kw_only=True)
class RevenueBlock:
    """The shared part of every revenue family's block (see the module docstring).

    A family subclasses it, adds its parameter arrays and implements :meth:`generate`, the
    legs by month of activity under given driver values, and :meth:`physical`.
    """

    ids: tuple[str, ...]
    kind: str
    n_gen: int
    lags: Mapping[str, IntArray]
    discount: FloatArray
    income_right: BoolArray
    operator_hazard: FloatArray
    replacement_months: IntArray
    replacement_cost: FloatArray
    payer_hazard: FloatArray
    age0: IntArray
    random: tuple[RandomDriver, ...]

    # ------------------------------------------------------------------ family hooks
    def generate(
        self, values: Mapping[str, FloatArray], n_s: int
    ) -> tuple[dict[str, FloatArray], FloatArray | None]:
        """Legs ``{leg: (S|1, n_gen, N)}`` by month of activity and operating costs
        ``(S|1, n_gen, N)`` (or ``None``) under the driver ``values`` (absent: expected)."""
        raise NotImplementedError

    def physical(self) -> dict[str, FloatArray]:
        """Expected physical quantities ``{name: (n_gen, N)}`` by month of activity (names from
        :data:`PHYSICAL`)."""
        return {}

    # ------------------------------------------------------------------ the shared part
    @property
    def n_months(self) -> int:
        """Months until the last collection."""
        lag = max((int(v.max()) for v in self.lags.values()), default=0)
        return self.n_gen + lag

    @property
    def balance(self) -> float:
        """Cut-off balance: the present value of the expected collections."""
        return float(self._expected[1][0].sum())

    def summary(self) -> dict[str, FloatArray]:
        """Per-asset balance, discount rate, months to the last expected collection, age."""
        exp, bal = self._expected
        months = np.arange(1, exp.shape[0] + 1)[:, None]
        remaining = np.where(exp > 0, months, 0).max(axis=0)
        return {
            "balance": bal[0],
            "rate": self.discount,
            "remaining_term": remaining.astype(np.float64),
            "age": self.age0.astype(np.float64),
        }

    def expected_collections(self) -> FloatArray:
        """Expected net collections (M, N) of each asset by collection month."""
        return self._expected[0]

    def monthly_hazards(self, mdr: RateTable, n_months: int) -> tuple[FloatArray, IntArray]:
        """The payers' monthly default probabilities, constant (``payer_pd`` a year), as
        distinct rows (C, ``n_months``) and each asset's row (N,): what the Monte Carlo turns
        into payer default times (``mdr`` is the loans' table, unused here)."""
        rates, row_of = np.unique(self.payer_hazard, return_inverse=True)
        rows: FloatArray = np.repeat(rates[:, None], n_months, axis=1)
        return rows, row_of.reshape(-1).astype(np.int64)

    def hazards(self, driver: RandomDriver) -> FloatArray:
        """Monthly hazards (N,) behind a ``default_month`` driver: the operator's, for income
        rights."""
        out: FloatArray = np.where(self.income_right, self.operator_hazard, 0.0)
        return out

    def driver_values(self, ctx: ProjectionContext) -> dict[str, FloatArray]:
        """The declared drivers a run gives, per-asset ones cut to this block's columns."""
        out: dict[str, FloatArray] = {}
        for d in self.random:
            if d.name not in ctx.drivers:
                continue
            v = np.asarray(ctx.drivers[d.name], dtype=np.float64)
            if d.per == "asset":
                pos = ctx.positions if ctx.positions is not None else np.arange(len(self.ids))
                v = v[:, pos]
            out[d.name] = v
        return out

    def _interruption(self, default_month: FloatArray | None) -> tuple[FloatArray, FloatArray]:
        """Activity factor (S|1, n_gen, N) and replacement cost (S|1, M, N) from the operator:
        realised from default months (S, N) (1-based, 0 never) or expected from the hazard."""
        n, g, m = len(self.ids), self.n_gen, self.n_months
        months = np.arange(g)[None, :, None]
        r = self.replacement_months[None, None, :]
        ir = self.income_right[None, None, :]
        if default_month is None:
            h = np.where(self.income_right, self.operator_hazard, 0.0)[None, None, :]
            # a renewal approximation: interrupted when a default fell in the last R months
            p_int = 1.0 - (1.0 - h) ** np.minimum(months + 1, r)
            cost = np.zeros((1, m, n))
            cost[:, :g, :] = h * self.replacement_cost[None, None, :]
            return 1.0 - p_int, cost
        d = np.asarray(default_month, dtype=np.int64)[:, None, :] - 1  # 0-based, -1 never
        off = (d >= 0) & (months >= d) & (months < d + r) & ir
        cost = np.zeros((d.shape[0], m, n))
        hit = (d[:, 0, :] >= 0) & (d[:, 0, :] < g) & self.income_right[None, :]
        s_idx, a_idx = np.nonzero(hit)
        cost[s_idx, d[s_idx, 0, a_idx], a_idx] = self.replacement_cost[a_idx]
        return np.where(off, 0.0, 1.0), cost

    def _collect(
        self,
        legs: Mapping[str, FloatArray],
        opex: FloatArray | None,
        factor: FloatArray,
        cost: FloatArray,
    ) -> tuple[dict[str, FloatArray], FloatArray, FloatArray]:
        """Legs moved to their collection months, deductions taken and net collections, each
        (S, M, N)."""
        n, g, m = len(self.ids), self.n_gen, self.n_months
        n_s = max([factor.shape[0], cost.shape[0], *(v.shape[0] for v in legs.values())])
        collected: dict[str, FloatArray] = {}
        gross = np.zeros((n_s, m, n))
        for leg, gen in legs.items():
            x = gen * factor
            out = np.zeros((n_s, m, n))
            lag = self.lags[leg]
            for lag_v in np.unique(lag):
                cols = lag == lag_v
                out[:, lag_v : lag_v + g, cols] += x[:, :, cols]
            collected[leg] = out
            gross += out
        ded = np.broadcast_to(cost, (n_s, m, n)).copy()
        if opex is not None:
            ded[:, :g, :] += opex * factor
        taken = np.minimum(ded, gross)
        if (ded > gross).any():
            # a cost the month's collections cannot bear is carried to the next month
            carry = np.zeros((n_s, n))
            for t in range(m):
                want = ded[:, t] + carry
                taken[:, t] = np.minimum(want, gross[:, t])
                carry = want - taken[:, t]
        return collected, taken, gross - taken

    @cached_property
    def _expected(self) -> tuple[FloatArray, FloatArray]:
        """Expected net collections (M, N) and balances (M + 1, N) at the discount rate."""
        legs, opex = self.generate({}, 1)
        factor, cost = self._interruption(None)
        _, _, net = self._collect(legs, opex, factor, cost)
        exp = net[0]
        v = 1.0 / (1.0 + self.discount / 12.0)
        bal = np.zeros((exp.shape[0] + 1, exp.shape[1]))
        for t in range(exp.shape[0] - 1, -1, -1):
            bal[t] = (bal[t + 1] + exp[t]) * v
        return exp, bal

    def project(self, ctx: ProjectionContext) -> BlockFlows:
        """Monthly pool flows of every scenario (see the module docstring)."""
        n_s = ctx.n_scenarios
        values = self.driver_values(ctx)
        legs, opex = self.generate(values, n_s)
        factor, cost = self._interruption(values.get(f"{self.kind}.operator_default"))
        collected, taken, net = self._collect(legs, opex, factor, cost)
        m = self.n_months
        _, bal = self._expected
        b_begin, b_end = bal[:-1][None], bal[1:][None]  # (1, M, N)
        alive_b, alive_e = self._payer_alive(ctx, n_s, m)
        due = (b_begin - b_end) * alive_e
        cash = net * alive_e
        prin = np.minimum(cash, due)
        per_asset = {
            "begin_balance": b_begin * alive_b,
            "interest": cash - prin,
            "scheduled_principal": prin,
            "default": b_begin * (alive_b - alive_e),
            "end_balance": b_end * alive_e,
            "writedown": due - prin,
            "opex": taken * alive_e,
            **{leg: v * alive_e for leg, v in collected.items()},
        }
        if ctx.advance:
            rec = np.zeros((n_s, m + ctx.rec_lag, len(self.ids)))
            rec[:, ctx.rec_lag :, :] = per_asset["default"]
            per_asset = {k: _pad_months(v, m + ctx.rec_lag) for k, v in per_asset.items()}
            per_asset["recovery"] = rec * (1.0 - ctx.severity)
            per_asset["loss"] = rec * ctx.severity
        pool = {
            k: np.broadcast_to(v, (n_s, *v.shape[1:])).sum(axis=2) for k, v in per_asset.items()
        }
        level = None
        if ctx.loan_level:
            level = {k: np.ascontiguousarray(v[0].T) for k, v in per_asset.items()}
        return BlockFlows(pool=pool, ids=self.ids, loan_level=level)

    def _payer_alive(
        self, ctx: ProjectionContext, n_s: int, m: int
    ) -> tuple[FloatArray, FloatArray]:
        """Share of each asset whose payer has not defaulted before / by the end of each month,
        (S|1, M, N)."""
        months = np.arange(m)[None, :, None]
        if ctx.default_month is not None:
            d = np.asarray(ctx.default_month, dtype=np.int64)[:, None, :]  # 0-based, -1 never
            before = ((d < 0) | (months <= d)).astype(np.float64)
            after = ((d < 0) | (months < d)).astype(np.float64)
            return before, after
        mult = np.asarray(ctx.mdr_mult, dtype=np.float64)
        mult = mult[:, :m] if mult.shape[1] > 1 else mult
        if mult.shape[1] > 1 and mult.shape[1] < m:
            mult = np.concatenate([mult, np.repeat(mult[:, -1:], m - mult.shape[1], axis=1)], 1)
        h = np.clip(self.payer_hazard[None, None, :] * mult[:, :, None], 0.0, 1.0)
        h = np.broadcast_to(h, (mult.shape[0], m, len(self.ids)))
        alive_e: FloatArray = np.cumprod(1.0 - h, axis=1, dtype=np.float64)
        alive_b: FloatArray = np.concatenate([np.ones_like(alive_e[:, :1]), alive_e[:, :-1]], 1)
        return alive_b, alive_e


def _pad_months(a: FloatArray, m: int) -> FloatArray:
    if a.shape[1] >= m:
        return a
    return np.concatenate([a, np.zeros((a.shape[0], m - a.shape[1], a.shape[2]))], axis=1)


def common_arrays(specs: Sequence[RevenueSpecBase]) -> dict[str, Any]:
    """The :class:`RevenueBlock` fields every family fills the same way (ages come from the
    family)."""
    n = len(specs)
    return {
        "ids": tuple(s.id for s in specs),
        "discount": np.fromiter((s.discount_rate for s in specs), np.float64, n),
        "income_right": np.fromiter((s.transfer == "income_right" for s in specs), np.bool_, n),
        "operator_hazard": annual_to_monthly(
            np.fromiter((s.operator_pd for s in specs), np.float64, n)
        ),
        "replacement_months": np.fromiter((s.replacement_months for s in specs), np.int64, n),
        "replacement_cost": np.fromiter((s.replacement_cost for s in specs), np.float64, n),
        "payer_hazard": annual_to_monthly(np.fromiter((s.payer_pd for s in specs), np.float64, n)),
    }
