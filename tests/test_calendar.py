"""Month arithmetic, day counts and the deal calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from greenabs.calendar import (
    DayCount,
    DealCalendar,
    Frequency,
    add_months,
    build_calendar,
    year_fraction,
)


def test_add_months_keeps_month_ends() -> None:
    assert add_months(date(2026, 3, 31), 1) == date(2026, 4, 30)
    assert add_months(date(2026, 3, 31), 2) == date(2026, 5, 31)
    assert add_months(date(2026, 2, 28), 1) == date(2026, 3, 31)
    assert add_months(date(2026, 1, 15), 1) == date(2026, 2, 15)
    assert add_months(date(2026, 1, 30), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 26), 3) == date(2027, 2, 26)


@pytest.mark.parametrize(
    ("start", "end", "basis", "expected"),
    [
        (date(2026, 4, 15), date(2026, 5, 26), DayCount.act_365f, 41 / 365),
        (date(2026, 4, 15), date(2026, 5, 26), DayCount.act_360, 41 / 360),
        # ISDA 30/360: 31st treated as 30th when the start is the 30th/31st
        (date(2026, 1, 31), date(2026, 3, 31), DayCount.thirty_360, 60 / 360),
        (date(2026, 1, 15), date(2026, 7, 15), DayCount.thirty_360, 0.5),
    ],
)
def test_year_fraction(start: date, end: date, basis: DayCount, expected: float) -> None:
    assert year_fraction(start, end, basis) == pytest.approx(expected, rel=1e-15)


def test_monthly_calendar_pays_each_month_on_next_date() -> None:
    cal = build_calendar(
        date(2026, 3, 31),
        date(2026, 4, 15),
        date(2026, 5, 26),
        Frequency.monthly,
        DayCount.act_365f,
        6,
    )
    assert cal.payment_dates[0] == date(2026, 5, 26)
    assert cal.payment_dates[-1] > cal.month_ends[-1]
    np.testing.assert_array_equal(cal.period_of_month, np.arange(6))
    # first period accrues from closing
    assert cal.accrual[0] == pytest.approx(41 / 365)
    assert cal.accrual[1] == pytest.approx(31 / 365)


def test_long_first_period_collects_several_months() -> None:
    cal = build_calendar(
        date(2026, 3, 31),
        date(2026, 4, 15),
        date(2026, 8, 26),
        Frequency.monthly,
        DayCount.act_365f,
        8,
    )
    # April..July month ends are all paid on 26 August
    np.testing.assert_array_equal(cal.period_of_month[:4], [0, 0, 0, 0])
    assert cal.period_of_month[4] == 1


def test_quarterly_calendar() -> None:
    cal = build_calendar(
        date(2026, 3, 31),
        date(2026, 4, 15),
        date(2026, 7, 26),
        Frequency.quarterly,
        DayCount.act_365f,
        7,
    )
    assert cal.payment_dates[:3] == (date(2026, 7, 26), date(2026, 10, 26), date(2027, 1, 26))
    np.testing.assert_array_equal(cal.period_of_month, [0, 0, 0, 1, 1, 1, 2])


def test_first_date_before_first_month_end_gets_no_month() -> None:
    cal = build_calendar(
        date(2026, 3, 31),
        date(2026, 4, 2),
        date(2026, 4, 26),
        Frequency.monthly,
        DayCount.act_365f,
        3,
    )
    assert 0 not in cal.period_of_month


def _cal(cutoff: date, first: date, n: int = 4, **kw: Any) -> DealCalendar:
    return build_calendar(cutoff, cutoff, first, Frequency.monthly, DayCount.act_365f, n, **kw)


@pytest.mark.parametrize(
    ("cutoff", "first"),
    [
        (date(2026, 1, 1), date(2026, 2, 1)),  # month ends on the payment date
        (date(2026, 1, 31), date(2026, 2, 28)),  # month end = payment date = 28 February
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
    ],
)
def test_month_ending_on_the_payment_date_is_paid_on_it(cutoff: date, first: date) -> None:
    cal = _cal(cutoff, first)
    assert cal.period_of_month[0] == 0
    assert cal.payment_dates[0] == first


def test_payment_dates_keep_the_day_of_the_first_payment() -> None:
    cal = _cal(date(2026, 1, 31), date(2026, 2, 28), 3)
    assert cal.payment_dates[:3] == (
        date(2026, 2, 28),
        date(2026, 3, 28),
        date(2026, 4, 28),
    )
    # the March month (ending 31 March) is paid on 28 April
    assert list(cal.period_of_month) == [0, 2, 3]
    eom = _cal(date(2026, 1, 31), date(2026, 2, 28), 3, end_of_month=True)
    assert eom.payment_dates[:3] == (
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    )
    assert list(eom.period_of_month) == [0, 1, 2]


def test_determination_days_move_the_collection_boundary() -> None:
    # month ends 31 March; paid on 5 April only if it ends 5 days before: it does not
    cal = _cal(date(2026, 2, 28), date(2026, 4, 5), 3, determination_days=5)
    # months end 31 Mar, 30 Apr, 31 May; dates 5 Apr (boundary 31 Mar), 5 May, 5 Jun
    assert list(cal.period_of_month) == [0, 1, 2]
    late = _cal(date(2026, 2, 28), date(2026, 4, 5), 3, determination_days=6)
    assert list(late.period_of_month) == [1, 2, 3]


def test_business_day_rolling_on_the_china_market_calendar() -> None:
    from greenabs.calendar import BusinessDay, is_business_day, roll

    # 1 October 2026 is National Day (holidays through 7 October); 3 October a Saturday
    assert not is_business_day(date(2026, 10, 1))
    assert roll(date(2026, 10, 1), BusinessDay.following) == date(2026, 10, 8)
    assert roll(date(2026, 10, 1), BusinessDay.none) == date(2026, 10, 1)
    # 31 January 2026 is a Saturday: following rolls into February, modified stays in January
    assert roll(date(2026, 1, 31), BusinessDay.following) == date(2026, 2, 2)
    assert roll(date(2026, 1, 31), BusinessDay.modified_following) == date(2026, 1, 30)
    cal = _cal(date(2026, 7, 31), date(2026, 9, 1), 3, business_day=BusinessDay.following)
    assert date(2026, 10, 8) in cal.payment_dates


def test_end_of_month_keeps_the_first_payment_as_given() -> None:
    cal = _cal(date(2026, 3, 31), date(2026, 5, 26), 5, end_of_month=True)
    assert cal.payment_dates[:3] == (date(2026, 5, 26), date(2026, 6, 30), date(2026, 7, 31))
