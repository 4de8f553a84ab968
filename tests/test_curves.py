"""Prepayment and default curves against the SIFMA/BMA Standard Formulas.

Reference values: SIFMA Uniform Practices, Chapter SF "Standard Formulas for the Analysis of
Mortgage-Backed Securities and Other Related Securities" (02/01/99), as tabulated in the
project's shared reference (regulation.md section 5.2: SF-12 and the 100% PSA / 100% SDA
monthly rates).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenabs.curves import cdr_to_mdr, cpr_to_smm, psa_cpr, sda_cdr, smm_to_cpr


@pytest.mark.parametrize(
    ("age", "smm"),
    [(1, 0.000166820), (15, 0.002535049), (30, 0.005143013), (200, 0.005143013)],
)
def test_psa_100_monthly_rates(age: int, smm: float) -> None:
    # 100% PSA: 0.2% CPR in month 1 rising to 6% at month 30 (SF B.2)
    assert cpr_to_smm(psa_cpr(age, 100)) == pytest.approx(smm, abs=5e-10)


@pytest.mark.parametrize(
    ("age", "mdr"),
    [
        (1, 0.00001667),
        (29, 0.00048462),
        (30, 0.00050138),
        (45, 0.00050138),
        (60, 0.00050138),
        (61, 0.00049342),
        (90, 0.00026288),
        (120, 0.000025),
        (200, 0.000025),
    ],
)
def test_sda_100_monthly_rates(age: int, mdr: float) -> None:
    # 100% SDA (SF C): 0.02% x age to 0.6% at 30, flat to 60, down 0.0095%/month to 0.03% at 120
    assert cdr_to_mdr(sda_cdr(age, 100)) == pytest.approx(mdr, abs=5e-9)


def test_sda_tail_rule_360_month_pool() -> None:
    # No new defaults in the final 12 months: zero from month 349 of a 360-month pool (SF C)
    assert sda_cdr(348, 100, term_months=360) > 0
    assert sda_cdr(349, 100, term_months=360) == 0.0
    assert sda_cdr(360, 100, term_months=360) == 0.0


def test_sf12_smm_to_cpr() -> None:
    # SF-12: a six-month average SMM of 0.271142% is a CPR of 3.2056%
    assert smm_to_cpr(0.00271142) == pytest.approx(0.032056, abs=5e-7)


def test_sf7_smm_from_factors() -> None:
    # SF-7 (GNMA 9%, month 17): F_sched = F1 * bal2/bal1; SMM = (F_sched - F2) / F_sched = 0.435270%
    f1, f2, bal1, bal2 = 0.85150625, 0.84732282, 0.99213300, 0.99157471
    f_sched = f1 * bal2 / bal1
    assert f_sched == pytest.approx(0.85102709, abs=5e-9)
    smm = (f_sched - f2) / f_sched
    # published to six decimals of a percent (0.435270%); the SF tables truncate
    assert smm == pytest.approx(0.00435270, abs=1e-8)
    assert cpr_to_smm(smm_to_cpr(smm)) == pytest.approx(smm, rel=1e-12)


def test_psa_speed_scales_linearly() -> None:
    ages = np.arange(0, 61, dtype=float)
    np.testing.assert_allclose(psa_cpr(ages, 150), 1.5 * psa_cpr(ages, 100), rtol=1e-15)
    assert psa_cpr(0, 100) == 0.0


@given(st.floats(min_value=0.0, max_value=0.999999))
def test_cpr_smm_round_trip(cpr: float) -> None:
    assert smm_to_cpr(cpr_to_smm(cpr)) == pytest.approx(cpr, abs=1e-12)
    assert 0.0 <= cpr_to_smm(cpr) <= cpr + 1e-15
