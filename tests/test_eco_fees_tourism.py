"""Sewage and waste treatment fees, scenic-area tickets: schedules computed by hand (written
out below, not recomputed with the engine's code), the minimum-volume guarantee, fee resets,
payer delay, shock paths (drawn and expected), operator default for income rights against
receivables, properties and bad input.  Every run conserves cash (greenabs.run checks)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import greenabs
from greenabs.collateral import draw_drivers, project
from greenabs.errors import SpecError
from greenabs.scenarios import Scenarios

# cut-off 2026-01-31: projection months are Feb (28 days), Mar (31), Apr (30), May (31),
# Jun (30), Jul (31), Aug (31), ...
DAYS = [28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31]
FLAT = [1.0] * 12
NO_NOISE = {"sewage_fee": {"utilisation_sd": 0.0}, "waste_fee": {"utilisation_sd": 0.0}}


def sewage(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "W1",
        "type": "sewage_fee",
        "capacity_m3_day": 1000.0,
        "utilisation": 0.8,
        "fee_per_m3": 1.0,
        "payer_delay_months": 0,
        "term_months": 12,
    }
    base.update(kw)
    return base


def waste(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "G1",
        "type": "waste_fee",
        "capacity_t_day": 500.0,
        "utilisation": 0.9,
        "fee_per_t": 80.0,
        "payer_delay_months": 0,
        "term_months": 12,
    }
    base.update(kw)
    return base


def area(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "T1",
        "type": "tourism_ticket",
        "annual_visitors": 1_200_000.0,  # 100,000 a month with flat weights
        "seasonality": FLAT,
        "ticket_price": 50.0,  # 5,000,000 a month
        "term_months": 24,
        "shock_probability": 0.0,
    }
    base.update(kw)
    return base


def deal(*assets: dict[str, Any], notes: float = 10.0, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": "Eco fees and tickets",
        "dates": {"cutoff": "2026-01-31", "closing": "2026-02-01", "first_payment": "2026-02-28"},
        "pool": {"assets": list(assets)},
        "assumptions": copy.deepcopy(NO_NOISE),
        "structure": {
            "tranches": [
                {"name": "A", "balance": notes, "coupon": {"fixed": 0.03}},
                {"name": "E", "balance": 1.0, "residual": True},
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


def assert_legs_make_collections(r: greenabs.RunResult, leg: str) -> None:
    f = r.pool.flows
    np.testing.assert_allclose(f[leg] - f["opex"], f["collections"], rtol=1e-12, atol=1e-6)


# --------------------------------------------------------------- fees: hand-computed
def test_minimum_volume_guarantee_binding_and_not_binding() -> None:
    # 1,000 m3 a day at 1.0 a m3: utilisation 0.6 under a 75 % guarantee bills 750 m3 a day
    low = run(deal(sewage(utilisation=0.6, min_volume_share=0.75, term_months=4)))
    np.testing.assert_allclose(monthly(low, "fee"), [21_000.0, 23_250.0, 22_500.0, 23_250.0])
    # utilisation 0.9 above the guarantee bills what is treated: 900 m3 a day
    high = run(deal(sewage(utilisation=0.9, min_volume_share=0.75, term_months=4)))
    np.testing.assert_allclose(monthly(high, "fee"), [25_200.0, 27_900.0, 27_000.0, 27_900.0])
    for r in (low, high):
        assert_legs_make_collections(r, "fee")
    # the physical volume is what is treated, not what is billed
    cp = greenabs.compile_deal(greenabs.parse_deal(deal(sewage(utilisation=0.6, term_months=4))))
    phys = cp.pool.blocks[0].physical()  # type: ignore[attr-defined]
    np.testing.assert_allclose(
        phys["m3_wastewater"][:, 0], [16_800.0, 18_600.0, 18_000.0, 18_600.0]
    )


def test_waste_fee_per_tonne_with_a_guarantee() -> None:
    # 500 t a day, utilisation 0.7 floored at 0.8: 400 t a day at 80 a tonne = 32,000 a day
    r = run(deal(waste(utilisation=0.7, min_volume_share=0.8, term_months=3)))
    np.testing.assert_allclose(monthly(r, "fee"), [896_000.0, 992_000.0, 960_000.0])
    cp = greenabs.compile_deal(greenabs.parse_deal(deal(waste(term_months=2))))
    phys = cp.pool.blocks[0].physical()  # type: ignore[attr-defined]
    np.testing.assert_allclose(phys["t_waste"][:, 0], [12_600.0, 13_950.0])  # 450 t a day


def test_fee_resets_mid_deal_and_mid_month() -> None:
    resets = [{"date": "2026-03-16", "fee": 1.2}, {"date": "2026-05-01", "fee": 0.9}]
    r = run(deal(sewage(fee_resets=resets, term_months=5)))
    # 800 m3 a day: Feb 28 days at 1.0; Mar 15 days at 1.0 and 16 at 1.2; Apr at 1.2; May
    # and Jun at 0.9
    expected = [
        28 * 800 * 1.0,  # 22,400
        800 * (15 * 1.0 + 16 * 1.2),  # 27,360
        30 * 800 * 1.2,  # 28,800
        31 * 800 * 0.9,  # 22,320
        30 * 800 * 0.9,  # 21,600
    ]
    np.testing.assert_allclose(monthly(r, "fee"), expected)
    # a reset before the cut-off is the fee in force
    old = run(deal(sewage(fee_resets=[{"date": "2025-07-01", "fee": 1.5}], term_months=2)))
    np.testing.assert_allclose(monthly(old, "fee"), [33_600.0, 37_200.0])


def test_payer_delay_moves_cash_later() -> None:
    base = [22_400.0, 24_800.0, 24_000.0]  # 800 m3 a day at 1.0
    r0 = run(deal(sewage(term_months=3)))
    np.testing.assert_allclose(monthly(r0, "fee"), base)
    r2 = run(deal(sewage(term_months=3, payer_delay_months=2)))
    np.testing.assert_allclose(monthly(r2, "fee")[:5], [0.0, 0.0, *base])
    # the stress adds a month to every payer of the type
    stressed = {"sewage_fee": {"utilisation_sd": 0.0, "payer_delay_add": 1}}
    r3 = run(deal(sewage(term_months=3, payer_delay_months=2), assumptions=stressed))
    np.testing.assert_allclose(monthly(r3, "fee")[:6], [0.0, 0.0, 0.0, *base])
    for r in (r0, r2, r3):
        assert monthly(r, "collections").sum() == pytest.approx(sum(base))
    # the default delay is one month, and reported
    d = greenabs.parse_deal(deal({k: v for k, v in sewage().items() if k != "payer_delay_months"}))
    used = d.pool.assets[0].defaults_used()
    assert used["payer_delay_months"] == 1
    assert used["min_volume_share"] == 0.0
    assert used["fee_resets"] == ()


def test_expected_utilisation_counts_the_guarantee_under_uncertainty() -> None:
    # utilisation 0.7 = the guarantee, sd 0.1: E[clip(X, 0.7, 1)] for X ~ N(0.7, 0.1) is
    # 0.7 + 0.1 phi(0) - E[(X - 1)+] = 0.7 + 0.1 x 0.3989423 - 0.1 x (phi(3) - 3 (1 - Phi(3)))
    # = 0.7 + 0.0398942 - 0.1 x (0.0044318 - 3 x 0.0013499) = 0.7398561
    noisy = {"sewage_fee": {"utilisation_sd": 0.1}}
    r = run(deal(sewage(utilisation=0.7, min_volume_share=0.7, term_months=1), assumptions=noisy))
    assert monthly(r, "fee")[0] == pytest.approx(28 * 1000 * 0.7398561, rel=1e-6)


def test_utilisation_driver_clips_then_floors() -> None:
    # utilisation 0.6, sd 0.05, guarantee 0.55: z = 0 -> 0.6; z = -2 -> 0.5, floored 0.55;
    # z = 2 -> 0.7; z = 10 -> 1.1, clipped to 1; year 2 of the last scenario z = -20 -> 0.55
    z = [[0.0, 0.0], [-2.0, 0.0], [2.0, 0.0], [10.0, -20.0]]
    sc = Scenarios.build(drivers={"sewage_fee.utilisation": z})
    noisy = {"sewage_fee": {"utilisation_sd": 0.05}}
    r = run(
        deal(sewage(utilisation=0.6, min_volume_share=0.55, term_months=13), assumptions=noisy),
        scenarios=sc,
    )
    fee = r.pool.flows["fee"]
    np.testing.assert_allclose(fee[:, 0], [28 * 600.0, 28 * 550.0, 28 * 700.0, 28 * 1000.0])
    np.testing.assert_allclose(fee[:, 12], [28 * 600.0] * 3 + [28 * 550.0])  # Feb 2027
    assert_legs_make_collections(r, "fee")


def test_fee_stresses_apply_to_every_plant_of_the_type() -> None:
    stressed = {"sewage_fee": {"utilisation_sd": 0.0, "utilisation_add": -0.3, "fee_factor": 0.5}}
    plants = (sewage(min_volume_share=0.6), sewage(id="W2", min_volume_share=0.0))
    r = run(deal(*plants, assumptions=stressed))
    # W1: 0.8 - 0.3 = 0.5, floored at 0.6; W2: 0.5; fee 0.5 a m3
    assert monthly(r, "fee")[0] == pytest.approx(28 * 1000 * (0.6 + 0.5) * 0.5)


# --------------------------------------------------------------- tickets: hand-computed
def test_tickets_seasonality_and_growth() -> None:
    weights = [2.0] + [1.0] * 11  # January twice a normal month: 13 parts
    r = run(deal(area(seasonality=weights, visitor_growth=0.1, price_growth=0.05)))
    t = monthly(r, "tickets")
    # projection months 0-11 are Feb 2026 .. Jan 2027; year 2 grows by 1.1 x 1.05
    assert t[0] == pytest.approx(1_200_000 / 13 * 50)
    assert t[11] == pytest.approx(1_200_000 * 2 / 13 * 50)
    assert t[12] == pytest.approx(1_200_000 / 13 * 50 * 1.1 * 1.05)
    assert_legs_make_collections(r, "tickets")


def test_shock_path_under_a_given_driver() -> None:
    # probability 0.5; year 1 u = 0.25 < 0.5: a shock starts in month floor(12 x 0.25 / 0.5)
    # = 6 (Aug 2026); year 2 u = 0.9: none.  Default 2020 path, quarterly: 0.166, 0.490,
    # 0.657, 0.671, then 0.65
    sc = Scenarios.build(drivers={"tourism_ticket.shock": [[0.25, 0.9], [0.9, 0.9]]})
    r = run(deal(area(shock_probability=0.5)), scenarios=sc)
    share = [1.0] * 6 + [0.166] * 3 + [0.490] * 3 + [0.657] * 3 + [0.671] * 3 + [0.65] * 6
    np.testing.assert_allclose(r.pool.flows["tickets"][0, :24], 5e6 * np.array(share))
    np.testing.assert_allclose(r.pool.flows["tickets"][1, :24], 5e6)
    assert r.pool.flows["writedown"][0].sum() > 0  # below the expected schedule
    assert_legs_make_collections(r, "tickets")
    # half as deep: each loss halved (Aug 2026: 1 - 0.5 x 0.834 = 0.583)
    half = run(deal(area(shock_probability=0.5, shock_depth=0.5)), scenarios=sc)
    assert half.pool.flows["tickets"][0, 6] == pytest.approx(5e6 * 0.583)
    # a monthly path, overlapping shocks take the deepest cut: year 1 starts month 0 (u = 0),
    # year 2 month 12 + floor(12 x 0.05 / 0.5) = 13
    path = {"shock_recovery": [0.2, 0.6], "shock_recovery_period": "month"}
    sc2 = Scenarios.build(drivers={"tourism_ticket.shock": [[0.0, 0.05]]})
    m = run(deal(area(shock_probability=0.5, **path)), scenarios=sc2)
    share2 = [0.2, 0.6] + [1.0] * 11 + [0.2, 0.6] + [1.0] * 9
    np.testing.assert_allclose(m.pool.flows["tickets"][0, :24], 5e6 * np.array(share2))


def test_expected_shock_effect_in_a_deterministic_run() -> None:
    # p = 0.12 a year: 0.01 a month; monthly path 0.5, 0.8: losses 0.5, 0.2.  Expected share
    # in month 0: 1 - 0.01 x 0.5 = 0.995; from month 1: 1 - 0.01 x (0.5 + 0.2) = 0.993
    path = {"shock_recovery": [0.5, 0.8], "shock_recovery_period": "month"}
    r = run(deal(area(shock_probability=0.12, **path)))
    np.testing.assert_allclose(monthly(r, "tickets")[:4], 5e6 * np.array([0.995] + [0.993] * 3))
    # the default 2020 path at the default 5 %: month 0 loses (0.05 / 12) x 0.834; month 3
    # (0.05 / 12) x (3 x 0.834 + 0.51) = 0.0125500
    d = {k: v for k, v in area().items() if k != "shock_probability"}
    base = run(deal(d))
    t = monthly(base, "tickets")
    assert t[0] == pytest.approx(5e6 * (1 - 0.05 / 12 * 0.834))
    assert t[3] == pytest.approx(5e6 * (1 - 0.0125500))
    used = greenabs.parse_deal(deal(d)).pool.assets[0].defaults_used()
    assert used["shock_probability"] == 0.05
    assert used["shock_recovery"] == (0.166, 0.490, 0.657, 0.671, 0.65, 0.65, 0.65, 0.65)
    assert used["shock_recovery_period"] == "quarter"
    # the expected visitors are the physical quantity
    cp = greenabs.compile_deal(greenabs.parse_deal(deal(d)))
    vis = cp.pool.blocks[0].physical()["visitors"][:, 0]  # type: ignore[attr-defined]
    assert vis[0] == pytest.approx(100_000 * (1 - 0.05 / 12 * 0.834))


def test_drawn_shocks_average_to_the_expected_effect() -> None:
    d = greenabs.parse_deal(deal(area(shock_probability=0.05)))
    cp = greenabs.compile_deal(d).pool
    rng = np.random.default_rng(5)
    sc = Scenarios.build(drivers={"tourism_ticket.shock": rng.random((20_000, 2))})
    drawn = project(cp, sc).flows["tickets"].mean(axis=0)
    expected = project(cp).flows["tickets"][0]
    # equal up to sampling error and the overlap of shocks the expectation counts twice
    np.testing.assert_allclose(drawn[:24], expected[:24], rtol=0.01)


def test_visitor_driver_and_ticket_stresses() -> None:
    sc = Scenarios.build(drivers={"tourism_ticket.visitors": [[0.0], [-2.0], [-30.0]]})
    stress = {"tourism_ticket": {"visitor_sd": 0.1, "visitor_factor": 0.8, "price_factor": 1.1}}
    r = run(deal(area(), assumptions=stress), scenarios=sc)
    # 100,000 x 0.8 visitors at 55: 4.4 m; z = -2: x 0.8; z = -30: no visitors (floored at 0)
    np.testing.assert_allclose(r.pool.flows["tickets"][:, 0], [4.4e6, 4.4e6 * 0.8, 0.0])


# --------------------------------------------------------------- operator and payer
@pytest.mark.parametrize(
    ("asset", "leg"),
    [(sewage(payer_delay_months=1, term_months=8), "fee"), (area(term_months=8), "tickets")],
)
def test_operator_default_interrupts_an_income_right_but_not_a_receivable(
    asset: dict[str, Any], leg: str
) -> None:
    risky = {"operator": "Op Co", "operator_pd": 0.1, "replacement_months": 3}
    month = Scenarios.build(drivers={f"{asset['type']}.operator_default": [[4.0]]})
    hit = run(deal({**asset, **risky}), scenarios=month)
    safe = run(deal({**asset, **risky, "transfer": "receivable"}), scenarios=month)
    lag = asset.get("payer_delay_months", 0)
    a, b = monthly(hit, leg), monthly(safe, leg)
    # months 4-6 (0-based 3-5) have no activity for the income right, collected lag later
    np.testing.assert_allclose(a[3 + lag : 6 + lag], 0.0)
    np.testing.assert_allclose(a[: 3 + lag], b[: 3 + lag])
    np.testing.assert_allclose(a[6 + lag : 8 + lag], b[6 + lag : 8 + lag])
    assert np.all(b[lag : 8 + lag] > 0)
    assert hit.pool.original_balance < safe.pool.original_balance
    assert monthly(hit, "writedown").sum() > 0
    assert monthly(safe, "writedown").sum() == pytest.approx(0.0, abs=1e-9)


def test_replacement_cost_is_deducted_and_legs_minus_opex_are_collections() -> None:
    asset = sewage(operator_pd=0.1, replacement_months=1, replacement_cost=5_000.0)
    month = Scenarios.build(drivers={"sewage_fee.operator_default": [[2.0], [0.0]]})
    r = run(deal(asset), scenarios=month)
    # scenario 0: March has no activity and costs 5,000: nothing to deduct it from, so it is
    # carried to April's collections; scenario 1: no default
    np.testing.assert_allclose(
        r.pool.flows["collections"][0, :3], [22_400.0, 0.0, 24_000.0 - 5_000.0]
    )
    np.testing.assert_allclose(r.pool.flows["opex"][0, :3], [0.0, 0.0, 5_000.0])
    assert_legs_make_collections(r, "fee")
    no_gap = run(deal({**asset, "replacement_months": 0}), scenarios=month)
    # no interruption: the cost is taken from March's fees
    np.testing.assert_allclose(no_gap.pool.flows["opex"][0, :3], [0.0, 5_000.0, 0.0])
    np.testing.assert_allclose(no_gap.pool.flows["collections"][0, 1], 24_800.0 - 5_000.0)
    assert_legs_make_collections(no_gap, "fee")


def test_mixed_pool_with_drawn_drivers_is_seeded_and_conserves_cash() -> None:
    assets = (
        sewage(operator_pd=0.2, min_volume_share=0.7),
        waste(operator_pd=0.1, transfer="receivable"),
        area(shock_probability=0.1, operator_pd=0.05),
        {"id": "L1", "type": "loan", "balance": 1e5, "rate": 0.05, "original_term": 24},
    )
    d = greenabs.parse_deal(deal(*assets, notes=1e5))
    cp = greenabs.compile_deal(d).pool
    a = draw_drivers(cp, 8, seed=3)
    assert set(a) == {
        "sewage_fee.utilisation",
        "sewage_fee.operator_default",
        "waste_fee.utilisation",
        "waste_fee.operator_default",
        "tourism_ticket.shock",
        "tourism_ticket.visitors",
        "tourism_ticket.operator_default",
    }
    assert a["tourism_ticket.shock"].shape == (8, 2)
    assert np.all(a["waste_fee.operator_default"][:, 1] == 0)  # a receivable: no operator risk
    b = draw_drivers(cp, 3, seed=3, first=5)
    for k in a:
        np.testing.assert_array_equal(a[k][5:], b[k])
    r = greenabs.run(d, scenarios=Scenarios.build(drivers=a, seed=3))
    again = greenabs.run(d, scenarios=Scenarios.build(drivers=a, seed=3))
    np.testing.assert_array_equal(r.pool.flows["collections"], again.pool.flows["collections"])
    assert r.n_scenarios == 8


# --------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["sewage", "waste"]),
    cap=st.floats(1.0, 5_000.0),
    more=st.floats(0.0, 5_000.0),
    util=st.floats(0.05, 1.0),
    floor=st.floats(0.0, 1.0),
    operator_pd=st.floats(0.0, 0.3),
    payer_pd=st.floats(0.0, 0.2),
)
def test_more_capacity_never_yields_less_cash(
    kind: str,
    cap: float,
    more: float,
    util: float,
    floor: float,
    operator_pd: float,
    payer_pd: float,
) -> None:
    make, field = (sewage, "capacity_m3_day") if kind == "sewage" else (waste, "capacity_t_day")
    kw = {
        "utilisation": util,
        "min_volume_share": floor,
        "operator_pd": operator_pd,
        "payer_pd": payer_pd,
    }
    small = run(deal(make(**{field: cap}, **kw)))
    big = run(deal(make(**{field: cap + more}, **kw)))
    a, b = monthly(small, "collections"), monthly(big, "collections")
    assert np.all(b >= a - 1e-6)


@settings(max_examples=25, deadline=None)
@given(
    delay=st.integers(0, 12),
    extra=st.integers(0, 6),
    stress=st.integers(0, 3),
    operator_pd=st.floats(0.0, 0.3),
)
def test_a_longer_payer_delay_never_brings_cash_earlier(
    delay: int, extra: int, stress: int, operator_pd: float
) -> None:
    section = {"sewage_fee": {"utilisation_sd": 0.0, "payer_delay_add": stress}}
    kw = {"operator_pd": operator_pd, "min_volume_share": 0.5}
    early = run(deal(sewage(payer_delay_months=delay, **kw), assumptions=section))
    late = run(deal(sewage(payer_delay_months=delay + extra, **kw), assumptions=section))
    a = np.cumsum(monthly(early, "collections"))
    b = np.cumsum(monthly(late, "collections"))
    b = np.concatenate([b, np.full(max(len(a) - len(b), 0), b[-1])])
    a = np.concatenate([a, np.full(max(len(b) - len(a), 0), a[-1])])
    assert np.all(b <= a + 1e-6)
    assert b[-1] == pytest.approx(a[-1], rel=1e-12)


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("asset", "field", "reason"),
    [
        (sewage(min_volume_share=1.2), "min_volume_share", "above 1"),
        (waste(min_volume_share=1.01), "min_volume_share", "cannot be billed for more"),
        (sewage(min_volume_share=-0.1), "min_volume_share", "greater than or equal to 0"),
        (sewage(utilisation=0.0), "utilisation", "greater than 0"),
        (
            sewage(fee_resets=[{"date": "2026-05-01", "fee": 1}, {"date": "2026-05-01", "fee": 2}]),
            "fee_resets",
            "strictly increasing",
        ),
        (area(annual_visitors=-5), "annual_visitors", "negative"),
        (area(seasonality=[1.0] * 11), "seasonality", "12 positive monthly weights"),
        (area(seasonality=[1.0] * 11 + [0.0]), "seasonality", "12 positive monthly weights"),
        (area(shock_recovery=[0.5, 1.2]), "shock_recovery", "from 0 to 1"),
    ],
)
def test_bad_input_is_refused_by_field(asset: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(SpecError) as e:
        greenabs.parse_deal(deal(asset))
    assert any(
        p.where == f"pool.assets[0].{field}" and reason in p.reason for p in e.value.problems
    ), str(e.value)


def test_notes_above_the_present_value_are_refused() -> None:
    with pytest.raises(SpecError, match="present value of their expected"):
        greenabs.compile_deal(greenabs.parse_deal(deal(sewage(), notes=1e9)))
