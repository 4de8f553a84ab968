"""Forestry and agriculture revenue assets: schedules worked out by hand, driver values that
move them, properties (more area, longer lags) and refusals naming the field.

Every expected number below is written out from the formulas in docs/eco-assets.md, not
recomputed with the engine's code.  The cut-off is 2026-01-31, so projection month index 0
ends 2026-02-28, index 4 ends 2026-06-30, index 7 ends 2026-09-30 and index 12 starts the
second projection year (it ends 2027-02-28).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import greenabs
from greenabs.assets.agriculture import AgricultureFamily
from greenabs.assets.forestry import CARBON_PRICE, ForestryFamily
from greenabs.collateral import draw_drivers
from greenabs.errors import SpecError
from greenabs.scenarios import Scenarios

FloatArray = npt.NDArray[np.float64]

STRUCTURE: dict[str, Any] = {
    "tranches": [
        {"name": "A", "balance": 100.0, "coupon": {"fixed": 0.04}},
        {"name": "E", "balance": 1.0, "residual": True},
    ],
    "waterfall": [{"pay_interest": "A"}, {"pay_principal": "A"}, {"pay_residual": "E"}],
}

FOREST: dict[str, Any] = {
    "id": "F1",
    "type": "forestry",
    "area_ha": 200,
    "growth_m3_ha_year": 12,
    "standing_m3_ha": 150,
    "harvest_share_per_year": 0.1,
    "harvest_month": 6,
    "timber_price": 500,
    "timber_price_growth": 0.05,
    "sequestration_tco2_ha_year": 0,
    "fire_probability": 0,
    "term_months": 36,
}

FARM: dict[str, Any] = {
    "id": "A1",
    "type": "agriculture",
    "area_ha": 100,
    "yield_t_ha": 6,
    "price_per_t": 2500,
    "price_growth": 0.04,
    "sales_months": {9: 1, 10: 3},
    "receivable_lag_months": 2,
    "term_months": 24,
}


def deal(*assets: dict[str, Any], **assumptions: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": "Eco 2026-1",
        "dates": {"cutoff": "2026-01-31", "closing": "2026-02-10", "first_payment": "2026-02-28"},
        "pool": {"assets": [copy.deepcopy(a) for a in assets]},
        "structure": copy.deepcopy(STRUCTURE),
    }
    if assumptions:
        out["assumptions"] = assumptions
    return out


def flows(d: dict[str, Any], drivers: dict[str, Any] | None = None) -> dict[str, FloatArray]:
    sc = Scenarios.build(drivers=drivers) if drivers else None
    r = greenabs.run(greenabs.parse_deal(d), scenarios=sc)
    return {k: np.asarray(v) for k, v in r.pool.flows.items()}


def only(series: FloatArray, expected: dict[int, float]) -> None:
    """``series`` is ``expected`` at the given month indices and zero elsewhere."""
    want = np.zeros_like(series)
    for k, v in expected.items():
        want[k] = v
    np.testing.assert_allclose(series, want, rtol=1e-12, atol=1e-6)


# ------------------------------------------------------------------ forestry
def test_harvest_years_timber_cash() -> None:
    # 1 m3/ha a month of growth; 10 % of the area (and stock) felled each June
    # Jun 2026 (index 4): stock 150 + 5 = 155, cut 15.5 m3/ha x 200 ha x 500
    # Jun 2027 (index 16): 139.5 + 12 = 151.5, cut 15.15 x 200 x 525
    # Jun 2028 (index 28): 136.35 + 12 = 148.35, cut 14.835 x 200 x 551.25
    f = flows(deal(FOREST))
    only(f["timber"][0], {4: 1_550_000.0, 16: 1_590_750.0, 28: 1_635_558.75})
    only(f["carbon"][0], {})
    np.testing.assert_allclose(f["collections"][0], f["timber"][0])


def test_explicit_harvests_and_timber_lag() -> None:
    forest = {
        **FOREST,
        "harvest_share_per_year": None,
        "harvests": [
            {"date": "2026-03-15", "share": 0.5},
            {"date": "2027-02-28", "share": 1.0},
            {"date": "2031-01-31", "share": 1.0},  # beyond the 36 months sold: ignored
        ],
        "timber_lag_months": 3,
    }
    del forest["harvest_share_per_year"]
    # Mar 2026 (index 1): stock 152, cut 76 x 200 x 500 = 7,600,000, paid at index 4
    # Feb 2027 (index 12, year 1): 76 + 11 = 87, all cut: 87 x 200 x 525 = 9,135,000 at 15
    f = flows(deal(forest))
    only(f["timber"][0], {4: 7_600_000.0, 15: 9_135_000.0})


def test_carbon_credits_collected_after_their_lag() -> None:
    # 6 tCO2/ha a year on 100 ha: 50 t a month, 80 % sold at the default CCER price (70),
    # generated in months 0..23 and paid 6 months later
    forest = {
        **FOREST,
        "area_ha": 100,
        "growth_m3_ha_year": 0,
        "harvest_share_per_year": 0.01,
        "timber_price": 0,
        "timber_price_growth": 0,
        "sequestration_tco2_ha_year": 6,
        "carbon_share_sold": 0.8,
        "carbon_lag_months": 6,
        "term_months": 24,
    }
    assert CARBON_PRICE == 70.0
    f = flows(deal(forest))
    only(f["carbon"][0], {k: 2_800.0 for k in range(6, 30)})
    # a stressed delay of 4 months more
    f = flows(deal(forest, forestry={"carbon_delay_months": 4}))
    only(f["carbon"][0], {k: 2_800.0 for k in range(10, 34)})


FIRE_FOREST: dict[str, Any] = {
    **FOREST,
    "area_ha": 10,
    "growth_m3_ha_year": 0,
    "standing_m3_ha": 100,
    "harvest_share_per_year": 0.5,
    "harvest_month": 12,
    "timber_price": 100,
    "timber_price_growth": 0,
    "sequestration_tco2_ha_year": 12,
    "carbon_price": 50,
    "carbon_lag_months": 0,
    "fire_probability": 0.04,
    "fire_loss": 0.25,
    "term_months": 24,
}


def test_expected_fire_loss_factor() -> None:
    # deterministic: the stock is multiplied by 1 - 0.04 x 0.25 = 0.99 at the start of each
    # projection year; Dec 2026 (index 10): 99 x 0.5 x 10 ha x 100 = 49,500;
    # Dec 2027 (index 22): 49.5 x 0.99 = 49.005, half cut: 24,502.5.
    # Credits: 10 ha x 1 t a month x 0.99 x 50 = 495 a month
    f = flows(deal(FIRE_FOREST))
    only(f["timber"][0], {10: 49_500.0, 22: 24_502.5})
    only(f["carbon"][0], {k: 495.0 for k in range(24)})


def test_fire_driver_strikes_in_its_year() -> None:
    # u = 0.5 in year 0 (no fire), 0.01 in year 1 (a fire: 25 % of the stock and of the
    # year's sequestration lost): 100 x 0.5 -> 50,000; 50 x 0.75 x 0.5 -> 18,750
    f = flows(deal(FIRE_FOREST), {"forestry.fire": [[0.5, 0.01]]})
    only(f["timber"][0], {10: 50_000.0, 22: 18_750.0})
    only(f["carbon"][0], {**{k: 500.0 for k in range(12)}, **{k: 375.0 for k in range(12, 24)}})


def test_price_drivers_are_lognormal_factors_with_mean_one() -> None:
    # z = 1 with sd 0.2: factor exp(0.2 - 0.02) = exp(0.18) = 1.1972173631218102
    f = flows(
        deal(FIRE_FOREST, forestry={"timber_price_sd": 0.2, "carbon_price_sd": 0.4}),
        {"forestry.timber_price": [[1.0, 0.0]], "forestry.carbon_price": [[0.0, -1.0]]},
    )
    # year 0 timber x exp(0.18); year 1 timber x exp(-0.02); carbon year 0 x exp(-0.08),
    # year 1 x exp(-0.4 - 0.08) = exp(-0.48)
    assert f["timber"][0][10] == pytest.approx(49_500.0 * 1.1972173631218102, rel=1e-12)
    assert f["timber"][0][22] == pytest.approx(24_502.5 * 0.9801986733067553, rel=1e-12)
    assert f["carbon"][0][0] == pytest.approx(495.0 * 0.9231163463866358, rel=1e-12)
    assert f["carbon"][0][12] == pytest.approx(495.0 * 0.6187833918061408, rel=1e-12)


def test_forestry_physical_quantities_and_defaults() -> None:
    d = greenabs.parse_deal(deal({**FIRE_FOREST, "term_months": 6}))
    block: Any = greenabs.compile_deal(d).pool.blocks[0]
    phys = block.physical()
    np.testing.assert_allclose(phys["ha_managed"][:, 0], [10.0] * 6)
    np.testing.assert_allclose(phys["tco2_sequestered"][:, 0], [9.9] * 6)
    spec = greenabs.parse_deal(
        deal(
            {
                "id": "F",
                "type": "forestry",
                "area_ha": 1,
                "growth_m3_ha_year": 5,
                "standing_m3_ha": 50,
                "rotation_years": 25,
                "timber_price": 600,
                "term_months": 12,
            }
        )
    ).pool.assets[0]
    used = spec.defaults_used()
    assert used["carbon_price"] == 70.0
    assert used["sequestration_tco2_ha_year"] == 1.41
    assert used["harvest_share_per_year"] == pytest.approx(0.04)
    assert used["fire_probability"] == 0.003
    assert used["fire_loss"] == 0.5
    assert [d.name for d in ForestryFamily.random] == [
        "forestry.timber_price",
        "forestry.carbon_price",
        "forestry.fire",
        "forestry.operator_default",
    ]


# ------------------------------------------------------------------ agriculture
def test_sales_by_season_collected_after_the_receivable_lag() -> None:
    # 600 t a year: a quarter sold in September, three quarters in October, paid 2 months
    # later; the price grows 4 % in the second projection year
    f = flows(deal(FARM))
    only(
        f["sales"][0],
        {9: 375_000.0, 10: 1_125_000.0, 21: 390_000.0, 22: 1_170_000.0},
    )
    np.testing.assert_allclose(f["collections"][0], f["sales"][0])


def test_seasonality_weights_and_output_in_tonnes() -> None:
    farm = {
        "id": "A2",
        "type": "agriculture",
        "annual_output_t": 1200,
        "price_per_t": 1000,
        "seasonality": [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
        "receivable_lag_months": 0,
        "term_months": 12,
    }
    # July (index 5) and August (index 6): 600 t each x 1000
    only(flows(deal(farm))["sales"][0], {5: 600_000.0, 6: 600_000.0})


def test_yield_shock_under_a_given_driver() -> None:
    # yield_sd 0.2: z = -1.5 gives 0.7 of the crop in year 0; z = -6 gives max(1 - 1.2, 0) = 0
    farm = {**FARM, "yield_sd": 0.2}
    f = flows(deal(farm), {"agriculture.yield": [[-1.5, -6.0]]})
    only(f["sales"][0], {9: 262_500.0, 10: 787_500.0})
    f = flows(deal(farm), {"agriculture.yield": [[0.5]]})  # one year given: repeats
    only(f["sales"][0], {9: 412_500.0, 10: 1_237_500.0, 21: 429_000.0, 22: 1_287_000.0})


def test_drought_expected_and_realised() -> None:
    farm = {**FARM, "drought_probability": 0.1, "drought_loss": 0.3}
    # expected: output x (1 - 0.03)
    only(
        flows(deal(farm))["sales"][0],
        {9: 363_750.0, 10: 1_091_250.0, 21: 378_300.0, 22: 1_134_900.0},
    )
    # a drought in year 0 only (u = 0.05 < 0.1)
    only(
        flows(deal(farm), {"agriculture.drought": [[0.05, 0.5]]})["sales"][0],
        {9: 262_500.0, 10: 787_500.0, 21: 390_000.0, 22: 1_170_000.0},
    )


def test_price_driver_and_stresses() -> None:
    f = flows(
        deal(FARM, agriculture={"price_sd": 0.2, "yield_factor": 0.5, "price_factor": 0.8}),
        {"agriculture.price": [[1.0, 0.0]]},
    )
    y0 = 0.5 * 0.8 * 1.1972173631218102
    y1 = 0.5 * 0.8 * 0.9801986733067553
    only(
        f["sales"][0],
        {9: 375_000.0 * y0, 10: 1_125_000.0 * y0, 21: 390_000.0 * y1, 22: 1_170_000.0 * y1},
    )


def test_agriculture_physical_quantities_and_defaults() -> None:
    d = greenabs.parse_deal(deal({**FARM, "term_months": 12}))
    block: Any = greenabs.compile_deal(d).pool.blocks[0]
    phys = block.physical()
    only(phys["t_crop"][:, 0], {7: 150.0, 8: 450.0})
    np.testing.assert_allclose(phys["ha_managed"][:, 0], [100.0] * 12)
    farm = {k: v for k, v in FARM.items() if k not in ("sales_months", "receivable_lag_months")}
    spec = greenabs.parse_deal(deal(farm)).pool.assets[0]
    used = spec.defaults_used()
    assert used["seasonality"] == (0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0)
    assert used["receivable_lag_months"] == 2
    assert used["yield_sd"] == 0.1
    out_t = {"id": "A3", "type": "agriculture", "annual_output_t": 10, "price_per_t": 100}
    d = greenabs.parse_deal(deal({**out_t, "term_months": 12}))
    assert "ha_managed" not in greenabs.compile_deal(d).pool.blocks[0].physical()  # type: ignore[attr-defined]
    assert [d.name for d in AgricultureFamily.random] == [
        "agriculture.yield",
        "agriculture.price",
        "agriculture.drought",
        "agriculture.operator_default",
    ]


# ------------------------------------------------------------------ cash identities
def test_legs_minus_opex_are_the_collections_in_every_scenario() -> None:
    forest = {
        **FIRE_FOREST,
        "opex_per_ha_year": 600.0,
        "operator_pd": 0.05,
        "replacement_cost": 1_000.0,
        "carbon_lag_months": 5,
        "term_months": 36,
    }
    farm = {**FARM, "opex_per_year": 12_000.0, "operator_pd": 0.03, "drought_probability": 0.2}
    d = greenabs.parse_deal(deal(forest, farm))
    compiled = greenabs.compile_deal(d)
    for sc in (None, Scenarios.build(drivers=draw_drivers(compiled.pool, 16, seed=11))):
        r = greenabs.run(compiled, scenarios=sc)  # conserves cash or raises
        f = r.pool.flows
        legs = f["timber"] + f["carbon"] + f["sales"]
        assert f["opex"].sum() > 0
        np.testing.assert_allclose(legs - f["opex"], f["collections"], atol=1e-6)


# ------------------------------------------------------------------ properties
def _total(d: dict[str, Any]) -> FloatArray:
    c = flows(d)["collections"][0]
    return np.cumsum(c)


def _padded(a: FloatArray, n: int) -> FloatArray:
    return np.concatenate([a, np.full(n - len(a), a[-1] if len(a) else 0.0)])


@settings(max_examples=25, deadline=None)
@given(
    area=st.floats(1, 5_000),
    more=st.floats(0, 5_000),
    fire=st.floats(0, 1),
    share=st.floats(0.01, 1),
)
def test_more_area_never_less_cash(area: float, more: float, fire: float, share: float) -> None:
    forest = {
        **FIRE_FOREST,
        "fire_probability": fire,
        "harvest_share_per_year": share,
        "harvest_month": 3,
    }
    farm = {**FARM, "drought_probability": fire}
    for asset in (forest, farm):
        small = _total(deal({**asset, "area_ha": area}))
        large = _total(deal({**asset, "area_ha": area + more}))
        n = max(len(small), len(large))
        assert np.all(_padded(large, n) >= _padded(small, n) * (1 - 1e-12) - 1e-6)


@settings(max_examples=25, deadline=None)
@given(lag=st.integers(0, 12), extra=st.integers(0, 12), timber=st.integers(0, 12))
def test_longer_lag_never_brings_cash_earlier(lag: int, extra: int, timber: int) -> None:
    cases = [
        (
            {**FARM, "receivable_lag_months": lag},
            {**FARM, "receivable_lag_months": lag + extra},
        ),
        (
            {**FIRE_FOREST, "carbon_lag_months": lag, "timber_lag_months": timber},
            {**FIRE_FOREST, "carbon_lag_months": lag + extra, "timber_lag_months": timber + extra},
        ),
    ]
    for early, late in cases:
        a, b = _total(deal(early)), _total(deal(late))
        n = max(len(a), len(b))
        a, b = _padded(a, n), _padded(b, n)
        assert np.all(b <= a * (1 + 1e-12) + 1e-6)
        assert b[-1] == pytest.approx(a[-1], rel=1e-12)


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("asset", "patch", "field"),
    [
        (FOREST, {"area_ha": -5}, "area_ha"),
        (FOREST, {"area_ha": 0}, "area_ha"),
        (FOREST, {"carbon_share_sold": 1.2}, "carbon_share_sold"),
        (FOREST, {"harvest_share_per_year": 1.5}, "harvest_share_per_year"),
        (FOREST, {"fire_probability": 1.01}, "fire_probability"),
        (FOREST, {"fire_loss": -0.1}, "fire_loss"),
        (FOREST, {"standing_m3_ha": -1}, "standing_m3_ha"),
        (FOREST, {"carbon_lag_months": -1}, "carbon_lag_months"),
        (FOREST, {"harvest_month": 13}, "harvest_month"),
        (FOREST, {"harvest_share_per_year": None}, "rotation_years"),
        (FOREST, {"rotation_years": 20, "harvest_share_per_year": 0.1}, "harvest_share_per_year"),
        (
            FOREST,
            {"harvests": [{"date": "2027-06-30", "share": 0.5}]},
            "harvests",
        ),
        (
            {k: v for k, v in FOREST.items() if k != "harvest_share_per_year"},
            {
                "harvests": [
                    {"date": "2027-06-30", "share": 0.5},
                    {"date": "2027-06-30", "share": 0.2},
                ]
            },
            "harvests dates must be increasing",
        ),
        (
            {k: v for k, v in FOREST.items() if k != "harvest_share_per_year"},
            {"harvests": [{"date": "2027-06-30", "share": 1.5}]},
            "share",
        ),
        (FARM, {"area_ha": -1}, "area_ha"),
        (FARM, {"yield_t_ha": None}, "yield_t_ha"),
        (FARM, {"annual_output_t": 50}, "annual_output_t"),
        (FARM, {"sales_months": None, "seasonality": [1, 2, 3]}, "seasonality"),
        (FARM, {"sales_months": None, "seasonality": [0] * 12}, "seasonality"),
        (FARM, {"sales_months": None, "seasonality": [1] * 11 + [-1]}, "seasonality"),
        (FARM, {"seasonality": [1] * 12}, "seasonality or sales_months"),
        (FARM, {"sales_months": {13: 1}}, "sales_months"),
        (FARM, {"sales_months": {9: 0}}, "sales_months"),
        (FARM, {"drought_loss": 1.5}, "drought_loss"),
        (FARM, {"drought_probability": -0.1}, "drought_probability"),
        (FARM, {"receivable_lag_months": 30}, "receivable_lag_months"),
        (FARM, {"price_per_t": -1}, "price_per_t"),
    ],
)
def test_bad_inputs_are_refused_by_name(
    asset: dict[str, Any], patch: dict[str, Any], field: str
) -> None:
    a = {**asset, **patch}
    a = {k: v for k, v in a.items() if v is not None}
    with pytest.raises(SpecError, match=field):
        greenabs.parse_deal(deal(a))


def test_harvest_on_or_before_the_cutoff_is_refused() -> None:
    forest = {k: v for k, v in FOREST.items() if k != "harvest_share_per_year"}
    forest["harvests"] = [{"date": "2026-01-31", "share": 0.5}]
    with pytest.raises(SpecError, match=r"harvests\[0\]\.date"):
        greenabs.run(greenabs.parse_deal(deal(forest)))


def test_bad_assumptions_are_refused_by_name() -> None:
    with pytest.raises(SpecError, match="timber_price_sd"):
        greenabs.parse_deal(deal(FOREST, forestry={"timber_price_sd": -0.1}))
    with pytest.raises(SpecError, match="price_sd"):
        greenabs.parse_deal(deal(FARM, agriculture={"price_sd": -1}))


def test_notes_above_the_pools_present_value_are_refused() -> None:
    d = deal(FARM)
    d["structure"]["tranches"][0]["balance"] = 1e9
    with pytest.raises(SpecError, match="tranche"):
        greenabs.run(greenabs.parse_deal(d))
    assert math.isfinite(greenabs.compile_deal(greenabs.parse_deal(deal(FARM))).pool.balance)
