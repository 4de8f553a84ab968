"""Loans: level-pay, equal-principal, interest-only then bullet, and bullet; fixed or floating."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import ClassVar, Literal, Self

import numpy as np
from pydantic import Field, model_validator

from greenabs.assets.base import AmortisingBlock, AssetSpecBase, CompileContext
from greenabs.calendar import Frequency

__all__ = ["Amortization", "LoanFamily", "LoanSpec", "amortisation_fractions"]


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
    balance: float = Field(gt=0, description="Current principal balance")
    rate: float | None = Field(None, ge=0, lt=1, description="Annual interest rate (decimal)")
    original_term: int = Field(gt=0, le=600, description="Original term in months")
    age: int = Field(0, ge=0, description="Months since origination")
    amortization: Amortization = Amortization.level
    frequency: Frequency = Frequency.monthly
    index: str | None = Field(None, description="Floating-rate index name (see assumptions.rates)")
    margin: float = Field(0.0, gt=-1, lt=1, description="Spread over the index (decimal)")
    floor: float | None = Field(None, ge=-1, lt=1)
    cap: float | None = Field(None, gt=-1, lt=1)
    reset_months: int | None = Field(None, gt=0, le=120, description="Months between resets")
    obligor: str | None = None
    industry: str | None = None
    region: str | None = None
    green_category: str | None = None

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


def amortisation_fractions(
    kind: np.ndarray, period_rate: np.ndarray, n_remaining: np.ndarray, at_maturity: np.ndarray
) -> np.ndarray:
    """Scheduled principal as a fraction of the balance, for each amortisation code.

    ``kind`` holds codes 0 level, 1 linear, 2 interest-only, 3 bullet; ``n_remaining`` counts
    the payments left including this one.  Level: ``r / ((1 + r)**n - 1)`` (``1/n`` at r = 0);
    linear: ``1/n``; interest-only and bullet: 1 at maturity.
    """
    n = np.maximum(n_remaining, 1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        growth = np.expm1(n * np.log1p(period_rate))
        level = np.where(period_rate > 1e-12, period_rate / growth, 1.0 / n)
    frac = np.where(kind == 0, level, np.where(kind == 1, 1.0 / n, 0.0))
    return np.where(at_maturity, 1.0, frac)


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
        age = age0[None, :] + np.arange(1, n_months + 1)[:, None]  # age in month j (M, N)
        alive = age <= term
        at_maturity = age == term
        pay = alive & (age % step == 0)
        pay = np.where(kind == 3, at_maturity, pay)
        rate = np.broadcast_to(fixed, (n_months, n)).copy()
        floating = [i for i, s in enumerate(specs) if s.index is not None]
        if floating:
            rate[:, floating] = _floating_rates(
                [specs[i] for i in floating], age[:, floating], ctx, n_months
            )
        rate0 = rate[0].copy()
        since_pay = np.where(kind == 3, age0, age0 % step)  # months accrued before cut-off
        accrued0 = bal * rate0 / 12.0 * since_pay
        accrual = np.where(alive, rate / 12.0, 0.0)
        n_rem = (term - age) // step + 1
        frac = amortisation_fractions(kind, rate * step / 12.0, n_rem, at_maturity)
        sched = np.where(pay, frac, 0.0)
        return AmortisingBlock(
            ids=tuple(s.id for s in specs),
            balance0=bal,
            age0=age0,
            term=term,
            accrual_rate=np.ascontiguousarray(accrual),
            pay=np.ascontiguousarray(pay),
            sched_frac=np.ascontiguousarray(sched),
            prepayable=np.ones(n, dtype=np.bool_),
            rate0=rate0,
            kind="loan",
            accrued0=accrued0,
        )


def _floating_rates(
    specs: Sequence[LoanSpec], age: np.ndarray, ctx: CompileContext, n_months: int
) -> np.ndarray:
    """Coupon path (M, F) of floating loans: index + margin, floored and capped, held between
    resets (every ``reset_months`` of age; monthly when not given)."""
    f = len(specs)
    index = np.empty((n_months, f))
    for name in {s.index for s in specs}:
        cols = [i for i, s in enumerate(specs) if s.index == name]
        assert name is not None
        index[:, cols] = ctx.index_path(name, n_months)[:, None]
    margin = np.fromiter((s.margin for s in specs), np.float64, f)
    floor = np.fromiter((-np.inf if s.floor is None else s.floor for s in specs), np.float64, f)
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
