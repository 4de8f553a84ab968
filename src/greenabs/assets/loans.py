"""Loans: level-pay, equal-principal, interest-only then bullet, and bullet; fixed or floating."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import ClassVar, Literal, Self

import numpy as np
from pydantic import Field, model_validator

from greenabs.assets.base import (
    MAX_AMOUNT,
    AmortisingBlock,
    AssetSpecBase,
    CompileContext,
    LoanSchedule,
)
from greenabs.calendar import Frequency

__all__ = ["Amortization", "LoanFamily", "LoanSpec"]


class Amortization(StrEnum):
    """How a loan repays principal."""

    level = "level"
    """Level payment (annuity): equal instalments of interest plus principal."""
    linear = "linear"
    """Equal principal instalments, interest on the declining balance."""
    interest_only = "interest_only"
    """Interest every period, all principal at maturity."""
    bullet = "bullet"
    """One payment at maturity: all principal and the interest accrued over the life."""


class LoanSpec(AssetSpecBase):
    """One loan of the pool (an inline asset or a row of a loan tape).

    ``balance`` is the current (cut-off) principal balance; ``age`` the months since
    origination (seasoning), so ``original_term - age`` months remain.  A fixed-rate loan gives
    ``rate``; a floating-rate loan gives ``index`` and ``margin`` (and may give ``rate`` as the
    coupon in force until its next reset).
    """

    type: Literal["loan"] = "loan"
    balance: float = Field(gt=0, le=MAX_AMOUNT, description="Current principal balance")
    rate: float | None = Field(None, ge=0, lt=1, description="Annual interest rate (decimal)")
    original_term: int = Field(gt=0, le=600, description="Original term in months")
    age: int = Field(0, ge=0, le=600, description="Months since origination")
    amortization: Amortization = Amortization.level
    frequency: Frequency = Frequency.monthly
    index: str | None = Field(None, description="Floating-rate index name (see assumptions.rates)")
    margin: float = Field(0.0, gt=-1, lt=1, description="Spread over the index (decimal)")
    floor: float | None = Field(None, ge=0, lt=1, description="Lowest rate (0 when not given)")
    cap: float | None = Field(None, gt=0, lt=1)
    reset_months: int | None = Field(None, gt=0, le=120, description="Months between resets")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.age >= self.original_term:
            raise ValueError(
                f"age ({self.age}) must be below original_term ({self.original_term}): "
                "the loan has matured"
            )
        if self.rate is None and self.index is None:
            raise ValueError("give rate (fixed) or index and margin (floating)")
        if self.original_term % self.frequency.months:
            raise ValueError(
                f"original_term ({self.original_term}) is not a whole number of "
                f"{self.frequency.value} periods"
            )
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise ValueError(f"floor ({self.floor}) is above cap ({self.cap})")
        return self


_CODES = {
    Amortization.level: 0,
    Amortization.linear: 1,
    Amortization.interest_only: 2,
    Amortization.bullet: 3,
}


class LoanFamily:
    """Registered family for :class:`LoanSpec`."""

    type_name: ClassVar[str] = "loan"
    spec: ClassVar[type[AssetSpecBase]] = LoanSpec

    @staticmethod
    def compile(specs: Sequence[LoanSpec], ctx: CompileContext) -> AmortisingBlock:
        """All loans as one block of (month, loan) arrays."""
        n = len(specs)
        bal = np.fromiter((s.balance for s in specs), np.float64, n)
        term = np.fromiter((s.original_term for s in specs), np.int64, n)
        age0 = np.fromiter((s.age for s in specs), np.int64, n)
        step = np.fromiter((s.frequency.months for s in specs), np.int64, n)
        kind = np.fromiter((_CODES[s.amortization] for s in specs), np.int64, n)
        fixed = np.fromiter(
            (s.rate if s.rate is not None else np.nan for s in specs), np.float64, n
        )
        n_months = int((term - age0).max())
        floating = [i for i, s in enumerate(specs) if s.index is not None]
        if floating:
            rates = np.broadcast_to(fixed, (n_months, n)).copy()
            ages = age0[None, floating] + np.arange(1, n_months + 1)[:, None]
            rates[:, floating] = _floating_rates([specs[i] for i in floating], ages, ctx, n_months)
        else:
            rates = fixed[None, :]
        rate0 = rates[0].copy()
        since_pay = np.where(kind == 3, age0, age0 % step)  # months accrued before cut-off
        return AmortisingBlock(
            ids=tuple(s.id for s in specs),
            n_months=n_months,
            balance0=bal,
            age0=age0,
            term=term,
            schedule=LoanSchedule(step=step, code=kind, rates=np.ascontiguousarray(rates)),
            prepayable=np.ones(n, dtype=np.bool_),
            rate0=rate0,
            kind="loan",
            accrued0=bal * rate0 / 12.0 * since_pay,
        )


def _floating_rates(
    specs: Sequence[LoanSpec], age: np.ndarray, ctx: CompileContext, n_months: int
) -> np.ndarray:
    """Coupon path (M, F) of floating loans: index + margin, floored (at 0 when no floor is
    given) and capped, held between
    resets (every ``reset_months`` of age; monthly when not given)."""
    f = len(specs)
    index = np.empty((n_months, f))
    for name in {s.index for s in specs}:
        cols = [i for i, s in enumerate(specs) if s.index == name]
        assert name is not None
        index[:, cols] = ctx.index_path(name, n_months)[:, None]
    margin = np.fromiter((s.margin for s in specs), np.float64, f)
    # no floor given: 0 (a loan never pays its borrower interest)
    floor = np.fromiter((0.0 if s.floor is None else s.floor for s in specs), np.float64, f)
    cap = np.fromiter((np.inf if s.cap is None else s.cap for s in specs), np.float64, f)
    coupon = np.clip(index + margin, floor, cap)
    reset = np.fromiter((s.reset_months or 1 for s in specs), np.int64, f)
    initial = np.where(
        np.fromiter((s.rate is not None for s in specs), np.bool_, f),
        np.fromiter((s.rate or 0.0 for s in specs), np.float64, f),
        coupon[0],
    )
    months = np.arange(n_months)[:, None]
    last = np.maximum.accumulate(np.where(age % reset == 0, months, -1), axis=0)
    held = np.take_along_axis(coupon, np.maximum(last, 0), axis=0)
    monthly = np.fromiter((s.reset_months is None for s in specs), np.bool_, f)
    return np.where(monthly, coupon, np.where(last >= 0, held, initial))
