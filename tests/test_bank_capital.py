"""Securitisation risk weights against published worked examples and hand computation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenabs.bank import (
    effective_number,
    position_risk_weights,
    sec_erba_risk_weight,
    sec_irba_risk_weight,
    sec_sa_risk_weight,
    ssfa_capital,
)
from greenabs.bank.capital import largest_share_held
from greenabs.errors import SpecError


def test_sec_sa_cbuae_worked_example() -> None:
    # CBUAE Securitisation Standards guidance, "Example calculations, A. Standardised
    # approach" (paras 33-39): K_SA 9%, W 6% on the 99% of the pool whose status is known, 1%
    # unknown, A = 5%, D = 25% -> K_A = 0.1235 and a tranche risk weight of about 954%.
    rw = sec_sa_risk_weight(0.09, 0.06, 0.05, 0.25, unknown_share=0.01)
    assert rw == pytest.approx(9.5384, abs=5e-5)


def test_sec_sa_by_hand_above_k_a() -> None:
    # A >= K_A: RW = 12.5 * (e^{a u} - e^{a l}) / (a (u - l)), a = -1/(p K_A)
    k_a, att, det = 0.08, 0.10, 0.20
    a = -1 / k_a
    u, low = det - k_a, att - k_a
    expected = 12.5 * (math.exp(a * u) - math.exp(a * low)) / (a * (u - low))
    assert sec_sa_risk_weight(0.08, 0.0, att, det) == pytest.approx(expected, rel=1e-12)


def test_sec_sa_boundaries() -> None:
    # D <= K_A: 1250%; the formula is continuous at A = K_A; senior tranches hit the floor
    assert sec_sa_risk_weight(0.08, 0.0, 0.0, 0.08) == 12.5
    assert sec_sa_risk_weight(0.08, 0.0, 0.02, 0.05) == 12.5
    just_below = sec_sa_risk_weight(0.08, 0.0, 0.08 - 1e-9, 0.2)
    at = sec_sa_risk_weight(0.08, 0.0, 0.08, 0.2)
    assert just_below == pytest.approx(at, rel=1e-6)
    assert sec_sa_risk_weight(0.08, 0.0, 0.5, 1.0) == 0.15
    assert sec_sa_risk_weight(0.08, 0.0, 0.5, 1.0, stc=True, senior=True) == 0.10
    assert sec_sa_risk_weight(0.08, 0.0, 0.5, 1.0, stc=True, senior=False) == 0.15
    assert sec_sa_risk_weight(0.08, 0.0, 0.5, 1.0, resecuritisation=True) == 1.0
    # more than 5% of the pool with unknown delinquency status: 1250%
    assert sec_sa_risk_weight(0.08, 0.0, 0.5, 1.0, unknown_share=0.06) == 12.5


def test_sec_sa_p_for_stc_and_resecuritisation() -> None:
    # p = 0.5 (STC) gives less capital above K_A than p = 1, p = 1.5 (resecuritisation) more
    base = sec_sa_risk_weight(0.08, 0.0, 0.10, 0.20)
    assert sec_sa_risk_weight(0.08, 0.0, 0.10, 0.20, stc=True) < base
    assert sec_sa_risk_weight(0.08, 0.0, 0.10, 0.20, resecuritisation=True) > base


@given(st.floats(0.01, 0.3), st.floats(0.0, 0.5), st.floats(0.0, 0.6), st.floats(0.01, 0.4))
def test_sec_sa_falls_as_attachment_rises(k: float, w: float, a1: float, width: float) -> None:
    a2 = min(a1 + 0.05, 0.99)
    d1, d2 = min(a1 + width, 1.0), min(a2 + width, 1.0)
    if d1 <= a1 or d2 <= a2:
        return
    r1 = sec_sa_risk_weight(k, w, a1, d1)
    r2 = sec_sa_risk_weight(k, w, a2, d2)
    assert 0.15 <= r2 <= r1 + 1e-12 <= 12.5 + 1e-12


def test_sec_erba_cbuae_worked_example() -> None:
    # CBUAE guidance, "B. External ratings-based approach" (para 40): non-senior BB+, A = 5%,
    # D = 30%, M_T = 2 years: 470% and 580% interpolated to 497.5%, times (1 - 0.25) = 373%.
    rw = sec_erba_risk_weight("BB+", senior=False, maturity_years=2.0, thickness=0.25)
    assert rw == pytest.approx(3.73125, rel=1e-12)


@pytest.mark.parametrize(
    ("rating", "senior", "maturity", "thickness", "stc", "expected"),
    [
        ("AAA", True, 1.0, 0.8, False, 0.15),  # CRE42 table
        ("AAA", True, 5.0, 0.8, False, 0.20),
        ("AAA", True, 3.0, 0.8, False, 0.175),  # linear in maturity
        ("AAA", True, 0.5, 0.8, False, 0.15),  # maturity held at 1 year
        ("AAA", True, 9.0, 0.8, False, 0.20),  # ... and at 5 years
        ("A", False, 1.0, 0.8, False, 0.40),  # 80% x (1 - min(0.8, 0.5))
        ("AAA", True, 1.0, 0.8, True, 0.10),  # STC senior
        ("BBB", False, 5.0, 0.1, True, 2.55 * 0.9),  # STC non-senior
        ("A-1", True, 1.0, 0.8, False, 0.15),  # short-term ratings
        ("P-3", False, 1.0, 0.1, True, 0.60),
        ("below CCC-", True, 1.0, 0.5, False, 12.5),
        ("aa-", True, 1.0, 0.5, False, 0.30),  # case does not matter
    ],
)
def test_sec_erba_table(
    rating: str, senior: bool, maturity: float, thickness: float, stc: bool, expected: float
) -> None:
    rw = sec_erba_risk_weight(
        rating, senior=senior, maturity_years=maturity, thickness=thickness, stc=stc
    )
    assert rw == pytest.approx(expected, rel=1e-12)


def test_sec_erba_floor() -> None:
    # a thick non-senior AAA at 1 year: 15% x 0.5 = 7.5%, floored at 15%
    assert sec_erba_risk_weight("AAA", senior=False, maturity_years=1, thickness=0.6) == 0.15


def test_sec_irba_by_hand() -> None:
    # CRE44: p = max(0.3, A + B/N + C K_IRB + D LGD + E M_T); wholesale senior granular row
    # (A, B, C, D, E) = (0, 3.56, -1.85, 0.55, 0.07)
    k, att, det, n, lgd, m = 0.06, 0.10, 0.30, 40.0, 0.45, 3.0
    p = max(0.3, 0 + 3.56 / n - 1.85 * k + 0.55 * lgd + 0.07 * m)
    expected = 12.5 * ssfa_capital(k, att, det, p)
    rw = sec_irba_risk_weight(
        k, att, det, n=n, lgd=lgd, maturity_years=m, retail=False, senior=True
    )
    assert rw == pytest.approx(max(expected, 0.15), rel=1e-12)
    # retail non-senior row (0, 0, -5.78, 0.55, 0.27) with the 0.3 floor on p
    p_r = max(0.3, -5.78 * 0.2 + 0.55 * 0.1 + 0.27 * 1.0)
    assert p_r == 0.3
    rw_r = sec_irba_risk_weight(
        0.2, 0.25, 0.5, n=1000, lgd=0.1, maturity_years=1, retail=True, senior=False
    )
    assert rw_r == pytest.approx(12.5 * ssfa_capital(0.2, 0.25, 0.5, 0.3), rel=1e-12)
    # STC halves p inside the max, giving less capital
    stc = sec_irba_risk_weight(
        k, att, det, n=n, lgd=lgd, maturity_years=m, retail=False, senior=False, stc=True
    )
    non = sec_irba_risk_weight(
        k, att, det, n=n, lgd=lgd, maturity_years=m, retail=False, senior=False
    )
    assert stc < non


def test_sec_irba_boundaries() -> None:
    assert (
        sec_irba_risk_weight(
            0.08, 0.0, 0.08, n=50, lgd=0.45, maturity_years=2, retail=False, senior=False
        )
        == 12.5
    )
    assert (
        sec_irba_risk_weight(
            0.02, 0.6, 1.0, n=50, lgd=0.45, maturity_years=2, retail=False, senior=True
        )
        == 0.15
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sec_sa_risk_weight(0.08, 0.0, 0.3, 0.2), "attachment"),
        (lambda: sec_sa_risk_weight(1.5, 0.0, 0.1, 0.2), "k_sa"),
        (
            lambda: sec_sa_risk_weight(0.08, 0.0, 0.1, 0.2, stc=True, resecuritisation=True),
            "cannot be STC",
        ),
        (
            lambda: sec_erba_risk_weight("AAB", senior=True, maturity_years=1, thickness=0.5),
            "unknown rating symbol 'AAB'",
        ),
        (
            lambda: sec_irba_risk_weight(
                0.05, 0.2, 0.2, n=10, lgd=0.4, maturity_years=1, retail=False, senior=True
            ),
            "attachment",
        ),
        (
            lambda: sec_irba_risk_weight(
                0.05, 0.1, 0.2, n=0.5, lgd=0.4, maturity_years=1, retail=False, senior=True
            ),
            "effective number",
        ),
    ],
)
def test_bad_arguments_name_the_field(call: object, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        call()  # type: ignore[operator]


def test_hierarchy_and_caps() -> None:
    positions = [
        ("A", 80.0, 0.20, 1.00, True, "AAA", 2.0),
        ("B", 12.0, 0.08, 0.20, False, None, 3.0),
        ("Sub", 8.0, 0.00, 0.08, False, None, 4.0),
    ]
    own = {
        c.tranche: c
        for c in position_risk_weights(positions, pool=100.0, pool_risk_weight=1.0, caps=False)
    }
    assert own["A"].approach == "SEC-ERBA"
    assert own["B"].approach == "SEC-SA"
    assert own["Sub"].risk_weight == 12.5  # D = K_SA = 8%: 1250%
    caps = position_risk_weights(positions, pool=100.0, pool_risk_weight=1.0)
    by = {c.tranche: c for c in caps}
    # holding every tranche, the originator's RWA are capped at the pool's own RWA
    assert sum(c.rwa for c in caps) == pytest.approx(100.0)
    assert "maximum capital requirement" in by["Sub"].note
    # a senior tranche never weighs more than the pool (look-through)
    senior = position_risk_weights(
        [("A", 50.0, 0.01, 1.0, True, None, 1.0)], pool=100.0, pool_risk_weight=0.2
    )
    assert senior[0].risk_weight == 0.2
    # SEC-IRBA first when the bank has K_IRB
    irb = position_risk_weights(
        positions, pool=100.0, pool_risk_weight=1.0, k_irb=0.05, irb_n=40, irb_lgd=0.45, caps=False
    )
    assert {c.approach for c in irb} == {"SEC-IRBA"}


# The IB 2014 deal (examples/ib_green_2014.yaml): pool 3,494m; A 2,760m AAA, B 335m A+, Sub
# 399m unrated, so Sub attaches at 0, B at 399/3494 and A at 734/3494.
IB_POOL = 3_494e6
IB_A, IB_B = 399e6 / IB_POOL, 734e6 / IB_POOL


def _ib_positions(
    share: float, m_b: float = 1.75
) -> list[tuple[str, float, float, float, bool, str | None, float]]:
    return [
        ("A", share * 2_760e6, IB_B, 1.0, True, "AAA", 0.65),
        ("B", share * 335e6, IB_A, IB_B, False, "A+", m_b),
        ("Sub", share * 399e6, 0.0, IB_A, False, None, 2.0),
    ]


def test_maximum_capital_requirement_is_p_times_k_p_ib_2014() -> None:
    """CRE40 maximum capital requirement: an originator's positions in one deal need at most
    P x K_P of the pool, P the largest share it holds in any tranche (CBUAE Securitisation
    Standards para 59, which mirror CRE40; CRR Art. 268).  IB 2014, 5% vertical slice, a
    green book at 100% (K_SA = 8%), W = 0.  By hand from the published formulas:
    A: SEC-ERBA AAA senior, M_T held at 1 year: 15%;
    B: SEC-ERBA A+ non-senior, 60% + (160% - 60%) (M_T - 1) / 4, x (1 - T), T = 335/3494;
    Sub: SEC-SA, A = 0 < K_A = 0.08 < D: RW = 12.5 [(K_A - A) + (D - K_A) K_SSFA] / (D - A)
    with l = 0.  The slice's own RWA (about 270m) exceed the cap 5% x 8% x 12.5 x 3,494m
    = 174.7m, which binds."""
    m_b = 1.75
    rw_a = 0.15
    rw_b = (0.60 + (1.60 - 0.60) * (m_b - 1) / 4) * (1 - 335e6 / IB_POOL)
    k_a, d = 0.08, IB_A
    a = -1 / k_a
    kssfa = (math.exp(a * (d - k_a)) - 1.0) / (a * (d - k_a))
    rw_sub = 12.5 * (k_a + (d - k_a) * kssfa) / d
    own = 0.05 * (2_760e6 * rw_a + 335e6 * rw_b + 399e6 * rw_sub)
    assert 265e6 < own < 275e6  # the slice's RWA before the cap (issue: 270.1m)
    uncapped = position_risk_weights(
        _ib_positions(0.05, m_b), pool=IB_POOL, pool_risk_weight=1.0, caps=False
    )
    assert sum(c.rwa for c in uncapped) == pytest.approx(own, rel=1e-12)
    capped = position_risk_weights(_ib_positions(0.05, m_b), pool=IB_POOL, pool_risk_weight=1.0)
    assert sum(c.rwa for c in capped) == pytest.approx(0.05 * 0.08 * 12.5 * IB_POOL)
    assert sum(c.rwa for c in capped) == pytest.approx(174.7e6)
    # every position scaled alike (the senior one below its 15% floor, as the cap allows)
    assert capped[0].risk_weight == pytest.approx(rw_a * 174.7e6 / own)
    assert all("P 0.05 x K_P 0.08" in c.note for c in capped)
    # P is the largest share held of any tranche: 5% of A and B, 20% of Sub -> P = 20%
    mixed = _ib_positions(0.05, m_b)
    mixed[2] = ("Sub", 0.2 * 399e6, 0.0, IB_A, False, None, 2.0)
    out = position_risk_weights(mixed, pool=IB_POOL, pool_risk_weight=1.0)
    assert sum(c.rwa for c in out) <= 0.2 * 0.08 * 12.5 * IB_POOL + 1e-3
    # under SEC-IRBA K_P is K_IRB (expected loss included, CRR Art. 268(1))
    irb = position_risk_weights(
        _ib_positions(0.05, m_b),
        pool=IB_POOL,
        pool_risk_weight=1.0,
        k_irb=0.06,
        irb_n=27,
        irb_lgd=0.45,
    )
    assert sum(c.rwa for c in irb) == pytest.approx(0.05 * 0.06 * 12.5 * IB_POOL)


def test_a_retained_share_above_one_is_named() -> None:
    too_much = _ib_positions(0.05)
    too_much[1] = ("B", 400e6, IB_A, IB_B, False, "A+", 1.75)  # B is 335m
    with pytest.raises(
        SpecError, match=r"positions\[1\]\.amount: .*retained share of 1\.19.*above 1"
    ):
        position_risk_weights(too_much, pool=IB_POOL, pool_risk_weight=1.0)
    with pytest.raises(SpecError, match="largest_share: a retained share lies between 0 and 1"):
        position_risk_weights(
            _ib_positions(0.05), pool=IB_POOL, pool_risk_weight=1.0, largest_share=1.2
        )


def test_p_counts_classes_that_differ_only_in_maturity_as_one_tranche() -> None:
    """CRE40 (CRR Art. 268(1)): P is the largest share held of any tranche; classes that
    differ only in maturity share their points (CRR Art. 256(1)) and are one tranche.  Pool
    100: A1 and A2 (40 each) at 0.20 to 1; holding 10 of A1 and 20 of A2 is 30 of the 80 band,
    P = 37.5% (not 50% of A2 alone); B at 0.08 to 0.20, 3 of 12 held, 25%."""
    band = [
        ("A1", 10.0, 0.2, 1.0, True, None, 1.0),
        ("A2", 20.0, 0.2, 1.0, True, None, 3.0),
        ("B", 3.0, 0.08, 0.2, False, None, 3.0),
    ]
    assert largest_share_held(band, 100.0) == pytest.approx(0.375)
    # holding more than the band is named, with the band's size
    over = [band[0], ("A2", 75.0, 0.2, 1.0, True, None, 3.0)]
    why = r"positions\[0\]\.amount: .*attachment 0\.2 and detachment 1 hold 85\.00 of a "
    why += r"tranche of 80\.00"
    with pytest.raises(SpecError, match=why):
        largest_share_held(over, 100.0)


def test_senior_look_through_under_irba_uses_the_irb_pool_weight() -> None:
    """CRE40 look-through (CRR Art. 267(2)): a senior position weighs at most what the pool
    would under the approach the bank uses; under SEC-IRBA that is the IRB weight including
    expected loss, 12.5 x K_IRB, not the standardised weight."""
    pos = [("A", 50.0, 0.01, 1.0, True, None, 5.0)]
    k_irb = 0.02  # IRB pool weight 25%, standardised 100%
    own = position_risk_weights(
        pos, pool=100.0, pool_risk_weight=1.0, k_irb=k_irb, irb_n=3, irb_lgd=0.9, caps=False
    )
    assert own[0].risk_weight > 12.5 * k_irb  # a thin, non-granular pool: above 25% alone
    capped = position_risk_weights(
        pos, pool=100.0, pool_risk_weight=1.0, k_irb=k_irb, irb_n=3, irb_lgd=0.9
    )
    assert capped[0].risk_weight == pytest.approx(12.5 * k_irb)
    assert capped[0].note.startswith("senior look-through cap")


def test_effective_number_consolidates_each_obligor() -> None:
    """CRE44 / CRR Art. 259(4): N = (sum EAD)^2 / sum EAD^2, exposures to one obligor
    consolidated into one.  By hand: obligor x holds 30 + 10 = 40, y 40, two loans without an
    obligor 10 and 10: N = 100^2 / (40^2 + 40^2 + 10^2 + 10^2) = 10000 / 3400."""
    ex = [("x", 30.0), ("y", 40.0), ("x", 10.0), (None, 10.0), (None, 10.0)]
    assert effective_number(ex) == pytest.approx(10000 / 3400)
    # loan by loan it would be 100^2 / (900 + 1600 + 100 + 100 + 100) = 10000 / 2800
    assert effective_number([(None, e) for _, e in ex]) == pytest.approx(10000 / 2800)
    assert effective_number([]) == 1.0
    with pytest.raises(SpecError, match=r"exposures\[1\]\.ead"):
        effective_number([("x", 1.0), ("y", -2.0)])


def test_effective_number_of_the_ib_2014_tape_by_obligor() -> None:
    """The IB 2014 tape has 48 loans to 38 borrowers (its `obligor` column): N = 27.0 by
    obligor (32.7 loan by loan), recomputed here from the tape's balances."""
    import csv

    from tests.conftest import EXAMPLES

    rows = list(csv.DictReader((EXAMPLES / "ib_green_2014_tape.csv").open()))
    ex = [(r["obligor"], float(r["balance"])) for r in rows]
    assert len(ex) == 48
    assert len({o for o, _ in ex}) == 38
    totals: dict[str, float] = {}
    for o, b in ex:
        totals[o] = totals.get(o, 0.0) + b
    by_hand = sum(totals.values()) ** 2 / sum(v * v for v in totals.values())
    assert effective_number(ex) == pytest.approx(by_hand, rel=1e-12)
    assert effective_number(ex) == pytest.approx(27.0, abs=0.05)
