"""Monte Carlo models beyond defaults: Hull-White rates, prepayment scenarios, eco-asset
drivers tied to the factor, the systemic index's stress level, and Ctrl-C."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import special

import greenabs
import greenabs.rating
from greenabs.compile import compile_deal
from greenabs.montecarlo import ScenarioModel, monte_carlo, settings
from greenabs.montecarlo.generate import factor_shift
from tests.conftest import EXAMPLES, ROOT, deal_dict, make_deal


def floating_deal() -> greenabs.DealSpec:
    d = deal_dict()
    d["assumptions"]["rates"] = {"LPR": 0.035}
    d["structure"]["tranches"][0]["coupon"] = {"index": "LPR", "margin": 0.005}
    return greenabs.parse_deal(d)


def test_hull_white_paths_have_the_published_moments() -> None:
    """The deviation of the index from its assumed path is an Ornstein-Uhlenbeck process:
    mean 0, variance sigma^2 (1 - exp(-2 a t)) / (2 a) at t years (Hull and White, 1990,
    "Pricing interest-rate-derivative securities", RFS 3(4); the exact discretisation)."""
    deal = floating_deal()
    a, sigma = 0.1, 0.01
    sim = settings(
        deal,
        scenarios=4000,
        seed=3,
        rate_model={"mean_reversion": a, "volatility": sigma},
    )
    draw = ScenarioModel(compile_deal(deal), sim).block(0, 4000)
    path = draw.scenarios.index_paths["LPR"]
    for month in (12, 36):
        x = path[:, month - 1] - 0.035
        t = month / 12
        var = sigma**2 * (1 - math.exp(-2 * a * t)) / (2 * a)
        assert abs(x.mean()) < 4 * math.sqrt(var / 4000)
        assert x.var() == pytest.approx(var, rel=0.08)
    # autocorrelation over a year: exp(-a)
    x12, x24 = path[:, 11] - 0.035, path[:, 23] - 0.035
    beta = np.cov(x12, x24)[0, 1] / x12.var()
    assert beta == pytest.approx(math.exp(-a), abs=0.05)


def test_floating_tranche_coupons_follow_each_scenario_path() -> None:
    deal = floating_deal()
    sim = settings(deal, scenarios=200, seed=5, rate_model={"volatility": 0.02})
    mc = monte_carlo(deal, sim)

    # where the class loses nothing, its yield at par moves with the simulated index only
    def whole(r: object) -> object:
        rows = r.tranches  # type: ignore[attr-defined]
        a = rows[(rows["name"] == "A") & (rows["principal_loss"] == 0)]
        return a["yield"]

    assert whole(mc).std() > 1e-3
    fixed = monte_carlo(make_deal(), settings(make_deal(), scenarios=200, seed=5))
    assert whole(fixed).std() < 1e-5


def test_prepayment_scenarios_and_rate_sensitivity() -> None:
    deal = floating_deal()
    sim = settings(
        deal,
        scenarios=300,
        seed=1,
        prepayment_model={"volatility": 0.4, "rate_sensitivity": 20},
        rate_model={"volatility": 0.01},
    )
    draw = ScenarioModel(compile_deal(deal), sim).block(0, 300)
    mult = draw.scenarios.smm_mult
    assert mult.shape == (300, compile_deal(deal).pool.n_asset_months)
    assert mult[:, 0].mean() == pytest.approx(1.0, abs=0.1)  # mean-one log-normal speed
    dev = draw.scenarios.index_paths["LPR"][:, 23] - 0.035
    ratio = mult[:, 23] / mult[:, 0]
    # prepayments rise when the rate falls
    assert np.corrcoef(dev, np.log(ratio))[0, 1] < -0.9


def test_eco_drivers_are_tied_to_the_factor_and_shifted_by_stress() -> None:
    deal = greenabs.load_deal(EXAMPLES / "solar_wind_subsidy_2026.yaml")
    cp = compile_deal(deal)
    base = settings(deal, scenarios=3000, seed=2, revenue_correlation=0.5)
    draw = ScenarioModel(cp, base).block(0, 3000)
    resource = draw.scenarios.drivers["solar_plant.resource"][:, 0]
    curtail = draw.scenarios.drivers["wind_farm.curtailment"][:, 0]
    z = draw.factor
    # low output when the factor is low; curtailment is adverse when high
    assert np.corrcoef(z, resource)[0, 1] == pytest.approx(math.sqrt(0.5), abs=0.05)
    assert np.corrcoef(z, curtail)[0, 1] == pytest.approx(-math.sqrt(0.5), abs=0.05)
    stressed = ScenarioModel(cp, settings(deal, scenarios=3000, seed=2, stress_level=0.9))
    s = stressed.block(0, 3000).scenarios.drivers["solar_plant.resource"][:, 0]
    assert s.mean() == pytest.approx(-float(special.ndtri(0.9)), abs=0.08)
    # no tie, no stress: the family's own draws (greenabs.collateral.draw_drivers)
    free = settings(deal, scenarios=50, seed=2, revenue_correlation=0.0)
    from greenabs.collateral import draw_drivers

    mine = ScenarioModel(cp, free).block(0, 50).scenarios.drivers
    theirs = draw_drivers(cp.pool, 50, 2)
    for name, arr in theirs.items():
        if name in mine:
            np.testing.assert_array_equal(mine[name], arr)


def test_stress_level_of_the_systemic_index_maps_onto_the_factor() -> None:
    """The index's stress level of a period is the Monte Carlo's stress_level: the factor
    shift is the index's own ``factor_shift`` (systemic/link.py)."""
    from greenabs import systemic
    from greenabs.systemic.link import StressMapping, stress_level

    index = systemic.build_index(systemic.china_sample(), "entropy")
    period = str(index.composite.index[-1])
    level = stress_level(index, period)
    deal = make_deal()
    sim = settings(deal, stress_level=level)
    assert factor_shift(sim) == pytest.approx(StressMapping().shocks(level)["factor_shift"])
    calm = monte_carlo(deal, settings(deal, scenarios=400, seed=9, stress_level=0.1))
    hot = monte_carlo(deal, settings(deal, scenarios=400, seed=9, stress_level=0.95))
    assert hot.pool["default_rate"].mean() > 2 * calm.pool["default_rate"].mean()


@pytest.mark.parametrize("executor", [[], ["--executor", "processes", "--workers", "2"]])
def test_ctrl_c_stops_cleanly_without_partial_output(tmp_path: Path, executor: list[str]) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "greenabs.cli",
            "rate",
            str(EXAMPLES / "ib_green_2014.yaml"),
            "--scenarios",
            "5000000",
            "--block-size",
            "200",
            "--json",
            str(out),
            *executor,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


def _guaranteed(pd_: float, corr: float) -> greenabs.DealSpec:
    d = deal_dict()
    d["assumptions"]["default"] = {"cdr": 0.06}
    d["structure"]["supports"] = [
        {
            "name": "undertaking",
            "kind": "shortfall_undertaking",
            "provider": "Sponsor",
            "limit": {"amount": 10_000_000},
            "covers": [{"tranche": "A", "what": "interest"}, {"tranche": "A", "what": "principal"}],
            "default_probability": pd_,
            "factor_correlation": corr,
        }
    ]
    return greenabs.parse_deal(d)


def test_support_ratings_with_and_without_and_wrong_way_risk() -> None:
    deal = _guaranteed(0.05, 0.9)
    sim = settings(deal, scenarios=1500, seed=4, default_model={"asset_correlation": 0.4})
    mc = monte_carlo(deal, sim)
    rows = {r["name"]: r for r in mc.rating()}
    a = rows["A"]
    table = greenabs.rating.load_rating_table()
    # the support can only help: the class is never worse with it
    assert a["default_probability"] <= a["default_probability_without_support"]
    assert table.index(a["rating"]) <= table.index(a["rating_without_support"])
    sup = mc.support_summary()[0]
    assert sup["name"] == "undertaking"
    assert sup["expected_draw"] > 0
    assert sup["provider_default_probability"] > 0
    # wrong-way risk: the provider defaults in the scenarios where the pool does badly
    s = mc.supports.merge(mc.pool, on="scenario")
    defaulted = s["provider_default_month"] > 0
    assert s.loc[defaulted, "factor"].mean() < s.loc[~defaulted, "factor"].mean() - 0.5
    # the same scenarios without wrong-way risk: the provider defaults as often, independently
    calm = monte_carlo(_guaranteed(0.05, 0.0), sim)
    c = calm.supports.merge(calm.pool, on="scenario")
    d0 = c["provider_default_month"] > 0
    assert abs(c.loc[d0, "factor"].mean() - c.loc[~d0, "factor"].mean()) < 0.5
    # with wrong-way risk the support is worth less to the class
    assert (
        rows["A"]["default_probability"]
        >= {r["name"]: r for r in calm.rating()}["A"]["default_probability"]
    )


def test_rated_assets_default_at_their_rating_rates() -> None:
    """A rated obligor's default time follows the rating table's cumulative default rates
    (the deal's CDR for the others)."""
    from greenabs.rating import load_rating_table

    d = deal_dict()
    d["assumptions"]["default"] = {"cdr": 0.0}
    d["pool"]["assets"][0]["rating"] = "B"
    deal = greenabs.parse_deal(d)
    sim = settings(deal, scenarios=4000, seed=8, default_model={"asset_correlation": 0.0})
    months = ScenarioModel(compile_deal(deal), sim).block(0, 4000).scenarios.default_month
    assert months is not None
    term = compile_deal(deal).pool.n_asset_months
    pd_ = load_rating_table().pd_at("B", term / 12)
    share = float((months[:, 0] > 0).mean())
    assert share == pytest.approx(pd_, abs=4 * math.sqrt(pd_ * (1 - pd_) / 4000))
    assert not months[:, 1].any()  # unrated, CDR 0: never
    d["pool"]["assets"][0]["rating"] = "ZZ"
    bad = greenabs.parse_deal(d)
    with pytest.raises(greenabs.SpecError, match=r"pool.assets\[0\].rating: unknown rating 'ZZ'"):
        monte_carlo(bad, settings(bad, scenarios=5))


def test_loans_of_one_obligor_default_together() -> None:
    """Loans naming the same obligor share its latent variable (cross-default): with the
    same curve they default in the same month in every scenario; the loan with the higher
    curve defaults no later than the other.  Loans of different obligors, at zero
    correlation, default independently (their joint default rate is the product)."""
    d = deal_dict()
    assets = d["pool"]["assets"]
    assets[1].update(original_term=60, age=6, amortization="level", rate=0.0485)
    assets[0]["obligor"] = assets[1]["obligor"] = "Wind Farm Co"
    d["assumptions"]["default"] = {"cdr": 0.08}
    deal = greenabs.parse_deal(d)
    sim = settings(deal, scenarios=3000, seed=4, default_model={"asset_correlation": 0.0})
    months = ScenarioModel(compile_deal(deal), sim).block(0, 3000).scenarios.default_month
    assert months is not None
    assert (months[:, 0] > 0).mean() > 0.2
    np.testing.assert_array_equal(months[:, 0], months[:, 1])
    # a shorter loan: its curve stops earlier, never defaults later than its sibling
    assets[1].update(original_term=36, age=0, amortization="linear")
    deal = greenabs.parse_deal(d)
    months = ScenarioModel(compile_deal(deal), sim).block(0, 3000).scenarios.default_month
    assert months is not None
    both = (months[:, 0] > 0) & (months[:, 1] > 0)
    np.testing.assert_array_equal(months[both, 0], months[both, 1])
    assert ((months[:, 1] > 0) <= (months[:, 0] > 0)).all()
    # two obligors: independent at zero correlation
    assets[1]["obligor"] = "Solar Park Co"
    deal = greenabs.parse_deal(d)
    months = ScenarioModel(compile_deal(deal), sim).block(0, 3000).scenarios.default_month
    assert months is not None
    a, b = months[:, 0] > 0, months[:, 1] > 0
    assert (a & b).mean() == pytest.approx(a.mean() * b.mean(), abs=0.02)


def test_large_pool_keeps_the_operators_default_times() -> None:
    """The large-pool option replaces the assets' default times by a pool rate; an income
    right's operator still defaults at its own time, tied to the factor (the same draw as
    loan level)."""
    deal = greenabs.load_deal(EXAMPLES / "sewage_income_right_2026.yaml")
    cp = compile_deal(deal)
    drivers = {}
    for large in (False, True):
        sim = settings(deal, scenarios=400, seed=3, default_model={"large_pool": large})
        drivers[large] = ScenarioModel(cp, sim).block(0, 400).scenarios.drivers
    name = "sewage_fee.operator_default"
    assert name in drivers[True]
    assert (drivers[True][name] > 0).any()
    # assets draw no uniforms under the large pool: the operators' are the first ones drawn
    assert (drivers[True][name] > 0).mean() == pytest.approx(
        (drivers[False][name] > 0).mean(), abs=0.06
    )


def test_a_blank_obligor_is_no_obligor() -> None:
    from greenabs.montecarlo.generate import _uniform_columns

    cols, n = _uniform_columns(["", "", "A", None, "A"], 6)
    assert cols is not None
    assert n == 5
    assert cols.tolist() == [0, 1, 2, 3, 2, 4]


BAD_SIMULATION = [
    ("scenarios", "many"),
    ("scenarios", 0),
    ("scenarios", 10_000_001),
    ("seed", -1),
    ("seed", 1.5),
    ("block_size", 0),
    ("default_model", {"asset_correlation": float("nan")}),
    ("default_model", {"asset_correlation": float("inf")}),
    ("default_model", {"asset_correlation": "high"}),
    ("default_model", {"group_by": "colour"}),
    ("default_model", {"group_by": "industry", "group_correlation": 1.0}),
    ("default_model", {"degrees_of_freedom": 2.0}),
    ("default_model", {"degrees_of_freedom": float("inf")}),
    ("default_model", {"periods": "monthly"}),
    ("default_model", {"large_pool": "sometimes"}),
    ("default_model", {"unknown": 1}),
    ("recovery_model", {"volatility": -0.1}),
    ("recovery_model", {"volatility": float("nan")}),
    ("recovery_model", {"factor_correlation": 1.5}),
    ("prepayment_model", {"volatility": 4.0}),
    ("prepayment_model", {"rate_sensitivity": -1}),
    ("rate_model", {"mean_reversion": -0.1}),
    ("rate_model", {"volatility": float("inf")}),
    ("rate_model", {"indices": ["NOPE"]}),
    ("drivers", "perhaps"),
    ("revenue_correlation", 1.2),
    ("stress_level", float("nan")),
    ("stress_level", 1.1),
    ("factor_shift", 7.0),
]


@pytest.mark.parametrize(("field", "value"), BAD_SIMULATION)
def test_every_simulation_field_refuses_bad_values_by_name(field: str, value: object) -> None:
    """Wrong types, NaN and infinities, values out of range: a SpecError naming the field,
    from Python overrides and from a deal file's simulation section alike."""
    deal = floating_deal()
    with pytest.raises(greenabs.SpecError, match=rf"simulation\.{field}"):
        settings(deal, **{field: value})
    d = deal_dict()
    d["assumptions"]["rates"] = {"LPR": 0.035}
    d["simulation"] = {field: value}
    with pytest.raises(greenabs.SpecError, match=rf"simulation\.{field}"):
        greenabs.parse_deal(d)


@pytest.mark.parametrize("rating", ["", "ABCDEFGHIJ", 5, None])
def test_asset_rating_field_refuses_bad_values(rating: object) -> None:
    d = deal_dict()
    d["pool"]["assets"][0]["rating"] = rating
    if rating is None:  # not given: the deal's default assumption
        assert greenabs.parse_deal(d).pool.assets[0].rating is None
        return
    with pytest.raises(greenabs.SpecError, match=r"pool\.assets\[0\]\.rating"):
        greenabs.parse_deal(d)
