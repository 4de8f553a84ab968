"""Principal identities of random deals (issue 13), for every scenario of a scenario axis.

Hypothesis draws bounded deals with loans (fixed and floating, every amortisation, monthly
and quarterly), leases (level rentals or schedules with payment holidays, balance or rate
given, residual values), receivables and projected cash flows; prepayment and default curves,
recovery lags, delinquency with cure, servicer advancing; reserve accounts, fees, triggers
(sequential, turbo, accelerate), an overcollateralisation target and a clean-up call.  Each deal
runs with several scenarios at once (``greenabs.run(deal, smm_mult=[...], mdr_mult=[...])``)
and every scenario must keep:

* the pool's principal identity: original balance = scheduled principal + prepayments +
  advanced principal + recoveries + losses + ending balance (and month by month, begin -
  scheduled - prepaid - defaulted = end; every default resolved into advanced principal,
  recovery and loss);
* the notes' identity: original notes = principal paid + writedowns + ending balances (for
  each tranche and in total);
* the pool's principal and recoveries reach the waterfall unchanged when no call cuts the deal
  short;
* cash conservation, per payment date: collections + reserve draws = payments + retained.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greenabs
from greenabs import DealSpec, RunResult, parse_deal
from greenabs.scenarios import Scenarios

RTOL = 1e-9
"""Relative tolerance of an identity (of the original balance it concerns)."""

CUTOFF = "2026-01-31"
SOAK = float(os.environ.get("GREENABS_FUZZ_SCALE", "1"))
"""Multiplies the example count (as in tests/test_fuzz.py) for a longer local soak."""


# ------------------------------------------------------------------------------ assets
@st.composite
def loan(draw: st.DrawFn, i: int, floating: bool) -> dict[str, Any]:
    freq = draw(st.sampled_from(["monthly", "quarterly"]))
    step = 1 if freq == "monthly" else 3
    term = step * draw(st.integers(1, 40))
    out: dict[str, Any] = {
        "id": f"L{i}",
        "type": "loan",
        "balance": draw(st.floats(1e4, 5e7)),
        "original_term": term,
        "age": draw(st.integers(0, term - 1)),
        "frequency": freq,
        "amortization": draw(st.sampled_from(["level", "linear", "interest_only", "bullet"])),
    }
    if floating and draw(st.booleans()):
        out.update(index="LPR", margin=draw(st.floats(-0.01, 0.04)), floor=0.0)
        out["reset_months"] = draw(st.sampled_from([1, 3, 12]))
    else:
        out["rate"] = draw(st.floats(0.0, 0.15))
    return out


@st.composite
def lease(draw: st.DrawFn, i: int) -> dict[str, Any]:
    freq = draw(st.sampled_from(["monthly", "quarterly"]))
    step = 1 if freq == "monthly" else 3
    rental = draw(st.floats(1e3, 2e6))
    out: dict[str, Any] = {"id": f"LS{i}", "type": "lease", "frequency": freq}
    if draw(st.booleans()):
        out.update(rental=rental, remaining_term=step * draw(st.integers(1, 36)))
        n = out["remaining_term"] // step
        total = rental * n
    else:  # a schedule: payment holidays (zeros), steps up and down
        rentals = draw(
            st.lists(
                st.sampled_from([0.0, rental, rental * 0.5, rental * 2]), min_size=1, max_size=24
            )
        )
        if not any(rentals):
            rentals[-1] = rental
        out["rentals"] = rentals
        n, total = len(rentals), sum(rentals)
    residual = draw(st.sampled_from([0.0, 0.1, 0.5])) * rental
    if residual:
        out["residual_value"] = residual
    if draw(st.booleans()) and n >= 6:  # the balance given: an implicit rate is solved for it
        out["balance"] = (total + residual) * draw(st.floats(0.9, 1.0))
    else:
        out["rate"] = draw(st.floats(0.0, 0.2))
    if draw(st.booleans()):
        out["first_rental_month"] = draw(st.integers(1, step))
    return out


@st.composite
def receivable(draw: st.DrawFn, i: int) -> dict[str, Any]:
    year = draw(st.integers(2025, 2029))
    return {
        "id": f"R{i}",
        "type": "receivable",
        "balance": draw(st.floats(1e4, 3e7)),
        "due_date": f"{year}-{draw(st.integers(1, 12)):02d}-28",
        "collection_lag_months": draw(st.integers(0, 24)),
        "age": draw(st.integers(0, 120)),
    }


@st.composite
def projected(draw: st.DrawFn, i: int) -> dict[str, Any]:
    n = draw(st.integers(1, 8))
    months = sorted(draw(st.lists(st.integers(-2, 60), min_size=n, max_size=n, unique=True)))
    amounts = st.one_of(st.just(0.0), st.floats(1e3, 1e7))
    principal = draw(st.lists(amounts, min_size=n, max_size=n))
    if sum(principal) <= 0:
        principal[-1] = 1e6
    last = max(k for k, p in enumerate(principal) if p > 0)
    rows = []
    for k, (m, p) in enumerate(zip(months, principal, strict=True)):
        y, mo = divmod(2026 * 12 + m, 12)  # m months after the cut-off month (January 2026)
        row: dict[str, Any] = {"date": f"{y}-{mo + 1:02d}-15", "principal": p}
        if k <= last and draw(st.booleans()):
            row["interest"] = draw(st.floats(0, 5e5))
        rows.append(row)
    return {
        "id": f"P{i}",
        "type": "projected",
        "cashflows": rows,
        "prepayable": draw(st.booleans()),
    }


@st.composite
def pools(draw: st.DrawFn, floating: bool) -> list[dict[str, Any]]:
    kinds = draw(
        st.lists(
            st.sampled_from(["loan", "loan", "lease", "receivable", "projected"]),
            min_size=1,
            max_size=6,
        )
    )
    out = []
    for i, kind in enumerate(kinds):
        if kind == "loan":
            out.append(draw(loan(i, floating)))
        elif kind == "lease":
            out.append(draw(lease(i)))
        elif kind == "receivable":
            out.append(draw(receivable(i)))
        else:
            out.append(draw(projected(i)))
    return out


# ------------------------------------------------------------------------ assumptions
@st.composite
def assumptions(draw: st.DrawFn, advancing: bool, floating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prepayment": draw(
            st.sampled_from(
                [
                    {"cpr": 0.0},
                    {"cpr": 0.15},
                    {"psa": 300},
                    {"psa": 1666},
                    {"vector": [0.05, 0.3, 0.6], "by": "period"},
                    {"vector": [0.0, 0.1], "by": "age"},
                ]
            )
        ),
        "default": draw(
            st.sampled_from(
                [
                    {"cdr": 0.0},
                    {"cdr": 0.08},
                    {"cdr": 0.5},
                    {"sda": 500},
                    {"vector": [0.02, 0.2, 0.0]},
                ]
            )
        ),
        "recovery": {
            "rate": draw(st.floats(0, 1)),
            "lag_months": draw(st.integers(1 if advancing else 0, 18)),
        },
        "prepayment_timing": draw(st.sampled_from(["beginning_of_month", "after_defaults"])),
    }
    if not advancing and draw(st.booleans()):
        out["delinquency"] = {
            "rate": draw(st.sampled_from([0.05, 0.3, 1.0])),
            "lag_months": draw(st.integers(1, 6)),
            "cure_rate": draw(st.floats(0, 1)),
        }
    if floating:
        out["rates"] = {
            "LPR": draw(
                st.one_of(
                    st.floats(-0.1, 0.2),
                    st.lists(st.floats(-0.1, 0.2), min_size=1, max_size=48),
                )
            )
        }
    return out


# -------------------------------------------------------------------------- structure
@st.composite
def structures(draw: st.DrawFn, pool_balance: float, floating: bool) -> dict[str, Any]:
    n_debt = draw(st.integers(1, 4))
    residual = draw(st.booleans())
    weights = draw(st.lists(st.floats(0.05, 1.0), min_size=n_debt + residual, max_size=5))
    weights = weights[: n_debt + residual]
    notes = pool_balance * draw(st.floats(0.5, 1.0))
    sizes = [notes * w / sum(weights) for w in weights]
    tranches: list[dict[str, Any]] = []
    for k in range(n_debt):
        coupon: dict[str, Any] = {"fixed": draw(st.floats(0.0, 0.12))}
        if floating and draw(st.booleans()):
            coupon = {"index": "LPR", "margin": draw(st.floats(0.0, 0.03))}
            if draw(st.booleans()):
                coupon["floor"] = 0.0
        tranches.append(
            {
                "name": f"T{k}",
                "balance": sizes[k],
                "coupon": coupon,
                "deferrable": draw(st.booleans()),
            }
        )
    if residual:
        tranches.append({"name": "Sub", "balance": sizes[-1], "residual": True})
    debt = [t["name"] for t in tranches if not t.get("residual")]
    reserve = draw(st.booleans())
    steps: list[Any] = [{"pay_fees": ["trustee", "admin", "setup"]}]
    for name in debt:
        support = reserve and draw(st.booleans())
        steps.append({"pay_interest": {"tranches": [name], "support": "rsv"} if support else name})
    if reserve:
        steps.append({"fund_reserve": "rsv"})
        if draw(st.integers(0, 4)) == 0:
            steps.append({"draw_reserve": "rsv"})
    steps.append(
        {
            "pay_principal": {
                "tranches": debt,
                "mode": draw(st.sampled_from(["sequential", "pro_rata"])),
            }
        }
    )
    if residual:
        steps.append({"pay_residual": "Sub"})
    triggers = [
        {"name": "cnl", "kind": "cumulative_loss", "threshold": 0.02, "effect": "turbo"},
        {"name": "cnl_seq", "kind": "cumulative_loss", "threshold": 0.0, "effect": "sequential"},
        {"name": "oc", "kind": "oc_ratio", "tranches": [debt[0]], "threshold": 1.05},
        {
            "name": "ic",
            "kind": "ic_ratio",
            "tranches": [debt[-1]],
            "threshold": 1.2,
            "curable": True,
        },
        {
            "name": "eod",
            "kind": "interest_shortfall",
            "tranches": [debt[0]],
            "effect": "accelerate",
        },
    ]
    if reserve:
        triggers.append(
            {
                "name": "rs",
                "kind": "reserve_shortfall",
                "account": "rsv",
                "threshold": 1.0,
                "effect": "turbo",
            }
        )
    out: dict[str, Any] = {
        "fees": [
            {"name": "trustee", "rate": draw(st.floats(0, 0.01))},
            {"name": "admin", "amount": draw(st.floats(0, 2e5))},
            {"name": "setup", "once": draw(st.floats(0, 1e5))},
        ],
        "tranches": tranches,
        "triggers": draw(
            st.lists(st.sampled_from(triggers), unique_by=lambda t: t["name"], max_size=4)
        ),
        "waterfall": steps,
    }
    if reserve:
        target = draw(
            st.sampled_from(
                [
                    {"amount": notes * 0.02},
                    {"percent": 0.03, "of": "notes_balance", "floor": notes * 0.005},
                    {"percent": 0.05, "of": "pool_balance"},
                ]
            )
        )
        out["accounts"] = [
            {"name": "rsv", "initial": draw(st.floats(0, notes / 40)), "target": target}
        ]
    if draw(st.booleans()):
        out["oc_target"] = {"percent": draw(st.floats(0, 0.1)), "of": "original_pool_balance"}
    if draw(st.booleans()):
        out["call"] = {
            "pool_factor": draw(st.floats(0.01, 0.3)),
            "price": draw(st.floats(0.9, 1.05)),
        }
    return out


@st.composite
def deals(draw: st.DrawFn) -> Case:
    floating = draw(st.booleans())
    advancing = draw(st.integers(0, 3)) == 0
    pool_assets = draw(pools(floating))
    assume = draw(assumptions(advancing, floating))
    base: dict[str, Any] = {
        "name": "random",
        "dates": {
            "cutoff": CUTOFF,
            "closing": "2026-02-10",
            "first_payment": draw(st.sampled_from(["2026-02-26", "2026-03-26", "2026-06-26"])),
            "frequency": draw(st.sampled_from(["monthly", "quarterly", "semiannual"])),
            "day_count": draw(st.sampled_from(["ACT/365F", "ACT/360", "30/360"])),
        },
        "pool": {"assets": pool_assets},
        "assumptions": assume,
        "structure": {
            "tranches": [{"name": "x", "balance": 1e-6, "residual": True}],
            "waterfall": [{"pay_residual": "x"}],
        },
    }
    if advancing:
        base["pool"]["advancing"] = draw(st.sampled_from(["interest", "principal_and_interest"]))
    # size the notes against the validated pool (leases' balances come from their rentals)
    balance = parse_deal(base).pool.balance
    base["structure"] = draw(structures(balance, floating))
    deal = parse_deal(base, "random.yaml")
    return Case(deal, draw(scenario_drivers(deal, floating)), draw(st.sampled_from(RESIZES)))


@dataclass(frozen=True)
class Case:
    """A random deal, its scenario drivers and a resize of its notes (rerun on the compiled
    deal)."""

    deal: DealSpec
    drivers: dict[str, Any]
    resize: float | None


RESIZES = (None, None, 0.5, 0.9)
DRIVERS = ("multipliers", "multipliers", "monthly multipliers", "default months", "rate paths")


@st.composite
def scenario_drivers(draw: st.DrawFn, deal: DealSpec, floating: bool) -> dict[str, Any]:
    """Keyword arguments of Scenarios.build: 2 to 4 scenarios of multipliers (the plain
    ``run(deal, smm_mult=[...], mdr_mult=[...])``), multipliers by month, default months of
    each asset, CPR/CDR paths, or index paths."""
    n = draw(st.integers(2, 4))
    mult = st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0, 20.0])
    smm = draw(st.lists(mult, min_size=n, max_size=n))
    mdr = draw(st.lists(mult, min_size=n, max_size=n))
    kind = draw(st.sampled_from([*DRIVERS, *(["index paths"] if floating else [])]))
    if kind == "multipliers":
        return {"smm_mult": smm, "mdr_mult": mdr}
    pool = greenabs.compile_deal(deal).pool
    months = pool.n_asset_months if deal.pool.advancing == "none" else pool.n_months
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "monthly multipliers":
        return {
            "smm_mult": rng.choice([0.0, 1.0, 3.0], size=(n, months)),
            "mdr_mult": rng.choice([0.0, 1.0, 10.0], size=(n, months)),
        }
    if kind == "default months":  # 0: never; month m: the whole asset defaults then
        return {"smm_mult": smm, "default_month": rng.integers(0, months + 1, (n, pool.n_assets))}
    if kind == "rate paths":
        return {
            "cpr_path": rng.uniform(0, 1, (n, months)) ** 3,
            "cdr_path": rng.uniform(0, 1, (n, months)) ** 4,
        }
    return {
        "smm_mult": smm,
        "mdr_mult": mdr,
        "index_paths": {"LPR": rng.uniform(-0.1, 0.2, (n, months))},
    }


# ----------------------------------------------------------------------------- checks
def check_pool_identity(r: RunResult) -> None:
    f, orig = r.pool.flows, r.pool.original_balance
    tol = RTOL * orig + 1e-6
    total = {k: v.sum(axis=1) for k, v in f.items()}
    end = f["end_balance"][:, -1]
    # original = scheduled + prepaid + advanced principal + recoveries + losses + ending
    rhs = (
        total["scheduled_principal"]
        + total["prepayment"]
        + total["advanced_principal"]
        + total["recovery"]
        + total["loss"]
        + end
    )
    np.testing.assert_allclose(rhs, orig, rtol=0, atol=tol, err_msg="pool principal identity")
    # every default resolved: liquidated with advanced principal, recovered or lost
    resolved = total["advanced_principal"] + total["recovery"] + total["loss"]
    np.testing.assert_allclose(resolved, total["default"], rtol=0, atol=tol, err_msg="defaults")
    # month by month
    drop = f["scheduled_principal"] + f["prepayment"] + f["default"]
    np.testing.assert_allclose(f["begin_balance"] - drop, f["end_balance"], rtol=0, atol=tol)
    np.testing.assert_allclose(f["begin_balance"][:, 1:], f["end_balance"][:, :-1], atol=tol)
    np.testing.assert_allclose(f["begin_balance"][:, 0], orig, rtol=RTOL)
    for field in (
        "scheduled_principal",
        "prepayment",
        "default",
        "recovery",
        "loss",
        "end_balance",
    ):
        assert (f[field] >= -tol).all(), f"pool {field} negative"
    assert (f["delinquent"] <= f["end_balance"] + tol).all()


def check_notes_identity(deal: DealSpec, r: RunResult) -> None:
    wf = r.waterfall
    original = sum(t.balance for t in deal.structure.tranches)
    tol = RTOL * original + 1e-6
    total = np.zeros(wf.deal["interest_collected"].shape[0])
    for t in deal.structure.tranches:
        rec = wf.tranches[t.name]
        assert (rec["principal_paid"] >= -1e-9 * t.balance).all(), t.name
        assert (rec["writedown"] >= -1e-9 * t.balance).all(), t.name
        assert (rec["end_balance"] >= -1e-9 * t.balance).all(), t.name
        assert (rec["begin_balance"] <= t.balance * (1 + RTOL)).all(), t.name
        paid = rec["principal_paid"].sum(axis=1) + rec["writedown"].sum(axis=1)
        ending = rec["end_balance"][:, -1]
        np.testing.assert_allclose(paid + ending, t.balance, rtol=0, atol=tol, err_msg=t.name)
        # each date: begin - principal paid - written down = end
        step = rec["begin_balance"] - rec["principal_paid"] - rec["writedown"]
        np.testing.assert_allclose(step, rec["end_balance"], rtol=0, atol=tol, err_msg=t.name)
        total += paid + ending
    np.testing.assert_allclose(total, original, rtol=0, atol=tol, err_msg="notes identity")


def check_pool_reaches_the_waterfall(deal: DealSpec, r: RunResult) -> None:
    """Without a call every month's principal and recoveries are paid on some date."""
    if deal.structure.call is not None:
        return
    d, f = r.waterfall.deal, r.pool.flows
    tol = RTOL * r.pool.original_balance + 1e-6
    principal = (f["scheduled_principal"] + f["prepayment"] + f["advanced_principal"]).sum(axis=1)
    np.testing.assert_allclose(d["principal_collected"].sum(axis=1), principal, rtol=0, atol=tol)
    recovered = f["recovery"].sum(axis=1)
    np.testing.assert_allclose(d["recovery_collected"].sum(axis=1), recovered, rtol=0, atol=tol)


def check_cash(deal: DealSpec, r: RunResult) -> None:
    """Collections + reserve draws = payments + retained, per scenario and payment date."""
    wf, d = r.waterfall, r.waterfall.deal
    cash_in = d["interest_collected"] + d["principal_collected"] + d["recovery_collected"]
    cash_in = cash_in + d["call_proceeds"]
    out = d["residual_released"].copy()
    for t in deal.structure.tranches:
        rec = wf.tranches[t.name]
        out += rec["interest_paid"] + rec["principal_paid"] + rec["residual_paid"]
    for rec in wf.fees.values():
        out += rec["paid"]
    draws = np.zeros_like(cash_in)
    for rec in wf.accounts.values():
        draws += rec["withdrawal"] - rec["deposit"]
        moved = rec["begin_balance"] + rec["deposit"] - rec["withdrawal"]
        np.testing.assert_allclose(moved, rec["end_balance"], rtol=0, atol=0.01)
        assert (rec["end_balance"] >= -0.01).all()
    tol = np.maximum(0.01, 1e-12 * (np.abs(cash_in) + np.abs(out)))
    assert (np.abs(cash_in + draws - out) <= tol).all(), "cash not conserved"


@settings(
    max_examples=max(1, round(250 * SOAK)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=deals())
def test_principal_identities_hold_in_every_scenario(case: Case) -> None:
    deal = case.deal
    if set(case.drivers) == {"smm_mult", "mdr_mult"}:
        r = greenabs.run(deal, smm_mult=case.drivers["smm_mult"], mdr_mult=case.drivers["mdr_mult"])
    else:
        r = greenabs.run(deal, scenarios=Scenarios.build(**case.drivers))
    n = len(next(iter(case.drivers.values())))
    assert r.pool.flows["end_balance"].shape[0] == n
    for arr in r.pool.flows.values():
        assert np.isfinite(arr).all()
    check_pool_identity(r)
    check_notes_identity(deal, r)
    check_pool_reaches_the_waterfall(deal, r)
    check_cash(deal, r)
    if case.resize is not None:  # the same pool under smaller notes, without recompiling
        compiled = greenabs.compile_deal(deal)
        sizes = {t.name: t.balance * case.resize for t in deal.structure.tranches}
        smaller = compiled.with_structure(balances=sizes)
        r2 = greenabs.run(smaller, scenarios=Scenarios.build(**case.drivers))
        np.testing.assert_allclose(r2.pool.flows["end_balance"], r.pool.flows["end_balance"])
        check_notes_identity(smaller.deal, r2)
        check_cash(smaller.deal, r2)


# ------------------------------------------------------------------------- regressions
def _projected_with_delinquency(principal: list[float]) -> DealSpec:
    dates = ["2026-03-15", "2026-04-15", "2026-05-15", "2026-09-15"]
    rows = [{"date": d, "principal": p} for d, p in zip(dates, [*principal, 0.0], strict=True)]
    return parse_deal(
        {
            "name": "D9",
            "dates": {"cutoff": CUTOFF, "closing": "2026-02-10", "first_payment": "2026-02-26"},
            "pool": {"assets": [{"id": "P", "type": "projected", "cashflows": rows}]},
            "assumptions": {
                "delinquency": {"rate": 0.9, "lag_months": 6, "cure_rate": 1.0},
                "recovery": {"rate": 0.5, "lag_months": 1},
            },
            "structure": {
                "tranches": [{"name": "A", "balance": 1e7, "coupon": {"fixed": 0.03}}],
                "waterfall": [{"pay_interest": "A"}, {"pay_principal": "A"}],
            },
        }
    )


def test_delinquent_balance_at_the_horizon_is_not_lost() -> None:
    deal = _projected_with_delinquency([6777217.0, 9999999.913625555, 1000.6800571251661])
    r = greenabs.run(deal)
    check_pool_identity(r)


def test_delinquent_balance_of_a_round_schedule_is_collected() -> None:
    deal = _projected_with_delinquency([6777217.0, 10_000_000.0, 1000.0])
    r = greenabs.run(deal)
    check_pool_identity(r)
    check_notes_identity(deal, r)


def _all_in_foreclosure(advancing: str, call: bool) -> DealSpec:
    structure: dict[str, Any] = {
        "tranches": [{"name": "A", "balance": 1e6, "coupon": {"fixed": 0.0}}],
        "waterfall": [{"pay_interest": "A"}, {"pay_principal": "A"}],
    }
    if call:
        structure["call"] = {"pool_factor": 0.5, "price": 1.0}
    loan = {"id": "L", "type": "loan", "balance": 1e6, "rate": 0.0, "original_term": 12}
    return parse_deal(
        {
            "name": "D10",
            "dates": {"cutoff": CUTOFF, "closing": "2026-02-10", "first_payment": "2026-02-26"},
            "pool": {"advancing": advancing, "assets": [{**loan, "amortization": "linear"}]},
            "assumptions": {"default": {"cdr": 1.0}, "recovery": {"rate": 0.4, "lag_months": 3}},
            "structure": structure,
        }
    )


def _principal_cash(r: RunResult) -> float:
    d = r.waterfall.deal
    return float((d["principal_collected"] + d["recovery_collected"] + d["call_proceeds"]).sum())


@pytest.mark.parametrize(
    "advancing",
    [
        "none",
        "interest",
        "principal_and_interest",
    ],
)
def test_a_par_call_on_a_pool_in_foreclosure_pays_what_the_pool_would(advancing: str) -> None:
    # every loan defaults in the first month: nothing performs, so a call at par (price 1)
    # on a zero-rate pool must pay exactly what the loans in foreclosure would still bring
    kept = greenabs.run(_all_in_foreclosure(advancing, call=False))
    called = greenabs.run(_all_in_foreclosure(advancing, call=True))
    assert called.waterfall.deal["call_proceeds"].sum() >= 0
    assert called.summary()["call_date"] is not None
    assert _principal_cash(called) == pytest.approx(_principal_cash(kept), rel=1e-9)
    check_notes_identity(called.deal, called)


def test_a_call_for_nothing_is_reported() -> None:
    loan = {"id": "L", "type": "loan", "balance": 1e6, "rate": 0.05, "original_term": 12}
    deal = parse_deal(
        {
            "name": "D14",
            "dates": {"cutoff": CUTOFF, "closing": "2026-02-10", "first_payment": "2026-02-26"},
            "pool": {"assets": [{**loan, "amortization": "linear"}]},
            "assumptions": {"default": {"cdr": 1.0}, "recovery": {"rate": 0.0, "lag_months": 3}},
            "structure": {
                "tranches": [{"name": "A", "balance": 1e6, "coupon": {"fixed": 0.03}}],
                "call": {"pool_factor": 0.5},
                "waterfall": [{"pay_interest": "A"}, {"pay_principal": "A"}],
            },
        }
    )
    r = greenabs.run(deal)
    written = np.nonzero(r.waterfall.tranches["A"]["writedown"][0])[0]
    assert written[0] < r.calendar.n_periods - 1  # the deal ended early: the call
    assert r.summary()["call_date"] == r.calendar.payment_dates[written[0]]
