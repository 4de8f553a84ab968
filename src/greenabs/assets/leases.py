"""Finance leases: a rental schedule with an optional residual value.

The implicit rate ``r`` makes the present value of the rentals and the residual value equal to
the net investment (the ``balance``): simple interest over the first (stub) period, compound
after it.  The economic balance of a lease then runs ``E' = E (1 + r) - rental`` from one
rental to the next.

**Negative amortisation.**  A rental below the interest due (a payment holiday, a zero rental
before a residual, a step-up schedule) does not pay all the interest: the shortfall is
*capitalised*, i.e. it earns interest at the implicit rate and is paid from later rentals
before any principal.  The engine's kernels only ever reduce a balance, so the block carries
the *principal* balance ``B`` (never above the net investment ``E``; ``E - B`` is the
capitalised interest): while a rental falls short, all of it is interest and no principal is
scheduled; later rentals pay the interest on ``E`` and the capitalised interest first.  Each
period the scheduled fraction is ``P / B`` in [0, 1] and the accrual rate is set so that
interest plus principal is exactly the rental, so without prepayment or default the cash a
lease pays is exactly its rentals and residual value, and the principal paid is exactly its
balance.  A lease that prepays or defaults settles (or loses) its principal and accrued
interest; interest capitalised before then is not collected.

**Bounds.**  A lease must have something to collect (a positive rental or residual value),
rentals over at most :data:`MAX_TERM_MONTHS` months, amounts up to :data:`MAX_AMOUNT`, and a
``balance`` that its rentals and residual value repay at an implicit rate from 0 to
:data:`MAX_IMPLICIT_RATE` a year (the range of the ``rate`` field).  Anything else is refused
at validation, so every lease that validates is solved and projected without overflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from greenabs.assets.base import (
    MAX_AMOUNT,
    AmortisingBlock,
    AssetSpecBase,
    CompileContext,
    TabulatedSchedule,
)
from greenabs.calendar import Frequency
from greenabs.errors import DataError, Problem

__all__ = ["MAX_AMOUNT", "MAX_IMPLICIT_RATE", "MAX_TERM_MONTHS", "LeaseFamily", "LeaseSpec"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MAX_IMPLICIT_RATE = 1.0
"""Highest implicit annual rate (exclusive), as for the ``rate`` field: a balance that would need
more (rentals worth far more than the net investment) is refused as a data error."""
MAX_TERM_MONTHS = 600
"""Most months of rentals a lease may have (``remaining_term``, or rentals times period)."""
"""Largest balance, rental or residual value of one lease, in currency units."""
_SHORT = 1e-12
"""Relative shortfall of rentals below the balance still read as an implicit rate of 0."""

Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT)]


def _money(x: float) -> str:
    """An amount for a message: cents, or significant digits when it is below a cent."""
    return f"{x:,.2f}" if x == 0 or abs(x) >= 0.01 else f"{x:.3g}"


class LeaseSpec(AssetSpecBase):
    """One finance lease.

    Rentals are paid in arrears: the first ``first_rental_month`` months after the cut-off
    (one period by default), then every period.  Give either a level ``rental`` with
    ``remaining_term`` (months; ``remaining_term`` / period rentals) or the list ``rentals``
    (zeros allowed: payment holidays; see the module notes on negative amortisation); and
    either the ``balance`` (net investment outstanding, from which the implicit rate is
    solved) or the implicit annual ``rate`` (from which the balance is the present value of
    rentals and residual).
    """

    type: Literal["lease"] = "lease"
    balance: float | None = Field(
        None, gt=0, le=MAX_AMOUNT, description="Net investment outstanding"
    )
    rate: float | None = Field(None, ge=0, lt=MAX_IMPLICIT_RATE, description="Implicit annual rate")
    rental: float | None = Field(None, gt=0, le=MAX_AMOUNT, description="Level rental per period")
    remaining_term: int | None = Field(
        None, gt=0, le=MAX_TERM_MONTHS, description="Months of rentals left"
    )
    rentals: tuple[Amount, ...] | None = Field(None, min_length=1, description="Rental schedule")
    residual_value: float = Field(0.0, ge=0, le=MAX_AMOUNT, description="Paid with the last rental")
    frequency: Frequency = Frequency.monthly
    first_rental_month: int | None = Field(None, ge=1, le=12)
    age: int = Field(0, ge=0, le=MAX_TERM_MONTHS, description="Months since inception")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.balance is None) == (self.rate is None):
            raise ValueError("give exactly one of balance (net investment) or rate (implicit)")
        step = self.frequency.months
        if self.rentals is None:
            if self.rental is None or self.remaining_term is None:
                raise ValueError("give rentals, or rental with remaining_term")
            if self.remaining_term % step:
                raise ValueError(
                    f"remaining_term ({self.remaining_term}) is not a whole number of "
                    f"{self.frequency.value} periods"
                )
        elif self.rental is not None or self.remaining_term is not None:
            raise ValueError("give rentals, or rental with remaining_term, not both")
        elif len(self.rentals) * step > MAX_TERM_MONTHS:
            raise ValueError(
                f"rentals: {len(self.rentals)} {self.frequency.value} rentals cover "
                f"{len(self.rentals) * step} months, more than {MAX_TERM_MONTHS}"
            )
        months, cash = self.schedule()
        total = float(cash.sum())
        if total <= 0.0:
            raise ValueError(
                "rentals: every rental is 0 and there is no residual_value: a positive "
                "balance needs some rental or residual value to repay it"
            )
        if self.balance is not None:
            if total < self.balance * (1.0 - _SHORT):
                raise ValueError(
                    f"balance: rentals and residual_value total {_money(total)}, less than the "
                    f"balance {_money(self.balance)}: no non-negative implicit rate repays it "
                    "(check balance, rentals and residual_value)"
                )
            top_rate = np.array([MAX_IMPLICIT_RATE * step / 12.0])
            top = _pv(top_rate, cash[:, None], months[:, None], np.array([step]))[0]
            if top >= self.balance:
                raise ValueError(
                    f"balance: {_money(self.balance)} is too small for rentals and "
                    f"residual_value totalling {_money(total)}: it implies an implicit rate of "
                    f"{MAX_IMPLICIT_RATE:.0%} a year or more (check balance, rentals, "
                    "residual_value and their units)"
                )
        return self

    def outstanding(self) -> float:
        """The balance, or the present value of rentals and residual at the implicit rate."""
        if self.balance is not None:
            return self.balance
        assert self.rate is not None
        months, cash = self.schedule()
        step = np.array([self.frequency.months])
        rate_p = np.array([self.rate * self.frequency.months / 12.0])
        return float(_pv(rate_p, cash[:, None], months[:, None], step)[0])

    def schedule(self) -> tuple[IntArray, FloatArray]:
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
        months = first + step * np.arange(len(amounts), dtype=np.int64)
        return months, amounts


def _log_growth(rate_p: FloatArray, months: IntArray, step: IntArray) -> FloatArray:
    """log of 1 / discount factor (K, N) of each rental: simple interest over the first (stub)
    period, then compound.  Logs never overflow; the factors themselves are ``exp(-.)``."""
    stub = months[0] / step
    k = np.arange(months.shape[0])[:, None]
    out: FloatArray = np.log1p(rate_p * stub) + k * np.log1p(rate_p)
    return out


def _pv(rate_p: FloatArray, cash: FloatArray, months: IntArray, step: IntArray) -> FloatArray:
    """Present values (N,) of rentals ``cash`` (K, N; zero past a lease's end) at periodic
    rates ``rate_p`` (N,)."""
    out: FloatArray = (cash * np.exp(-_log_growth(rate_p, months, step))).sum(axis=0)
    return out


class LeaseFamily:
    """Registered family for :class:`LeaseSpec`."""

    type_name: ClassVar[str] = "lease"
    spec: ClassVar[type[AssetSpecBase]] = LeaseSpec

    @staticmethod
    def compile(specs: Sequence[LeaseSpec], ctx: CompileContext) -> AmortisingBlock:
        """All leases as one block; implicit rates solved together (bracketed Newton)."""
        n = len(specs)
        scheds = []
        for s in specs:
            mo, am = s.schedule()
            paid = np.flatnonzero(am > 0)
            keep = int(paid[-1]) + 1 if paid.size else len(am)  # ends with its last cash flow
            scheds.append((mo[:keep], am[:keep]))
        k_max = max(len(a) for _, a in scheds)
        months = np.zeros((k_max, n), dtype=np.int64)
        cash = np.zeros((k_max, n))
        mask = np.zeros((k_max, n), dtype=np.bool_)
        for i, (mo, am) in enumerate(scheds):
            months[: len(mo), i], cash[: len(am), i], mask[: len(am), i] = mo, am, True
        step = np.fromiter((s.frequency.months for s in specs), np.int64, n)
        given = np.array([np.nan if s.rate is None else s.rate for s in specs])
        solve = np.isnan(given)
        bal = np.array([np.nan if s.balance is None else s.balance for s in specs])
        rate_p = np.where(solve, 0.0, given) * step / 12.0
        if solve.any():
            rate_p[solve] = _solve_rates(
                cash[:, solve], months[:, solve], step[solve], bal[solve], specs, solve
            )
        bal = np.where(solve, bal, _pv(rate_p, cash, months, step))
        accrual, pay, frac, n_months = _tabulate(rate_p, cash, months, step, mask, bal)
        age0 = np.fromiter((s.age for s in specs), np.int64, n)
        return AmortisingBlock(
            ids=tuple(s.id for s in specs),
            n_months=n_months,
            balance0=bal,
            age0=age0,
            term=age0 + months.max(axis=0),
            schedule=TabulatedSchedule(
                accrual=np.ascontiguousarray(accrual),
                pay=pay,
                frac=np.ascontiguousarray(frac),
            ),
            prepayable=np.ones(n, dtype=np.bool_),
            rate0=rate_p * 12.0 / step,
            kind="lease",
        )


def _tabulate(
    rate_p: FloatArray,
    cash: FloatArray,
    months: IntArray,
    step: IntArray,
    mask: BoolArray,
    bal: FloatArray,
) -> tuple[FloatArray, BoolArray, FloatArray, int]:
    """The kernel schedule (accrual, pay, frac; each (M, N)) and M, from rentals (K, N).

    The economic balance ``E`` before each rental comes from a backward recursion (a sum of
    positive terms, so it never cancels); the principal balance is ``B = min(B, E)``, never
    rising; each rental pays principal ``B - B'`` and interest ``rental - (B - B')``.
    """
    k_max, n = cash.shape
    growth = np.empty((k_max, n))  # 1 + periodic rate of the period ending at rental k
    growth[0] = 1.0 + rate_p * months[0] / step
    growth[1:] = 1.0 + rate_p
    econ = np.zeros((k_max + 1, n))  # economic balance at the start of period k
    for k in range(k_max - 1, -1, -1):
        econ[k] = np.where(mask[k], (cash[k] + econ[k + 1]) / growth[k], 0.0)
    n_months = int(months.max())
    per_frac = np.zeros((k_max, n))
    per_accrual = np.zeros((k_max, n))
    b = bal.copy()
    prev = np.zeros(n, dtype=np.int64)
    for k in range(k_max):
        live = mask[k]
        last = live & (~mask[k + 1] if k + 1 < k_max else True)
        c = cash[k]
        principal = np.clip(b - econ[k + 1], 0.0, np.minimum(c, b))
        principal = np.where(last, b, np.where(live, principal, 0.0))
        interest = np.maximum(c - principal, 0.0)
        span = np.maximum(months[k] - prev, 1)
        pos = live & (b > 0.0)
        safe = np.where(pos, b, 1.0)
        per_frac[k] = np.where(last, 1.0, np.where(pos, np.minimum(principal / safe, 1.0), 0.0))
        per_accrual[k] = np.where(pos, interest / (safe * span), 0.0)
        b = np.where(live, b - principal, b)
        prev = np.where(live, months[k], prev)
    # month row m (month m + 1 after the cut-off) belongs to the period of the first rental due
    # on or after it
    row = np.arange(1, n_months + 1)[:, None]
    first = months[0][None, :]
    period = np.maximum(0, -((first - row) // step[None, :]))
    live_rows = period < mask.sum(axis=0)[None, :]
    idx = np.minimum(period, k_max - 1)
    accrual = np.where(live_rows, np.take_along_axis(per_accrual, idx, axis=0), 0.0)
    on_rental = live_rows & (np.take_along_axis(months, idx, axis=0) == row)
    frac = np.where(on_rental, np.take_along_axis(per_frac, idx, axis=0), 0.0)
    return accrual, on_rental, frac, n_months


def _solve_rates(
    cash: FloatArray,
    months: IntArray,
    step: IntArray,
    bal: FloatArray,
    specs: Sequence[LeaseSpec],
    solve: BoolArray,
) -> FloatArray:
    """Periodic implicit rates with PV(rentals + residual) = balance, for the leases given by
    balance.

    Newton's method on ``log PV = log balance`` in ``x = log(1 + r)``, where it is nearly
    linear, from ``x = 0``; every step is kept inside a bracket [lo, hi] (bisecting when it
    leaves it), which starts at [0, log(1 + :data:`MAX_IMPLICIT_RATE` per period)] and always
    holds the root (validation refused the balances outside it).  Discount factors come from
    logs, so nothing overflows; converged leases drop out of the iteration.
    """
    hi = np.log1p(MAX_IMPLICIT_RATE * step / 12.0)
    top = hi.copy()
    lo = np.zeros_like(hi)
    _refuse(cash.sum(axis=0) < bal * (1.0 - _SHORT), "short", specs, solve)
    x = np.zeros_like(hi)
    stub_all = months[0] / step
    log_bal = np.log(bal)
    k = np.arange(months.shape[0], dtype=np.float64)[:, None]
    act = np.arange(x.shape[0])
    for _ in range(200):
        if act.size == 0:
            break
        xa, stub = x[act], stub_all[act]
        grow = np.expm1(xa)
        disc = cash[:, act] * np.exp(-(np.log1p(grow * stub) + k * xa))
        pv = disc.sum(axis=0)
        slope_l = stub * (1.0 + grow) / (1.0 + grow * stub)  # d/dx log(1 + r stub)
        dpv = -(disc * k).sum(axis=0) - pv * slope_l
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.log(pv) - log_bal[act]
            newton = xa - g * pv / dpv
        lo[act] = np.where(g > 0, xa, lo[act])
        hi[act] = np.where(g < 0, xa, hi[act])
        la, ha = lo[act], hi[act]
        inside = np.isfinite(newton) & (newton > la) & (newton < ha)
        nxt = np.where(g == 0, xa, np.where(inside, newton, 0.5 * (la + ha)))
        done = np.abs(nxt - xa) <= 1e-15 * np.maximum(nxt, 1e-6)
        x[act] = nxt
        act = act[~done]
    # a root at (or past) the top of the bracket: the balance needs the maximum rate or more
    edge = np.flatnonzero(x >= top * (1.0 - 1e-9))
    high = np.zeros(x.shape, dtype=np.bool_)
    if edge.size:
        at_top = _pv(np.expm1(top[edge]), cash[:, edge], months[:, edge], step[edge])
        high[edge] = at_top >= bal[edge]
    _refuse(high, "high", specs, solve)
    out: FloatArray = np.expm1(x)
    return out


def _refuse(bad: BoolArray, kind: str, specs: Sequence[LeaseSpec], solve: BoolArray) -> None:
    """Refuse the first lease (of those solved) whose balance no implicit rate from 0 to the
    maximum repays; validation refuses these already, so only specs built without it get here."""
    if not bad.any():
        return
    i = int(np.flatnonzero(solve)[int(np.argmax(bad))])
    why = (
        "rentals and residual value are worth less than the balance at any non-negative rate"
        if kind == "short"
        else f"the balance implies an implicit rate of {MAX_IMPLICIT_RATE:.0%} a year or more"
    )
    raise DataError(
        "pool",
        Problem(f"asset {specs[i].id}", f"{why}: check balance, rentals and residual_value"),
    )
