"""Property tests: random pools, assumptions and structures keep the engine's invariants.

* cash conservation, every period and overall (the run itself audits it; checked again here);
* balances never negative; principal paid never exceeds what was owed;
* each tranche's principal paid plus written down equals its original balance;
* the pool's balance identity: begin - principal - prepayment - default = end.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greenabs
from greenabs import parse_deal


@st.composite
def assets(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 6))
    out: list[dict[str, Any]] = []
    for i in range(n):
        kind = draw(st.sampled_from(["loan", "loan", "lease", "receivable"]))
        bal = draw(st.floats(1e4, 5e7))
        if kind == "loan":
            freq = draw(st.sampled_from(["monthly", "quarterly"]))
            step = 1 if freq == "monthly" else 3
            term = step * draw(st.integers(1, 40))
            out.append(
                {
                    "id": f"a{i}",
                    "type": "loan",
                    "balance": bal,
                    "rate": draw(st.floats(0.0, 0.15)),
                    "original_term": term,
                    "age": draw(st.integers(0, term - 1)),
                    "frequency": freq,
                    "amortization": draw(
                        st.sampled_from(["level", "linear", "interest_only", "bullet"])
                    ),
                }
            )
        elif kind == "lease":
            out.append(
                {
                    "id": f"a{i}",
                    "type": "lease",
                    "rate": draw(st.floats(0.0, 0.12)),
                    "rental": bal / 20,
                    "remaining_term": draw(st.integers(1, 36)),
                    "residual_value": draw(st.floats(0, bal / 5)),
                }
            )
        else:
            out.append(
                {
                    "id": f"a{i}",
                    "type": "receivable",
                    "balance": bal,
                    "due_date": f"2026-{draw(st.integers(1, 12)):02d}-28",
                    "collection_lag_months": draw(st.integers(0, 24)),
                }
            )
    return out


@st.composite
def deals(draw: st.DrawFn) -> dict[str, Any]:
    pool_assets = draw(assets())
    # balances of leases come from their rentals: size tranches against the validated pool
    pool_bal = parse_pool_balance(pool_assets)
    n_t = draw(st.integers(1, 4))
    shares = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=n_t, max_size=n_t)))
    notes = pool_bal * draw(st.floats(0.5, 1.0))
    sizes = notes * shares / shares.sum()
    residual = draw(st.booleans()) and n_t > 1
    tranches = []
    for k in range(n_t):
        t: dict[str, Any] = {"name": f"T{k}", "balance": float(sizes[k])}
        if residual and k == n_t - 1:
            t["residual"] = True
        else:
            t["coupon"] = {"fixed": draw(st.floats(0.0, 0.12))}
            t["deferrable"] = draw(st.booleans())
        tranches.append(t)
    debt = [t["name"] for t in tranches if not t.get("residual")]
    steps: list[Any] = [{"pay_fees": ["trustee", "admin"]}]
    reserve = draw(st.booleans())
    for name in debt:
        steps.append({"pay_interest": {"tranches": [name], "support": "rsv"} if reserve else name})
    if reserve:
        steps.append({"fund_reserve": "rsv"})
    steps.append(
        {
            "pay_principal": {
                "tranches": debt,
                "mode": draw(st.sampled_from(["sequential", "pro_rata"])),
            }
        }
    )
    if residual:
        steps.append({"pay_residual": tranches[-1]["name"]})
    structure: dict[str, Any] = {
        "fees": [
            {"name": "trustee", "rate": draw(st.floats(0, 0.01))},
            {"name": "admin", "amount": draw(st.floats(0, 1e5))},
        ],
        "tranches": tranches,
        "waterfall": steps,
        "triggers": draw(
            st.lists(
                st.sampled_from(
                    [
                        {
                            "name": "cl",
                            "kind": "cumulative_loss",
                            "threshold": 0.02,
                            "effect": "turbo",
                        },
                        {
                            "name": "oc",
                            "kind": "oc_ratio",
                            "threshold": 1.05,
                            "tranches": [debt[0]],
                            "effect": "sequential",
                        },
                        {
                            "name": "eod",
                            "kind": "interest_shortfall",
                            "tranches": [debt[0]],
                            "effect": "accelerate",
                        },
                    ]
                ),
                unique_by=lambda t: t["name"],
                max_size=3,
            )
        ),
    }
    if reserve:
        structure["accounts"] = [
            {
                "name": "rsv",
                "initial": draw(st.floats(0, notes / 50)),
                "target": {"percent": 0.02, "of": "notes_balance"},
            }
        ]
    if draw(st.booleans()):
        structure["call"] = {"pool_factor": 0.1}
    return {
        "name": "random",
        "dates": {
            "cutoff": "2026-01-31",
            "closing": "2026-02-10",
            "first_payment": draw(st.sampled_from(["2026-02-26", "2026-03-26", "2026-06-26"])),
            "frequency": draw(st.sampled_from(["monthly", "quarterly"])),
            "day_count": draw(st.sampled_from(["ACT/365F", "ACT/360", "30/360"])),
        },
        "pool": {"assets": pool_assets},
        "assumptions": {
            "prepayment": draw(st.sampled_from([{"cpr": 0.0}, {"cpr": 0.2}, {"psa": 300}])),
            "default": draw(
                st.sampled_from([{"cdr": 0.0}, {"cdr": 0.1}, {"sda": 500}, {"cdr": 0.6}])
            ),
            "recovery": {"rate": draw(st.floats(0, 1)), "lag_months": draw(st.integers(0, 18))},
            "delinquency": draw(
                st.sampled_from(
                    [
                        None,
                        {"rate": 0.1, "lag_months": 3, "cure_rate": 0.5},
                        {"rate": 0.3, "lag_months": 1, "cure_rate": 0.0},
                    ]
                )
            ),
        },
        "structure": structure,
    }


def parse_pool_balance(pool_assets: list[dict[str, Any]]) -> float:
    from pydantic import TypeAdapter

    from greenabs.assets import AssetSpec
    from greenabs.collateral import project_pool
    from greenabs.spec.deal import AssumptionsSpec

    specs = TypeAdapter(list[AssetSpec]).validate_python(pool_assets)
    from datetime import date

    return project_pool(specs, AssumptionsSpec(), date(2026, 1, 31)).original_balance


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(deals())
def test_random_deals_conserve_cash_and_keep_balances_sane(d: dict[str, Any]) -> None:
    deal = parse_deal(d)
    r = greenabs.run(deal, smm_mult=[1.0, 2.5], mdr_mult=[1.0, 4.0])
    wf = r.waterfall
    for s in range(2):
        cash_in = sum(
            wf.deal[k][s].sum()
            for k in (
                "interest_collected",
                "principal_collected",
                "recovery_collected",
                "call_proceeds",
            )
        )
        initial = sum(a.initial for a in deal.structure.accounts)
        paid = wf.deal["residual_released"][s].sum()
        for t in deal.structure.tranches:
            rec = wf.tranches[t.name]
            paid += (
                rec["interest_paid"][s] + rec["principal_paid"][s] + rec["residual_paid"][s]
            ).sum()
            assert (rec["end_balance"][s] >= -1e-6).all()
            assert (rec["principal_paid"][s] <= rec["begin_balance"][s] + 1e-6).all()
            assert (
                rec["principal_paid"][s].sum() + rec["writedown"][s].sum() == np.float64(t.balance)
                or abs(rec["principal_paid"][s].sum() + rec["writedown"][s].sum() - t.balance)
                < 1e-4
            )
            assert (rec["interest_paid"][s] <= rec["interest_due"][s] + 1e-6).all()
        for f in wf.fees.values():
            paid += f["paid"][s].sum()
        left = sum(a["end_balance"][s, -1] for a in wf.accounts.values())
        assert abs(cash_in + initial - paid - left) < 0.01 * r.calendar.n_periods
        for a in wf.accounts.values():
            assert (a["end_balance"][s] >= -1e-9).all()
    f = r.pool.flows
    drop = f["scheduled_principal"] + f["prepayment"] + f["default"]
    np.testing.assert_allclose(f["begin_balance"] - drop, f["end_balance"], atol=1e-5)
    assert (f["end_balance"] >= -1e-6).all()
