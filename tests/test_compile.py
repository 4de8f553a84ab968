"""Compile once, run many: compiled deals, other structures over the same pool, and per-scenario
results in bounded memory."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

import greenabs
from greenabs.errors import SpecError
from greenabs.scenarios import Scenarios, generator
from tests.conftest import BASE, deal_dict, make_deal


def test_run_takes_a_compiled_deal_and_gives_the_same_numbers() -> None:
    deal = make_deal()
    a = greenabs.run(deal)
    b = greenabs.run(greenabs.compile_deal(deal))
    pd.testing.assert_frame_equal(a.tranches(), b.tranches())


def test_another_structure_reuses_the_pool_and_equals_a_fresh_deal() -> None:
    deal = make_deal()
    compiled = greenabs.compile_deal(deal)
    other = compiled.with_structure(
        balances={"A": 75_000_000, "B": 17_000_000}, coupons={"A": 0.03}
    )
    assert other.pool is compiled.pool
    assert other.calendar is compiled.calendar
    assert compiled.deal.tranche("A").balance == 80_000_000  # the original is untouched
    st = copy.deepcopy(BASE["structure"])
    st["tranches"][0].update(balance=75_000_000, coupon={"fixed": 0.03})
    st["tranches"][1]["balance"] = 17_000_000
    fresh = greenabs.run(make_deal(structure=st))
    pd.testing.assert_frame_equal(greenabs.run(other).tranches(), fresh.tranches())


def test_reserve_target_changes_without_recompiling() -> None:
    st = copy.deepcopy(BASE["structure"])
    st["accounts"] = [{"name": "reserve", "initial": 1_000_000}]
    st["waterfall"].insert(3, {"fund_reserve": "reserve"})
    st["accounts"][0]["target"] = {"amount": 1_000_000}
    compiled = greenabs.compile_deal(make_deal(structure=st))
    bigger = greenabs.run(compiled.with_structure(reserve_targets={"reserve": 3_000_000}))
    held = bigger.waterfall.accounts["reserve"]["end_balance"][0]
    assert held.max() == pytest.approx(3_000_000)


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"balances": {"X": 1.0}}, "balances"),
        ({"balances": {"A": -1.0}}, "balances"),
        ({"balances": {"A": 1e9}}, "balances"),  # notes above the pool
        ({"coupons": {"Sub": 0.02}}, "coupons"),  # residual: no coupon
        ({"coupons": {"A": float("nan")}}, "coupons"),
        ({"reserve_targets": {"nope": 1.0}}, "reserve_targets"),
    ],
)
def test_bad_structure_changes_name_the_argument(kwargs: dict, where: str) -> None:  # type: ignore[type-arg]
    compiled = greenabs.compile_deal(make_deal())
    with pytest.raises(SpecError) as err:
        compiled.with_structure(**kwargs)
    assert err.value.problems[0].where == where


def _random_defaults(n_s: int, n_a: int, seed: int) -> np.ndarray:
    """Each asset defaults with probability 30% in a uniform month (a scenario's own stream)."""
    out = np.zeros((n_s, n_a))
    for s in range(n_s):
        g = generator(seed, s, "defaults")
        hit = g.random(n_a) < 0.3
        out[s] = np.where(hit, g.integers(1, 30, n_a), 0)
    return out


def test_simulate_reduces_each_block_and_does_not_depend_on_the_block_size() -> None:
    deal = make_deal()
    months = _random_defaults(9, 2, seed=3)
    sc = Scenarios.build(default_month=months, smm_mult=np.linspace(0.5, 2.0, 9), seed=3)
    whole = greenabs.run(deal, scenarios=sc).scenario_metrics()
    for size in (2, 4, 9):
        got = greenabs.simulate(deal, sc, block_size=size)
        pd.testing.assert_frame_equal(got, whole)
    assert whole["principal_loss"].max() > 0
    with pytest.raises(SpecError):
        greenabs.simulate(deal, sc, block_size=0)


def test_floating_tranche_coupons_follow_scenario_index_paths() -> None:
    st = copy.deepcopy(BASE["structure"])
    st["tranches"][0]["coupon"] = {"index": "SHIBOR", "margin": 0.01}
    deal = greenabs.parse_deal(deal_dict(structure=st, assumptions={"rates": {"SHIBOR": 0.02}}))
    m = greenabs.compile_deal(deal).pool.n_asset_months
    sc = Scenarios.build(index_paths={"SHIBOR": [[0.02] * m, [0.05] * m]})
    r = greenabs.run(deal, scenarios=sc)
    due = r.waterfall.tranches["A"]["interest_due"]
    base = greenabs.run(deal)
    np.testing.assert_allclose(due[0], base.waterfall.tranches["A"]["interest_due"][0])
    assert due[1, 1] > due[0, 1] * 1.9  # 6% against 3%
    # the tables show each scenario's coupon
    assert r.tranche_cashflows("A", scenario=1)["coupon"].iloc[0] == pytest.approx(0.06)
    assert r.tranches(scenario=0).loc[0, "coupon"] == pytest.approx(0.03)
    assert len(r.scenario_metrics()) == 6
    r.to_dict(1)


def test_structure_comparisons_rerun_only_the_waterfall(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = greenabs.compile_deal(make_deal())
    first = greenabs.run(compiled)
    import greenabs.engine as engine

    def no_projection(*_: object, **__: object) -> None:
        raise AssertionError("the pool was projected again")

    monkeypatch.setattr(engine, "project", no_projection)
    other = compiled.with_structure(balances={"A": 70_000_000})
    again = greenabs.run(other, flows=first.pool)
    assert again.tranches().loc[0, "original_balance"] == 70_000_000
    small = greenabs.compile_deal(make_deal(assumptions={"recovery": {"lag_months": 3}}))
    with pytest.raises(SpecError, match="flows"):
        greenabs.run(small, flows=first.pool)


def test_advancing_needs_a_lag_and_no_delinquency_at_validation() -> None:
    pool = {**BASE["pool"], "advancing": "principal_and_interest"}
    with pytest.raises(SpecError, match="lag_months"):
        greenabs.parse_deal(deal_dict(pool=pool, assumptions={"recovery": {"lag_months": 0}}))
    with pytest.raises(SpecError, match="delinquency"):
        greenabs.parse_deal(deal_dict(pool=pool, assumptions={"delinquency": {"rate": 0.02}}))
