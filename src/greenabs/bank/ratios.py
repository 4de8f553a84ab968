"""Bank ratios from a balance sheet: capital, leverage, liquidity, asset quality, profit,
interest-rate risk and risk-taking.

Definitions (shared reference regulation.md sections 2.1-2.4 and systemic_risk.md 4.1):

* capital ratios = (CET1 - deductions) / RWA, + AT1 for Tier 1, + Tier 2 for total; RWA =
  credit RWA (exposure net of provisions x risk weight, undrawn commitments at the CCF) +
  operational + market RWA as given;
* leverage = Tier 1 / (total assets + CCF x undrawn commitments);
* LCR = HQLA after haircuts and the 40% / 15% level-2 caps / (outflows - min(inflows,
  75% of outflows)) over 30 days; NSFR = available / required stable funding;
* liquidity ratio (China) = liquid assets / liabilities due within a month;
* NPL ratio = (substandard + doubtful + loss) / loans; provision coverage = provisions / NPL;
* ROA, ROE on net income after credit costs (performing balance x PD x LGD) and tax; NIM on
  interest-earning assets; fee share of operating income;
* interest-rate risk: repricing gaps by bucket, and the change in economic value of equity
  and in 12-month net interest income for a parallel shift, each item treated as repricing
  at its ``repricing_years``; the six standard IRRBB scenarios of Basel SRP31 (parallel up and
  down, steepener, flattener, short up and down) at the currency's shock sizes, and the
  supervisory outlier test (largest ΔEVE loss over Tier 1);
* Z-score = (ROA + equity / assets) / sigma(ROA), sigma from the Vasicek one-factor loss
  volatility of the loan books; liquidity creation after Berger and Bouwman (2009).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from scipy.stats import multivariate_normal, norm

from greenabs.bank.spec import DEFAULT_CORRELATION, IRRBB_SHOCKS, BankSpec
from greenabs.errors import Problem, SpecError

__all__ = [
    "BUCKETS",
    "IRRBB_SCENARIOS",
    "Ratios",
    "eve_outlier_ratio",
    "irr_gap",
    "irrbb",
    "irrbb_shock",
    "loss_volatility",
    "ratios",
]

IRRBB_SCENARIOS = (
    "parallel_up",
    "parallel_down",
    "steepener",
    "flattener",
    "short_up",
    "short_down",
)
"""The six standard interest rate shock scenarios of Basel SRP31 (BCBS d368 Annex 2)."""

BASE_RATE = 0.025
"""The flat annual rate at which ΔEVE discounts each item's repricing amount."""

BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("<=1m", 0.0, 1 / 12),
    ("1-3m", 1 / 12, 0.25),
    ("3-12m", 0.25, 1.0),
    ("1-5y", 1.0, 5.0),
    (">5y", 5.0, math.inf),
)


@dataclass(frozen=True)
class Ratios:
    """Every ratio of one balance sheet (decimals; amounts in the bank's currency)."""

    total_assets: float
    equity: float
    rwa: float
    credit_rwa: float
    cet1_ratio: float
    tier1_ratio: float
    total_capital_ratio: float
    cet1_requirement: float
    leverage_ratio: float
    hqla: float
    net_outflows_30d: float
    lcr: float
    asf: float
    rsf: float
    nsfr: float
    liquidity_ratio: float
    loan_to_deposit: float
    loans: float
    npl: float
    npl_ratio: float
    provisions: float
    provision_coverage: float
    loan_provision_ratio: float
    interest_income: float
    interest_expense: float
    net_interest_income: float
    fee_income: float
    credit_cost: float
    net_income: float
    roa: float
    roe: float
    nim: float
    fee_share: float
    cost_income: float
    rwa_density: float
    delta_eve_up: float
    delta_eve_down: float
    delta_nii_up: float
    delta_nii_down: float
    sigma_roa: float
    z_score: float
    liquidity_creation: float
    liquidity_creation_ratio: float
    eve_outlier_ratio: float

    def as_dict(self) -> dict[str, float]:
        """The ratios as a plain mapping."""
        return asdict(self)

    def breaches(self, bank: BankSpec) -> list[str]:
        """Regulatory minimums this balance sheet does not meet (capital with buffers,
        leverage, liquidity, provision coverage and loan provision ratio) and the IRRBB outlier
        test it fails (largest ΔEVE loss above ``regulation.max_eve_loss_tier1`` of Tier 1)."""
        r = bank.regulation
        checks = [
            ("CET1 ratio incl. buffers", self.cet1_ratio, self.cet1_requirement),
            ("Tier 1 ratio", self.tier1_ratio, r.min_tier1 + r.conservation_buffer),
            ("total capital ratio", self.total_capital_ratio, r.min_total + r.conservation_buffer),
            ("leverage ratio", self.leverage_ratio, r.min_leverage),
            ("LCR", self.lcr, r.min_lcr),
            ("NSFR", self.nsfr, r.min_nsfr),
            ("liquidity ratio", self.liquidity_ratio, r.min_liquidity_ratio),
            ("provision coverage", self.provision_coverage, r.min_provision_coverage),
            ("loan provision ratio", self.loan_provision_ratio, r.min_loan_provision_ratio),
        ]
        found = [f"{n} {v:.2%} below {m:.2%}" for n, v, m in checks if v < m - 1e-12]
        if self.eve_outlier_ratio > r.max_eve_loss_tier1 + 1e-12:
            found.append(
                f"IRRBB outlier test: largest ΔEVE loss {self.eve_outlier_ratio:.2%} of Tier 1 "
                f"above {r.max_eve_loss_tier1:.2%}"
            )
        return found


def _div(a: float, b: float) -> float:
    return a / b if b else math.nan


def _hqla(bank: BankSpec) -> float:
    """Stock of HQLA after haircuts and the level-2 caps (LCR30)."""
    h = bank.regulation.haircut
    l1 = bank.cash_reserves + sum(x.balance for x in bank.hqla if x.level == "1")
    l2a = sum(x.balance for x in bank.hqla if x.level == "2A") * (1 - h["2A"])
    l2b = sum(x.balance for x in bank.hqla if x.level == "2B") * (1 - h["2B"])
    adj15 = max(l2b - 15 / 85 * (l1 + l2a), l2b - 15 / 60 * l1, 0.0)
    adj40 = max(l2a + l2b - adj15 - 2 / 3 * l1, 0.0)
    return l1 + l2a + l2b - adj15 - adj40


def _outflows(bank: BankSpec) -> tuple[float, float]:
    ro = bank.regulation.runoff
    out = sum(d.balance * ro[d.type] for d in bank.deposits)
    out += sum(w.balance * ro["wholesale"] for w in bank.wholesale if w.tenor_years <= 1 / 12)
    out += bank.undrawn_commitments * ro["undrawn"]
    inflow = sum(
        b.balance * (1 - b.classification.npl) * b.share_maturing_30d * 0.5 for b in bank.loans
    )
    return out, inflow


def _stable_funding(bank: BankSpec) -> tuple[float, float]:
    asf_f, rsf_f = bank.regulation.asf, bank.regulation.rsf
    asf = (bank.capital.cet1 + bank.capital.at1 + bank.capital.tier2) * asf_f["capital"]
    for w in bank.wholesale:
        asf += w.balance * asf_f["wholesale_long" if w.tenor_years >= 1 else "wholesale_short"]
    asf += sum(d.balance * asf_f[d.type] for d in bank.deposits)
    rsf = bank.cash_reserves * rsf_f["cash"]
    rsf += sum(x.balance * rsf_f[x.level] for x in bank.hqla)
    for b in bank.loans:
        perf = b.balance * (1 - b.classification.npl)
        if b.life < 1:
            factor = rsf_f["loan_short"]
        elif b.segment == "residential_mortgage" and b.rw <= 0.35:
            factor = rsf_f["mortgage_long"]
        else:
            factor = rsf_f["loan_long"]
        rsf += perf * factor + b.balance * b.classification.npl * rsf_f["npl"]
    rsf += sum(p.balance for p in bank.securities) * rsf_f["securities"]
    rsf += sum(p.balance for p in bank.retained_securitisations) * rsf_f["other"]
    rsf += bank.other_assets * rsf_f["other"] + bank.undrawn_commitments * rsf_f["off_balance"]
    return asf, rsf


def _items(bank: BankSpec) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(balance, repricing years) of rate-sensitive assets and liabilities."""
    assets = [(bank.cash_reserves, 0.0)]
    assets += [(h.balance, h.repricing_years) for h in bank.hqla]
    assets += [(b.balance * (1 - b.classification.npl), b.repricing_years) for b in bank.loans]
    assets += [
        (p.balance, p.repricing_years) for p in (*bank.securities, *bank.retained_securitisations)
    ]
    liabs = [(d.balance, d.repricing_years) for d in bank.deposits]
    liabs += [(w.balance, w.tenor_years) for w in bank.wholesale]
    liabs += [(bank.capital.tier2, 5.0)]
    return assets, liabs


def irr_gap(bank: BankSpec) -> list[dict[str, Any]]:
    """Repricing gap by time bucket: rate-sensitive assets, liabilities and their gap."""
    assets, liabs = _items(bank)
    rows = []
    cumulative = 0.0
    for name, lo, hi in BUCKETS:
        a = sum(b for b, t in assets if lo <= t < hi or (lo == 0 and t == 0))
        li = sum(b for b, t in liabs if lo <= t < hi or (lo == 0 and t == 0))
        cumulative += a - li
        rows.append(
            {
                "bucket": name,
                "assets": a,
                "liabilities": li,
                "gap": a - li,
                "cumulative_gap": cumulative,
            }
        )
    return rows


def _delta_eve(bank: BankSpec, shock: Callable[[float], float]) -> float:
    """Change in economic value of equity when the rate at maturity t moves by ``shock(t)``:
    each item is an amount repricing at its time t, discounted at ``BASE_RATE`` (annual
    compounding) before and at ``BASE_RATE + shock(t)`` after."""
    assets, liabs = _items(bank)

    def dpv(b: float, t: float) -> float:
        return b * (float(((1 + BASE_RATE) / (1 + BASE_RATE + shock(t))) ** t) - 1.0)

    return sum(dpv(b, t) for b, t in assets) - sum(dpv(b, t) for b, t in liabs)


def _delta_nii(bank: BankSpec, shock: Callable[[float], float]) -> float:
    """Change in 12-month net interest income, constant balance sheet: an item repricing at
    t < 1 earns (or pays) ``shock(t)`` for the rest of the year."""
    assets, liabs = _items(bank)
    gain = sum(b * shock(t) * (1 - t) for b, t in assets if t < 1)
    return gain - sum(b * shock(t) * (1 - t) for b, t in liabs if t < 1)


def irrbb_shock(scenario: str, t: float, parallel: float, short: float, long: float) -> float:
    """The change of the rate at maturity ``t`` (years) in one of :data:`IRRBB_SCENARIOS`.

    Basel Framework SRP31 Annex (BCBS d368, April 2016, Annex 2, "standardised interest rate
    shock scenarios"), with the shock sizes ``parallel``, ``short`` and ``long`` (decimals)
    and the decay parameter x = 4 years:

    * parallel up / down: ``±parallel``;
    * short up / down: ``±short · S_short(t)``, ``S_short(t) = exp(-t/4)``;
    * steepener: ``-0.65 · |short · S_short(t)| + 0.9 · |long · S_long(t)|``;
    * flattener: ``+0.8 · |short · S_short(t)| - 0.6 · |long · S_long(t)|``,
      ``S_long(t) = 1 - exp(-t/4)``.
    """
    s_short = math.exp(-t / 4.0)
    d_short, d_long = abs(short * s_short), abs(long * (1.0 - s_short))
    shocks = {
        "parallel_up": parallel,
        "parallel_down": -parallel,
        "steepener": -0.65 * d_short + 0.9 * d_long,
        "flattener": 0.8 * d_short - 0.6 * d_long,
        "short_up": d_short,
        "short_down": -d_short,
    }
    if scenario not in shocks:
        raise SpecError(
            "argument scenario",
            Problem("", f"unknown scenario {scenario!r} (known: {', '.join(IRRBB_SCENARIOS)})"),
        )
    return shocks[scenario]


def _shock_sizes(bank: BankSpec) -> tuple[float, float, float]:
    """(parallel, short, long): the bank file's ``regulation.irrbb_shocks``, else its
    currency's in SRP31 (the bank file's validation makes sure there is one)."""
    given = bank.regulation.irrbb_shocks
    if given is not None:
        return given["parallel"], given["short"], given["long"]
    return IRRBB_SHOCKS[bank.currency]


def _tier1(bank: BankSpec) -> float:
    return bank.capital.cet1 - bank.capital.deductions + bank.capital.at1


def irrbb(bank: BankSpec) -> list[dict[str, Any]]:
    """ΔEVE and 12-month ΔNII under the six standard scenarios (Basel SRP31), with ΔEVE as a
    share of Tier 1 (the supervisory outlier test compares the largest loss with 15%).

    Each row: ``scenario``, ``delta_eve``, ``delta_nii``, ``delta_eve_tier1``.  The items and
    their repricing times are those of the ±200 bp measures; no post-shock rate floor."""
    sizes = _shock_sizes(bank)
    tier1 = _tier1(bank)
    rows = []
    for name in IRRBB_SCENARIOS:

        def shock(t: float, name: str = name) -> float:
            return irrbb_shock(name, t, *sizes)

        eve = _delta_eve(bank, shock)
        rows.append(
            {
                "scenario": name,
                "delta_eve": eve,
                "delta_nii": _delta_nii(bank, shock),
                "delta_eve_tier1": _div(eve, tier1),
            }
        )
    return rows


def eve_outlier_ratio(rows: list[dict[str, Any]], tier1: float) -> float:
    """The supervisory outlier measure: the largest ΔEVE loss over the scenarios (0 when none
    loses) over Tier 1 (SRP31: a bank is an outlier when it exceeds 15%); undefined (NaN)
    when Tier 1 is not positive."""
    worst = max((-r["delta_eve"] for r in rows), default=0.0)
    return max(worst, 0.0) / tier1 if tier1 > 0 else math.nan


def loss_volatility(bank: BankSpec) -> float:
    """Standard deviation of annual credit losses (Vasicek one-factor, books comonotonic).

    Per book: ``EAD x LGD x sqrt(Phi2(z, z; rho) - PD^2)`` with ``z = Phi^-1(PD)``; retained
    securitisation positions add risk in proportion to their RWA at the books' ratio of loss
    volatility to credit RWA.
    """
    total = 0.0
    rwa_loans = 0.0
    for b in bank.loans:
        perf = b.balance * (1 - b.classification.npl)
        rwa_loans += (b.balance - b.provisions) * b.rw
        if perf <= 0 or b.pd <= 0 or b.pd >= 1:
            continue
        z = float(norm.ppf(b.pd))
        rho = DEFAULT_CORRELATION[b.segment]
        joint = float(multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([z, z]))
        total += perf * b.lgd * math.sqrt(max(joint - b.pd**2, 0.0))
    retained_rwa = sum(p.balance * p.risk_weight for p in bank.retained_securitisations)
    if rwa_loans > 0:
        total += retained_rwa * total / rwa_loans
    return total


def ratios(bank: BankSpec) -> Ratios:
    """Every ratio of a bank's balance sheet."""
    reg = bank.regulation
    cap = bank.capital
    ta = bank.total_assets
    credit = (
        sum((b.balance - b.provisions) * b.rw for b in bank.loans)
        + sum(h.balance * h.risk_weight for h in bank.hqla)
        + sum(p.balance * p.risk_weight for p in (*bank.securities, *bank.retained_securitisations))
        + bank.other_assets * bank.other_assets_risk_weight
        + bank.undrawn_commitments * reg.off_balance_ccf
    )
    rwa = credit + bank.rwa_operational + bank.rwa_market + bank.rwa_other
    cet1 = cap.cet1 - cap.deductions
    tier1 = cet1 + cap.at1
    total_cap = tier1 + cap.tier2
    hqla = _hqla(bank)
    out, inflow = _outflows(bank)
    net_out = out - min(inflow, 0.75 * out)
    asf, rsf = _stable_funding(bank)
    loans = sum(b.balance for b in bank.loans)
    npl = sum(b.balance * b.classification.npl for b in bank.loans)
    prov = sum(b.provisions for b in bank.loans)
    deposits = sum(d.balance for d in bank.deposits)
    liquid_assets = (
        bank.cash_reserves
        + sum(h.balance for h in bank.hqla)
        + sum(b.balance * (1 - b.classification.npl) * b.share_maturing_30d for b in bank.loans)
    )
    liquid_liabs = sum(d.balance * d.demand_share for d in bank.deposits) + sum(
        w.balance for w in bank.wholesale if w.tenor_years <= 1 / 12
    )
    ii = (
        bank.cash_reserves * bank.cash_yield
        + sum(b.balance * (1 - b.classification.npl) * b.yield_ for b in bank.loans)
        + sum(h.balance * h.yield_ for h in bank.hqla)
        + sum(p.balance * p.yield_ for p in (*bank.securities, *bank.retained_securitisations))
    )
    ie = (
        sum(d.balance * d.rate for d in bank.deposits)
        + sum(w.balance * w.rate for w in bank.wholesale)
        + cap.tier2 * cap.tier2_rate
    )
    nii = ii - ie
    inc = bank.income
    credit_cost = sum(b.balance * (1 - b.classification.npl) * b.pd * b.lgd for b in bank.loans)
    operating_income = nii + inc.fee_income + inc.other_income
    pbt = operating_income - inc.operating_expense - credit_cost
    ni = pbt * (1 - inc.tax_rate) if pbt > 0 else pbt
    earning = (
        bank.cash_reserves
        + sum(h.balance for h in bank.hqla)
        + sum(b.balance * (1 - b.classification.npl) for b in bank.loans)
        + sum(p.balance for p in (*bank.securities, *bank.retained_securitisations))
    )
    equity = bank.equity
    sigma = loss_volatility(bank) * (1 - inc.tax_rate) / ta if ta else math.nan
    roa = _div(ni, ta)
    illiquid_assets = (
        loans - prov + sum(p.balance for p in bank.retained_securitisations) + bank.other_assets
    )
    liquid = bank.cash_reserves + sum(h.balance for h in bank.hqla)
    illiquid_liabs = sum(w.balance for w in bank.wholesale if w.tenor_years >= 1) + cap.tier2
    lc = 0.5 * (illiquid_assets + liquid_liabs) - 0.5 * (liquid + illiquid_liabs + equity)
    return Ratios(
        total_assets=ta,
        equity=equity,
        rwa=rwa,
        credit_rwa=credit,
        cet1_ratio=_div(cet1, rwa),
        tier1_ratio=_div(tier1, rwa),
        total_capital_ratio=_div(total_cap, rwa),
        cet1_requirement=reg.cet1_requirement,
        leverage_ratio=_div(tier1, ta + bank.undrawn_commitments * reg.off_balance_ccf),
        hqla=hqla,
        net_outflows_30d=net_out,
        lcr=_div(hqla, net_out),
        asf=asf,
        rsf=rsf,
        nsfr=_div(asf, rsf),
        liquidity_ratio=_div(liquid_assets, liquid_liabs),
        loan_to_deposit=_div(loans, deposits),
        loans=loans,
        npl=npl,
        npl_ratio=_div(npl, loans),
        provisions=prov,
        provision_coverage=_div(prov, npl),
        loan_provision_ratio=_div(prov, loans),
        interest_income=ii,
        interest_expense=ie,
        net_interest_income=nii,
        fee_income=inc.fee_income,
        credit_cost=credit_cost,
        net_income=ni,
        roa=roa,
        roe=_div(ni, equity),
        nim=_div(nii, earning),
        fee_share=_div(inc.fee_income, operating_income),
        cost_income=_div(inc.operating_expense, operating_income),
        rwa_density=_div(rwa, ta),
        delta_eve_up=_delta_eve(bank, lambda t: 0.02),
        delta_eve_down=_delta_eve(bank, lambda t: -0.02),
        delta_nii_up=_delta_nii(bank, lambda t: 0.02),
        delta_nii_down=_delta_nii(bank, lambda t: -0.02),
        sigma_roa=sigma,
        z_score=_div(roa + _div(equity, ta), sigma),
        liquidity_creation=lc,
        liquidity_creation_ratio=_div(lc, ta),
        eve_outlier_ratio=eve_outlier_ratio(irrbb(bank), _tier1(bank)),
    )
