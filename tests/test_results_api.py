"""The public face of RunResult: immutable arrays, argument errors, per-scenario metrics and
the settlement-date convention (checked against a two-cash-flow bond worked by hand)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import greenabs
from greenabs import analytics
from greenabs.errors import SpecError
from greenabs.results import RunResult
from tests.conftest import make_deal

QUIET = {"prepayment": {"cpr": 0.0}, "default": {"cdr": 0.0}, "recovery": {"rate": 0.0}}
TWO_MONTHS = {
    "assets": [
        {
            "id": "L",
            "type": "loan",
            "balance": 100e6,
            "rate": 0.06,
            "original_term": 2,
            "amortization": "linear",
        }
    ]
}
CLOSING = date(2026, 4, 15)
P1, P2 = date(2026, 5, 26), date(2026, 6, 26)


def two_cash_flow_bond(coupon: dict[str, Any]) -> RunResult:
    """One 100m class on a 100m two-month linear loan, no losses: 50m of principal on each
    of 2026-05-26 and 2026-06-26 with interest accrued ACT/365F from closing 2026-04-15."""
    st = {
        "fees": [],
        "tranches": [{"name": "A", "balance": 100e6, "coupon": coupon}],
        "waterfall": [{"pay_interest": "A"}, {"pay_principal": "A"}],
    }
    assume = {**QUIET, "rates": {"LPR1Y": [0.03]}}
    return greenabs.run(make_deal(pool=TWO_MONTHS, assumptions=assume, structure=st))


@pytest.fixture(scope="module")
def stressed() -> RunResult:
    """A fixed senior, a floating mezzanine paid after principal, a residual class and a
    clean-up call, over five scenarios from no default to a pool wiped out."""
    st = {
        "fees": [{"name": "trustee", "rate": 0.0002, "base": "pool_balance"}],
        "tranches": [
            {"name": "A", "balance": 80e6, "coupon": {"fixed": 0.032}},
            {
                "name": "B",
                "balance": 12e6,
                "coupon": {"index": "LPR1Y", "margin": 0.02},
                "price": 99.5,
            },
            {"name": "Sub", "balance": 8e6, "residual": True},
        ],
        "waterfall": [
            {"pay_fees": ["trustee"]},
            {"pay_interest": "A"},
            {"pay_principal": {"tranches": ["A", "B"], "mode": "sequential"}},
            {"pay_interest": "B"},
            {"pay_residual": "Sub"},
        ],
        "call": {"pool_factor": 0.1},
    }
    assume = {
        "prepayment": {"cpr": 0.05},
        "default": {"cdr": 0.02},
        "recovery": {"rate": 0.3, "lag_months": 6},
        "rates": {"LPR1Y": [0.03, 0.032, 0.035]},
    }
    return greenabs.run(
        make_deal(structure=st, assumptions=assume),
        smm_mult=[1.0, 2.0, 0.5, 1.0, 0.0],
        mdr_mult=[0.0, 1.0, 5.0, 15.0, 40.0],
    )


# ---------------------------------------------------------------- immutability
def _arrays(obj: Any) -> list[np.ndarray]:
    if isinstance(obj, np.ndarray):
        return [obj]
    if hasattr(obj, "items"):
        return [a for v in obj.values() for a in _arrays(v)]
    return []


def test_every_array_of_a_result_is_read_only() -> None:
    r = greenabs.run(make_deal(), loan_level=True)
    wf, pool, cal = r.waterfall, r.pool, r.calendar
    arrays = [
        *_arrays(pool.flows),
        *_arrays(pool.loan_level),
        *(
            a
            for f in ("tranches", "fees", "accounts", "triggers", "deal", "coupons")
            for a in _arrays(getattr(wf, f))
        ),
        cal.accrual,
        cal.years_from_closing,
        cal.period_of_month,
    ]
    assert len(arrays) > 30
    for a in arrays:
        assert not a.flags.writeable
        base = a.base
        while isinstance(base, np.ndarray):  # nor through the array it is a view of
            assert not base.flags.writeable
            base = base.base
    with pytest.raises(ValueError, match="read-only"):
        wf.tranches["A"]["end_balance"][0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        wf.tranches["A"]["end_balance"].T[0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        pool.flows["interest"][0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        cal.accrual[0] = 1
    with pytest.raises(ValueError, match="read-only"):
        wf.coupons["A"][:] = 0


def test_every_mapping_of_a_result_is_frozen() -> None:
    r = greenabs.run(make_deal())
    wf = r.waterfall
    with pytest.raises(TypeError):
        wf.tranches["X"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        wf.tranches["A"]["end_balance"] = np.zeros((1, 1))  # type: ignore[index]
    with pytest.raises(TypeError):
        del wf.deal["audit_difference"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        r.pool.flows["interest"] = np.zeros(1)  # type: ignore[index]
    with pytest.raises(AttributeError):
        r.waterfall = wf  # type: ignore[misc]


def test_freezing_does_not_copy_and_tables_stay_editable() -> None:
    from greenabs.compile import compile_deal
    from greenabs.waterfall import run_waterfall

    r = greenabs.run(make_deal())
    # the frozen pool feeds another waterfall run; its arrays are frozen in place
    wf = run_waterfall(compile_deal(r.deal), r.pool)
    end = wf.tranches["A"]["end_balance"]
    assert end.flags.writeable
    again = RunResult(deal=r.deal, calendar=r.calendar, pool=r.pool, waterfall=wf, backend="x")
    assert again.waterfall.tranches["A"]["end_balance"] is end
    assert not end.flags.writeable
    assert again.pool is r.pool
    assert again.calendar is r.calendar
    df = again.tranche_cashflows("A")
    df.loc[0, "end_balance"] = -1.0
    assert again.tranche_cashflows("A")["end_balance"][0] != -1.0
    pd.testing.assert_frame_equal(again.tranches(), r.tranches())


def test_a_result_pickles_and_copies_and_stays_frozen() -> None:
    import copy
    import pickle

    r = greenabs.run(make_deal(), smm_mult=[1.0, 2.0], mdr_mult=[1.0, 3.0])
    for twin in (pickle.loads(pickle.dumps(r)), copy.deepcopy(r), copy.copy(r)):
        pd.testing.assert_frame_equal(twin.scenario_metrics(), r.scenario_metrics())
        with pytest.raises(ValueError, match="read-only"):
            twin.waterfall.tranches["A"]["end_balance"][0, 0] = 1
        with pytest.raises(TypeError):
            twin.waterfall.tranches["X"] = {}  # type: ignore[index]
    frozen = r.waterfall.deal
    assert dict(frozen.items()).keys() == frozen.copy().keys()
    assert "audit_difference" in frozen
    assert "FrozenMapping" in repr(r.waterfall.fees)


# ---------------------------------------------------------------- argument errors
def _bad_calls(r: RunResult) -> list[tuple[str, Callable[[], object], str, str]]:
    """(label, call, argument named, words of the reason)."""
    return [
        ("price unknown", lambda: r.price("NOPE", 0.05), "name", "known: A, B, Sub"),
        ("yield unknown", lambda: r.yield_at("NOPE", 100.0), "name", "known: A, B, Sub"),
        ("cash flows unknown", lambda: r.tranche_cashflows("NOPE"), "name", "known: A, B"),
        ("dm unknown", lambda: r.price_at_dm("NOPE", 0.01), "name", "unknown tranche"),
        ("dm fixed", lambda: r.price_at_dm("A", 0.01), "name", "not floating"),
        ("not a name", lambda: r.price(3, 0.05), "name", "unknown tranche"),  # type: ignore[arg-type]
        ("scenario high", lambda: r.tranches(scenario=5), "scenario", "0 to 4"),
        ("scenario negative", lambda: r.price("A", 0.05, -1), "scenario", "0 to 4"),
        ("scenario float", lambda: r.tranche_cashflows("A", 1.5), "scenario", "0 to 4"),  # type: ignore[arg-type]
        ("scenario bool", lambda: r.deal_flows(True), "scenario", "0 to 4"),
        ("scenario of a table", lambda: r.fees(9), "scenario", "out of range"),
        ("scenario of the json", lambda: r.to_dict(9), "scenario", "out of range"),
        ("scenario of the summary", lambda: r.summary(5), "scenario", "out of range"),
        ("scenario of the pool", lambda: r.pool_monthly(5), "scenario", "out of range"),
        ("loan level", r.loan_level, "loan_level", "loan_level=True"),
        ("nan yield", lambda: r.price("A", math.nan), "yield_", "finite"),
        ("inf yield", lambda: r.price("A", math.inf), "yield_", "finite"),
        ("yield below -100%", lambda: r.price("A", -12.0), "yield_", "above -12"),
        ("text yield", lambda: r.price("A", "5%"), "yield_", "finite"),  # type: ignore[arg-type]
        ("nan price", lambda: r.yield_at("A", math.nan), "price", "finite"),
        ("negative price", lambda: r.yield_at("A", -1.0), "price", "above 0"),
        ("inf dm", lambda: r.price_at_dm("B", -math.inf), "dm", "finite"),
        ("dm below -100%", lambda: r.price_at_dm("B", -13.0), "dm", "-100% a period"),
        ("nan rate", lambda: r.scenario_metrics(math.nan), "discount_rate", "finite"),
        ("early settle", lambda: r.tranches(settle=date(2026, 4, 14)), "settle", "closing"),
        ("late settle", lambda: r.price("A", 0.05, settle="2099-01-01"), "settle", "last"),
        ("bad settle", lambda: r.yield_at("A", 99.0, settle="someday"), "settle", "date"),
        ("settle type", lambda: r.scenario_metrics(settle=20260601), "settle", "date"),  # type: ignore[arg-type]
    ]


def test_bad_arguments_raise_spec_errors_naming_the_argument(stressed: RunResult) -> None:
    for label, call, where, words in _bad_calls(stressed):
        with pytest.raises(SpecError) as info:
            call()
        err = info.value
        assert not isinstance(err, KeyError | ValueError | StopIteration | IndexError), label
        assert err.source == "<argument>", label
        assert [p.where for p in err.problems] == [where], label
        assert words in str(err), (label, str(err))


def test_settlement_date_of_the_result_is_checked() -> None:
    r = two_cash_flow_bond({"fixed": 0.03})
    parts = {f: getattr(r, f) for f in ("deal", "calendar", "pool", "waterfall", "backend")}
    with pytest.raises(SpecError, match="before closing"):
        RunResult(**parts, settle=date(2026, 1, 1))
    with pytest.raises(SpecError, match="after the last payment"):
        RunResult(**parts, settle=date(2026, 6, 27))
    assert RunResult(**parts, settle=P1).settle == P1
    assert RunResult(**parts, settle="2026-06-01").settle == date(2026, 6, 1)  # type: ignore[arg-type]


# ---------------------------------------------------------------- scenario metrics
def _discounted_by_hand(r: RunResult, name: str, s: int, rate: float | None) -> float:
    """PV at closing of writedowns and of the interest left unpaid when the deal ends,
    discounted period by period at the class's coupon (or ``rate``) on its accrual."""
    cf = r.tranche_cashflows(name, s)
    due = cf["interest_due"].to_numpy()
    unpaid_at = np.nonzero(due > 0)[0]
    loss = cf["writedown"].to_numpy().copy()
    if unpaid_at.size:
        loss[unpaid_at[-1]] += cf["interest_shortfall"].to_numpy()[unpaid_at[-1]]
    pv, factor = 0.0, 1.0
    for k in range(len(cf)):
        c = cf["coupon"][k] if rate is None else rate
        factor /= 1.0 + c * r.calendar.accrual[k]
        pv += loss[k] * factor
    return pv


def test_scenario_metrics_equal_the_one_scenario_functions(stressed: RunResult) -> None:
    r = stressed
    m = r.scenario_metrics()
    names = [t.name for t in r.deal.structure.tranches]
    assert list(m["scenario"]) == [s for s in range(5) for _ in names]
    assert list(m["name"]) == names * 5
    # the scenarios cover what the metrics are for: losses, unpaid interest, NaN yields
    assert (m["principal_loss"] > 0).sum() >= 5
    assert (m["interest_shortfall"] > 0).sum() >= 3
    assert m["yield"].isna().any()
    assert m["yield"].notna().sum() >= 8
    assert m["discount_margin"].notna().sum() >= 3
    freq = r.calendar.frequency.per_year
    t = r.calendar.years_from_closing
    for s in range(5):
        table = r.tranches(scenario=s).set_index("name")
        for name in names:
            row = m[(m["scenario"] == s) & (m["name"] == name)].iloc[0]
            one = table.loc[name]
            for col in (
                "principal_loss",
                "interest_shortfall",
                "wal",
                "yield",
                "modified_duration",
                "discount_margin",
            ):
                assert row[col] == pytest.approx(one[col], rel=1e-12, abs=1e-9, nan_ok=True), (
                    s,
                    name,
                    col,
                )
            orig = r.deal.tranche(name).balance
            assert row["loss_rate"] == pytest.approx(one["principal_loss"] / orig, rel=1e-12)
            # and the analytics functions on this scenario's own cash flows
            cf = r.tranche_cashflows(name, s)
            cash = (cf["interest_paid"] + cf["principal_paid"] + cf["residual_paid"]).to_numpy()
            price = r.deal.tranche(name).price / 100 * orig
            y = analytics.yield_from_price(t, cash, price, freq)
            assert row["yield"] == pytest.approx(y, rel=1e-12, nan_ok=True)
            wal = analytics.wal(t, cf["principal_paid"].to_numpy())
            assert row["wal"] == pytest.approx(wal, rel=1e-12, nan_ok=True)
            for rate in (None, 0.05):
                by_hand = _discounted_by_hand(r, name, s, rate)
                got = r.scenario_metrics(rate)["discounted_loss"] if rate else m["discounted_loss"]
                assert got[row.name] == pytest.approx(by_hand, rel=1e-12, abs=1e-6)
    # a class discounted at a rate equal to its fixed coupon: the same as at its own coupon
    a = m["name"] == "A"
    np.testing.assert_allclose(
        r.scenario_metrics(0.032)["discounted_loss"][a], m["discounted_loss"][a], rtol=1e-14
    )


def test_interest_lost_at_a_call_counts_as_a_shortfall(stressed: RunResult) -> None:
    r = stressed
    called = [s for s in range(5) if r.summary(s)["call_date"] is not None]
    m = r.scenario_metrics()
    seen = False
    for s in called:
        cf = r.tranche_cashflows("B", s)
        k = int(np.nonzero(cf["interest_due"].to_numpy() > 0)[0][-1])
        lost = cf["interest_shortfall"][k]
        row = m[(m["scenario"] == s) & (m["name"] == "B")].iloc[0]
        assert row["interest_shortfall"] == pytest.approx(lost)
        assert r.tranches(s).set_index("name").loc["B", "interest_shortfall"] == pytest.approx(lost)
        seen |= lost > 0 and k < len(cf) - 1
    assert called
    assert seen, "a scenario is called with interest unpaid"


def test_scenario_metrics_with_a_settlement_date(stressed: RunResult) -> None:
    r = stressed
    settle = date(2027, 2, 10)
    m = r.scenario_metrics(settle=settle)
    for s in (0, 3):
        table = r.tranches(scenario=s, settle=settle).set_index("name")
        rows = m[m["scenario"] == s].set_index("name")
        for col in ("wal", "yield", "modified_duration", "discount_margin"):
            np.testing.assert_allclose(rows[col], table[col], rtol=1e-12, err_msg=col)
    assert (m["face_at_settle"] <= m["original_balance"]).all()
    assert (m.loc[m["name"] == "A", "face_at_settle"] < 80e6).all()


# ---------------------------------------------------------------- settlement date
def test_settlement_at_closing_is_the_default() -> None:
    r = two_cash_flow_bond({"fixed": 0.03})
    pd.testing.assert_frame_equal(r.tranches(settle=CLOSING), r.tranches())
    pd.testing.assert_frame_equal(r.scenario_metrics(settle=CLOSING), r.scenario_metrics())
    assert r.price("A", 0.04, settle=CLOSING) == r.price("A", 0.04)
    assert r.yield_at("A", 99.9, settle=CLOSING) == r.yield_at("A", 99.9)
    assert r.summary()["settle"] == CLOSING


def test_two_cash_flow_bond_by_hand() -> None:
    r = two_cash_flow_bond({"fixed": 0.03})
    i1, i2 = 100e6 * 0.03 * 41 / 365, 50e6 * 0.03 * 31 / 365
    cf = r.tranche_cashflows("A")
    assert list(cf["date"]) == [P1, P2]
    np.testing.assert_allclose(cf["interest_paid"], [i1, i2], rtol=1e-14)
    np.testing.assert_allclose(cf["principal_paid"], [50e6, 50e6], rtol=1e-14)
    cf1, cf2 = 50e6 + i1, 50e6 + i2
    y = 0.04

    def v(days: int) -> float:
        return float((1 + y / 12) ** (-12 * days / 365))

    # at closing: both flows, per 100 of the 100m issued
    assert r.price("A", y) == pytest.approx(100 * (cf1 * v(41) + cf2 * v(72)) / 100e6, rel=1e-14)
    # settling 2026-06-01: the May flow went to the seller; 50m of face is bought, 25 days out
    mid = date(2026, 6, 1)
    assert r.price("A", y, settle=mid) == pytest.approx(100 * cf2 * v(25) / 50e6, rel=1e-14)
    yield_at_par = 12 * ((cf2 / 50e6) ** (365 / (12 * 25)) - 1)
    assert r.yield_at("A", 100.0, settle=mid) == pytest.approx(yield_at_par, abs=1e-13)
    row = r.tranches(settle=mid).iloc[0]  # at the class's price, 100
    assert row["yield"] == pytest.approx(yield_at_par, abs=1e-13)
    assert row["wal"] == pytest.approx(25 / 365, rel=1e-14)
    assert row["modified_duration"] == pytest.approx(25 / 365 / (1 + yield_at_par / 12), rel=1e-12)
    # settling on the first payment date: its cash is the seller's too
    assert r.price("A", y, settle=P1) == pytest.approx(100 * cf2 * v(31) / 50e6, rel=1e-14)
    # the settlement date of the result is the default; the keyword overrides it
    parts = {f: getattr(r, f) for f in ("deal", "calendar", "pool", "waterfall", "backend")}
    later = RunResult(**parts, settle=mid)
    assert later.price("A", y) == r.price("A", y, settle=mid)
    assert later.price("A", y, settle=CLOSING) == r.price("A", y)
    pd.testing.assert_frame_equal(later.tranches(), r.tranches(settle=mid))
    # on the last payment date nothing is left to buy
    assert math.isnan(r.price("A", y, settle=P2))
    assert math.isnan(r.tranches(settle=P2).iloc[0]["yield"])


def test_floater_discount_margin_from_a_settlement_date_by_hand() -> None:
    r = two_cash_flow_bond({"index": "LPR1Y", "margin": 0.01})
    c = 0.04  # LPR 3% + 1%
    # discounted at its own coupon a floater is worth par at closing ...
    assert r.price_at_dm("A", 0.01) == pytest.approx(100.0, abs=1e-10)
    # ... and par plus the coupon accrued since the last date in between (a full price)
    mid = date(2026, 6, 1)
    dirty = 100 * (1 + c * 31 / 365) / (1 + c * 25 / 365)
    assert r.price_at_dm("A", 0.01, settle=mid) == pytest.approx(dirty, rel=1e-14)
    assert r.price_at_dm("A", 0.01, settle=P1) == pytest.approx(100.0, abs=1e-10)
    # at the class's price of 100, below that full price, the margin is above 1%: it solves
    # 1 + c * 31/365 = 1 + (3% + dm) * 25/365
    dm = r.tranches(settle=mid).iloc[0]["discount_margin"]
    assert dm == pytest.approx(c * 31 / 25 - 0.03, abs=1e-12)


def test_price_and_yield_round_trip_from_any_settlement_date(stressed: RunResult) -> None:
    r = stressed
    cal = r.calendar
    dates = [cal.closing, date(2026, 9, 3), cal.payment_dates[5], date(2028, 1, 17)]
    for d in dates:
        for name in ("A", "B"):
            for s in (0, 2):
                y = r.yield_at(name, 101.3, s, settle=d)
                assert r.price(name, y, s, settle=d) == pytest.approx(101.3, rel=1e-12)
                # a higher yield, a lower price
                assert r.price(name, y + 0.01, s, settle=d) < 101.3
    # the coupon paid on a date goes to the seller: the full price per 100 falls across it
    k = 5
    before = cal.payment_dates[k] - (cal.payment_dates[k] - cal.payment_dates[k - 1]) / 2
    assert r.price("A", 0.0, 0, settle=before) > r.price("A", 0.0, 0, settle=cal.payment_dates[k])


def test_excel_shows_a_name_that_starts_with_equals_as_text(tmp_path: Path) -> None:
    """A deal or tranche name like ``=HYPERLINK(...)`` is text in the workbook, never a live
    formula (spreadsheet formula injection)."""
    import openpyxl

    deal = make_deal(name='=HYPERLINK("http://example.invalid","x")')
    book = greenabs.run(deal).to_excel(tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(book)["deal"]
    cells = [c for row in ws.iter_rows() for c in row if str(c.value).startswith("=")]
    assert cells
    assert all(c.data_type == "s" for c in cells)
