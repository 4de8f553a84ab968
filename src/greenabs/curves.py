"""Prepayment and default curve conventions (SIFMA/BMA Uniform Practices, Standard Formulas).

Rates are decimals.  Speeds are in percent (100 = 100% PSA / 100% SDA).  Ages are loan ages in
months: the curve is read at the age the loan has in the month being projected, so a seasoned
loan starts further along the ramp.

Source: SIFMA Uniform Practices Chapter SF, "Standard Formulas for the Analysis of
Mortgage-Backed Securities and Other Related Securities" (02/01/99), sections B.2 and C.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import numpy.typing as npt

__all__ = ["cdr_to_mdr", "cpr_to_smm", "mdr_to_cdr", "psa_cpr", "sda_cdr", "smm_to_cpr"]

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | npt.ArrayLike


@overload
def cpr_to_smm(cpr: float) -> float: ...
@overload
def cpr_to_smm(cpr: FloatArray) -> FloatArray: ...
def cpr_to_smm(cpr: float | FloatArray) -> float | FloatArray:
    """Annual conditional rate to its monthly equivalent: ``1 - (1 - cpr) ** (1/12)``."""
    out = 1.0 - np.power(1.0 - np.asarray(cpr, dtype=np.float64), 1.0 / 12.0)
    return float(out) if np.ndim(out) == 0 else out


@overload
def smm_to_cpr(smm: float) -> float: ...
@overload
def smm_to_cpr(smm: FloatArray) -> FloatArray: ...
def smm_to_cpr(smm: float | FloatArray) -> float | FloatArray:
    """Monthly rate to its annual equivalent: ``1 - (1 - smm) ** 12``."""
    out = 1.0 - np.power(1.0 - np.asarray(smm, dtype=np.float64), 12.0)
    return float(out) if np.ndim(out) == 0 else out


cdr_to_mdr = cpr_to_smm
"""CDR (annual default rate) to MDR (monthly): the same conversion as CPR to SMM."""
mdr_to_cdr = smm_to_cpr
"""MDR to CDR: the same conversion as SMM to CPR."""


@overload
def psa_cpr(age_months: float, speed: float = 100.0) -> float: ...
@overload
def psa_cpr(age_months: FloatArray, speed: float = 100.0) -> FloatArray: ...
def psa_cpr(age_months: float | FloatArray, speed: float = 100.0) -> float | FloatArray:
    """CPR of the PSA benchmark at a loan age: ``speed/100 * 6% * min(age, 30) / 30``.

    100% PSA is 0.2% CPR in month 1, rising by 0.2% a month to 6% at month 30 and flat after.
    Age 0 (or less) gives 0.
    """
    age = np.clip(np.asarray(age_months, dtype=np.float64), 0.0, 30.0)
    out = speed / 100.0 * 0.06 * age / 30.0
    return float(out) if np.ndim(out) == 0 else out


@overload
def sda_cdr(age_months: float, speed: float = 100.0, term_months: int | None = None) -> float: ...
@overload
def sda_cdr(
    age_months: FloatArray, speed: float = 100.0, term_months: int | None = None
) -> FloatArray: ...
def sda_cdr(
    age_months: float | FloatArray, speed: float = 100.0, term_months: int | None = None
) -> float | FloatArray:
    """CDR of the SDA benchmark at a loan age.

    100% SDA: 0.02% x age for ages 1-30 (0.6% at 30), 0.6% for 31-60, falling by 0.0095% a
    month over 61-120 to 0.03%, and 0.03% after.  With ``term_months`` the tail rule applies:
    no new defaults in the final 12 months (months to liquidation) of the term, so a 360-month
    pool has CDR 0 from month 349.
    """
    age = np.asarray(age_months, dtype=np.float64)
    base = np.where(
        age <= 30.0,
        0.0002 * age,
        np.where(
            age <= 60.0,
            0.006,
            np.where(age <= 120.0, 0.006 - 0.000095 * (age - 60.0), 0.0003),
        ),
    )
    base = np.where(age <= 0.0, 0.0, base)
    if term_months is not None:
        base = np.where(age > term_months - 12, 0.0, base)
    out = speed / 100.0 * base
    return float(out) if np.ndim(out) == 0 else out
