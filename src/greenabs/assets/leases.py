"""Finance leases: a rental schedule with an optional residual value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal, Self

import numpy as np
from pydantic import Field, model_validator

from greenabs.assets.base import (
    AmortisingBlock,
    AssetSpecBase,
    CompileContext,
    TabulatedSchedule,
)
from greenabs.calendar import Frequency
from greenabs.errors import DataError, Problem

__all__ = ["LeaseFamily", "LeaseSpec"]


class LeaseSpec(AssetSpecBase):
    """One finance lease.

    Rentals are paid in arrears: the first ``first_rental_month`` months after the cut-off
    (one period by default), then every period.  Give either a level ``rental`` with
    ``remaining_term`` (months) or the list ``rentals``; and either the ``balance`` (net
    investment outstanding, from which the implicit rate is solved) or the implicit annual
    ``rate`` (from which the balance is the present value of rentals and residual).
    """

    type: Literal["lease"] = "lease"
    balance: float | None = Field(None, gt=0, description="Net investment outstanding")
    rate: float | None = Field(None, ge=0, lt=1, description="Implicit annual rate")
    rental: float | None = Field(None, gt=0, description="Level rental per period")
    remaining_term: int | None = Field(None, gt=0, le=600, description="Months of rentals left")
    rentals: tuple[float, ...] | None = Field(None, min_length=1, description="Rental schedule")
    residual_value: float = Field(0.0, ge=0, description="Paid with the last rental")
    frequency: Frequency = Frequency.monthly
    first_rental_month: int | None = Field(None, ge=1, le=12)
    age: int = Field(0, ge=0, description="Months since inception")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.balance is None) == (self.rate is None):
            raise ValueError("give exactly one of balance (net investment) or rate (implicit)")
        if self.rentals is None:
            if self.rental is None or self.remaining_term is None:
                raise ValueError("give rentals, or rental with remaining_term")
            if self.remaining_term % self.frequency.months:
                raise ValueError(
                    f"remaining_term ({self.remaining_term}) is not a whole number of "
                    f"{self.frequency.value} periods"
                )
        elif self.rental is not None or self.remaining_term is not None:
            raise ValueError("give rentals, or rental with remaining_term, not both")
        elif any(r < 0 for r in self.rentals):
            raise ValueError("rentals must not be negative")
        return self

    def outstanding(self) -> float:
        """The balance, or the present value of rentals and residual at the implicit rate."""
        if self.balance is not None:
            return self.balance
        assert self.rate is not None
        months, cash = self.schedule()
        step = np.array([self.frequency.months])
        rate_p = np.array([self.rate * self.frequency.months / 12.0])
        disc = _discount(rate_p, months[:, None], step, np.ones((len(months), 1), dtype=bool))
        return float((cash[:, None] * disc).sum())

    def schedule(self) -> tuple[np.ndarray, np.ndarray]:
        """(months after cut-off, amount) of every rental, the residual added to the last."""
        if self.rentals is not None:
            amounts = np.array(self.rentals, dtype=np.float64)
        else:
            assert self.rental is not None
            assert self.remaining_term is not None
            amounts = np.full(self.remaining_term // self.frequency.months, self.rental)
        amounts[-1] += self.residual_value
        step = self.frequency.months
        first = self.first_rental_month or step
        months = first + step * np.arange(len(amounts))
        return months, amounts


def _discount(
    rate_p: np.ndarray, months: np.ndarray, step: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """Discount factors (K, N): simple interest over the first (stub) period, then compound."""
    stub = months[0] / step
    k = np.arange(months.shape[0])[:, None]
    return np.where(mask, 1.0 / ((1.0 + rate_p * stub) * (1.0 + rate_p) ** k), 0.0)


class LeaseFamily:
    """Registered family for :class:`LeaseSpec`."""

    type_name: ClassVar[str] = "lease"
    spec: ClassVar[type[AssetSpecBase]] = LeaseSpec

    @staticmethod
    def compile(specs: Sequence[LeaseSpec], ctx: CompileContext) -> AmortisingBlock:
        """All leases as one block; implicit rates solved together by Newton's method."""
        n = len(specs)
        scheds = [s.schedule() for s in specs]
        k_max = max(len(a) for _, a in scheds)
        months = np.zeros((k_max, n), dtype=np.int64)
        cash = np.zeros((k_max, n))
        mask = np.zeros((k_max, n), dtype=np.bool_)
        for i, (mo, am) in enumerate(scheds):
            months[: len(mo), i], cash[: len(am), i], mask[: len(am), i] = mo, am, True
        step = np.fromiter((s.frequency.months for s in specs), np.int64, n)
        given_rate = np.array([np.nan if s.rate is None else s.rate for s in specs])
        rate_p = np.where(np.isnan(given_rate), 0.05, given_rate) * step / 12.0
        bal = np.array([np.nan if s.balance is None else s.balance for s in specs])
        solve = np.isnan(given_rate)
        if solve.any():
            rate_p = _solve_rates(rate_p, cash, months, step, mask, bal, solve, specs)
        bal = np.where(solve, bal, (cash * _discount(rate_p, months, step, mask)).sum(axis=0))
        n_months = int(months.max())
        rows_m = np.arange(n_months)[:, None]
        accrual = np.where(rows_m < months.max(axis=0), (rate_p / step)[None, :], 0.0)
        pay = np.zeros((n_months, n), dtype=np.bool_)
        sched = np.zeros((n_months, n))
        cols = np.arange(n)
        b = bal.copy()
        prev = np.zeros(n, dtype=np.int64)
        for k in range(k_max):
            live = mask[k]
            mo = months[k]
            span = mo - prev
            interest = b * rate_p * span / step
            principal = np.where(live, cash[k] - interest, 0.0)
            last = live & ~(mask[k + 1] if k + 1 < k_max else np.zeros(n, dtype=np.bool_))
            frac = np.where(b > 0, principal / np.where(b > 0, b, 1.0), 0.0)
            frac = np.where(last, 1.0, frac)
            rows, cs = (mo - 1)[live], cols[live]
            sched[rows, cs] = frac[live]
            pay[rows, cs] = True
            b = np.where(live, b - principal, b)
            prev = np.where(live, mo, prev)
        return AmortisingBlock(
            ids=tuple(s.id for s in specs),
            n_months=n_months,
            balance0=bal,
            age0=np.fromiter((s.age for s in specs), np.int64, n),
            term=np.fromiter((s.age for s in specs), np.int64, n) + months.max(axis=0),
            schedule=TabulatedSchedule(
                accrual=np.ascontiguousarray(accrual),
                pay=pay,
                frac=np.ascontiguousarray(sched),
            ),
            prepayable=np.ones(n, dtype=np.bool_),
            rate0=rate_p * 12.0 / step,
            kind="lease",
        )


def _solve_rates(
    rate_p: np.ndarray,
    cash: np.ndarray,
    months: np.ndarray,
    step: np.ndarray,
    mask: np.ndarray,
    bal: np.ndarray,
    solve: np.ndarray,
    specs: Sequence[LeaseSpec],
) -> np.ndarray:
    """Implicit periodic rates with PV(rentals + residual) = balance (vectorised Newton)."""
    r = rate_p.copy()
    for _ in range(100):
        h = 1e-7
        f0 = (cash * _discount(r, months, step, mask)).sum(axis=0) - bal
        f1 = (cash * _discount(r + h, months, step, mask)).sum(axis=0) - bal
        slope = (f1 - f0) / h
        upd = np.where(solve & (np.abs(slope) > 0), f0 / np.where(slope == 0, 1, slope), 0.0)
        r = np.clip(r - upd, -0.99, 10.0)
        if np.all(np.abs(upd) < 1e-13):
            break
    bad = solve & ((r < 0) | ~np.isfinite(r))
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            "pool",
            Problem(
                f"asset {specs[i].id}",
                "rentals and residual value are worth less than the balance at any non-negative "
                "rate: check balance, rentals and residual_value",
            ),
        )
    return r
