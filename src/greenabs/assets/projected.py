"""A user-supplied projected cash-flow vector (principal and interest by date)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from greenabs.assets.base import (
    MAX_AMOUNT,
    AmortisingBlock,
    AssetSpecBase,
    CompileContext,
    TabulatedSchedule,
)
from greenabs.calendar import DealDate, months_between

__all__ = ["CashflowRow", "ProjectedFamily", "ProjectedSpec"]


class CashflowRow(BaseModel):
    """One projected payment."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    date: DealDate
    principal: float = Field(0.0, ge=0, le=MAX_AMOUNT)
    interest: float = Field(0.0, ge=0, le=MAX_AMOUNT)


class ProjectedSpec(AssetSpecBase):
    """An asset whose scheduled cash flows are given as a vector.

    The balance is the sum of principal; prepayment and default scale the remaining schedule
    (interest in proportion to the balance still performing).  Cash dated on or before the
    cut-off is collected in the first month.
    """

    type: Literal["projected"] = "projected"
    cashflows: tuple[CashflowRow, ...] = Field(min_length=1)
    balance: float | None = Field(None, gt=0, description="If given, must equal total principal")
    prepayable: bool = False
    age: int = Field(0, ge=0, le=600, description="Months since the asset arose")

    def outstanding(self) -> float:
        """Total principal still to be paid."""
        return float(sum(r.principal for r in self.cashflows))

    @model_validator(mode="after")
    def _check(self) -> Self:
        rows = sorted(self.cashflows, key=lambda r: r.date)
        total = sum(r.principal for r in rows)
        if total <= 0:
            raise ValueError("cashflows carry no principal: the balance would be zero")
        if self.balance is not None and abs(self.balance - total) > 0.005:
            raise ValueError(f"balance ({self.balance}) differs from total principal ({total})")
        paid = 0.0
        for r in rows:
            if paid >= total - 0.005 and r.interest > 0:
                raise ValueError(
                    f"interest on {r.date} falls after the principal is repaid: "
                    "give income that has no balance as principal"
                )
            paid += r.principal
        return self


class ProjectedFamily:
    """Registered family for :class:`ProjectedSpec`."""

    type_name: ClassVar[str] = "projected"
    spec: ClassVar[type[AssetSpecBase]] = ProjectedSpec

    @staticmethod
    def compile(specs: Sequence[ProjectedSpec], ctx: CompileContext) -> AmortisingBlock:
        """Schedules turned into balance fractions and interest rates per month."""
        n = len(specs)
        at = [[max(1, months_between(ctx.cutoff, r.date)) for r in s.cashflows] for s in specs]
        n_months = max(max(a) for a in at)
        prin = np.zeros((n_months, n))
        intr = np.zeros((n_months, n))
        for i, s in enumerate(specs):
            for m, r in zip(at[i], s.cashflows, strict=True):
                prin[m - 1, i] += r.principal
                intr[m - 1, i] += r.interest
        bal0 = prin.sum(axis=0)
        # the row of each asset's last principal repays whatever is left (exactly 1, whatever
        # the rounding of the running sums); rows after it carry no balance
        rows = np.arange(n_months)[:, None]
        last_row = n_months - 1 - np.argmax((prin > 0)[::-1], axis=0)
        before = bal0[None, :] - np.vstack([np.zeros((1, n)), np.cumsum(prin, axis=0)[:-1]])
        live = rows <= last_row[None, :]
        safe = np.where(live & (before > 0), before, 1.0)
        frac = np.where(live, np.clip(prin / safe, 0.0, 1.0), 0.0)
        frac = np.where(rows == last_row[None, :], 1.0, frac)
        return AmortisingBlock(
            ids=tuple(s.id for s in specs),
            n_months=n_months,
            balance0=bal0,
            age0=np.fromiter((s.age for s in specs), np.int64, n),
            term=np.fromiter((s.age for s in specs), np.int64, n) + n_months,
            schedule=TabulatedSchedule(
                accrual=np.where(live, intr / safe, 0.0),
                pay=(prin > 0) | (intr > 0),
                frac=frac,
            ),
            prepayable=np.fromiter((s.prepayable for s in specs), np.bool_, n),
            rate0=np.where(live[0], intr[0] / safe[0], 0.0) * 12.0,
            kind="projected",
        )
