"""Receivables with a due date and an expected collection lag (e.g. a renewable-energy
subsidy owed by the Renewable Energy Development Fund, or a trade receivable)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from greenabs.assets.base import (
    MAX_AMOUNT,
    AmortisingBlock,
    AssetSpecBase,
    CompileContext,
    TabulatedSchedule,
)
from greenabs.calendar import DealDate, months_between

__all__ = ["ReceivableAssumptions", "ReceivableFamily", "ReceivableSpec"]


class ReceivableSpec(AssetSpecBase):
    """One receivable: ``balance`` due on ``due_date``, expected to be collected
    ``collection_lag_months`` later.  It earns no interest and does not prepay; defaults apply
    (``age`` places it on a default curve).  A stress on the payer's delay
    (``assumptions.receivable.delay_months``) pushes every collection later."""

    type: Literal["receivable"] = "receivable"
    balance: float = Field(gt=0, le=MAX_AMOUNT, description="Face amount owed")
    due_date: DealDate
    collection_lag_months: int = Field(0, ge=0, le=240, description="Expected delay past due")
    age: int = Field(0, ge=0, le=600, description="Months since the receivable arose")


class ReceivableAssumptions(BaseModel):
    """The receivable family's assumptions section (``assumptions.receivable``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    delay_months: int = Field(
        0, ge=0, le=240, description="Extra months every receivable is collected late (stress)"
    )


class ReceivableFamily:
    """Registered family for :class:`ReceivableSpec`."""

    type_name: ClassVar[str] = "receivable"
    spec: ClassVar[type[AssetSpecBase]] = ReceivableSpec
    assumptions: ClassVar[type[BaseModel]] = ReceivableAssumptions

    @staticmethod
    def compile(specs: Sequence[ReceivableSpec], ctx: CompileContext) -> AmortisingBlock:
        """Each receivable pays its whole balance in its collection month."""
        n = len(specs)
        section = ctx.section("receivable")
        delay = 0 if section is None else section.delay_months
        month = np.fromiter(
            (
                max(
                    1,
                    months_between(ctx.cutoff, s.due_date) + s.collection_lag_months + delay,
                )
                for s in specs
            ),
            np.int64,
            n,
        )
        n_months = int(month.max())
        rows = np.arange(1, n_months + 1)[:, None]
        at = rows == month[None, :]
        age0 = np.fromiter((s.age for s in specs), np.int64, n)
        return AmortisingBlock(
            ids=tuple(s.id for s in specs),
            n_months=n_months,
            balance0=np.fromiter((s.balance for s in specs), np.float64, n),
            age0=age0,
            term=age0 + month,
            schedule=TabulatedSchedule(
                accrual=np.zeros((n_months, n)),
                pay=np.ascontiguousarray(at),
                frac=np.ascontiguousarray(at.astype(np.float64)),
            ),
            prepayable=np.zeros(n, dtype=np.bool_),
            rate0=np.zeros(n),
            kind="receivable",
        )
