"""Collateral projection: amortisation types, curves by age, recoveries, families, backends."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from greenabs.assets import LeaseSpec, LoanSpec, ProjectedSpec, ReceivableSpec
from greenabs.assets.backends import available_backends
from greenabs.collateral import project_pool
from greenabs.spec.deal import AssumptionsSpec

CUTOFF = date(2026, 3, 31)
QUARTERLY_LEASE = LeaseSpec(
    id="lease", rate=0.06, rental=500, remaining_term=24, residual_value=2000, frequency="quarterly"
)
NONE = AssumptionsSpec()


def loan(**kw: Any) -> LoanSpec:
    base: dict[str, Any] = {"id": "L", "balance": 100_000.0, "rate": 0.06, "original_term": 360}
    return LoanSpec(**{**base, **kw})


def assume(**kw: Any) -> AssumptionsSpec:
    return AssumptionsSpec.model_validate(kw)


def assert_backend_matches_numpy(
    backend: str, assets: list[Any], a: AssumptionsSpec, mult: np.ndarray
) -> None:
    """Project with ``backend`` and with NumPy, pool and loan level, and compare every field."""
    ref = project_pool(
        assets, a, CUTOFF, smm_mult=mult, mdr_mult=mult[::-1].copy(), loan_level=True
    )
    got = project_pool(
        assets,
        a,
        CUTOFF,
        smm_mult=mult,
        mdr_mult=mult[::-1].copy(),
        loan_level=True,
        backend=backend,
    )
    assert ref.loan_level is not None
    assert got.loan_level is not None
    for k in ref.flows:
        np.testing.assert_allclose(got.flows[k], ref.flows[k], rtol=1e-10, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(
            got.loan_level[k], ref.loan_level[k], rtol=1e-10, atol=1e-6, err_msg=k
        )


def random_loans(seed: int, n: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    return [
        loan(
            id=f"L{i}",
            balance=float(rng.uniform(1e4, 1e6)),
            rate=float(rng.uniform(0.02, 0.09)),
            original_term=int(rng.choice([12, 36, 60, 120])),
            age=int(rng.integers(0, 11)),
            amortization=str(rng.choice(["level", "linear", "interest_only", "bullet"])),
            frequency=str(rng.choice(["monthly", "quarterly"])) if i % 5 else "monthly",
        )
        for i in range(n)
    ]


def test_level_pay_mortgage_textbook() -> None:
    # 30-year 6% level-pay mortgage of 100,000: monthly payment 599.55, first month interest
    # 500.00 and principal 99.55 (standard amortisation-table example)
    flows = project_pool([loan()], NONE, CUTOFF).flows
    payment = flows["interest"][0] + flows["scheduled_principal"][0]
    np.testing.assert_allclose(payment[:360], 599.5505, atol=5e-5)
    assert flows["interest"][0, 0] == pytest.approx(500.0, abs=1e-9)
    assert flows["scheduled_principal"][0, 0] == pytest.approx(99.5505, abs=5e-5)
    assert flows["end_balance"][0, -1] == pytest.approx(0.0, abs=1e-6)
    assert flows["scheduled_principal"][0].sum() == pytest.approx(100_000.0, abs=1e-6)


def test_fabozzi_100_psa_pass_through() -> None:
    # Fabozzi, "Bond Markets, Analysis and Strategies", exhibit "Monthly cash flow for a $400
    # million pass-through with a 7.5% pass-through rate, a WAC of 8.125% and a WAM of 357
    # months assuming 100 PSA" (figures rounded to dollars in the book):
    #   month 1: SMM 0.00067, scheduled principal 267,535, prepayment 267,470, mortgage
    #            payment 2,975,868, net interest 2,500,000
    #   month 2: scheduled principal 269,166, prepayment 334,198, net interest 2,496,656
    pool = project_pool(
        [loan(balance=400e6, rate=0.08125, age=3)], assume(prepayment={"psa": 100}), CUTOFF
    )
    f = pool.flows
    assert f["interest"][0, 0] + f["scheduled_principal"][0, 0] == pytest.approx(2_975_868, abs=1)
    assert f["scheduled_principal"][0, 0] == pytest.approx(267_535, abs=1)
    assert f["prepayment"][0, 0] == pytest.approx(267_470, abs=1)
    net = f["begin_balance"][0, :2] * 0.075 / 12  # interest net of the 0.625% servicing strip
    assert net[0] == pytest.approx(2_500_000, abs=1)
    assert net[1] == pytest.approx(2_496_656, abs=1)
    assert f["scheduled_principal"][0, 1] == pytest.approx(269_166, abs=1)
    assert f["prepayment"][0, 1] == pytest.approx(334_198, abs=1)


def test_linear_interest_only_and_bullet() -> None:
    assets = [
        loan(id="lin", amortization="linear", original_term=12),
        loan(id="io", amortization="interest_only", original_term=12),
        loan(id="bul", amortization="bullet", original_term=12),
    ]
    pool = project_pool(assets, NONE, CUTOFF, loan_level=True)
    lvl = pool.loan_level
    assert lvl is not None
    np.testing.assert_allclose(lvl["scheduled_principal"][0, :12], 100_000 / 12)
    np.testing.assert_allclose(lvl["interest"][1, :12], 500.0)
    assert lvl["scheduled_principal"][1, 11] == pytest.approx(100_000)
    # bullet: one payment of principal and simple interest for the life
    assert np.count_nonzero(lvl["interest"][2]) == 1
    assert lvl["interest"][2, 11] == pytest.approx(100_000 * 0.06)
    assert lvl["scheduled_principal"][2, 11] == pytest.approx(100_000)


def test_quarterly_loan_pays_every_third_month_of_its_age() -> None:
    pool = project_pool(
        [loan(original_term=24, age=2, frequency="quarterly", amortization="linear")], NONE, CUTOFF
    )
    paid = np.nonzero(pool.flows["interest"][0])[0]
    np.testing.assert_array_equal(paid[:3], [0, 3, 6])  # ages 3, 6, 9
    # a quarter's interest (two months of it accrued before the cut-off): balance x rate / 4
    assert pool.flows["interest"][0, 0] == pytest.approx(100_000 * 0.06 / 4)
    assert pool.flows["scheduled_principal"][0, 0] == pytest.approx(100_000 / 8)


def test_seasoned_loan_reads_psa_at_its_age() -> None:
    new = project_pool([loan(age=0)], assume(prepayment={"psa": 100}), CUTOFF).flows
    old = project_pool([loan(age=40)], assume(prepayment={"psa": 100}), CUTOFF).flows
    smm_new = new["prepayment"][0, 0] / (
        new["begin_balance"][0, 0] - new["scheduled_principal"][0, 0]
    )
    smm_old = old["prepayment"][0, 0] / (
        old["begin_balance"][0, 0] - old["scheduled_principal"][0, 0]
    )
    assert smm_new == pytest.approx(0.000166820, abs=1e-9)
    assert smm_old == pytest.approx(0.005143013, abs=1e-9)


def test_defaults_recoveries_and_losses() -> None:
    pool = project_pool(
        [loan(original_term=60)],
        assume(default={"cdr": 0.05}, recovery={"rate": 0.3, "lag_months": 6}),
        CUTOFF,
    )
    f = pool.flows
    assert pool.n_months == 60 + 6
    np.testing.assert_allclose(f["recovery"][0, 6:], 0.3 * f["default"][0, :60])
    np.testing.assert_allclose(f["loss"][0, 6:], 0.7 * f["default"][0, :60])
    assert f["recovery"][0, :6].sum() == 0.0
    # balance identity every month
    drop = f["scheduled_principal"] + f["prepayment"] + f["default"]
    np.testing.assert_allclose(f["begin_balance"] - drop, f["end_balance"], atol=1e-6)


def test_floating_loan_follows_index_with_resets() -> None:
    path = [0.03] * 5 + [0.05] * 31
    a = loan(
        rate=None,
        index="LPR1Y",
        margin=0.01,
        original_term=24,
        reset_months=12,
        age=6,
        amortization="interest_only",
    )
    b = a.model_copy(update={"id": "M", "reset_months": None})
    pool = project_pool([a, b], assume(rates={"LPR1Y": path}), CUTOFF, loan_level=True)
    lvl = pool.loan_level
    assert lvl is not None
    rate_a = lvl["interest"][0, :18] / 100_000 * 12
    rate_b = lvl["interest"][1, :18] / 100_000 * 12
    # monthly reset follows the path at once; a 12-month reset waits for age 12 (month 6)
    np.testing.assert_allclose(rate_b[:5], 0.04)
    np.testing.assert_allclose(rate_b[5:], 0.06)
    np.testing.assert_allclose(rate_a[5:17], 0.06)  # reset at age 12 = projection month 6
    np.testing.assert_allclose(rate_a[:5], 0.04)


def test_lease_implicit_rate_and_residual() -> None:
    # 12 monthly rentals of 1,000 at 12% a year: PV = 1000 * (1 - 1.01**-12) / 0.01
    pv = 1000 * (1 - 1.01**-12) / 0.01
    by_rate = LeaseSpec(id="a", rate=0.12, rental=1000, remaining_term=12)
    by_bal = LeaseSpec(id="b", balance=pv, rental=1000, remaining_term=12)
    pool = project_pool([by_rate, by_bal], NONE, CUTOFF, loan_level=True)
    lvl = pool.loan_level
    assert lvl is not None
    assert lvl["begin_balance"][0, 0] == pytest.approx(pv, abs=1e-6)
    np.testing.assert_allclose(lvl["interest"][1] + lvl["scheduled_principal"][1], 1000, atol=1e-6)
    # residual value is paid with the last rental
    res = LeaseSpec(
        id="c", rate=0.06, rental=500, remaining_term=12, residual_value=5000, frequency="quarterly"
    )
    f = project_pool([res], NONE, CUTOFF).flows
    cash = f["interest"][0] + f["scheduled_principal"][0]
    np.testing.assert_allclose(cash[[2, 5, 8]], 500, atol=1e-6)
    assert cash[11] == pytest.approx(5500, abs=1e-6)


def test_lease_needs_balance_or_rate() -> None:
    with pytest.raises(ValueError, match="exactly one of balance"):
        LeaseSpec(id="x", rental=10, remaining_term=12)


def test_receivable_collected_after_lag_and_delay() -> None:
    r = ReceivableSpec(id="s", balance=1e6, due_date=date(2026, 12, 31), collection_lag_months=6)
    base = project_pool([r], NONE, CUTOFF).flows["scheduled_principal"][0]
    assert np.nonzero(base)[0].tolist() == [9 + 6 - 1]
    late = project_pool([r], assume(receivable={"delay_months": 24}), CUTOFF).flows
    assert np.nonzero(late["scheduled_principal"][0])[0].tolist() == [9 + 6 + 24 - 1]
    assert late["interest"].sum() == 0.0
    # receivables do not prepay
    fast = project_pool([r], assume(prepayment={"cpr": 0.5}), CUTOFF).flows
    assert fast["prepayment"].sum() == 0.0


def test_projected_vector_is_reproduced() -> None:
    p = ProjectedSpec(
        id="p",
        cashflows=[
            {"date": "2026-04-30", "principal": 100, "interest": 10},
            {"date": "2026-06-30", "principal": 200, "interest": 8},
            {"date": "2026-09-30", "principal": 700, "interest": 5},
        ],
    )
    f = project_pool([p], NONE, CUTOFF).flows
    np.testing.assert_allclose(f["scheduled_principal"][0], [100, 0, 200, 0, 0, 700])
    np.testing.assert_allclose(f["interest"][0], [10, 0, 8, 0, 0, 5])


def test_projected_vector_rejects_interest_without_balance() -> None:
    with pytest.raises(ValueError, match="after the principal is repaid"):
        ProjectedSpec(
            id="p",
            cashflows=[
                {"date": "2026-04-30", "principal": 100},
                {"date": "2026-05-31", "interest": 3},
            ],
        )


def test_loan_level_sums_to_pool() -> None:
    assets = [
        loan(id=f"L{i}", balance=1000.0 * (i + 1), original_term=24 + 12 * i, age=i)
        for i in range(5)
    ]
    pool = project_pool(
        assets,
        assume(
            prepayment={"cpr": 0.1}, default={"sda": 200}, recovery={"rate": 0.5, "lag_months": 3}
        ),
        CUTOFF,
        loan_level=True,
    )
    assert pool.loan_level is not None
    for k, v in pool.flows.items():
        np.testing.assert_allclose(pool.loan_level[k].sum(axis=0), v[0], atol=1e-8, err_msg=k)
    frame = pool.loan_level_frame()
    assert len(frame) == 5 * pool.n_months
    assert set(frame["asset_id"]) == {f"L{i}" for i in range(5)}


def test_scenario_axis_multipliers() -> None:
    pool = project_pool(
        [loan()],
        assume(prepayment={"cpr": 0.1}),
        CUTOFF,
        smm_mult=np.array([0.0, 1.0, 2.0]),
        mdr_mult=np.ones(3),
    )
    pre = pool.flows["prepayment"].sum(axis=1)
    assert pre[0] == 0.0
    assert pre[0] < pre[1] < pre[2]


@pytest.mark.skipif("numba" not in available_backends(), reason="numba not installed")
def test_numba_backend_matches_numpy() -> None:
    a = assume(
        prepayment={"psa": 150}, default={"sda": 300}, recovery={"rate": 0.4, "lag_months": 4}
    )
    assert_backend_matches_numpy("numba", random_loans(7, 300), a, np.array([1.0, 2.0, 3.0]))


def test_delinquency_without_cure_is_a_delayed_default() -> None:
    # An interest-only loan: every month 1 - (1 - 12%)^(1/12) of the performing balance goes
    # delinquent; with no cure it defaults exactly lag_months later.
    a = assume(delinquency={"rate": 0.12, "lag_months": 3, "cure_rate": 0.0})
    f = project_pool([loan(original_term=24, amortization="interest_only")], a, CUTOFF).flows
    mdq = 1 - (1 - 0.12) ** (1 / 12)
    perf = 100_000 * (1 - mdq) ** np.arange(1, 25)  # performing balance after each month
    entered = np.concatenate([[100_000 * mdq], perf[:-1] * mdq])
    np.testing.assert_allclose(f["default"][0, 3:23], entered[:20], rtol=1e-12)
    assert f["default"][0, :3].sum() == 0.0
    # delinquent balance pays nothing: interest only on the performing part
    np.testing.assert_allclose(f["interest"][0, :23], perf[:23] * 0.005, rtol=1e-12)
    drop = f["scheduled_principal"] + f["prepayment"] + f["default"]
    np.testing.assert_allclose(f["begin_balance"] - drop, f["end_balance"], atol=1e-6)


def test_delinquency_fully_cured_loses_nothing() -> None:
    a = assume(delinquency={"rate": 0.3, "lag_months": 2, "cure_rate": 1.0})
    f = project_pool([loan(original_term=60)], a, CUTOFF).flows
    assert f["default"].sum() == 0.0
    assert f["delinquent"].max() > 0
    total = f["scheduled_principal"].sum() + f["prepayment"].sum()
    assert total == pytest.approx(100_000, abs=1e-6)


@pytest.mark.skipif("numba" not in available_backends(), reason="numba not installed")
def test_numba_matches_numpy_with_delinquency() -> None:
    assets: list[Any] = [loan(id=f"L{i}", original_term=36 + 12 * i, age=i) for i in range(6)]
    assets.append(QUARTERLY_LEASE)
    a = assume(
        prepayment={"cpr": 0.1},
        default={"cdr": 0.02},
        delinquency={"rate": 0.1, "lag_months": 4, "cure_rate": 0.5},
        recovery={"rate": 0.5, "lag_months": 2},
    )
    assert_backend_matches_numpy("numba", assets, a, np.array([1.0, 2.0]))


@pytest.mark.skipif("cupy" not in available_backends(), reason="needs CuPy and a CUDA device")
def test_cupy_backend_matches_numpy() -> None:  # pragma: no cover - runs where a GPU is
    assets: list[Any] = random_loans(11, 300)
    assets.append(QUARTERLY_LEASE)
    a = assume(
        prepayment={"psa": 150},
        default={"sda": 300},
        recovery={"rate": 0.4, "lag_months": 4},
        delinquency={"rate": 0.1, "lag_months": 3, "cure_rate": 0.4},
    )
    assert_backend_matches_numpy("cupy", assets, a, np.array([1.0, 2.0, 0.5]))
