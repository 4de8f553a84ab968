"""Representative lines (greenabs.replines, ``--rep-lines``): what they keep exactly, what
they approximate and by how much, and their settings' errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import greenabs
from greenabs.assets.loans import LoanSpec
from greenabs.cli import app
from greenabs.errors import SpecError
from greenabs.montecarlo import monte_carlo, settings
from greenabs.replines import aggregate_loans, rep_lines
from tests.conftest import deal_dict, make_deal

runner = CliRunner()


def _loans(n: int, seed: int = 3, *, mixed: bool = True) -> list[dict[str, Any]]:
    """``n`` loans; ``mixed``: rates, terms, seasoning, amortisation and frequency vary."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        term = int(rng.choice([24, 36, 60])) if mixed else 60
        freq = str(rng.choice(["monthly", "quarterly"])) if mixed else "monthly"
        age = int(rng.integers(0, term // 2)) if mixed else 6
        if freq == "quarterly":
            age -= age % 3 if i % 2 else 0  # half of them mid-cycle
        out.append(
            {
                "id": f"L{i}",
                "type": "loan",
                "balance": float(np.round(rng.uniform(1e5, 5e6), 2)),
                "rate": float(np.round(rng.uniform(0.035, 0.06), 4)) if mixed else 0.045,
                "original_term": term,
                "age": age,
                "amortization": str(rng.choice(["level", "linear"])) if mixed else "level",
                "frequency": freq,
                "industry": str(rng.choice(["wind", "solar"])),
                "impact_mwh": 100.0 * (i + 1),
            }
        )
    return out


def _deal(loans: list[dict[str, Any]], **extra: Any) -> greenabs.DealSpec:
    total = sum(a["balance"] for a in loans)
    return make_deal(
        pool={"assets": loans},
        structure={
            "fees": [],
            "tranches": [
                {"name": "A", "balance": 0.8 * total, "coupon": {"fixed": 0.03}},
                {"name": "B", "balance": 0.12 * total, "coupon": {"fixed": 0.045}},
                {"name": "Sub", "balance": 0.08 * total, "residual": True},
            ],
            "waterfall": [
                {"pay_interest": "A"},
                {"pay_interest": "B"},
                {"pay_principal": {"tranches": ["A", "B"], "mode": "sequential"}},
                {"pay_residual": "Sub"},
            ],
        },
        **extra,
    )


def test_loans_alike_in_their_cash_flow_fields_project_exactly_as_their_line() -> None:
    """Every kernel is linear in the balance: loans sharing rate, term, seasoning,
    amortisation and frequency are one line, and the run is the same to rounding."""
    deal = _deal(_loans(40, mixed=False))
    lines = rep_lines(deal)
    assert (lines.loans, lines.lines) == (40, 1)
    base, agg = greenabs.run(deal), greenabs.run(lines.deal)
    for name in ("A", "B", "Sub"):
        a = base.tranche_cashflows(name).select_dtypes("number").to_numpy()
        b = agg.tranche_cashflows(name).select_dtypes("number").to_numpy()
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-6)


def test_lines_keep_balance_impact_and_shared_fields_exactly() -> None:
    loans = [LoanSpec.model_validate(a) for a in _loans(300)]
    lines, members = aggregate_loans(loans)
    assert sum(x.balance for x in lines) == pytest.approx(sum(x.balance for x in loans), 1e-12)
    assert sum(x.impact_mwh or 0 for x in lines) == pytest.approx(100.0 * 300 * 301 / 2)
    ids = sorted(i for m in members for i in m)
    assert ids == sorted(x.id for x in loans)
    by_id = {x.id: x for x in loans}
    for line, ids_ in zip(lines, members, strict=True):
        group = [by_id[i] for i in ids_]
        assert {(g.amortization, g.frequency, g.age % g.frequency.months) for g in group} == {
            (line.amortization, line.frequency, line.age % line.frequency.months)
        }
        industries = {g.industry for g in group}
        assert line.industry == (industries.pop() if len(industries) == 1 else None)
        assert line.obligor is None
        rates = [g.rate for g in group]
        assert min(rates) - 1e-12 <= line.rate <= max(rates) + 1e-12
    # every impact_* field is summed, whichever the asset base declares
    alike = {"rate": 0.05, "age": 0, "original_term": 24, "frequency": "monthly"}
    alike |= {"amortization": "level", "impact_tco2_sequestered": 10.0}
    one, _ = aggregate_loans(
        [LoanSpec.model_validate({**a.model_dump(), **alike}) for a in loans[:3]]
    )
    assert len(one) == 1
    impacts = [f for f in LoanSpec.model_fields if f.startswith("impact_")]
    assert "impact_tco2_sequestered" in impacts
    assert sum(x.impact_tco2_sequestered or 0 for x in one) == pytest.approx(30.0)
    # keep= makes a descriptive field part of the key: every line then has one industry
    kept, _ = aggregate_loans(loans, keep=("industry",))
    assert all(x.industry is not None for x in kept)
    assert len(kept) > len(lines)


@given(
    st.lists(
        st.tuples(
            st.floats(1.0, 1e8),
            st.sampled_from([12, 24, 36, 120]),
            st.integers(0, 11),
            st.floats(0.0, 0.2),
            st.sampled_from(["monthly", "quarterly", "semiannual"]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([0.0001, 0.0025, 0.01]),
    st.integers(1, 60),
)
def test_every_line_is_a_valid_loan_and_the_balance_is_kept(
    rows: list[tuple[float, int, int, float, str]], rate_step: float, term_step: int
) -> None:
    loans = [
        LoanSpec(
            id=f"L{i}",
            balance=b,
            original_term=t,
            age=a,
            rate=r,
            frequency=f,  # type: ignore[arg-type]
        )
        for i, (b, t, a, r, f) in enumerate(rows)
    ]
    lines, members = aggregate_loans(loans, rate_step, term_step)
    assert sum(len(m) for m in members) == len(loans)
    assert sum(x.balance for x in lines) == pytest.approx(sum(x.balance for x in loans), 1e-12)
    for x in lines:  # validated again: terms are whole periods, age below term
        LoanSpec.model_validate(x.model_dump())


def test_bucketed_lines_approximate_the_run_within_the_measured_error() -> None:
    """Mixed rates within 25bp and terms within a year: each class's WAL within 0.05 years
    and its yield within 1bp of the loan-level run (benchmarks/bench_replines.py measures the
    same on 20,000 loans: at most 0.03 years on the rated classes)."""
    deal = _deal(_loans(600))
    lines = rep_lines(deal)
    assert lines.lines < 600 / 2
    base, agg = greenabs.run(deal).tranches(), greenabs.run(lines.deal).tranches()
    np.testing.assert_allclose(agg["wal"], base["wal"], atol=0.05)
    rated = base["name"] != "Sub"
    np.testing.assert_allclose(agg["yield"][rated], base["yield"][rated], atol=1e-4)


def test_monte_carlo_on_lines_is_close_to_the_loans_on_the_same_scenarios() -> None:
    deal = _deal(_loans(400), assumptions={"default": {"cdr": 0.08}})
    large = settings(deal, scenarios=200, seed=5, default_model={"large_pool": True})
    lined = settings(deal, scenarios=200, seed=5, default_model={"large_pool": True}, rep_lines={})
    a, b = monte_carlo(deal, large, backend="numpy"), monte_carlo(deal, lined, backend="numpy")
    assert b.compiled is not None
    assert b.compiled.pool.n_assets < 400
    assert b.deal is deal  # the result is the deal's, simulated on its lines
    pa, pb = a.pool_summary(), b.pool_summary()
    assert pb["expected_loss"] == pytest.approx(pa["expected_loss"], rel=0.01)
    diff = np.abs(a.tranches["principal_loss"] - b.tranches["principal_loss"])
    assert diff.max() / deal.pool.balance < 5e-3


def test_rep_lines_need_the_large_pool_model() -> None:
    deal = _deal(_loans(10))
    with pytest.raises(SpecError, match=r"simulation\.rep_lines.*large_pool"):
        settings(deal, rep_lines={})
    with pytest.raises(SpecError, match=r"rate_step"):
        settings(deal, default_model={"large_pool": True}, rep_lines={"rate_step": 0})
    with pytest.raises(SpecError, match="term_step"):
        aggregate_loans([], term_step=0)


def test_cli_rep_lines() -> None:
    deal_file = "examples/green_loans_2026_1.yaml"
    res = runner.invoke(app, ["rate", deal_file, "--rep-lines", "--scenarios", "100", "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["rate", deal_file, "--rep-lines", "--scenarios", "100"])
    assert res.exit_code == 0, res.output
    assert "representative lines" in res.output
    res = runner.invoke(app, ["rate", deal_file, "--rep-lines", "--loan-level", "-q"])
    assert res.exit_code == 1
    assert "--rep-lines: needs default_model.large_pool" in str(res.exception)
    # a deal whose model has group factors: the error says what the lines need
    res = runner.invoke(app, ["rate", "examples/ib_green_2014.yaml", "--rep-lines", "-q"])
    assert res.exit_code == 1
    assert "--rep-lines: representative lines need the large-pool model" in str(res.exception)


@pytest.mark.parametrize(
    "value",
    [
        {"rate_step": float("nan")},
        {"rate_step": float("inf")},
        {"rate_step": "wide"},
        {"rate_step": 0.06},
        {"term_step": 0},
        {"term_step": 121},
        {"term_step": 1.5},
        {"term_step": "year"},
        {"buckets": 3},
        "yes",
    ],
)
def test_rep_lines_settings_refuse_bad_values_by_name(value: object) -> None:
    """With the large-pool model on, a bad rep_lines setting is refused naming it, from
    Python and from a deal file alike."""
    deal = _deal(_loans(5))
    with pytest.raises(SpecError, match=r"simulation\.rep_lines"):
        settings(deal, default_model={"large_pool": True}, rep_lines=value)
    d = deal_dict(pool={"assets": _loans(5)})
    d["simulation"] = {"default_model": {"large_pool": True}, "rep_lines": value}
    with pytest.raises(SpecError, match=r"simulation\.rep_lines"):
        greenabs.parse_deal(d)
