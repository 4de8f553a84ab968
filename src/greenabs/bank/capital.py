"""Securitisation capital under the Basel III framework (BCBS d374; Basel Framework CRE40-CRE44).

Public functions return the risk weight as a decimal (9.5384 = 953.84%):

* :func:`sec_sa_risk_weight` (CRE41, SEC-SA): the supervisory formula on
  ``K_A = (1 - W) K_SA + 0.5 W`` with ``p = 1`` (0.5 for STC, 1.5 for resecuritisations);
  floors 15% (STC: 10% senior, 15% non-senior; resecuritisation 100%).
* :func:`sec_erba_risk_weight` (CRE42, SEC-ERBA): the rating table, interpolated in maturity
  between 1 and 5 years, non-senior tranches scaled by ``1 - min(T, 0.5)``; floor 15%
  (STC senior 10%).  Short-term ratings A-1/P-1 15%, A-2/P-2 50%, A-3/P-3 100% (STC 10/30/60%).
* :func:`sec_irba_risk_weight` (CRE44, SEC-IRBA): the same formula on ``K_IRB`` with
  ``p = max(0.3, A + B/N + C K_IRB + D LGD + E M_T)`` from the supervisory table (halved
  inside the max for STC); floor 15% (STC senior 10%).

:func:`position_risk_weights` applies the hierarchy of approaches (SEC-IRBA, then SEC-ERBA,
then SEC-SA, else 1250%) to an originator's retained positions, with the senior look-through
cap and the maximum capital requirement ``P x K_P`` (CRE40); :func:`effective_number` gives
SEC-IRBA's ``N`` with one obligor's exposures consolidated.  Rating tables ship in
``greenabs/data`` with their source.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from greenabs.errors import Problem, SpecError

__all__ = [
    "RW_MAX",
    "PositionCapital",
    "effective_number",
    "erba_ratings",
    "largest_share_held",
    "position_risk_weights",
    "sec_erba_risk_weight",
    "sec_irba_risk_weight",
    "sec_sa_risk_weight",
    "ssfa_capital",
]

RW_MAX = 12.5
"""1250%: the risk weight of a position that takes the first loss beyond the pool's capital."""

_SHORT_TERM = {"A-1": 0, "P-1": 0, "A-2": 1, "P-2": 1, "A-3": 2, "P-3": 2}
_SHORT_RW = (0.15, 0.50, 1.00)
_SHORT_RW_STC = (0.10, 0.30, 0.60)

# CRE44 supervisory parameters (A, B, C, D, E) for p; C is negative in CRE44.
_IRBA_P = {
    ("wholesale", True, True): (0.0, 3.56, -1.85, 0.55, 0.07),
    ("wholesale", True, False): (0.11, 2.61, -2.91, 0.68, 0.07),
    ("wholesale", False, True): (0.16, 2.87, -1.03, 0.21, 0.07),
    ("wholesale", False, False): (0.22, 2.35, -2.46, 0.48, 0.07),
    ("retail", True, True): (0.0, 0.0, -7.48, 0.71, 0.24),
    ("retail", False, True): (0.0, 0.0, -5.78, 0.55, 0.27),
}


def _arg_error(field: str, reason: str) -> SpecError:
    return SpecError(f"argument {field}", Problem("", reason))


def _check_finite(**values: float | None) -> None:
    """Every numeric argument is a finite number (NaN would slip through range checks)."""
    for name, v in values.items():
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise _arg_error(name, f"must be a finite number (got {v!r})")


def _check_points(attachment: float, detachment: float) -> None:
    _check_finite(attachment=attachment, detachment=detachment)
    if not (0.0 <= attachment <= 1.0 and 0.0 <= detachment <= 1.0):
        raise _arg_error("attachment/detachment", "must lie between 0 and 1")
    if attachment >= detachment:
        raise _arg_error(
            "attachment", f"attachment ({attachment}) must be below detachment ({detachment})"
        )


def ssfa_capital(k: float, attachment: float, detachment: float, p: float) -> float:
    """Capital per unit of exposure of a tranche under the supervisory formula (before 12.5x).

    ``K_SSFA = (e^{a u} - e^{a l}) / (a (u - l))`` with ``a = -1/(p K)``, ``u = D - K``,
    ``l = max(A - K, 0)``; a tranche straddling ``K`` blends 100% with ``K_SSFA`` on its part
    above ``K``; one below ``K`` holds 100%.
    """
    _check_finite(k=k, attachment=attachment, detachment=detachment, p=p)
    if p <= 0:
        raise _arg_error("p", f"must be positive (got {p})")
    if detachment <= k:
        return 1.0
    if k <= 0.0:
        return 0.0
    a = -1.0 / (p * k)
    u = detachment - k
    low = max(attachment - k, 0.0)
    kssfa = (math.exp(a * u) - math.exp(a * low)) / (a * (u - low))
    if attachment >= k:
        return kssfa
    return ((k - attachment) + (detachment - k) * kssfa) / (detachment - attachment)


def sec_sa_risk_weight(
    k_sa: float,
    w: float,
    attachment: float,
    detachment: float,
    *,
    stc: bool = False,
    resecuritisation: bool = False,
    senior: bool = False,
    unknown_share: float = 0.0,
) -> float:
    """SEC-SA risk weight (CRE41) as a decimal.

    Parameters
    ----------
    k_sa
        Capital charge of the pool under the standardised approach (RWA / exposure x 8%).
    w
        Share of the pool that is delinquent (90+ days, bankruptcy, foreclosure, REO, default).
    attachment, detachment
        Tranche attachment and detachment points as fractions of the pool.
    stc, resecuritisation, senior
        STC treatment (p = 0.5, floors 10% senior / 15% non-senior); resecuritisation
        (p = 1.5, floor 100%); whether the tranche is the senior one.
    unknown_share
        Share of the pool whose delinquency status is unknown: above 5% the risk weight is
        1250%; up to 5% those exposures count as delinquent at a 100% charge.
    """
    _check_points(attachment, detachment)
    _check_finite(k_sa=k_sa, w=w, unknown_share=unknown_share)
    if not 0.0 <= k_sa <= 1.0:
        raise _arg_error("k_sa", f"must lie between 0 and 1 (got {k_sa})")
    if not 0.0 <= w <= 1.0:
        raise _arg_error("w", f"must lie between 0 and 1 (got {w})")
    if not 0.0 <= unknown_share <= 1.0:
        raise _arg_error("unknown_share", f"must lie between 0 and 1 (got {unknown_share})")
    if stc and resecuritisation:
        raise _arg_error("stc", "a resecuritisation cannot be STC")
    if unknown_share > 0.05:
        return RW_MAX
    k_a = (1.0 - w) * k_sa + 0.5 * w
    k_a = (1.0 - unknown_share) * k_a + unknown_share
    p = 1.5 if resecuritisation else (0.5 if stc else 1.0)
    rw = RW_MAX * ssfa_capital(k_a, attachment, detachment, p)
    floor = 1.0 if resecuritisation else (0.10 if stc and senior else 0.15)
    return max(rw, floor)


@dataclass(frozen=True)
class _ErbaRow:
    senior: tuple[float, float]
    non_senior: tuple[float, float]
    stc_senior: tuple[float, float]
    stc_non_senior: tuple[float, float]


@cache
def _erba_table() -> dict[str, _ErbaRow]:
    text = resources.files("greenabs.data").joinpath("sec_erba_risk_weights.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    out = {}
    for r in rows:
        v = {k: float(x) / 100.0 for k, x in r.items() if k != "rating"}
        out[r["rating"].upper()] = _ErbaRow(
            (v["senior_1y"], v["senior_5y"]),
            (v["non_senior_1y"], v["non_senior_5y"]),
            (v["stc_senior_1y"], v["stc_senior_5y"]),
            (v["stc_non_senior_1y"], v["stc_non_senior_5y"]),
        )
    return out


def erba_ratings() -> list[str]:
    """Rating symbols the SEC-ERBA table knows (long-term, then short-term)."""
    return [*_erba_table(), *_SHORT_TERM]


def sec_erba_risk_weight(
    rating: str,
    *,
    senior: bool,
    maturity_years: float,
    thickness: float,
    stc: bool = False,
) -> float:
    """SEC-ERBA risk weight (CRE42) as a decimal.

    ``rating`` is an S&P/Fitch-style long-term symbol (``AAA`` to ``CCC-``, ``below CCC-``) or
    a short-term one (``A-1``, ``P-2``...).  ``maturity_years`` is the tranche maturity M_T,
    held within [1, 5]; ``thickness`` is ``D - A``.
    """
    if not isinstance(rating, str):
        raise _arg_error("rating", f"must be a rating symbol (got {rating!r})")
    _check_finite(maturity_years=maturity_years, thickness=thickness)
    symbol = rating.strip().upper()
    if symbol in _SHORT_TERM:
        return (_SHORT_RW_STC if stc else _SHORT_RW)[_SHORT_TERM[symbol]]
    table = _erba_table()
    if symbol not in table:
        raise _arg_error(
            "rating", f"unknown rating symbol {rating!r} (known: {', '.join(erba_ratings())})"
        )
    if not 0.0 < thickness <= 1.0:
        raise _arg_error("thickness", f"must lie in (0, 1] (got {thickness})")
    if maturity_years <= 0:
        raise _arg_error("maturity_years", f"must be positive (got {maturity_years})")
    row = table[symbol]
    one, five = (
        (row.stc_senior if senior else row.stc_non_senior)
        if stc
        else (row.senior if senior else row.non_senior)
    )
    m = min(max(maturity_years, 1.0), 5.0)
    rw = one + (five - one) * (m - 1.0) / 4.0
    if symbol == "BELOW CCC-":
        return RW_MAX
    if not senior:
        rw *= 1.0 - min(thickness, 0.5)
    return max(rw, 0.10 if stc and senior else 0.15)


def sec_irba_risk_weight(
    k_irb: float,
    attachment: float,
    detachment: float,
    *,
    n: float,
    lgd: float,
    maturity_years: float,
    retail: bool,
    senior: bool,
    stc: bool = False,
) -> float:
    """SEC-IRBA risk weight (CRE44) as a decimal.

    ``n`` is the effective number of exposures ``(sum EAD)^2 / sum EAD^2``; ``lgd`` the
    exposure-weighted LGD; ``maturity_years`` the tranche maturity M_T (held within [1, 5]).
    Wholesale pools use the granular rows when ``n >= 25``.
    """
    _check_points(attachment, detachment)
    _check_finite(k_irb=k_irb, n=n, lgd=lgd, maturity_years=maturity_years)
    if not 0.0 < k_irb <= 1.0:
        raise _arg_error("k_irb", f"must lie in (0, 1] (got {k_irb})")
    if n < 1:
        raise _arg_error("n", f"the effective number of exposures is at least 1 (got {n})")
    if not 0.0 <= lgd <= 1.0:
        raise _arg_error("lgd", f"must lie between 0 and 1 (got {lgd})")
    m = min(max(maturity_years, 1.0), 5.0)
    key = ("retail", senior, True) if retail else ("wholesale", senior, n >= 25)
    a, b, c, d, e = _IRBA_P[key]
    inner = a + b / n + c * k_irb + d * lgd + e * m
    p = max(0.3, 0.5 * inner if stc else inner)
    rw = RW_MAX * ssfa_capital(k_irb, attachment, detachment, p)
    return max(rw, 0.10 if stc and senior else 0.15)


def effective_number(exposures: Iterable[tuple[str | None, float]]) -> float:
    """SEC-IRBA's effective number of exposures ``N = (sum EAD)^2 / sum EAD^2`` (CRE44; CRR
    Art. 259(4)), one obligor's exposures consolidated into a single exposure.

    ``exposures`` are ``(obligor, ead)`` pairs; an exposure whose obligor is ``None`` stands
    alone.  A pool without exposure gives ``N = 1``.
    """
    by_obligor: dict[str, float] = {}
    alone: list[float] = []
    for i, (obligor, ead) in enumerate(exposures):
        _check_finite(**{f"exposures[{i}].ead": ead})
        if ead < 0:
            raise _arg_error(f"exposures[{i}].ead", f"cannot be negative (got {ead})")
        if obligor is None:
            alone.append(float(ead))
        else:
            by_obligor[obligor] = by_obligor.get(obligor, 0.0) + float(ead)
    eads = [*by_obligor.values(), *alone]
    total, squares = sum(eads), sum(e * e for e in eads)
    return total * total / squares if squares > 0 else 1.0


@dataclass(frozen=True)
class PositionCapital:
    """A securitisation position's risk weight and how it was reached."""

    tranche: str
    amount: float
    attachment: float
    detachment: float
    senior: bool
    approach: str
    risk_weight: float
    rwa: float
    note: str = ""


def largest_share_held(
    positions: list[tuple[str, float, float, float, bool, str | None, float]], pool: float
) -> float:
    """P of CRE40's maximum capital requirement: the largest share the bank holds of any
    tranche, a tranche being ``(D - A) x pool``.  Positions at the same points add up: classes
    that differ only in maturity share their points (CRR Art. 256(1)), so a band of them is
    one tranche.  ``positions`` are as :func:`position_risk_weights` takes them, ``amount``
    the part held; holding more than a tranche is an error naming the position."""
    held: dict[tuple[float, float], float] = {}
    for _, amount, att, det, *_ in positions:
        held[(att, det)] = held.get((att, det), 0.0) + amount
    largest = 0.0
    for i, (_, _, att, det, *_) in enumerate(positions):
        size = (det - att) * pool
        share = held[(att, det)] / size if size > 0 else 1.0
        if share > 1.0 + 1e-9:
            raise _arg_error(
                f"positions[{i}].amount",
                f"the positions at attachment {att:.6g} and detachment {det:.6g} hold "
                f"{held[(att, det)]:,.2f} of a tranche of {size:,.2f}: a retained share of "
                f"{share:.4g}, above 1",
            )
        largest = max(largest, min(share, 1.0))
    return largest


def position_risk_weights(
    positions: list[tuple[str, float, float, float, bool, str | None, float]],
    *,
    pool: float,
    pool_risk_weight: float,
    w: float = 0.0,
    stc: bool = False,
    k_irb: float | None = None,
    irb_n: float | None = None,
    irb_lgd: float | None = None,
    retail: bool = False,
    use_ratings: bool = True,
    caps: bool = True,
    largest_share: float | None = None,
) -> list[PositionCapital]:
    """Risk weights of an originator's positions in one deal, hierarchy and caps applied.

    ``positions`` are ``(tranche, amount, attachment, detachment, senior, rating, maturity)``,
    ``amount`` the part of the tranche the bank holds (the tranche itself is ``(D - A) x
    pool``; more than that is an error).  The hierarchy (CRE40): SEC-IRBA when ``k_irb`` is
    given (``retail`` picks the retail p-table, ``irb_n`` is :func:`effective_number`), else
    SEC-ERBA for rated positions (``use_ratings``), else SEC-SA on ``K_SA = pool_risk_weight
    x 8%``.  Caps (CRE40; CRR Arts. 267-268):

    * look-through: a senior position never weighs more than the pool would had it not been
      securitised: ``pool_risk_weight`` under SEC-SA and SEC-ERBA, ``12.5 x K_IRB`` under
      SEC-IRBA (the IRB weight including expected loss, as ``K_IRB`` does);
    * maximum capital requirement: the positions' RWA together never exceed ``P x K_P x 12.5
      x pool``, ``P`` the largest share the bank holds of any tranche and ``K_P`` the pool's
      capital charge (``K_IRB`` under SEC-IRBA, else ``K_SA``); where that cap binds, every
      position is scaled down alike (possibly below the 15% floor, as the cap allows).
      ``largest_share`` gives ``P``; by default it is read from the amounts and the points.

    ``caps=False`` gives the tranches' own risk weights (for the risk-transfer test).
    """
    _check_finite(
        pool=pool, pool_risk_weight=pool_risk_weight, irb_n=irb_n, largest_share=largest_share
    )
    if pool < 0 or pool_risk_weight < 0:
        raise _arg_error("pool", "the pool and its risk weight cannot be negative")
    if largest_share is not None and not 0.0 <= largest_share <= 1.0:
        raise _arg_error(
            "largest_share", f"a retained share lies between 0 and 1 (got {largest_share})"
        )
    k_sa = min(pool_risk_weight * 0.08, 1.0)
    # the pool's own capital charge and risk weight, under the approach the bank uses
    k_pool = k_sa if k_irb is None else k_irb
    rw_pool = pool_risk_weight if k_irb is None else RW_MAX * k_irb
    if largest_share is not None:
        largest = largest_share
    else:
        largest = largest_share_held(positions, pool) if caps and pool > 0 else 1.0
    out = []
    for name, amount, att, det, senior, rating, mat in positions:
        _check_finite(amount=amount, maturity_years=mat)
        note = ""
        if k_irb is not None:
            approach = "SEC-IRBA"
            rw = sec_irba_risk_weight(
                k_irb,
                att,
                det,
                n=irb_n or 1.0,
                lgd=irb_lgd if irb_lgd is not None else 0.45,
                maturity_years=mat,
                retail=retail,
                senior=senior,
                stc=stc,
            )
        elif use_ratings and rating:
            approach = "SEC-ERBA"
            rw = sec_erba_risk_weight(
                rating, senior=senior, maturity_years=mat, thickness=det - att, stc=stc
            )
        else:
            approach = "SEC-SA"
            rw = sec_sa_risk_weight(k_sa, w, att, det, stc=stc, senior=senior)
        if caps and senior and rw > rw_pool:
            rw, note = rw_pool, "senior look-through cap"
        out.append(PositionCapital(name, amount, att, det, senior, approach, rw, amount * rw, note))
    total = sum(p.rwa for p in out)
    cap = largest * k_pool * RW_MAX * pool
    if caps and total > cap > 0:
        scale = cap / total
        out = [
            PositionCapital(
                p.tranche,
                p.amount,
                p.attachment,
                p.detachment,
                p.senior,
                p.approach,
                p.risk_weight * scale,
                p.rwa * scale,
                (p.note + "; " if p.note else "")
                + f"maximum capital requirement (P {largest:.4g} x K_P {k_pool:.4g})",
            )
            for p in out
        ]
    return out
