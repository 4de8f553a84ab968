"""Dates: day counts, month arithmetic and the deal calendar.

The pool is projected on a monthly grid that starts at the cut-off date: month ``m`` (1-based)
ends on ``cutoff + m months``.  Each pool month is a collection month; its cash is paid on the
first payment date strictly after the month ends, so collection periods are whole months and a
long or short first period falls out of the dates themselves.  Tranche coupons and fees accrue
on the deal's day count between actual payment dates, the first period running from closing.

Conventions (each a field of ``dates`` in the deal file):

* a collection month is paid on the first payment date ``P`` with
  ``month end <= P - determination_days`` (a month that ends on the payment date is paid on it);
* payment dates keep the day of ``first_payment`` (the 28th stays the 28th); with
  ``end_of_month`` they fall on month ends;
* ``business_day`` rolls payment dates that fall on a weekend or a holiday of the China market
  calendar (``following`` or ``modified_following``; ``none`` keeps nominal dates).  Rolled
  dates are used for accrual, for the collection boundary and for yields.
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

import numpy as np
import numpy.typing as npt
from pydantic import Field

__all__ = [
    "BusinessDay",
    "DayCount",
    "DealCalendar",
    "DealDate",
    "Frequency",
    "add_months",
    "build_calendar",
    "is_business_day",
    "months_between",
    "roll",
    "year_fraction",
]


class Frequency(StrEnum):
    """Payment frequency of a deal or an asset."""

    monthly = "monthly"
    quarterly = "quarterly"
    semiannual = "semiannual"
    annual = "annual"

    @property
    def months(self) -> int:
        """Months between two payments."""
        return {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}[self.value]

    @property
    def per_year(self) -> int:
        """Payments per year."""
        return 12 // self.months


FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2200, 12, 31)
DealDate = Annotated[
    date,
    Field(ge=FIRST_DATE, le=LAST_DATE, description="A date from 1900-01-01 to 2200-12-31"),
]
"""A date a deal may use: bounded so that every projection (up to 600 months past it, plus
lags) stays inside the calendar."""


class BusinessDay(StrEnum):
    """How a payment date that is not a business day is rolled."""

    none = "none"
    following = "following"
    modified_following = "modified_following"


class DayCount(StrEnum):
    """Day-count conventions for accrual."""

    act_365f = "ACT/365F"
    act_360 = "ACT/360"
    thirty_360 = "30/360"


def _is_month_end(d: date) -> bool:
    return d.day == _cal.monthrange(d.year, d.month)[1]


def add_months(d: date, n: int, *, end_of_month: bool | None = None) -> date:
    """``d`` moved by ``n`` months, the day clipped to the month's length.

    With ``end_of_month`` (default: whether ``d`` is a month end) the result is a month end too,
    so 2026-02-28 + 1 month is 2026-03-31 when the schedule is anchored on month ends.
    """
    eom = _is_month_end(d) if end_of_month is None else end_of_month
    y, m0 = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m0 + 1
    last = _cal.monthrange(year, month)[1]
    return date(year, month, last if eom else min(d.day, last))


def months_between(start: date, end: date) -> int:
    """Whole collection months from ``start`` (the cut-off) until the month containing ``end``.

    The month that ends on or after ``end`` is returned (1-based); dates on or before the
    cut-off give 0 or less.
    """
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if add_months(start, months) < end:
        months += 1
    return months


def year_fraction(start: date, end: date, basis: DayCount) -> float:
    """Accrual fraction between two dates on a day count (ISDA 30/360 bond basis for 30/360)."""
    if basis is DayCount.act_365f:
        return (end - start).days / 365.0
    if basis is DayCount.act_360:
        return (end - start).days / 360.0
    d1 = min(start.day, 30)
    d2 = min(end.day, 30) if d1 == 30 else end.day
    days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)
    return days / 360.0


@dataclass(frozen=True, eq=False)
class DealCalendar:
    """Every date of a deal and the arrays the engine needs from them.

    Attributes
    ----------
    cutoff, closing
        Cut-off date of the pool and closing (issue) date of the notes.
    month_ends
        The pool's monthly grid: end date of collection month ``m`` (length M).
    payment_dates
        Payment dates ``P_1 .. P_K`` (length K).
    period_of_month
        ``int`` array of length M: the 0-based payment period that pays each collection month.
    accrual
        Day-count fraction of each interest period (closing to P_1, then P_k-1 to P_k).
    years_from_closing
        ACT/365F years from closing to each payment date (for WAL, yield, duration).
    frequency, day_count
        The deal's conventions.
    """

    cutoff: date
    closing: date
    month_ends: tuple[date, ...]
    payment_dates: tuple[date, ...]
    period_of_month: npt.NDArray[np.int64]
    accrual: npt.NDArray[np.float64]
    years_from_closing: npt.NDArray[np.float64]
    frequency: Frequency
    day_count: DayCount

    @property
    def n_months(self) -> int:
        """Number of collection months M."""
        return len(self.month_ends)

    @property
    def n_periods(self) -> int:
        """Number of payment dates K."""
        return len(self.payment_dates)


@lru_cache(maxsize=64)
def _market_holidays(year: int) -> frozenset[date]:
    """Holidays of the China market calendar in a year (``holidays``' XSHG calendar: the
    State Council's public holidays and substituted days off, as the interbank and exchange
    markets close on them).  Years the package does not cover have weekends only."""
    import holidays

    return frozenset(holidays.financial_holidays("XSHG", years=year))


def is_business_day(d: date) -> bool:
    """Whether ``d`` is a weekday and not a China market holiday."""
    return d.weekday() < 5 and d not in _market_holidays(d.year)


def roll(d: date, rule: BusinessDay) -> date:
    """``d`` rolled to a business day by ``rule``."""
    if rule is BusinessDay.none or is_business_day(d):
        return d
    out = d
    while not is_business_day(out):
        out = date.fromordinal(out.toordinal() + 1)
    if rule is BusinessDay.modified_following and out.month != d.month:
        out = d
        while not is_business_day(out):
            out = date.fromordinal(out.toordinal() - 1)
    return out


def build_calendar(
    cutoff: date,
    closing: date,
    first_payment: date,
    frequency: Frequency,
    day_count: DayCount,
    n_months: int,
    *,
    determination_days: int = 0,
    business_day: BusinessDay = BusinessDay.none,
    end_of_month: bool = False,
) -> DealCalendar:
    """The calendar for a pool projected over ``n_months`` collection months.

    Payment dates run from ``first_payment`` every ``frequency`` (keeping its day, or on month
    ends with ``end_of_month``), rolled by ``business_day``, until the last collection month is
    paid.  Month ``m`` is paid on the first date ``P`` with ``month_end_m <= P -
    determination_days``.  The inputs must be ordered ``cutoff <= closing < first_payment``
    (checked by the deal-file validator, asserted here).
    """
    assert cutoff <= closing < first_payment, "dates out of order"
    assert n_months >= 1
    month_ends = tuple(add_months(cutoff, m) for m in range(1, n_months + 1))
    step = frequency.months

    def payment(k: int) -> date:
        nominal = (
            first_payment
            if k == 0
            else add_months(first_payment, step * k, end_of_month=end_of_month)
        )
        return roll(nominal, business_day)

    payments: list[date] = [payment(0)]
    last_month = month_ends[-1].toordinal()
    while payments[-1].toordinal() - determination_days < last_month:
        payments.append(payment(len(payments)))
    pay_ord = np.array([p.toordinal() for p in payments])
    month_ord = np.array([d.toordinal() for d in month_ends])
    period_of_month = np.searchsorted(pay_ord - determination_days, month_ord, side="left").astype(
        np.int64
    )
    starts = [closing, *payments[:-1]]
    accrual = np.array(
        [year_fraction(s, e, day_count) for s, e in zip(starts, payments, strict=True)]
    )
    years = (pay_ord - closing.toordinal()) / 365.0
    return DealCalendar(
        cutoff=cutoff,
        closing=closing,
        month_ends=month_ends,
        payment_dates=tuple(payments),
        period_of_month=period_of_month,
        accrual=accrual,
        years_from_closing=years.astype(np.float64),
        frequency=frequency,
        day_count=day_count,
    )
