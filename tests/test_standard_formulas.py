"""The Standard Formulas' worked cash flows, out of the engine to the dollar.

Source: The Bond Market Association, Uniform Practices/Standard Formulas, chapter SF
(02/01/99), section C.3 (SF-17 to SF-19) and the numerical examples "Standard Default
Methodology - Cash Flow A" (SF-23 to SF-30: SMM 1%, MDR 1%) and "Cash Flow B" (SF-31 to SF-38:
150% PSA, 100% SDA): $100,000,000 of new 8% 30-year level-pay loans, 12 months to liquidation,
20% loss severity, principal and interest advanced.  The published cells (whole dollars) are
in ``tests/data/sf_cashflows.json`` with their pages; ``tests/data/sf_reference_recompute.py``
is an independent recomputation of both tables.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from greenabs.assets import LoanSpec
from greenabs.collateral import PoolCashflows, project_pool
from greenabs.curves import cdr_to_mdr
from greenabs.spec.deal import AssumptionsSpec

REFERENCE = json.loads((Path(__file__).parent / "data" / "sf_cashflows.json").read_text())
CUTOFF = date(2000, 1, 1)
LOAN = LoanSpec(id="pool", balance=100_000_000.0, rate=0.08, original_term=360)


def _assumptions(case: str, timing: str = "beginning_of_month") -> AssumptionsSpec:
    if case == "A":
        # SMM 1% and MDR 1% every month; no new defaults in the last 12 months (SF-19 note j)
        cdr = 1.0 - 0.99**12
        assert cdr_to_mdr(cdr) == pytest.approx(0.01, abs=1e-15)
        return AssumptionsSpec.model_validate(
            {
                "prepayment": {"cpr": cdr},
                "default": {"vector": [cdr] * 348 + [0.0] * 12},
                "recovery": {"rate": 0.8, "lag_months": 12},
                "prepayment_timing": timing,
            }
        )
    return AssumptionsSpec.model_validate(
        {
            "prepayment": {"psa": 150},
            "default": {"sda": 100},
            "recovery": {"rate": 0.8, "lag_months": 12},
            "prepayment_timing": timing,
        }
    )


def _columns(pool: PoolCashflows) -> dict[str, np.ndarray]:
    f = {k: np.concatenate([[np.nan], v[0]]) for k, v in pool.flows.items()}  # month 0 row
    return {
        "performing_balance": np.concatenate([[LOAN.balance], pool.flows["end_balance"][0]]),
        "new_defaults": f["default"],
        "voluntary_prepayments": f["prepayment"],
        "actual_amortization": f["scheduled_principal"],
        "amort_from_defaults": f["advanced_principal"],
        "expected_amortization": f["scheduled_principal"] + f["advanced_principal"],
        "actual_interest": f["interest"],
        "interest_lost": f["advanced_interest"],
        "expected_interest": f["interest"] + f["advanced_interest"],
        "principal_recovery": f["recovery"],
        "principal_loss": f["loss"],
        "amortized_default_balance": f["recovery"] + f["loss"],
    }


def _run(case: str, backend: str = "numpy", **kw: Any) -> PoolCashflows:
    return project_pool(
        [LOAN],
        _assumptions(case, **kw),
        CUTOFF,
        backend=backend,
        advancing="principal_and_interest",
    )


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("case", ["A", "B"])
def test_published_cash_flows_to_the_dollar(case: str, backend: str) -> None:
    cols = _columns(_run(case, backend))
    checked = 0
    for cell in REFERENCE[case]["cells"]:
        if cell["column"] not in cols:
            continue  # factors, rates and the foreclosure balance are not engine outputs
        got = cols[cell["column"]][cell["month"]]
        assert abs(got - cell["value"]) <= 0.5 + 1e-6, (cell, got)
        checked += 1
    assert checked > 500
    for column, total in REFERENCE[case]["totals"].items():
        if column in cols:
            assert abs(np.nansum(cols[column][1:]) - total) <= 0.5 + 1e-6, (column, total)


def test_pinned_cells_of_cash_flow_a() -> None:
    """A few cells of SF-23 and SF-24, written out."""
    cols = _columns(_run("A"))
    assert round(cols["performing_balance"][1]) == 97_934_244
    assert round(cols["voluntary_prepayments"][1]) == 999_329  # 1% of the balance x AF(1)
    assert round(cols["amort_from_defaults"][1]) == 671
    assert round(cols["amortized_default_balance"][13]) == 991_646
    assert round(cols["principal_loss"][13]) == 200_000  # 20% of the month-1 defaults


def test_defaults_first_is_a_different_documented_option() -> None:
    bom = _run("A")
    after = _run("A", timing="after_defaults")
    # month 1: prepayment on the balance after defaults is 1% smaller
    assert after.flows["prepayment"][0, 0] == pytest.approx(
        bom.flows["prepayment"][0, 0] * 0.99, rel=1e-12
    )


def test_advancing_conserves_principal() -> None:
    """Scheduled + prepaid + advanced principal + recovery + loss + ending balance = start."""
    for case in ("A", "B"):
        f = _run(case).flows
        out = sum(
            f[k][0].sum()
            for k in ("scheduled_principal", "prepayment", "advanced_principal", "recovery", "loss")
        )
        assert out + f["end_balance"][0, -1] == pytest.approx(LOAN.balance, abs=1e-4)
