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


# ---------------------------------------------------------------- vectorised over scenarios
def _scenario_flows(seed: int = 7, n_s: int = 40, n_k: int = 120) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    t = np.arange(1, n_k + 1) / 12
    cf = rng.uniform(0.0, 2.0, (n_s, n_k))
    cf[rng.uniform(size=(n_s, n_k)) < 0.3] = 0.0
    cf[:, -1] += 100.0 * rng.uniform(0.0, 1.0, n_s)
    cf[0] = 0.0  # a scenario with no cash: no yield, no WAL
    price = rng.uniform(20.0, 300.0, n_s)
    price[1] = -5.0  # no yield at a negative price
    price[2] = 1e300  # nor below -99% a period
    price[3] = 1e-9  # nor above 1000%
    return t, cf, price


def test_analytics_vectorise_over_scenarios_row_by_row() -> None:
    t, cf, price = _scenario_flows()
    y = analytics.yield_from_price(t, cf, price, 12)
    assert isinstance(y, np.ndarray)
    assert y.shape == (cf.shape[0],)
    assert np.isnan(y[:4]).all()
    assert np.isfinite(y[4:]).all()
    acc = np.full(t.size, 1 / 12)
    index = np.linspace(0.02, 0.04, t.size)
    per_row = {
        "wal": (analytics.wal(t, cf), [analytics.wal(t, c) for c in cf]),
        "yield": (
            y,
            [analytics.yield_from_price(t, c, p, 12) for c, p in zip(cf, price, strict=True)],
        ),
        "price": (
            analytics.price_from_yield(t, cf, 0.05, 12),
            [analytics.price_from_yield(t, c, 0.05, 12) for c in cf],
        ),
        "macaulay": (
            analytics.macaulay_duration(t, cf, y, 12),
            [analytics.macaulay_duration(t, c, yy, 12) for c, yy in zip(cf, y, strict=True)],
        ),
        "modified": (
            analytics.modified_duration(t, cf, y, 12),
            [analytics.modified_duration(t, c, yy, 12) for c, yy in zip(cf, y, strict=True)],
        ),
        "price_dm": (
            analytics.price_from_dm(acc, index, cf, 0.01),
            [analytics.price_from_dm(acc, index, c, 0.01) for c in cf],
        ),
        "dm": (
            analytics.discount_margin(acc, index, cf, price),
            [analytics.discount_margin(acc, index, c, p) for c, p in zip(cf, price, strict=True)],
        ),
    }
    for name, (together, alone) in per_row.items():
        assert all(isinstance(a, float) for a in alone), name
        np.testing.assert_allclose(together, np.array(alone), rtol=1e-13, atol=1e-13, err_msg=name)


def test_vectorised_yield_round_trips_and_agrees_with_brentq() -> None:
    from scipy.optimize import brentq

    t, cf, price = _scenario_flows(seed=11)
    ok = slice(4, None)
    y = np.asarray(analytics.yield_from_price(t, cf[ok], price[ok], 12))
    np.testing.assert_allclose(analytics.price_from_yield(t, cf[ok], y, 12), price[ok], rtol=1e-12)
    for c, p, yy in zip(cf[ok][:10], price[ok][:10], y[:10], strict=True):
        ref = brentq(lambda r, c=c, p=p: analytics.price_from_yield(t, c, r, 12) - p, -11.0, 10.0)
        assert yy == pytest.approx(ref, abs=1e-10)
    acc = np.full(t.size, 0.25)
    index = np.full(t.size, 0.03)
    dm = np.asarray(analytics.discount_margin(acc, index, cf[ok], price[ok]))
    back = analytics.price_from_dm(acc, index, cf[ok], dm)
    fine = np.isfinite(dm)
    assert fine.sum() > 20
    np.testing.assert_allclose(np.asarray(back)[fine], price[ok][fine], rtol=1e-12)


def test_solvers_do_not_call_a_scalar_root_finder(monkeypatch: pytest.MonkeyPatch) -> None:
    import scipy.optimize

    def refuse(*args: object, **kwargs: object) -> float:
        raise AssertionError("one root-finder call per scenario")

    monkeypatch.setattr(scipy.optimize, "brentq", refuse)
    t, cf, price = _scenario_flows()
    assert np.isfinite(analytics.yield_from_price(t, cf, price, 12)).sum() > 30
    acc = np.full(t.size, 1 / 12)
    assert np.isfinite(analytics.discount_margin(acc, np.zeros(t.size), cf, price)).sum() > 30


def test_leading_shape_and_per_scenario_parameters() -> None:
    t = np.arange(1, 6, dtype=float)
    cf = np.array([10, 10, 10, 10, 110.0])
    grid = np.broadcast_to(cf, (2, 3, 5))
    y = np.array([[0.05, 0.10, 0.15], [0.0, 0.2, -0.05]])
    p = np.asarray(analytics.price_from_yield(t, grid, y, 1))
    assert p.shape == (2, 3)
    assert p[0, 1] == pytest.approx(100.0, abs=1e-10)
    np.testing.assert_allclose(analytics.yield_from_price(t, grid, p, 1), y, atol=1e-12)
    assert np.asarray(analytics.wal(t, grid)).shape == (2, 3)
    # (K,) input stays a float, as it always was
    assert isinstance(analytics.wal(t, cf), float)
    assert isinstance(analytics.yield_from_price(t, cf, 100.0, 1), float)
