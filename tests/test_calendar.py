"""Month arithmetic, day counts and the deal calendar."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from greenabs.calendar import DayCount, Frequency, add_months, build_calendar, year_fraction


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
