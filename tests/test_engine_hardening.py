"""Engine regressions from the hostile-input review (issue 13): whatever validates runs, and
what cannot run is refused at validation, naming the field."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import greenabs
from greenabs.errors import SpecError
from tests.conftest import BASE, deal_dict, make_deal


def _refused(data: dict[str, Any], where: str, reason: str) -> None:
    with pytest.raises(SpecError) as err:
        greenabs.parse_deal(data)
    assert any(p.where.startswith(where) and reason in p.reason for p in err.value.problems), (
        err.value
    )


def test_a_class_listed_twice_in_a_step_is_refused() -> None:
    st = copy.deepcopy(BASE["structure"])
    st["waterfall"][3] = {"pay_principal": ["A", "A", "B"]}
    _refused(deal_dict(structure=st), "structure.waterfall[3].pay_principal", "listed twice")


def test_duplicate_trigger_names_are_refused() -> None:
    st = copy.deepcopy(BASE["structure"])
    trg = {"name": "t", "kind": "cumulative_loss", "threshold": 0.05}
    st["triggers"] = [trg, {**trg, "threshold": 0.1}]
    _refused(deal_dict(structure=st), "structure.triggers", "used twice")


@pytest.mark.parametrize("amount", [1e16, float("inf"), float("nan")])
def test_amounts_beyond_the_limit_are_refused(amount: float) -> None:
    st = copy.deepcopy(BASE["structure"])
    st["tranches"][0]["balance"] = amount
    with pytest.raises(SpecError) as err:
        greenabs.parse_deal(deal_dict(structure=st))
    assert "structure.tranches[0].balance" in str(err.value)


def test_a_deal_near_the_amount_limit_runs_and_audits() -> None:
    """1e14 of pool: the audit tolerance grows with the cash (one cent would be below the
    float precision of such sums)."""
    data = deal_dict()
    for a in data["pool"]["assets"]:
        a["balance"] *= 1e6
    for t in data["structure"]["tranches"]:
        t["balance"] *= 1e6
    r = greenabs.run(greenabs.parse_deal(data), mdr_mult=[1.0, 5.0])
    assert np.all(np.isfinite(r.waterfall.deal["audit_difference"]))


def test_pro_rata_principal_is_never_negative_and_never_above_the_balance() -> None:
    st = copy.deepcopy(BASE["structure"])
    st["waterfall"][3] = {"pay_principal": {"tranches": ["A", "B"], "mode": "pro_rata"}}
    deal = make_deal(structure=st)
    r = greenabs.run(deal, smm_mult=[0.0, 1.0, 5.0], mdr_mult=[0.0, 3.0, 10.0])
    for name in ("A", "B"):
        rec = r.waterfall.tranches[name]
        assert rec["principal_paid"].min() >= 0.0
        assert rec["end_balance"].min() >= 0.0


def test_a_negative_index_never_makes_a_loan_pay_its_borrower() -> None:
    loan = {"id": "F", "type": "loan", "balance": 1e6, "index": "LPR", "margin": 0.01}
    d = deal_dict(
        pool={"assets": [{**loan, "original_term": 24}]},
        assumptions={"rates": {"LPR": -0.05}},
    )
    d["structure"]["tranches"] = [
        {"name": "A", "balance": 9e5, "coupon": {"fixed": 0.0}},
        {"name": "Sub", "balance": 1e5, "residual": True},
    ]
    d["structure"]["waterfall"] = [{"pay_principal": "A"}, {"pay_residual": "Sub"}]
    d["structure"]["fees"] = []
    r = greenabs.run(greenabs.parse_deal(d))
    assert r.pool.flows["interest"].min() >= 0.0
    assert r.pool.flows["interest"].sum() == 0.0  # -5% + 1% floored at 0


def test_a_block_size_below_one_is_refused() -> None:
    with pytest.raises(SpecError, match="block_size"):
        greenabs.run(make_deal(), block_size=0)


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node: Any = data
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    last = keys[-1]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


NEW_FIELDS = [
    ("dates.determination_days", "five"),
    ("dates.determination_days", -1),
    ("dates.determination_days", 61),
    ("dates.determination_days", float("nan")),
    ("dates.business_day", "preceding"),
    ("dates.business_day", 3),
    ("dates.end_of_month", "sometimes"),
    ("dates.cutoff", "1899-12-31"),
    ("dates.first_payment", "2201-01-26"),
    ("pool.advancing", "everything"),
    ("pool.advancing", 1.5),
    ("assumptions.prepayment_timing", "end_of_month"),
    ("assumptions.receivable.delay_months", -1),
    ("assumptions.receivable.delay_months", 241),
    ("assumptions.receivable.delay_months", "late"),
    ("assumptions.receivable.extra", 1),
    ("assumptions.prepayment", {"psa": 1667}),
    ("assumptions.default", {"sda": float("inf")}),
    ("assumptions.rates", {"LPR": -0.2}),
    ("assumptions.rates", {"LPR": float("nan")}),
    ("pool.assets.0.age", 601),
    ("pool.assets.0.balance", 1e16),
    ("structure.tranches.0.coupon", {"fixed": 0.03, "margin": 0.01}),
    ("structure.tranches.0.coupon", {"fixed": 0.03, "floor": 0.01}),
    ("structure.fees.0", {"name": "trustee", "amount": 2e15}),
]


@pytest.mark.parametrize(("path", "value"), NEW_FIELDS)
def test_every_new_field_refuses_bad_values_by_name(path: str, value: Any) -> None:
    data = _set(deal_dict(), path, value)
    with pytest.raises(SpecError) as err:
        greenabs.parse_deal(data)
    head = path.rsplit(".", 1)[0] if path.endswith((".extra", ".0")) else path
    head = head.replace(".0.", "[0].").replace(".0", "[0]")
    assert any(p.where.startswith(head) for p in err.value.problems), (head, str(err.value))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("pool.assets.0.floor", -0.01),
        ("pool.assets.0.cap", 0.0),
    ],
)
def test_floating_loan_floor_and_cap_bounds(path: str, value: Any) -> None:
    data = deal_dict()
    data["pool"]["assets"][0].update(index="LPR", margin=0.01)
    data["assumptions"]["rates"] = {"LPR": 0.03}
    with pytest.raises(SpecError) as err:
        greenabs.parse_deal(_set(data, path, value))
    assert "pool.assets[0]" in str(err.value)
