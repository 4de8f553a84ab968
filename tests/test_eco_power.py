"""Power plants (solar, wind, hydro) with tariff and subsidy legs, the shared revenue-asset
machinery (lags, operator interruption, payer default, discounted balance, writedowns), the
declared random drivers and the scheduled principal mode.

Hand computations follow the formula the issue states: monthly energy (MWh) = capacity_mw x
p50_hours x seasonal weight x (1 - curtailment) x availability x degradation factor; each leg's
revenue = energy x 1,000 x its price, collected in the month of generation plus its lag.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import greenabs
from greenabs.collateral import draw_drivers
from greenabs.errors import SpecError
from greenabs.scenarios import Scenarios

UNIFORM = [1.0] * 12


def plant(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "S1",
        "type": "solar_plant",
        "capacity_mw": 10.0,
        "cod": "2020-01-31",
        "term_months": 24,
        "p50_hours": 1200.0,
        "seasonality": UNIFORM,
        "degradation": 0.01,
        "curtailment": 0.05,
        "availability": 1.0,
        "tariff": 0.30,
        "subsidy": 0.20,
        "subsidy_lag_months": 6,
        "subsidy_hours_cap": 1e6,
        "discount_rate": 0.06,
    }
    base.update(kw)
    return base


def deal(*assets: dict[str, Any], notes: float = 1e6, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": "Eco test",
        "dates": {"cutoff": "2026-01-31", "closing": "2026-02-01", "first_payment": "2026-02-28"},
        "pool": {"assets": list(assets)},
        "structure": {
            "tranches": [
                {"name": "A", "balance": notes, "coupon": {"fixed": 0.03}},
                {"name": "E", "balance": 1000.0, "residual": True},
            ],
            "waterfall": [{"pay_interest": "A"}, {"pay_principal": "A"}, {"pay_residual": "E"}],
        },
    }
    d.update(extra)
    return d


def run(d: dict[str, Any], **kw: Any) -> greenabs.RunResult:
    return greenabs.run(greenabs.parse_deal(d), **kw)


def monthly(r: greenabs.RunResult, field: str, scenario: int = 0) -> np.ndarray:
    return np.asarray(r.pool.flows[field][scenario])


# --------------------------------------------------------------- hand-computed schedules
def test_one_plant_over_24_months_with_degradation_curtailment_and_subsidy_lag() -> None:
    r = run(deal(plant()))
    # cod 2020-01-31, cut-off 2026-01-31: months 1-12 start after 6 whole years of operation,
    # months 13-24 after 7.  10 MW x 100 h x 0.95 x 1.0 x 0.99^years
    energy = [10 * 100 * 0.95 * 0.99**6] * 12 + [10 * 100 * 0.95 * 0.99**7] * 12
    assert energy[0] == pytest.approx(894.4061, rel=1e-6)  # MWh in month 1
    tariff = [e * 1000 * 0.30 for e in energy]
    subsidy = [0.0] * 6 + [e * 1000 * 0.20 for e in energy]  # collected 6 months later
    np.testing.assert_allclose(monthly(r, "tariff")[:24], tariff, rtol=1e-12)
    np.testing.assert_allclose(monthly(r, "tariff")[24:], 0.0)
    np.testing.assert_allclose(monthly(r, "subsidy")[:30], subsidy, rtol=1e-12)
    assert r.pool.n_months == 30
    total = sum(tariff) + sum(subsidy)
    assert monthly(r, "collections").sum() == pytest.approx(total, rel=1e-12)


def test_subsidy_hour_cap_binds_mid_deal() -> None:
    # 89.441 full-load hours a month in year 7: with 25,000 of 26,000 used, 11 months use
    # 983.85 hours and month 12 is subsidised on the 16.15 left; nothing after
    r = run(deal(plant(subsidy_hours_cap=26_000, subsidy_hours_used=25_000, subsidy_lag_months=0)))
    h = 100 * 0.95 * 0.99**6
    sub_hours = [h] * 11 + [1000 - 11 * h] + [0.0] * 12
    assert sub_hours[11] == pytest.approx(16.1535, rel=1e-4)
    expected = [x * 10 * 1000 * 0.20 for x in sub_hours]
    np.testing.assert_allclose(monthly(r, "subsidy")[:24], expected, rtol=1e-9, atol=1e-6)


def test_subsidy_stops_after_subsidy_years_from_cod() -> None:
    # cod 2006-07-31 + 20 years = 2026-07-31: months 1-6 (Feb-Jul 2026) subsidised, then none
    r = run(deal(plant(cod="2006-07-31", subsidy_lag_months=0, degradation=0.0)))
    sub = monthly(r, "subsidy")[:24]
    assert np.all(sub[:6] == pytest.approx(10 * 100 * 0.95 * 1000 * 0.20))
    np.testing.assert_allclose(sub[6:], 0.0)


def test_plant_before_cod_generates_from_its_first_day() -> None:
    # cod 2026-03-16: March 2026 (month 2, 28 Feb - 31 Mar) runs 15 of 31 days
    r = run(deal(plant(cod="2026-03-16", degradation=0.0, subsidy=0.0)))
    t = monthly(r, "tariff")
    assert t[0] == 0.0
    assert t[1] == pytest.approx(10 * 100 * 0.95 * 1000 * 0.30 * 15 / 31)
    assert t[2] == pytest.approx(10 * 100 * 0.95 * 1000 * 0.30)


def test_seasonality_and_legs_bought() -> None:
    weights = list(range(1, 13))  # January 1 ... December 12, normalised by 78
    r = run(deal(plant(seasonality=weights, legs=["subsidy"], degradation=0.0)))
    assert "tariff" not in r.pool.flows  # the SPV did not buy the tariff
    sub = monthly(r, "subsidy")
    # month 1 is February (weight 2): subsidy collected 6 months later
    assert sub[6] == pytest.approx(10 * 1200 * 2 / 78 * 0.95 * 1000 * 0.20)
    assert sub[6 + 10] == pytest.approx(10 * 1200 * 12 / 78 * 0.95 * 1000 * 0.20)  # December


def test_balance_is_present_value_of_expected_collections_and_splits_cash() -> None:
    r = run(deal(plant()))
    c = monthly(r, "collections")
    v = 1 / (1 + 0.06 / 12)
    pv = sum(x * v ** (t + 1) for t, x in enumerate(c))
    assert r.pool.original_balance == pytest.approx(pv, rel=1e-12)
    assert monthly(r, "begin_balance")[0] == pytest.approx(pv, rel=1e-12)
    # principal = fall of the discounted balance; interest = balance x r / 12
    begin, end = monthly(r, "begin_balance"), monthly(r, "end_balance")
    np.testing.assert_allclose(monthly(r, "scheduled_principal"), begin - end, atol=1e-6)
    np.testing.assert_allclose(monthly(r, "interest"), begin * 0.06 / 12, rtol=1e-9, atol=1e-6)
    assert end[-1] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(monthly(r, "writedown"), 0.0, atol=1e-9)


def test_opex_is_deducted_and_legs_minus_opex_are_the_collections() -> None:
    r = run(deal(plant(opex_per_mw_year=120_000.0)))
    legs = monthly(r, "tariff") + monthly(r, "subsidy")
    assert monthly(r, "opex")[0] == pytest.approx(10 * 120_000 / 12)
    np.testing.assert_allclose(legs - monthly(r, "opex"), monthly(r, "collections"), atol=1e-6)


def test_collections_of_loans_are_everything_the_pool_paid() -> None:
    r = run(
        deal(
            {"id": "L1", "type": "loan", "balance": 2e6, "rate": 0.05, "original_term": 24},
            assumptions={"prepayment": {"cpr": 0.1}, "default": {"cdr": 0.05}},
        )
    )
    f = r.pool.flows
    parts = f["interest"] + f["scheduled_principal"] + f["prepayment"] + f["recovery"]
    np.testing.assert_allclose(f["collections"], parts)
    assert "collections" in r.pool_cashflows().columns


# --------------------------------------------------------------- risk isolation
def test_operator_default_interrupts_an_income_right_but_not_a_receivable_sale() -> None:
    risky = {"operator": "Op Co", "operator_pd": 0.05, "replacement_months": 3}
    income = run(deal(plant(**risky)))
    sale = run(deal(plant(**risky, transfer="receivable")))
    assert income.pool.original_balance < sale.pool.original_balance
    # expected interruption: 1 - (1 - h)^min(m, 3) with h the monthly hazard of 5% a year
    h = 1 - 0.95 ** (1 / 12)
    ratio = monthly(income, "tariff")[:3] / monthly(sale, "tariff")[:3]
    np.testing.assert_allclose(ratio, [(1 - h) ** 1, (1 - h) ** 2, (1 - h) ** 3], rtol=1e-12)
    # a realised default in month 5: months 5-7 without generation for the income right only
    month = np.zeros((1, 1))
    month[0, 0] = 5
    sc = Scenarios.build(drivers={"solar_plant.operator_default": month})
    hit = run(deal(plant(**risky)), scenarios=sc)
    safe = run(deal(plant(**risky, transfer="receivable")), scenarios=sc)
    t_hit, t_safe = monthly(hit, "tariff"), monthly(safe, "tariff")
    np.testing.assert_allclose(t_hit[4:7], 0.0)
    np.testing.assert_allclose(t_hit[:4], t_safe[:4])
    np.testing.assert_allclose(t_hit[7:24], t_safe[7:24])
    # the income right's balance expected some interruption: the realised one writes it down
    assert monthly(hit, "writedown").sum() > 0
    assert monthly(safe, "writedown").sum() == pytest.approx(0.0, abs=1e-9)


def test_payer_default_defaults_the_whole_balance() -> None:
    sc = Scenarios.build(default_month=[[4]])
    r = run(deal(plant()), scenarios=sc)
    begin = monthly(r, "begin_balance")
    assert monthly(r, "default")[3] == pytest.approx(begin[3])
    np.testing.assert_allclose(monthly(r, "collections")[3:], 0.0)
    np.testing.assert_allclose(monthly(r, "end_balance")[3:], 0.0)
    expected = run(deal(plant(payer_pd=0.1)))
    h = 1 - 0.9 ** (1 / 12)
    d0 = monthly(expected, "default")[0]
    assert d0 == pytest.approx(expected.pool.original_balance * h, rel=1e-12)


def test_resource_driver_moves_cash_and_shortfalls_write_the_balance_down() -> None:
    # one scenario at P50 (z = 0), one a bad year (z = -2: 1 - 2 x sd), one a good year
    sd = (1 - 1100 / 1200) / 1.2815515655446004
    sc = Scenarios.build(drivers={"solar_plant.resource": [[0.0], [-2.0], [2.0]]})
    r = run(deal(plant(p90_hours=1100.0, subsidy=0.0)), scenarios=sc)
    t = r.pool.flows["tariff"][:, 0]
    assert t[1] / t[0] == pytest.approx(1 - 2 * sd)
    assert t[2] / t[0] == pytest.approx(1 + 2 * sd)
    wd = r.pool.flows["writedown"].sum(axis=1)
    assert wd[0] == pytest.approx(0.0, abs=1e-6)
    assert wd[1] > 0
    assert wd[2] == pytest.approx(0.0)
    # a good year is income (interest) beyond the expected schedule
    assert r.pool.flows["interest"][2].sum() > r.pool.flows["interest"][0].sum()


def test_drawn_drivers_are_seeded_per_scenario() -> None:
    d = greenabs.parse_deal(deal(plant(operator_pd=0.2), {**plant(), "id": "S2"}))
    cp = greenabs.compile_deal(d).pool
    a = draw_drivers(cp, 6, seed=11)
    b = draw_drivers(cp, 2, seed=11, first=4)
    assert set(a) == {
        "solar_plant.resource",
        "solar_plant.curtailment",
        "solar_plant.operator_default",
    }
    for k in a:
        np.testing.assert_array_equal(a[k][4:], b[k])
    assert a["solar_plant.resource"].shape == (6, 3)  # 30 months: 3 years
    assert a["solar_plant.operator_default"].shape == (6, 2)
    assert np.all(a["solar_plant.operator_default"][:, 1] == 0)  # no operator risk on S2
    r = greenabs.run(d, scenarios=Scenarios.build(drivers=a, seed=11))
    assert r.n_scenarios == 6


def test_assumption_stresses_apply_to_every_plant_of_the_type() -> None:
    base = run(deal(plant()))
    stressed = run(
        deal(
            plant(),
            assumptions={
                "solar_plant": {"generation_factor": 0.9, "subsidy_delay_months": 3},
            },
        )
    )
    np.testing.assert_allclose(
        monthly(stressed, "tariff")[:24], 0.9 * monthly(base, "tariff")[:24], rtol=1e-12
    )
    assert monthly(stressed, "subsidy")[:9].sum() == 0.0  # 6 + 3 months late
    assert stressed.pool.n_months == base.pool.n_months + 3


def test_mixed_pool_of_plants_and_loans_runs_and_conserves_cash() -> None:
    wind = {
        **plant(),
        "id": "W1",
        "type": "wind_farm",
        "p50_hours": 2200,
        "seasonality": None,
        "degradation": None,
    }
    loan = {"id": "L1", "type": "loan", "balance": 2e6, "rate": 0.05, "original_term": 24}
    r = run(deal(plant(), wind, loan, notes=5e6), loan_level=True)
    f = r.pool.flows
    assert set(r.pool.loan_level or {}) >= {"tariff", "subsidy", "collections"}
    total = f["collections"].sum()
    paid = sum(float(r.waterfall.deal[k].sum()) for k in ("interest_collected",))
    assert total == pytest.approx(
        paid + float(r.waterfall.deal["principal_collected"].sum()), rel=1e-12
    )


# --------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(
    cap=st.floats(1.0, 200.0),
    more=st.floats(0.0, 100.0),
    hours=st.floats(500.0, 4000.0),
    used=st.floats(0.0, 40_000.0),
)
def test_more_capacity_never_yields_less_cash(
    cap: float, more: float, hours: float, used: float
) -> None:
    kw = {"p50_hours": hours, "subsidy_hours_cap": 30_000.0, "subsidy_hours_used": used}
    small = run(deal(plant(capacity_mw=cap, **kw), notes=10.0))
    big = run(deal(plant(capacity_mw=cap + more, **kw), notes=10.0))
    a, b = monthly(small, "collections"), monthly(big, "collections")
    assert np.all(b >= a - 1e-6)


@settings(max_examples=25, deadline=None)
@given(lag=st.integers(0, 20), extra=st.integers(0, 4), tariff_lag=st.integers(0, 3))
def test_a_longer_lag_never_brings_cash_earlier(lag: int, extra: int, tariff_lag: int) -> None:
    kw = {"tariff_lag_months": tariff_lag}
    early = run(deal(plant(subsidy_lag_months=lag, **kw), notes=10.0))
    late = run(deal(plant(subsidy_lag_months=min(lag + extra, 24), **kw), notes=10.0))
    a = np.cumsum(monthly(early, "collections"))
    b = np.cumsum(monthly(late, "collections"))
    n = min(len(a), len(b))
    assert np.all(b[:n] <= a[:n] + 1e-6)
    assert b[-1] == pytest.approx(a[-1], rel=1e-12)


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"p50_hours": 9000}, "pool.assets[0]", "capacity factor above 1"),
        ({"seasonality": [1.0] * 11}, "pool.assets[0]", "12 positive monthly weights"),
        ({"seasonality": [1.0] * 11 + [0.0]}, "pool.assets[0]", "12 positive monthly weights"),
        ({"subsidy_lag_months": 30}, "pool.assets[0]", "longer than the revenue term"),
        ({"p90_hours": 1300}, "pool.assets[0]", "above p50_hours"),
        ({"capacity_mw": -1}, "capacity_mw", "greater than 0"),
        ({"curtailment": 1.5}, "curtailment", "less than or equal to 1"),
        ({"legs": ["tariff", "tariff"]}, "pool.assets[0]", "names a leg twice"),
        ({"subsidy": 0, "legs": ["subsidy"]}, "pool.assets[0]", "subsidy is 0"),
        ({"legs": ["heat"]}, "legs", "tariff"),
    ],
)
def test_bad_plants_are_refused_by_field(change: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(SpecError) as e:
        greenabs.parse_deal(deal(plant(**change)))
    assert field in str(e.value)
    assert reason in str(e.value)


def test_notes_above_the_discounted_pool_are_refused_when_compiled() -> None:
    d = greenabs.parse_deal(deal(plant(), notes=1e9))
    with pytest.raises(SpecError, match="present value of their expected"):
        greenabs.compile_deal(d)


def test_defaults_used_are_listed() -> None:
    d = greenabs.parse_deal(deal({**plant(), "degradation": None, "seasonality": None}))
    used = d.pool.assets[0].defaults_used()  # type: ignore[attr-defined]
    assert used["degradation"] == 0.005
    assert len(used["seasonality"]) == 12
    assert used["legs"] == ("tariff", "subsidy")
    assert "capacity_mw" not in used


# --------------------------------------------------------------- scheduled principal
def sched_deal(schedule: list[dict[str, Any]], mode: str = "schedule") -> dict[str, Any]:
    d = deal(
        {"id": "L1", "type": "loan", "balance": 1e7, "rate": 0.06, "original_term": 36},
        notes=8e6,
    )
    d["dates"] = {
        "cutoff": "2026-01-31",
        "closing": "2026-02-10",
        "first_payment": "2026-04-30",
        "frequency": "quarterly",
        "end_of_month": True,
    }
    d["structure"]["tranches"][0]["schedule"] = schedule
    d["structure"]["tranches"][1]["balance"] = 2e6
    d["structure"]["waterfall"][1] = {"pay_principal": {"tranches": ["A"], "mode": mode}}
    return d


def test_schedule_mode_pays_to_target_carries_shortfall_then_sequential() -> None:
    rows = [{"date": "2026-04-30", "balance": 7e6}, {"date": "2026-10-31", "balance": 5e6}]
    r = run(sched_deal(rows))
    a = r.tranche_cashflows("A")
    flows = r.deal_flows()
    avail = flows["available_funds"].to_numpy()
    interest = a["interest_paid"].to_numpy()
    pda = flows["principal_distribution_amount"].to_numpy()
    # date 1: 1,000,000 due to reach 7m, more than the cash left after interest: all of it paid
    assert a["principal_paid"][0] == pytest.approx(avail[0] - interest[0])
    assert a["end_balance"][0] > 7e6
    # date 2: the carried shortfall, then the rest of the PDA sequentially (= the PDA in all)
    carried = a["end_balance"][0] - 7e6
    assert a["principal_paid"][1] == pytest.approx(max(carried, pda[1]))
    # date 3: target 5m: paid down to it as far as cash allows
    assert a["principal_paid"][2] == pytest.approx(
        min(a["end_balance"][1] - 5e6, avail[2] - interest[2])
    )


def test_schedule_mode_needs_a_schedule_and_a_schedule_needs_the_mode() -> None:
    d = sched_deal([{"date": "2026-04-30", "balance": 7e6}])
    del d["structure"]["tranches"][0]["schedule"]
    with pytest.raises(SpecError, match="no listed tranche has a schedule"):
        greenabs.parse_deal(d)
    d = sched_deal([{"date": "2026-04-30", "balance": 7e6}], "sequential")
    with pytest.raises(SpecError, match="no pay_principal step in mode schedule"):
        greenabs.parse_deal(d)
    rows = [{"date": "2026-10-31", "balance": 7e6}, {"date": "2026-04-30", "balance": 5e6}]
    with pytest.raises(SpecError, match="schedule dates must increase"):
        greenabs.parse_deal(sched_deal(rows))
    rows = [{"date": "2026-04-30", "balance": 5e6}, {"date": "2026-10-31", "balance": 7e6}]
    with pytest.raises(SpecError, match="must not increase"):
        greenabs.parse_deal(sched_deal(rows))


def test_deal_dict_is_not_mutated() -> None:
    d = deal(plant())
    before = copy.deepcopy(d)
    run(d)
    assert d == before


@pytest.mark.parametrize(
    ("drivers", "reason"),
    [
        ({"solar_plant.resource": [[[0.0]]]}, "expected shape (S, years)"),
        ({"solar_plant.operator_default": [[1.0, 2.0]]}, "has 2 assets, the deal has 1"),
        ({"solar_plant.operator_default": [[1.5]]}, "whole numbers"),
        ({"solar_plant.curtailment": [0.0]}, "expected shape (S, years)"),
    ],
)
def test_bad_driver_arrays_are_refused_by_name(drivers: dict[str, Any], reason: str) -> None:
    with pytest.raises(SpecError) as e:
        run(deal(plant()), scenarios=Scenarios.build(drivers=drivers))
    assert reason in str(e.value)
    assert next(iter(drivers)) in str(e.value)


NAN, INF = float("nan"), float("inf")
BAD_FIELDS = [
    # plant fields: wrong type, non-finite, out of range
    *[
        (f"pool.assets[0].{k}", {k: v})
        for k, vals in {
            "capacity_mw": ["big", NAN, 0, 1e6],
            "cod": ["soon", 5, "1899-12-31"],
            "term_months": ["two", 0, 601, 1.5],
            "p50_hours": ["many", INF, 0],
            "p90_hours": ["x", NAN, -1],
            "hours_sd": ["x", INF, -1],
            "degradation": ["x", NAN, -0.1, 0.2],
            "curtailment": ["x", NAN, -0.1],
            "availability": ["x", INF, 0, 1.1],
            "tariff": ["x", NAN, -0.1, 11],
            "subsidy": ["x", INF, -0.1],
            "tariff_lag_months": ["x", -1, 121],
            "subsidy_lag_months": ["x", -1, 121],
            "subsidy_hours_cap": ["x", NAN, 0],
            "subsidy_hours_used": ["x", INF, -1],
            "subsidy_years": ["x", 0, 41],
            "legs": ["tariff", [1]],
            "opex_per_mw_year": ["x", NAN, -1, 1e9],
            "seasonality": ["flat", [NAN] * 12],
            # fields every revenue asset has
            "discount_rate": ["x", NAN, -0.01, 0.6],
            "transfer": ["sale", 1],
            "operator_pd": ["x", NAN, -0.1, 1.1],
            "replacement_months": ["x", -1, 61],
            "replacement_cost": ["x", INF, -1, 2e15],
            "payer_pd": ["x", NAN, 1.5],
            # attributable impact of any asset
            "impact_mwh": ["x", NAN, -1],
            "impact_tco2_avoided": ["x", INF, -1],
            "impact_m3_wastewater": ["x", NAN, -1],
            "impact_t_waste": ["x", INF, -1],
            "impact_ha_managed": ["x", NAN, -1],
            "impact_tco2_sequestered": ["x", INF, 2e15],
        }.items()
        for v in vals
    ],
]


@pytest.mark.parametrize(("where", "change"), BAD_FIELDS, ids=lambda x: str(x)[:60])
def test_every_new_plant_field_refuses_bad_values_by_name(
    where: str, change: dict[str, Any]
) -> None:
    with pytest.raises(SpecError) as e:
        greenabs.parse_deal(deal(plant(**change)))
    assert any(p.where.startswith(where) for p in e.value.problems), str(e.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("generation_factor", "x"),
        ("generation_factor", NAN),
        ("generation_factor", 0),
        ("curtailment_add", 1.5),
        ("curtailment_sd", -0.1),
        ("price_factor", INF),
        ("subsidy_delay_months", 121),
        ("subsidy_delay_months", "late"),
        ("extra", 1),
    ],
)
def test_plant_assumptions_refuse_bad_values_by_name(field: str, value: Any) -> None:
    d = deal(plant(), assumptions={"solar_plant": {field: value}})
    with pytest.raises(SpecError) as e:
        greenabs.parse_deal(d)
    assert any(p.where.startswith("assumptions.solar_plant") for p in e.value.problems)


@pytest.mark.parametrize(
    "row",
    [
        {"date": "soon", "balance": 1e6},
        {"date": "2026-04-30", "balance": "x"},
        {"date": "2026-04-30", "balance": NAN},
        {"date": "2026-04-30", "balance": -1},
        {"date": "2026-04-30", "balance": 2e15},
        {"date": "2026-04-30"},
        {"date": "2026-04-30", "balance": 1e6, "extra": 1},
    ],
)
def test_schedule_rows_refuse_bad_values_by_name(row: dict[str, Any]) -> None:
    with pytest.raises(SpecError) as e:
        greenabs.parse_deal(sched_deal([row]))
    assert "structure.tranches[0].schedule" in str(e.value)


def test_an_empty_schedule_is_refused() -> None:
    with pytest.raises(SpecError, match=r"structure\.tranches\[0\]\.schedule"):
        greenabs.parse_deal(sched_deal([]))
