"""Leases: bad lease specs are refused at validation naming the field; every lease that
validates runs, and without prepayment or default collects exactly its rentals and residual
value (principal exactly its balance, never negative), including negative amortisation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import greenabs
from greenabs import SpecError, parse_deal
from greenabs.assets import LeaseSpec
from tests.conftest import deal_dict

NO_LOSS = {
    "prepayment": {"cpr": 0.0},
    "default": {"cdr": 0.0},
    "recovery": {"rate": 0.4, "lag_months": 0},
}
STRESS = {
    "prepayment": {"cpr": 0.2},
    "default": {"cdr": 0.1},
    "recovery": {"rate": 0.4, "lag_months": 2},
}


def lease_deal(
    lease: dict[str, Any], *, mode: str = "sequential", assumptions: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A deal of one lease, its notes sized against the lease's balance."""
    asset = {"id": "LS1", "type": "lease", **lease}
    try:
        bal = LeaseSpec.model_validate(asset).outstanding()
    except ValidationError:
        bal = 1e6  # the deal is refused anyway
    return deal_dict(
        pool={"assets": [asset]},
        assumptions=assumptions or NO_LOSS,
        structure={
            "fees": [{"name": "trustee", "rate": 0.0002, "base": "pool_balance"}],
            "tranches": [
                {"name": "A", "balance": 0.6 * bal, "coupon": {"fixed": 0.03}},
                {"name": "B", "balance": 0.25 * bal, "coupon": {"fixed": 0.045}},
                {"name": "Sub", "balance": 0.15 * bal, "residual": True},
            ],
            "waterfall": [
                {"pay_fees": ["trustee"]},
                {"pay_interest": "A"},
                {"pay_interest": "B"},
                {"pay_principal": {"tranches": ["A", "B"], "mode": mode}},
                {"pay_residual": "Sub"},
            ],
        },
    )


def refused(lease: dict[str, Any]) -> str:
    """The message of the SpecError that refuses a deal holding ``lease``."""
    with pytest.raises(SpecError) as exc:
        parse_deal(lease_deal(lease))
    assert "pool.assets[0]" in str(exc.value)
    return str(exc.value)


def check_run(r: greenabs.RunResult, lease: dict[str, Any], exact: bool = True) -> None:
    """Pool flows finite and non-negative, the balance identity holds, tranches only amortise;
    with ``exact`` (scenario 0 has no prepayment or default) the lease pays exactly its
    rentals and residual, and principal exactly its balance."""
    spec = LeaseSpec.model_validate({"id": "LS1", "type": "lease", **lease})
    f = r.pool.flows
    for name, arr in f.items():
        assert np.isfinite(arr).all(), name
        assert (arr >= 0).all(), (name, arr.min())
    bal = spec.outstanding()
    scale = max(bal, 1e-300)
    ident = f["begin_balance"] - f["scheduled_principal"] - f["prepayment"] - f["default"]
    np.testing.assert_allclose(ident, f["end_balance"], rtol=0, atol=1e-9 * scale)
    assert f["end_balance"][:, -1] == pytest.approx(0.0, abs=1e-9 * scale)
    # tranches: the waterfall's pro-rata split may round a hair below zero (far below a cent)
    hair = 1e-9 + 1e-12 * scale
    for name in ("A", "B"):
        tc = r.tranche_cashflows(name)
        assert (tc["principal_paid"] >= -hair).all()
        steps = np.diff(np.r_[tc["begin_balance"].iloc[0], tc["end_balance"]])
        assert (steps <= hair).all()
    if exact:
        _, cash = spec.schedule()
        paid = f["interest"][0] + f["scheduled_principal"][0]
        assert paid.sum() == pytest.approx(cash.sum(), rel=1e-9)
        assert f["scheduled_principal"][0].sum() == pytest.approx(bal, rel=1e-9)


def cash_by_month(r: greenabs.RunResult) -> np.ndarray:
    f = r.pool.flows
    out: np.ndarray = f["interest"][0] + f["scheduled_principal"][0]
    return out


# 1. nothing to collect --------------------------------------------------------------------


@pytest.mark.parametrize(
    "lease",
    [
        {"balance": 1e6, "rentals": [0, 0, 0]},
        {"balance": 1e6, "rentals": [0.0], "residual_value": 0},
        {"rate": 0.05, "rentals": [0, 0, 0, 0]},
    ],
)
def test_lease_with_nothing_to_collect_is_refused(lease: dict[str, Any]) -> None:
    msg = refused(lease)
    assert "rentals: every rental is 0 and there is no residual_value" in msg
    assert "needs some rental or residual value" in msg


def test_negative_rentals_are_refused_naming_the_rental() -> None:
    assert "pool.assets[0].rentals[1]" in refused({"balance": 1e3, "rentals": [600, -1, 600]})


# 2. negative amortisation: capitalised interest ---------------------------------------------


def test_zero_rentals_then_residual_capitalise_interest() -> None:
    # five months without rentals: the interest is capitalised (it earns interest) and paid
    # with the residual, so month 6 pays the balance compounded at the implicit rate
    bal, last = 1e6, 1.05e6
    r = greenabs.run(parse_deal(lease_deal({"balance": bal, "rentals": [0] * 5 + [last]})))
    f = r.pool.flows
    np.testing.assert_allclose(cash_by_month(r), [0, 0, 0, 0, 0, last], atol=1e-6)
    np.testing.assert_allclose(f["scheduled_principal"][0], [0, 0, 0, 0, 0, bal], atol=1e-6)
    assert f["interest"][0, 5] == pytest.approx(last - bal)


@pytest.mark.parametrize("mode", ["sequential", "pro_rata"])
def test_rentals_below_interest_never_pay_negative_principal(mode: str) -> None:
    # rentals of 1,000 on 1,000,000 at about 7% a year fall short of the interest (~5,800)
    lease: dict[str, Any] = {"balance": 1e6, "rentals": [1000] * 5 + [1.04e6]}
    r = greenabs.run(parse_deal(lease_deal(lease, mode=mode)))
    check_run(r, lease)
    np.testing.assert_allclose(cash_by_month(r), lease["rentals"], rtol=1e-12)
    assert (r.pool.flows["scheduled_principal"][0, :5] == 0).all()


def test_payment_holiday_mid_life_keeps_tranches_amortising() -> None:
    lease: dict[str, Any] = {"balance": 1e6, "rentals": [3e5, 3e5, 0, 0, 0, 0, 0, 0, 4.5e5]}
    for mode in ("sequential", "pro_rata"):
        r = greenabs.run(parse_deal(lease_deal(lease, mode=mode)))
        check_run(r, lease)
        np.testing.assert_allclose(cash_by_month(r), lease["rentals"], rtol=1e-12, atol=1e-6)


def test_step_up_lease_given_by_rate_matches_its_present_value() -> None:
    # the second rental is below the interest due; the balance is the PV at 10% a year
    lease: dict[str, Any] = {"rate": 0.1, "rentals": [1000, 10, 1e6]}
    r = greenabs.run(parse_deal(lease_deal(lease, mode="pro_rata")))
    check_run(r, lease)
    rm = 0.1 / 12
    pv = 1000 / (1 + rm) + 10 / (1 + rm) ** 2 + 1e6 / (1 + rm) ** 3
    assert r.pool.original_balance == pytest.approx(pv, rel=1e-12)
    np.testing.assert_allclose(cash_by_month(r), lease["rentals"], rtol=1e-12)


def test_negative_amortisation_with_prepayment_and_default_stays_non_negative() -> None:
    lease = {"balance": 1e6, "rentals": [0, 1000, 0, 2000] * 3 + [1.05e6]}
    r = greenabs.run(parse_deal(lease_deal(lease, mode="pro_rata", assumptions=STRESS)))
    check_run(r, lease, exact=False)


# 3. the implicit-rate solver ----------------------------------------------------------------


def test_balance_far_below_the_rentals_is_refused_not_overflowed() -> None:
    msg = refused({"balance": 1, "rental": 1e8, "remaining_term": 600})
    assert "balance: 1.00 is too small" in msg
    assert "implicit rate of 100% a year or more" in msg


def test_balance_above_the_rentals_is_refused_at_validation() -> None:
    msg = refused({"balance": 2e6, "rental": 1e5, "remaining_term": 12})
    assert "balance: rentals and residual_value total 1,200,000.00, less than" in msg


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("rate", "frequency", "first", "term"),
    [
        (0.0, "monthly", None, 12),
        (0.12, "monthly", None, 600),
        (0.99, "monthly", 12, 600),
        (0.95, "quarterly", 5, 600),
        (0.4, "annual", 1, 120),
        (0.07, "semiannual", 2, 60),
    ],
)
def test_solved_rate_reproduces_the_given_rate(
    rate: float, frequency: str, first: int | None, term: int
) -> None:
    # the same lease by rate and by the balance that rate implies: the solver finds the rate
    # back, so both split every rental alike into interest and principal
    by_rate = {"rate": rate, "rental": 1e4, "remaining_term": term, "frequency": frequency}
    if first is not None:
        by_rate["first_rental_month"] = first
    bal = LeaseSpec.model_validate({"id": "x", **by_rate}).outstanding()
    by_bal = {**{k: v for k, v in by_rate.items() if k != "rate"}, "balance": bal}
    r = greenabs.run(parse_deal(lease_deal(by_bal)))
    check_run(r, by_bal)
    ref = greenabs.run(parse_deal(lease_deal(by_rate))).pool.flows
    for name in ("interest", "scheduled_principal"):
        np.testing.assert_allclose(r.pool.flows[name], ref[name], rtol=1e-9, atol=1e-6)
    # the first rental pays the stub's simple interest (when it covers it)
    step = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}[frequency]
    m1 = (first or step) - 1
    expected = min(bal * rate * (m1 + 1) / 12, 1e4)
    assert r.pool.flows["interest"][0, m1] == pytest.approx(expected, rel=1e-9, abs=1e-6)


# 4. other edges ---------------------------------------------------------------------------


EDGES = {
    "residual only": {"balance": 1e6, "rentals": [0, 0], "residual_value": 1.01e6},
    "first rental beyond the term": {
        "balance": 1e6,
        "rental": 1.05e6,
        "remaining_term": 3,
        "frequency": "quarterly",
        "first_rental_month": 12,
    },
    "trailing zero rentals": {"balance": 1e6, "rentals": [6e5, 4.5e5, 0, 0]},
    "tiny balance": {"balance": 1e-6, "rentals": [1e-6]},
    "quarterly from an odd month": {
        "balance": 1e6,
        "rental": 1e5,
        "remaining_term": 36,
        "frequency": "quarterly",
        "first_rental_month": 5,
    },
    "interior zeros with residual": {
        "rate": 0.08,
        "rentals": [500, 0, 0, 500, 0, 0],
        "residual_value": 5e4,
    },
}


@pytest.mark.parametrize("name", list(EDGES))
def test_edge_leases_collect_exactly_their_cash(name: str) -> None:
    lease = EDGES[name]
    check_run(greenabs.run(parse_deal(lease_deal(lease))), lease)
    r = greenabs.run(parse_deal(lease_deal(lease, mode="pro_rata", assumptions=STRESS)))
    check_run(r, lease, exact=False)


def test_trailing_zero_rentals_end_the_lease_at_its_last_cash_flow() -> None:
    r = greenabs.run(parse_deal(lease_deal(EDGES["trailing zero rentals"])))
    assert r.pool.n_months == 2


@pytest.mark.parametrize(
    ("lease", "expected"),
    [
        ({"balance": 1e6, "rentals": [1.0] * 601}, "rentals: 601 monthly rentals cover 601 months"),
        (
            {"balance": 1e6, "rentals": [1e4] * 201, "frequency": "quarterly"},
            "more than 600",
        ),
        ({"balance": 1e6, "rental": 1e5, "remaining_term": 12, "age": 10**8}, "age"),
        ({"balance": 1e306, "rentals": [1e306] * 3}, "balance"),
        ({"balance": 1e-300, "rentals": [1e-300, 1e-300]}, "balance: 1e-300 is too small"),
    ],
)
def test_out_of_range_leases_are_refused(lease: dict[str, Any], expected: str) -> None:
    assert expected in refused(lease)


# property: any lease validates cleanly or is refused cleanly, and then runs exactly ---------


@st.composite
def leases(draw: st.DrawFn) -> dict[str, Any]:
    freq = draw(st.sampled_from(["monthly", "quarterly", "semiannual", "annual"]))
    step = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}[freq]
    lease: dict[str, Any] = {"frequency": freq}
    amount = st.one_of(
        st.just(0.0), st.floats(1e-3, 10.0), st.floats(10.0, 1e6), st.sampled_from([1e4, 5e5])
    )
    if draw(st.booleans()):
        lease["rentals"] = draw(st.lists(amount, min_size=1, max_size=24))
        total = sum(lease["rentals"])
    else:
        n = draw(st.integers(1, 40))
        lease["rental"] = draw(st.floats(1e-3, 1e6))
        lease["remaining_term"] = n * step
        total = n * lease["rental"]
    if draw(st.booleans()):
        lease["residual_value"] = draw(amount)
        total += lease["residual_value"]
    if draw(st.booleans()):
        lease["first_rental_month"] = draw(st.integers(1, 12))
    if draw(st.booleans()):
        lease["age"] = draw(st.integers(0, 60))
    if draw(st.booleans()):
        lease["rate"] = draw(st.one_of(st.just(0.0), st.floats(0.0, 0.99)))
    elif draw(st.booleans()) and total > 0:
        lease["balance"] = total * draw(st.floats(0.2, 1.0))  # mostly valid
    else:
        lease["balance"] = draw(st.floats(1e-3, 2e6))
    return lease


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lease=leases(), mode=st.sampled_from(["sequential", "pro_rata"]))
def test_any_lease_is_refused_cleanly_or_runs_exactly(lease: dict[str, Any], mode: str) -> None:
    try:
        LeaseSpec.model_validate({"id": "LS1", "type": "lease", **lease})
    except ValidationError:
        refused(lease)
        return
    deal = parse_deal(lease_deal(lease, mode=mode, assumptions=STRESS))
    # scenario 0 without prepayment or default, scenario 1 stressed
    r = greenabs.run(deal, smm_mult=[0.0, 1.0], mdr_mult=[0.0, 1.0])
    check_run(r, lease)


def test_compile_refuses_unvalidated_specs_with_a_data_error() -> None:
    # specs that skipped validation still end in a DataError naming the asset, never a NaN
    from datetime import date

    from greenabs import DataError
    from greenabs.assets.base import CompileContext
    from greenabs.assets.leases import LeaseFamily

    ctx = CompileContext(cutoff=date(2026, 3, 31))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"balance": 1.0, "rentals": (1e8,) * 600}, "100% a year or more"),
        ({"balance": 2e6, "rentals": (1e5,) * 12}, "worth less than the balance"),
    ]
    for fields, reason in cases:
        spec = LeaseSpec.model_construct(id="bad", **fields)
        good = LeaseSpec(id="ok", balance=900.0, rentals=(500.0, 500.0))
        with pytest.raises(DataError, match=f"asset bad: .*{reason}"):
            LeaseFamily.compile([good, spec], ctx)
