"""Waterfall steps and triggers, each on a small deal whose answer can be worked by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import greenabs
from greenabs.errors import ConservationError
from tests.conftest import make_deal

ONE_LOAN = {
    "assets": [
        {
            "id": "L",
            "type": "loan",
            "balance": 100_000_000,
            "rate": 0.06,
            "original_term": 12,
            "amortization": "linear",
        }
    ]
}
QUIET = {"prepayment": {"cpr": 0.0}, "default": {"cdr": 0.0}, "recovery": {"rate": 0.0}}


def structure(tranches: list[dict[str, Any]], waterfall: list[Any], **kw: Any) -> dict[str, Any]:
    return {"fees": [], "tranches": tranches, "waterfall": waterfall, **kw}


def tcf(result: greenabs.RunResult, name: str) -> Any:
    return result.tranche_cashflows(name)


def test_first_period_interest_accrues_from_closing_on_day_count() -> None:
    r = greenabs.run(make_deal(assumptions=QUIET, pool=ONE_LOAN))
    a = tcf(r, "A")
    # closing 2026-04-15 to first payment 2026-05-26 = 41 days, ACT/365F
    assert a["interest_due"][0] == pytest.approx(80e6 * 0.032 * 41 / 365, abs=1e-6)
    assert a["interest_due"][1] == pytest.approx(a["begin_balance"][1] * 0.032 * 31 / 365, abs=1e-6)


def test_sequential_principal_pays_senior_first() -> None:
    r = greenabs.run(make_deal(assumptions=QUIET, pool=ONE_LOAN))
    a, b = tcf(r, "A"), tcf(r, "B")
    # month 1 principal collections 100m/12 all go to A; B waits until A is retired
    assert a["principal_paid"][0] == pytest.approx(100e6 / 12, abs=1e-6)
    assert b["principal_paid"][0] == 0.0
    first_b = int(np.argmax(b["principal_paid"].to_numpy() > 0))
    assert a["end_balance"][first_b] == pytest.approx(0.0, abs=1e-6)


def test_pro_rata_principal_and_oc_trigger_switch() -> None:
    st = structure(
        [
            {"name": "A", "balance": 80e6, "coupon": {"fixed": 0.03}},
            {"name": "B", "balance": 20e6, "coupon": {"fixed": 0.04}},
        ],
        [
            {"pay_interest": ["A", "B"]},
            {"pay_principal": {"tranches": ["A", "B"], "mode": "pro_rata"}},
        ],
    )
    r = greenabs.run(make_deal(assumptions=QUIET, pool=ONE_LOAN, structure=st))
    a, b = tcf(r, "A"), tcf(r, "B")
    np.testing.assert_allclose(a["principal_paid"][:12] / b["principal_paid"][:12], 4.0)
    # with heavy defaults the OC test (pool / A balance < 1.15) fails and principal turns
    # sequential: B then receives nothing while A is outstanding
    st["triggers"] = [
        {
            "name": "oc",
            "kind": "oc_ratio",
            "tranches": ["A"],
            "threshold": 1.15,
            "effect": "sequential",
        }
    ]
    stress = {**QUIET, "default": {"cdr": 0.4}}
    r2 = greenabs.run(make_deal(assumptions=stress, pool=ONE_LOAN, structure=st))
    flows = r2.deal_flows()
    hit = int(np.argmax(flows["trigger_oc"].to_numpy()))
    assert flows["trigger_oc"].any()
    b2 = tcf(r2, "B")
    a2 = tcf(r2, "A")
    after = slice(hit, None)
    live = a2["begin_balance"][after] > 1
    assert (b2["principal_paid"][after][live] == 0).all()


def test_fees_pro_rata_shortfall_carried_forward() -> None:
    # fees larger than the first period's cash: paid pro rata, the rest carried and paid later
    st = structure(
        [{"name": "A", "balance": 100e6, "coupon": {"fixed": 0.03}}],
        [{"pay_fees": ["big", "small"]}, {"pay_interest": "A"}, {"pay_principal": "A"}],
        fees=[{"name": "big", "once": 12_000_000}, {"name": "small", "once": 4_000_000}],
    )
    r = greenabs.run(make_deal(assumptions=QUIET, pool=ONE_LOAN, structure=st))
    fees = r.fees()
    p1 = fees[fees["period"] == 1].set_index("fee")
    avail = 100e6 / 12 + 100e6 * 0.06 / 12
    assert p1.loc["big", "paid"] == pytest.approx(avail * 0.75, abs=1e-6)
    assert p1.loc["small", "paid"] == pytest.approx(avail * 0.25, abs=1e-6)
    assert fees.groupby("fee")["paid"].sum()["big"] == pytest.approx(12e6, abs=1e-6)
    assert tcf(r, "A")["interest_shortfall"][0] > 0


def test_deferrable_interest_shortfall_is_carried_and_caught_up() -> None:
    # an interest-only pool earns 500k a month; B's coupon needs 750k: the shortfall is
    # carried and caught up from the principal at maturity
    st = structure(
        [
            {"name": "A", "balance": 90e6, "coupon": {"fixed": 0.02}},
            {"name": "B", "balance": 10e6, "coupon": {"fixed": 0.90}, "deferrable": True},
        ],
        [{"pay_interest": "A"}, {"pay_interest": "B"}, {"pay_principal": ["A", "B"]}],
    )
    io_pool = {"assets": [{**ONE_LOAN["assets"][0], "amortization": "interest_only"}]}
    r = greenabs.run(make_deal(assumptions=QUIET, pool=io_pool, structure=st))
    b = tcf(r, "B")
    assert b["interest_shortfall"].max() > 0
    # total paid = total accrued: every carried unit is paid once
    accrued = (b["begin_balance"] * b["coupon"] * r.calendar.accrual).sum()
    assert b["interest_paid"].sum() == pytest.approx(accrued, rel=1e-12)


def test_interest_shortfall_triggers_acceleration() -> None:
    st = structure(
        [
            {"name": "A", "balance": 100e6, "coupon": {"fixed": 0.02}},
        ],
        [{"pay_fees": ["setup"]}, {"pay_interest": "A"}, {"pay_principal": "A"}],
        fees=[{"name": "setup", "once": 9_500_000}],
        triggers=[
            {"name": "eod", "kind": "interest_shortfall", "tranches": ["A"], "effect": "accelerate"}
        ],
    )
    r = greenabs.run(make_deal(assumptions=QUIET, pool=ONE_LOAN, structure=st))
    flows = r.deal_flows()
    assert not flows["trigger_eod"][0]
    assert flows["trigger_eod"][1]
    # after acceleration every unit of cash goes to fees, interest, then principal of A
    a = tcf(r, "A")
    cash = r.summary()["cash_collected"]
    fees = r.fees()["paid"].sum()
    assert a["principal_paid"].sum() == pytest.approx(
        cash - fees - a["interest_paid"].sum(), abs=1e-4
    )
    assert flows["residual_released"].sum() == 0.0


def test_cumulative_loss_trigger_turbos_senior() -> None:
    st = structure(
        [
            {"name": "A", "balance": 70e6, "coupon": {"fixed": 0.02}},
            {"name": "B", "balance": 20e6, "coupon": {"fixed": 0.03}},
            {"name": "Sub", "balance": 10e6, "residual": True},
        ],
        [
            {"pay_interest": "A"},
            {"pay_interest": "B"},
            {"pay_principal": ["A", "B"]},
            {"pay_residual": "Sub"},
        ],
        triggers=[{"name": "cl", "kind": "cumulative_loss", "threshold": 0.01, "effect": "turbo"}],
    )
    stress = {"default": {"cdr": 0.2}, "recovery": {"rate": 0.2, "lag_months": 0}}
    r = greenabs.run(make_deal(assumptions=stress, pool=ONE_LOAN, structure=st))
    flows = r.deal_flows()
    hit = int(np.argmax(flows["trigger_cl"].to_numpy()))
    sub = tcf(r, "Sub")
    a = tcf(r, "A")
    # under turbo nothing leaks to the residual while A is outstanding
    live = a["begin_balance"][hit:] > 1
    assert (sub["residual_paid"][hit:][live] == 0).all()


def test_reserve_funded_at_closing_supports_interest_and_is_released() -> None:
    pool = {
        "assets": [
            {"id": "R1", "type": "receivable", "balance": 55e6, "due_date": "2026-09-30"},
            {"id": "R2", "type": "receivable", "balance": 50e6, "due_date": "2027-03-31"},
        ]
    }
    st = structure(
        [
            {"name": "A", "balance": 100e6, "coupon": {"fixed": 0.03}},
            {"name": "Sub", "balance": 5e6, "residual": True},
        ],
        [
            {"pay_interest": {"tranches": ["A"], "support": "reserve"}},
            {"fund_reserve": "reserve"},
            {"pay_principal": "A"},
            {"pay_residual": "Sub"},
        ],
        accounts=[{"name": "reserve", "initial": 2e6, "target": {"amount": 2e6}}],
    )
    r = greenabs.run(make_deal(assumptions=QUIET, pool=pool, structure=st))
    acc = r.accounts()
    a = tcf(r, "A")
    # no collections until the receivable is paid: the reserve pays A's interest
    first_due = a["interest_due"][0]
    assert a["interest_paid"][0] == pytest.approx(first_due, abs=1e-6)
    assert acc["withdrawal"][0] == pytest.approx(first_due, abs=1e-6)
    # it is refilled to target when cash arrives, and empty at the end
    assert acc["end_balance"].iloc[-1] == pytest.approx(0.0, abs=1e-9)
    assert acc["deposit"].sum() > 0
    assert r.summary()["max_audit_difference"] < 1e-6


def test_reserve_percent_target_with_floor_and_excess_release() -> None:
    st = {
        **make_deal().structure.model_dump(),
        "accounts": [
            {
                "name": "rsv",
                "initial": 3e6,
                "target": {"percent": 0.02, "of": "pool_balance", "floor": 1e6},
            }
        ],
    }
    st["waterfall"] = [*st["waterfall"][:3], {"fund_reserve": "rsv"}, *st["waterfall"][3:]]
    r = greenabs.run(make_deal(assumptions=QUIET, structure=st))
    acc = r.accounts()
    pool_end = r.deal_flows()["pool_end_balance"]
    target = np.maximum(0.02 * pool_end, 1e6)
    live = pool_end > 0
    np.testing.assert_allclose(acc["end_balance"][live][:-1], target[live][:-1], rtol=1e-12)


def test_draw_reserve_adds_balance_to_available_funds() -> None:
    st = {**make_deal().structure.model_dump(), "accounts": [{"name": "rsv", "initial": 1e6}]}
    st["waterfall"] = [{"draw_reserve": "rsv"}, *st["waterfall"]]
    r = greenabs.run(make_deal(assumptions=QUIET, structure=st))
    assert r.accounts()["withdrawal"][0] == pytest.approx(1e6)
    assert r.deal_flows()["available_funds"][0] == pytest.approx(
        r.deal_flows()["interest_collected"][0] + r.deal_flows()["principal_collected"][0] + 1e6
    )


def test_clean_up_call_at_ten_percent() -> None:
    st = {**make_deal().structure.model_dump(), "call": {"pool_factor": 0.10}}
    r = greenabs.run(make_deal(structure=st))
    s = r.summary()
    assert s["call_date"] is not None
    flows = r.deal_flows()
    k = int(np.argmax(flows["call_proceeds"].to_numpy() > 0))
    assert flows["pool_end_balance"][k] == 0.0
    assert r.waterfall.deal["pool_end_balance"][0, k - 1] / 1e8 > 0.10
    for t in ("A", "B", "Sub"):
        assert tcf(r, t)["end_balance"].iloc[-1] == 0.0
    no_call = greenabs.run(greenabs.with_assumptions(make_deal(structure=st), call_exercise=False))
    assert no_call.summary()["call_date"] is None


def test_step_up_and_floating_coupons() -> None:
    st = structure(
        [
            {
                "name": "A",
                "balance": 50e6,
                "coupon": {"fixed": 0.03, "step_up": {"date": "2026-08-26", "spread": 0.01}},
            },
            {
                "name": "F",
                "balance": 50e6,
                "coupon": {"index": "LPR1Y", "margin": 0.005, "floor": 0.03},
            },
        ],
        [
            {"pay_interest": ["A", "F"]},
            {"pay_principal": {"tranches": ["A", "F"], "mode": "pro_rata"}},
        ],
    )
    assume = {**QUIET, "rates": {"LPR1Y": [0.02, 0.02, 0.035, 0.035, 0.04]}}
    r = greenabs.run(make_deal(assumptions=assume, pool=ONE_LOAN, structure=st))
    a, f = tcf(r, "A"), tcf(r, "F")
    # the step-up applies to periods starting on or after 2026-08-26 (the fifth)
    assert a["coupon"].tolist()[:5] == pytest.approx([0.03, 0.03, 0.03, 0.03, 0.04])
    # floored at 3% while LPR + 0.5% < 3%, then 4.0%, 4.5%
    assert f["coupon"].tolist()[:5] == pytest.approx([0.03, 0.03, 0.04, 0.04, 0.045])
    assert not np.isnan(r.tranches().set_index("name").loc["F", "discount_margin"])
    assert r.price_at_dm("F", 0.005) == pytest.approx(100.0, abs=0.5)


def test_losses_fall_on_junior_first() -> None:
    stress = {"default": {"cdr": 0.5}, "recovery": {"rate": 0.0, "lag_months": 0}}
    r = greenabs.run(make_deal(assumptions=stress))
    tr = r.tranches().set_index("name")
    assert tr.loc["Sub", "principal_loss"] > 0
    rate = tr["principal_loss"] / tr["original_balance"]
    assert rate["A"] <= rate["B"] <= rate["Sub"]
    assert rate["Sub"] == pytest.approx(1.0)
    for t in ("A", "B", "Sub"):
        cf = tcf(r, t)
        orig = r.deal.tranche(t).balance
        assert cf["principal_paid"].sum() + cf["writedown"].sum() == pytest.approx(orig, abs=1e-4)


def test_conservation_audit_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from greenabs import waterfall

    real = waterfall._run_steps

    def leaky(s: Any, *args: Any, **kw: Any) -> None:
        real(s, *args, **kw)
        s.avail = s.avail - 1.0  # lose one unit of cash

    monkeypatch.setattr(waterfall, "_run_steps", leaky)
    with pytest.raises(ConservationError, match="cash not conserved"):
        greenabs.run(make_deal())


def test_scenarios_run_together_match_single_runs() -> None:
    deal = make_deal()
    both = greenabs.run(deal, smm_mult=[1.0, 3.0], mdr_mult=[1.0, 5.0])
    one = greenabs.run(deal, smm_mult=[3.0], mdr_mult=[5.0])
    np.testing.assert_allclose(
        both.tranche_cashflows("B", scenario=1)["principal_paid"],
        one.tranche_cashflows("B")["principal_paid"],
        rtol=1e-12,
    )


def test_running_totals_survive_an_early_end() -> None:
    # the clean-up call ends the deal early; later dates keep the cumulative loss
    st = {**make_deal().structure.model_dump(), "call": {"pool_factor": 0.10}}
    r = greenabs.run(make_deal(structure=st))
    flows = r.deal_flows()
    assert flows["cumulative_loss"].iloc[-1] == pytest.approx(flows["loss"].sum())
    assert r.summary()["cumulative_loss"] > 0
