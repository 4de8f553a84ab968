"""Yield, price, duration and WAL against textbook values and an independent solver."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenabs import analytics


def test_price_of_semiannual_bond_at_yield() -> None:
    # 10-year 5% semiannual bond at a 6% yield: 92.5613 per 100 (standard textbook example,
    # e.g. Fabozzi, Bond Markets, Analysis and Strategies, pricing chapter)
    t = np.arange(1, 21) / 2
    cf = np.full(20, 2.5)
    cf[-1] += 100
    assert analytics.price_from_yield(t, cf, 0.06, 2) == pytest.approx(92.5613, abs=5e-5)
    assert analytics.yield_from_price(t, cf, 92.5613, 2) == pytest.approx(0.06, abs=1e-6)


def test_duration_of_five_year_ten_percent_bond() -> None:
    # 5-year 10% annual coupon bond priced at par (10% yield): Macaulay duration 4.1699 years,
    # modified duration 3.7908 (textbook example, e.g. Hull, Options Futures and Other
    # Derivatives, duration section; Fabozzi)
    t = np.arange(1, 6, dtype=float)
    cf = np.array([10, 10, 10, 10, 110.0])
    assert analytics.price_from_yield(t, cf, 0.10, 1) == pytest.approx(100.0, abs=1e-10)
    assert analytics.macaulay_duration(t, cf, 0.10, 1) == pytest.approx(4.1699, abs=5e-5)
    assert analytics.modified_duration(t, cf, 0.10, 1) == pytest.approx(3.7908, abs=5e-5)


def test_wal() -> None:
    assert analytics.wal(np.array([1.0, 2.0, 3.0]), np.array([50.0, 30.0, 20.0])) == 1.7
    assert np.isnan(analytics.wal(np.array([1.0]), np.array([0.0])))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0.0, max_value=50.0), min_size=1, max_size=8),
    st.floats(min_value=20.0, max_value=200.0),
)
def test_yield_matches_polynomial_root(coupons: list[float], price: float) -> None:
    # Independent implementation: with annual cash flows at integer times the yield solves a
    # polynomial in v = 1/(1+y); numpy's eigenvalue root finder gives it.
    cf = np.array(coupons, dtype=float)
    cf[-1] += 100.0
    t = np.arange(1, len(cf) + 1, dtype=float)
    y = analytics.yield_from_price(t, cf, price, 1)
    poly = np.concatenate([cf[::-1], [-price]])  # sum cf_k v^k - price = 0
    roots = np.roots(poly)
    v = [r.real for r in roots if abs(r.imag) < 1e-9 and r.real > 0]
    expected = [1 / r - 1 for r in v if -0.99 < 1 / r - 1 < 10]
    assert expected, "the polynomial has a root in range"
    assert min(abs(y - e) for e in expected) < 1e-8


def test_discount_margin_round_trip() -> None:
    acc = np.full(8, 0.25)
    index = np.linspace(0.02, 0.03, 8)
    cash = 100 * (index + 0.01) * acc
    cash[-1] += 100
    # a floater paying index + 1% is worth par discounted at index + 1%
    assert analytics.price_from_dm(acc, index, cash, 0.01) == pytest.approx(100.0, abs=1e-10)
    assert analytics.discount_margin(acc, index, cash, 99.0) > 0.01


def test_no_yield_for_worthless_cash_flows() -> None:
    assert np.isnan(analytics.yield_from_price(np.array([1.0]), np.array([0.0]), 100.0))


def test_yield_of_long_monthly_cash_flows() -> None:
    # 30 years of monthly flows: the solver must not overflow on its lower bracket
    t = np.arange(1, 361) / 12
    cf = np.full(360, 0.5)
    cf[-1] += 100
    y = analytics.yield_from_price(t, cf, 100.0, 12)
    assert y == pytest.approx(0.06, abs=1e-10)
    assert analytics.yield_from_price(t, cf, 400.0, 12) < 0
