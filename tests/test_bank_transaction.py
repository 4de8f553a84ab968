"""A deal's effect on its originating bank: capital of the retained positions in the deal path,
the gain-on-sale deduction, the risk-transfer tests, against hand computations."""

from __future__ import annotations

import copy
import math
from statistics import NormalDist
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import greenabs
from greenabs.bank import RetainedPiece, Sale, apply_sale, load_bank, parse_bank, securitise
from greenabs.bank.capital import PositionCapital, ssfa_capital
from greenabs.bank.spec import SecuritisationSpec
from greenabs.bank.transaction import (
    VARIABILITY_MULTIPLES,
    _srt_test,
    _tranche_points,
    loss_bands,
    retained_variability,
    scenario_weights,
)
from greenabs.errors import SpecError
from tests.conftest import EXAMPLES
from tests.test_bank import WORKED

POOL = 3_494e6  # IB 2014: A 2,760m AAA, B 335m A+, Sub 399m


@pytest.fixture(scope="module")
def bank() -> Any:
    return load_bank(EXAMPLES / "bank_mid_sized.yaml")


@pytest.fixture(scope="module")
def ib() -> greenabs.RunResult:
    return greenabs.run(greenabs.load_deal(EXAMPLES / "ib_green_2014.yaml"))


def _irb_bank(bank: Any, book: str) -> Any:
    d = bank.model_dump(by_alias=True)
    d["irb"] = True
    d["securitisation"].update({"k_irb": 0.06, "irb_lgd": 0.45, "segment_book": book})
    return parse_bank(d)


def test_ib_2014_vertical_slice_is_capped_at_p_times_k_p(bank: Any, ib: Any) -> None:
    """CRE40 maximum capital requirement in the deal path (CBUAE Securitisation Standards
    para 59; CRR Art. 268): the 5% vertical slice of IB 2014 out of a green book at 100%
    needs at most 5% x K_SA 8% x 12.5 x 3,494m = 174.7m of RWA (its own weights give about
    270m; before the fix the cap was the whole pool's RWA and did not bind)."""
    imp = securitise(bank, ib)
    assert imp.sale.details["largest_share"] == pytest.approx(0.05)
    own = sum(p["rwa"] for p in imp.sale.details["positions"]) * 0.05
    assert own > 250e6
    assert imp.retained_rwa == pytest.approx(0.05 * 0.08 * 12.5 * POOL)
    assert imp.retained_rwa == pytest.approx(174.7e6)
    assert all("maximum capital requirement" in p.note for p in imp.sale.retained)
    # and the relief shows in the ratios: RWA fall by the pool's less 174.7m
    assert imp.after_ratios.rwa == pytest.approx(
        imp.before_ratios.rwa - imp.pool_rwa + 174.7e6, rel=1e-9
    )


def test_sec_irba_in_the_deal_path_by_hand(bank: Any, ib: Any) -> None:
    """SEC-IRBA (CRE44; CRR Art. 259) from the deal: a retail book takes the retail p-table,
    N is the effective number of exposures with one obligor's loans consolidated (the IB tape:
    27.0 by its `obligor` column, not its 48 loans).  Class B (non-senior), K_IRB 6%, LGD 45%:
    p = max(0.3, -5.78 K + 0.55 LGD + 0.27 M_T), RW = 12.5 K_SSFA(K, A, D, p)."""
    m_t = None
    for book, retail in (("retail loans", True), ("green loans", False)):
        imp = securitise(_irb_bank(bank, book), ib)
        d = imp.sale.details
        assert d["effective_number"] == pytest.approx(27.0, abs=0.05)
        b = next(p for p in d["positions"] if p["tranche"] == "B")
        assert b["approach"] == "SEC-IRBA"
        m_t = d["maturity"]["B"]
        k, lgd, n = 0.06, 0.45, d["effective_number"]
        if retail:
            p = max(0.3, -5.78 * k + 0.55 * lgd + 0.27 * m_t)
        else:  # wholesale, non-senior, granular (N >= 25)
            p = max(0.3, 0.16 + 2.87 / n - 1.03 * k + 0.21 * lgd + 0.07 * m_t)
        rw = 12.5 * ssfa_capital(k, b["attachment"], b["detachment"], p)
        assert b["risk_weight"] == pytest.approx(max(rw, 0.15), rel=1e-12)
        # the cap: K_P is K_IRB, P 5%
        assert imp.retained_rwa == pytest.approx(0.05 * 0.06 * 12.5 * POOL)


def test_maturity_is_from_contractual_cash_flows_with_interest(bank: Any, ib: Any) -> None:
    """M_T (CRE44; CRR Art. 257(1)(a)): sum t CF_t / sum CF_t over the tranche's contractual
    payments, principal and interest, i.e. the deal without defaults or prepayments."""
    imp = securitise(bank, ib)
    flat = greenabs.run(ib.deal, mdr_mult=np.zeros(1), smm_mult=np.zeros(1))
    t = np.asarray(flat.calendar.years_from_closing)
    for name in ("A", "B", "Sub"):
        cf = flat.tranche_cashflows(name)
        cash = (cf["interest_paid"] + cf["principal_paid"] + cf["residual_paid"]).to_numpy()
        assert imp.sale.details["maturity"][name] == pytest.approx((t * cash).sum() / cash.sum())
    # with the interest the maturity differs from the principal WAL of the base case
    assert imp.sale.details["maturity"]["B"] != pytest.approx(ib.tranches()["wal"][1], abs=1e-3)


def test_gain_on_sale_is_deducted_from_cet1(bank: Any, ib: Any) -> None:
    """Basel III (BCBS 189, "gain on sale related to securitisation transactions"; CRR Art.
    32(1)(a); China's 2023 capital rules, 资产证券化销售利得): the increase in equity from a
    securitisation is deducted from CET1.  IB 2014 sold at par out of a book carried net of
    provisions: a gain; after 25% tax it is added to CET1 and deducted again, so net CET1 rises
    only by the structuring fee, after tax."""
    imp = securitise(bank, ib)
    assert imp.gain > 0
    assert imp.cet1_deduction == pytest.approx(imp.gain * 0.75)
    cap_b, cap_a = imp.before.capital, imp.after.capital
    assert cap_a.deductions == pytest.approx(cap_b.deductions + imp.cet1_deduction)
    fee = imp.sale.structuring_fee * 0.75
    assert cap_a.cet1 - cap_a.deductions == pytest.approx(cap_b.cet1 - cap_b.deductions + fee)
    assert imp.after_ratios.cet1_ratio == pytest.approx(
        (cap_b.cet1 - cap_b.deductions + fee) / imp.after_ratios.rwa
    )
    assert "deducted from CET1" in imp.explanations["cet1_ratio"]
    # book equity still shows the gain
    assert imp.after.equity - imp.before.equity == pytest.approx(
        (imp.gain + imp.sale.structuring_fee) * 0.75
    )


def test_a_loss_on_sale_is_not_deducted() -> None:
    # the worked example's pool of 200 sold for 180 in cash: a loss of 20, no deduction
    after, amounts = apply_sale(parse_bank(WORKED), Sale(book="green", pool=200, proceeds=180))
    assert amounts["gain"] == pytest.approx(-20)
    assert amounts["cet1_deduction"] == 0
    assert after.capital.deductions == 0


def test_npl_share_defaults_to_zero(bank: Any, ib: Any) -> None:
    # Chinese CLO pools are normal-class loans: no NPL leaves with the pool, W = 0 in SEC-SA
    assert SecuritisationSpec(segment_book="x").npl_share == 0
    assert Sale(book="x", pool=1, proceeds=1).npl_share == 0
    imp = securitise(bank, ib)
    assert imp.sale.npl_share == 0
    assert imp.npl_removed == 0


def test_variability_weights_are_vasicek_probabilities_by_hand() -> None:
    """IFRS 9 3.2.8 weighs outcomes by their likelihood.  The scenario k takes the Vasicek
    probability F(hi) - F(lo) of the pool's default rate between the midpoints,
    F(x) = Phi((sqrt(1 - rho) Phi^-1(x) - Phi^-1(PD)) / sqrt(rho)); PD 2%, rho 0.12."""
    n = NormalDist()
    rates = np.array([0.0, 0.01, 0.05])
    pd, rho = 0.02, 0.12

    def f(x: float) -> float:
        return n.cdf((math.sqrt(1 - rho) * n.inv_cdf(x) - n.inv_cdf(pd)) / math.sqrt(rho))

    w = scenario_weights(rates, pd, rho)
    assert w == pytest.approx([f(0.005), f(0.03) - f(0.005), 1 - f(0.03)], rel=1e-12)
    assert w.sum() == pytest.approx(1.0)
    assert len(VARIABILITY_MULTIPLES) == 7


def test_retained_variability_is_weighted_and_bounded() -> None:
    w = np.array([0.5, 0.3, 0.2])
    total = np.array([100.0, 90.0, 60.0])
    # a vertical 5% slice bears 5% of the variability whatever the weights
    assert retained_variability(0.05 * total, total, w) == pytest.approx(0.05)
    # by hand: weighted mean of the total 89, its weighted sd sqrt(0.5*11^2 + 0.3*1^2 +
    # 0.2*29^2); of the kept cash 8
    kept = np.array([10.0, 10.0, 0.0])
    mk = 0.5 * 10 + 0.3 * 10
    sd_k = math.sqrt(0.5 * (10 - mk) ** 2 + 0.3 * (10 - mk) ** 2 + 0.2 * mk**2)
    sd_t = math.sqrt(0.5 * 11**2 + 0.3 * 1**2 + 0.2 * 29**2)
    assert retained_variability(kept, total, w) == pytest.approx(sd_k / sd_t)
    # what the originator pays in may swing more than the whole deal: held at 1
    assert retained_variability(np.array([0.0, -100.0, 200.0]), total, w) == 1.0
    assert retained_variability(kept, np.full(3, 5.0), w) == 0.0


@settings(max_examples=40, deadline=None)
@given(
    kept=st.lists(st.floats(-1e6, 1e6), min_size=7, max_size=7),
    total=st.lists(st.floats(0, 1e6), min_size=7, max_size=7),
    pd=st.floats(0, 0.5),
    rho=st.floats(0.01, 0.5),
)
def test_retained_variability_always_lies_in_the_unit_interval(
    kept: list[float], total: list[float], pd: float, rho: float
) -> None:
    w = scenario_weights(np.array([0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.26]), pd, rho)
    assert w.sum() == pytest.approx(1.0)
    assert 0.0 <= retained_variability(kept, total, w) <= 1.0


def _pc(name: str, att: float, det: float, senior: bool, rw: float, amount: float = 10.0) -> Any:
    return PositionCapital(name, amount, att, det, senior, "SEC-SA", rw, rw * amount)


def test_mezzanine_positions_are_senior_to_the_first_loss() -> None:
    """CRR Art. 242: a mezzanine position is subordinated to the senior one and more senior
    than the first-loss tranche; Art. 244(2): the originator keeps at most 50% of the
    mezzanine RWA, or, without mezzanine, 20% of the first-loss positions.  A thick first-loss
    tranche weighted below 1250% is still the first loss, not mezzanine."""
    own = [
        _pc("A", 0.3, 1.0, True, 0.15, 70),
        _pc("M", 0.1, 0.3, False, 2.0, 20),
        _pc("E", 0.0, 0.1, False, 9.0, 10),  # first loss at 900%
    ]
    measure, limit, mezz, first = _srt_test(own, {"A": 0.0, "M": 0.4, "E": 1.0})
    assert (mezz, first, limit) == (["M"], ["E"], 0.5)
    assert measure == pytest.approx(0.4)
    # no mezzanine: the first-loss test on amounts
    measure, limit, mezz, first = _srt_test([own[0], own[2]], {"A": 0.0, "E": 0.15})
    assert (mezz, first, limit, measure) == ([], ["E"], 0.2, pytest.approx(0.15))
    # a position weighted 1250% is a first-loss position wherever it attaches
    heavy = [own[0], _pc("M", 0.1, 0.3, False, 12.5, 20), own[2]]
    assert _srt_test(heavy, {"A": 0, "M": 0, "E": 0})[3] == ["M", "E"]
    # a pool larger than the notes: the most junior class attaches above 0, still first loss
    oc = [own[0], _pc("M", 0.2, 0.3, False, 2.0, 10), _pc("E", 0.05, 0.2, False, 5.0, 15)]
    assert _srt_test(oc, {"A": 0, "M": 0, "E": 1})[2:] == (["M"], ["E"])


def test_a_retained_share_above_one_is_named() -> None:
    bank = parse_bank(WORKED)
    big = Sale(
        book="green", pool=100, proceeds=0, retained=(RetainedPiece("k", 120, 120, 0.05, 1.0),)
    )
    with pytest.raises(SpecError, match=r"retained: .*a retained share of 1\.2, above 1"):
        apply_sale(bank, big)


def test_a_performing_pool_larger_than_the_performing_book_is_named() -> None:
    d = dict(WORKED, loans=[dict(WORKED["loans"][0], classification={"normal": 0.9, "loss": 0.1})])
    bank = parse_bank(d)
    # the whole book (700) as a pool of performing loans: only 630 are performing
    with pytest.raises(SpecError, match=r"npl_share: the pool's performing loans \(700"):
        apply_sale(bank, Sale(book="green", pool=700, proceeds=700))


def test_variability_share_by_hand_on_the_ib_first_loss(ib: Any) -> None:
    """IFRS 9 3.2.8: the variability of the present value of the cash, discounted at a current
    market rate (the notes' balance-weighted coupon: (2,760 x 5.10% + 335 x 5.89%) / 3,095),
    each default scenario weighted by its Vasicek probability (green book: PD 1%, rho 0.12).
    Holding all of Sub, the originator bears this share of it."""
    from greenabs.bank.transaction import _variability_share

    mult = np.array(VARIABILITY_MULTIPLES)
    r = greenabs.run(
        greenabs.with_assumptions(ib.deal, default={"cdr": 0.01}),
        mdr_mult=mult,
        smm_mult=np.ones_like(mult),
    )
    rate = (2_760 * 0.0510 + 335 * 0.0589) / 3_095
    disc = (1 + rate) ** -np.asarray(r.calendar.years_from_closing)
    pv = {
        name: [
            float(disc @ r.tranche_cashflows(name, s)[cols].sum(axis=1).to_numpy())
            for s in range(7)
        ]
        for name in ("A", "B", "Sub")
        for cols in [["interest_paid", "principal_paid", "residual_paid"]]
    }
    total = np.add(np.add(pv["A"], pv["B"]), pv["Sub"])
    annual = 1 - (1 - mult * (1 - 0.99 ** (1 / 12))) ** 12
    w = scenario_weights(annual, 0.01, 0.12)
    by_hand = retained_variability(pv["Sub"], total, w)
    assert 0 < by_hand < 1
    got = _variability_share(ib, {"A": 0.0, "B": 0.0, "Sub": 1.0}, (), 0.01, 0.12)
    assert got == pytest.approx(by_hand, rel=1e-9)


def _time_tranched(**retention: Any) -> dict[str, Any]:
    """The example green loans deal (pool 100m) with its senior class split by maturity:
    A1 40m and A2 40m paid sequentially in one principal step, interest pro rata in one step,
    then B 12m and Sub 8m; unrated, so SEC-SA applies."""
    d = yaml.safe_load((EXAMPLES / "green_loans_2026_1.yaml").read_text(encoding="utf-8"))
    st = d["structure"]
    st["tranches"] = [
        {"name": "A1", "balance": 40e6, "coupon": {"fixed": 0.030}},
        {"name": "A2", "balance": 40e6, "coupon": {"fixed": 0.034}},
        {"name": "B", "balance": 12e6, "coupon": {"fixed": 0.045}},
        {"name": "Sub", "balance": 8e6, "residual": True},
    ]
    st["waterfall"] = [
        {"pay_fees": ["servicing", "trustee"]},
        {"pay_interest": ["A1", "A2"]},
        {"pay_interest": "B"},
        {"pay_principal": {"tranches": ["A1", "A2", "B"], "mode": "sequential"}},
        {"pay_residual": "Sub"},
    ]
    if retention:
        st["retention"] = retention
    return d


def test_classes_differing_only_in_maturity_share_one_attachment_and_detachment(
    bank: Any,
) -> None:
    """CRR Art. 256(1): A is the pool less "all tranches that rank senior or pari passu to the
    tranche containing the relevant securitisation position", D the pool less those ranking
    above it (Art. 256(2)); the Basel senior definition (CRE40; CBUAE Securitisation
    Standards para 12-13): senior tranches of different maturities, or that share a rating
    and differ only in effective maturity, are all senior.  By hand, pool 100m:
    A1 and A2: A = (100 - 80) / 100 = 0.20, D = 1, both senior; B: 0.08 to 0.20; Sub 0 to 0.08.
    SEC-SA (CRE41) with K_A = K_SA = 100% x 8%, p = 1, a = -1 / (p K_A) = -12.5:
    A1 = A2 = 12.5 (e^{a (1 - 0.08)} - e^{a (0.20 - 0.08)}) / (a (0.92 - 0.12)) = 27.89%
    (stacked apart, A2 at 0.20 to 0.60 non-senior weighed 55.4%); B = 12.5 (e^{a 0.12} - 1) /
    (a 0.12) = 647.4%; Sub under K_A: 1250%.  A horizontal 25% retention keeps Sub, B and 5m of
    A2: B is the only mezzanine position (A2 was counted as one), Sub the first loss."""
    deal = greenabs.parse_deal(_time_tranched(form="horizontal", share=0.25))
    assert loss_bands(deal.structure) == [("A1", "A2"), ("B",), ("Sub",)]
    r = greenabs.run(deal)
    points = {name: (a, d, senior) for name, a, d, senior in _tranche_points(r)}
    assert points["A1"] == points["A2"] == (pytest.approx(0.20), pytest.approx(1.0), True)
    assert points["B"] == (pytest.approx(0.08), pytest.approx(0.20), False)
    assert points["Sub"] == (0.0, pytest.approx(0.08), False)

    a = -1 / 0.08
    senior = 12.5 * (math.exp(a * 0.92) - math.exp(a * 0.12)) / (a * 0.80)
    mezz = 12.5 * (math.exp(a * 0.12) - 1) / (a * 0.12)
    assert senior == pytest.approx(0.2789, abs=1e-4)
    assert mezz == pytest.approx(6.474, abs=1e-3)
    imp = securitise(bank, r)
    own = {p["tranche"]: p for p in imp.sale.details["positions"]}
    assert own["A1"]["risk_weight"] == pytest.approx(senior, rel=1e-9)
    assert own["A2"]["risk_weight"] == pytest.approx(senior, rel=1e-9)
    assert own["A1"]["senior"]
    assert own["A2"]["senior"]
    assert own["B"]["risk_weight"] == pytest.approx(mezz, rel=1e-9)
    assert own["Sub"]["risk_weight"] == 12.5
    d = imp.sale.details
    assert (d["mezzanine"], d["first_loss"]) == (["B"], ["Sub"])
    assert d["retained_shares"]["A2"] == pytest.approx(5 / 40)
    # all of the mezzanine's RWA kept (CRR Art. 244(2): at most 50%)
    assert d["srt_measure"] == pytest.approx(1.0)
    assert not imp.sale.srt


def _with(d: dict[str, Any], change: str) -> dict[str, Any]:
    d = copy.deepcopy(d)
    st = d["structure"]
    if change == "separate interest steps":
        st["waterfall"][1:2] = [{"pay_interest": "A1"}, {"pay_interest": "A2"}]
    elif change == "a class between them in the principal step":
        st["waterfall"][3] = {"pay_principal": ["A1", "B", "A2"]}
    elif change == "separate principal steps":
        st["waterfall"][3:4] = [{"pay_principal": "A1"}, {"pay_principal": ["A2", "B"]}]
    elif change == "different ratings":
        st["tranches"][0]["rating"], st["tranches"][1]["rating"] = "AAA", "AA"
    elif change == "one deferrable":
        st["tranches"][1]["deferrable"] = True
    elif change == "a support covering one of them":
        st["supports"] = [
            {
                "name": "g",
                "kind": "guarantee",
                "provider": "Example Guarantor",
                "limit": {"amount": 1e6},
                "covers": [{"tranche": "A1", "what": "interest"}],
            }
        ]
    elif change == "a post-acceleration order paying them apart":
        st["waterfall_after_default"] = [
            {"pay_interest": "A1"},
            {"pay_principal": "A1"},
            {"pay_interest": "A2"},
            {"pay_principal": ["A2", "B"]},
            {"pay_residual": "Sub"},
        ]
    return d


@pytest.mark.parametrize(
    "change",
    [
        "separate interest steps",
        "a class between them in the principal step",
        "separate principal steps",
        "different ratings",
        "one deferrable",
        "a support covering one of them",
        "a post-acceleration order paying them apart",
    ],
)
def test_classes_that_differ_in_more_than_maturity_stay_apart(change: str) -> None:
    """Only classes paid in the same interest and principal steps, next to each other, with
    the same rating, deferral and supports share a loss rank; anything else keeps them
    stacked (the conservative reading of CRR Art. 256(1))."""
    deal = greenabs.parse_deal(_with(_time_tranched(), change))
    assert loss_bands(deal.structure) == [("A1",), ("A2",), ("B",), ("Sub",)]


def test_pro_rata_and_scheduled_senior_classes_form_one_band() -> None:
    for mode in ("pro_rata", "schedule"):
        d = _time_tranched()
        d["structure"]["waterfall"][3] = {"pay_principal": {"tranches": ["A1", "A2"], "mode": mode}}
        d["structure"]["waterfall"].insert(4, {"pay_principal": "B"})
        if mode == "schedule":
            d["structure"]["tranches"][0]["schedule"] = [{"date": "2027-05-26", "balance": 0}]
        deal = greenabs.parse_deal(d)
        assert loss_bands(deal.structure)[0] == ("A1", "A2"), mode


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 100), min_size=1, max_size=6))
def test_splitting_the_senior_class_by_maturity_keeps_its_points(parts: list[int]) -> None:
    """Property (CRR Art. 256(1)): cutting the 80m senior class into time tranches paid
    sequentially in one step leaves every piece at the class's own points (0.20 to 1, senior)
    and every class below where it was."""
    d = _time_tranched()
    sizes = [80e6 * p / sum(parts) for p in parts]
    names = [f"A{i + 1}" for i in range(len(parts))]
    d["structure"]["tranches"][:2] = [
        {"name": n, "balance": b, "coupon": {"fixed": 0.03}}
        for n, b in zip(names, sizes, strict=True)
    ]
    d["structure"]["waterfall"][1] = {"pay_interest": names}
    d["structure"]["waterfall"][3] = {"pay_principal": [*names, "B"]}
    deal = greenabs.parse_deal(d)
    result: Any = SimpleNamespace(pool=SimpleNamespace(original_balance=100e6), deal=deal)
    points = _tranche_points(result)
    assert [p[0] for p in points] == [*names, "B", "Sub"]
    for _, a, det, senior in points[: len(names)]:
        assert (a, det, senior) == (pytest.approx(0.2), 1.0, True)
    assert points[-2][1:] == (pytest.approx(0.08), pytest.approx(0.2), False)
    assert points[-1][1:] == (pytest.approx(0.0, abs=1e-12), pytest.approx(0.08), False)


def test_the_sewage_deals_annual_senior_classes_all_count_as_senior(bank: Any) -> None:
    """The sewage income-right deal's A1..A8 (one rating, interest pro rata, principal on a
    fixed schedule then sequentially, before Sub) differ only in maturity: one band from
    (1,108.5m - 800m) / 1,108.5m = 27.8% of the pool to 1, all senior.  Before, A2..A8 were
    stacked as thin non-senior slices, counted as mezzanine, and weighed up to 82% under
    SEC-ERBA instead of 15% to 30% by maturity.  Without mezzanine the risk-transfer test is on
    the first loss, Sub, which the originator keeps whole."""
    r = greenabs.run(greenabs.load_deal(EXAMPLES / "sewage_income_right_2026.yaml"))
    seniors = [f"A{i}" for i in range(1, 9)]
    assert loss_bands(r.deal.structure) == [tuple(seniors), ("Sub",)]
    pool = r.pool.original_balance
    points = {name: (a, d, senior) for name, a, d, senior in _tranche_points(r)}
    for name in seniors:
        assert points[name] == (pytest.approx((pool - 800e6) / pool), 1.0, True)
    assert points["A8"][0] == pytest.approx(0.2783, abs=1e-4)
    imp = securitise(bank, r)
    d = imp.sale.details
    own = {p["tranche"]: p for p in d["positions"]}
    assert all(own[name]["senior"] for name in seniors)
    assert (d["mezzanine"], d["first_loss"]) == ([], ["Sub"])
    assert d["srt_measure"] == pytest.approx(1.0)
    assert d["srt_limit"] == 0.2
    # SEC-ERBA senior AA+: 15% at one year to 30% at five, by each class's own maturity M_T
    weights = [own[name]["risk_weight"] for name in seniors]
    assert weights == sorted(weights)
    assert weights[0] == pytest.approx(0.15)
    assert weights[-1] == pytest.approx(0.30)
