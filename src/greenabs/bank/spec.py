"""The bank file: a commercial bank's balance sheet, capital, income and regulatory settings.

Frozen pydantic models, validated at the edge like deal files.  Amounts are in the bank's
currency; rates are decimals.  Regulatory parameters default to China's 2023 capital rules
(NFRA Order 2023 No. 4) and the Basel III liquidity standards (LCR30/40, NSF30), each
documented and overridable under ``regulation``.  The balance sheet must balance:
assets = deposits + wholesale funding + other liabilities + Tier 2 instruments + equity,
where equity is CET1 capital before deductions plus AT1.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from greenabs.errors import Problem, SpecError

__all__ = [
    "FIRST_DATE",
    "IRRBB_SHOCKS",
    "LAST_DATE",
    "MAX_AMOUNT",
    "REGULATION_TABLES",
    "BankSpec",
    "CapitalSpec",
    "Classification",
    "DepositSpec",
    "HQLASpec",
    "IncomeSpec",
    "LoanBookSpec",
    "PositionSpec",
    "ProjectionSpec",
    "RegulationSpec",
    "SecuritisationSpec",
    "WholesaleSpec",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        str_strip_whitespace=True,
        populate_by_name=True,
        allow_inf_nan=False,
    )


MAX_AMOUNT = 1e18
"""The largest amount a bank file may hold (in its currency).  Far above any bank's balance
sheet in any currency, it keeps every sum and product of the ratios finite."""

FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2200, 12, 31)
"""The dates a bank file may carry: a projection of up to 200 quarters stays in the calendar."""

Money = Annotated[float, Field(ge=0, le=MAX_AMOUNT)]
SignedMoney = Annotated[float, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
BankDate = Annotated[
    date, Field(ge=FIRST_DATE, le=LAST_DATE, description="A date from 1900-01-01 to 2200-12-31")
]
Rate = Annotated[float, Field(ge=-0.05, le=1)]
Share = Annotated[float, Field(ge=0, le=1)]
Segment = Literal[
    "corporate", "sme", "retail", "residential_mortgage", "project_finance", "green", "other"
]

DEFAULT_RISK_WEIGHTS: dict[str, float] = {
    "corporate": 1.00,
    "sme": 0.85,
    "retail": 0.75,
    "residential_mortgage": 0.50,
    "project_finance": 1.00,
    "green": 1.00,
    "other": 1.00,
}
"""Standardised risk weights used when a loan book gives none (Basel III CRE20 / China 2023
as summarised in the shared reference, regulation.md section 2.2: corporate 100%, SME 85%,
regulatory retail 75%, residential mortgages 50% under China's 2012 rules, operational project
finance 100%).  Documented defaults, not law: give ``risk_weight`` per book."""

DEFAULT_CORRELATION: dict[str, float] = {
    "corporate": 0.12,
    "sme": 0.10,
    "retail": 0.04,
    "residential_mortgage": 0.15,
    "project_finance": 0.12,
    "green": 0.12,
    "other": 0.12,
}
"""Asset correlations for the loss volatility behind the Z-score (Basel IRB values: corporate
0.12 at high PD, residential mortgage 0.15, qualifying revolving retail 0.04)."""


class Classification(_Frozen):
    """Five-category loan classification (shares of the book's balance; they sum to one)."""

    normal: Share = 1.0
    special_mention: Share = 0.0
    substandard: Share = 0.0
    doubtful: Share = 0.0
    loss: Share = 0.0

    @model_validator(mode="after")
    def _sums(self) -> Self:
        total = self.normal + self.special_mention + self.substandard + self.doubtful + self.loss
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares sum to {total:.6f}, not 1")
        return self

    @property
    def npl(self) -> float:
        """Non-performing share: substandard + doubtful + loss."""
        return self.substandard + self.doubtful + self.loss


class LoanBookSpec(_Frozen):
    """A loan book of one segment."""

    name: str = Field(min_length=1)
    segment: Segment
    balance: Money
    yield_: Rate = Field(alias="yield", description="Annual interest yield")
    risk_weight: float | None = Field(None, ge=0, le=12.5)
    repricing_years: float = Field(1.0, ge=0, le=50, description="Time to repricing/maturity")
    maturity_years: float | None = Field(None, gt=0, le=50, description="Average life")
    classification: Classification = Classification()
    provisions: Money = 0.0
    pd: Share = Field(0.01, description="Annual probability of default of performing loans")
    lgd: Share = 0.45
    share_maturing_30d: Share = Field(0.02, description="Share repaid within 30 days")

    @property
    def rw(self) -> float:
        """Risk weight (given, or the segment default)."""
        return DEFAULT_RISK_WEIGHTS[self.segment] if self.risk_weight is None else self.risk_weight

    @property
    def life(self) -> float:
        """Average life in years (maturity, else repricing time, at least a quarter)."""
        return max(self.maturity_years or self.repricing_years, 0.25)


class HQLASpec(_Frozen):
    """A holding of high-quality liquid assets (LCR level 1, 2A or 2B)."""

    name: str = Field(min_length=1)
    level: Literal["1", "2A", "2B"]
    balance: Money
    yield_: Rate = Field(alias="yield")
    risk_weight: float = Field(0.0, ge=0, le=12.5)
    repricing_years: float = Field(3.0, ge=0, le=50)


class PositionSpec(_Frozen):
    """A non-HQLA security or a retained securitisation position."""

    name: str = Field(min_length=1)
    balance: Money
    yield_: float = Field(
        alias="yield",
        ge=-1,
        le=1,
        description="Expected yield; negative for a position expected to lose money",
    )
    risk_weight: float = Field(1.0, ge=0, le=12.5)
    repricing_years: float = Field(3.0, ge=0, le=50)
    maturity_years: float = Field(3.0, gt=0, le=50)


class DepositSpec(_Frozen):
    """A deposit category (LCR/NSFR treatment follows ``type``)."""

    type: Literal[
        "retail_stable",
        "retail_less_stable",
        "operational",
        "corporate",
        "financial_institution",
    ]
    balance: Money
    rate: Rate
    repricing_years: float = Field(0.5, ge=0, le=30)
    demand_share: Share = Field(0.5, description="Share payable within one month")


class WholesaleSpec(_Frozen):
    """Wholesale funding (interbank, bonds) by tenor."""

    name: str = Field(min_length=1)
    balance: Money
    rate: Rate
    tenor_years: float = Field(ge=0, le=50, description="Remaining term")


class CapitalSpec(_Frozen):
    """Regulatory capital.  CET1 and AT1 are book equity; Tier 2 instruments are a liability."""

    cet1: Money
    at1: Money = 0.0
    tier2: Money = 0.0
    tier2_rate: Rate = Field(0.045, description="Coupon on Tier 2 instruments")
    deductions: Money = Field(0.0, description="Regulatory deductions from CET1")


class IncomeSpec(_Frozen):
    """Income items beyond interest (annual amounts)."""

    fee_income: Money = 0.0
    other_income: SignedMoney = 0.0
    operating_expense: Money = 0.0
    tax_rate: Share = 0.25
    payout_ratio: Share = 0.3


REGULATION_TABLES: dict[str, dict[str, float]] = {
    "runoff": {
        "retail_stable": 0.05,
        "retail_less_stable": 0.10,
        "operational": 0.25,
        "corporate": 0.40,
        "financial_institution": 1.0,
        "wholesale": 1.0,
        "undrawn": 0.10,
    },
    "haircut": {"1": 0.0, "2A": 0.15, "2B": 0.50},
    "asf": {
        "capital": 1.0,
        "wholesale_long": 1.0,
        "retail_stable": 0.95,
        "retail_less_stable": 0.90,
        "operational": 0.50,
        "corporate": 0.50,
        "financial_institution": 0.0,
        "wholesale_short": 0.0,
    },
    "rsf": {
        "cash": 0.0,
        "1": 0.05,
        "2A": 0.15,
        "2B": 0.50,
        "loan_short": 0.50,
        "mortgage_long": 0.65,
        "loan_long": 0.85,
        "npl": 1.0,
        "other": 1.0,
        "securities": 0.85,
        "off_balance": 0.05,
    },
}
"""Default run-off rates, HQLA haircuts and ASF/RSF factors (Basel III LCR30/40, NSF30).  A
bank file's ``regulation`` tables are merged over these: give only the keys you change."""


IRRBB_SHOCKS: dict[str, tuple[float, float, float]] = {
    "ARS": (0.04, 0.05, 0.03),
    "AUD": (0.03, 0.045, 0.02),
    "BRL": (0.04, 0.05, 0.03),
    "CAD": (0.02, 0.03, 0.015),
    "CHF": (0.01, 0.015, 0.01),
    "CNY": (0.025, 0.03, 0.015),
    "EUR": (0.02, 0.025, 0.01),
    "GBP": (0.025, 0.03, 0.015),
    "HKD": (0.02, 0.025, 0.01),
    "IDR": (0.04, 0.05, 0.035),
    "INR": (0.04, 0.05, 0.03),
    "JPY": (0.01, 0.01, 0.01),
    "KRW": (0.03, 0.04, 0.02),
    "MXN": (0.04, 0.05, 0.03),
    "RUB": (0.04, 0.05, 0.03),
    "SAR": (0.02, 0.03, 0.015),
    "SEK": (0.02, 0.03, 0.015),
    "SGD": (0.015, 0.02, 0.01),
    "TRY": (0.04, 0.05, 0.03),
    "USD": (0.02, 0.03, 0.015),
    "ZAR": (0.04, 0.05, 0.03),
}
"""Specified interest rate shocks (parallel, short, long; decimals) by currency: Basel Framework
SRP31 Annex, table "Specified size of interest rate shocks" (BCBS d368, April 2016; the same
figures are reproduced in the annex of Commission Delegated Regulation (EU) 2024/856).  CNY:
250, 300 and 150 basis points.  A bank in another currency gives ``regulation.irrbb_shocks``."""

IRRBB_SHOCK_KEYS = ("parallel", "short", "long")


class RegulationSpec(_Frozen):
    """Minimums, buffers and liquidity factors (defaults: China 2023 rules and Basel III)."""

    min_cet1: Share = 0.05
    min_tier1: Share = 0.06
    min_total: Share = 0.08
    conservation_buffer: Share = 0.025
    countercyclical_buffer: Share = 0.0
    sib_buffer: Share = 0.0
    min_leverage: Share = 0.04
    min_lcr: float = Field(1.0, ge=0)
    min_nsfr: float = Field(1.0, ge=0)
    min_liquidity_ratio: Share = 0.25
    min_provision_coverage: float = Field(
        1.5,
        ge=0,
        le=100,
        description="Provisions / NPL: the regulator sets 120-150% bank by bank (CBRC, "
        "28 Feb 2018; 150% under the 2011 rules); default the top of that range",
    )
    min_loan_provision_ratio: Share = Field(
        0.025,
        description="Provisions / loans: the regulator sets 1.5-2.5% bank by bank (CBRC, "
        "28 Feb 2018; 2.5% under the 2011 rules); default the top of that range",
    )
    off_balance_ccf: Share = Field(0.5, description="Credit conversion for leverage exposure")
    irrbb_shocks: dict[str, Share] | None = Field(
        None,
        description="IRRBB shock sizes {parallel, short, long} (decimals) from which the six "
        "standard scenarios are built; default: the currency's in SRP31",
    )
    max_eve_loss_tier1: Share = Field(
        0.15, description="IRRBB outlier test: largest ΔEVE loss allowed, share of Tier 1"
    )
    runoff: dict[str, Share] = Field(default_factory=lambda: dict(REGULATION_TABLES["runoff"]))
    haircut: dict[str, Share] = Field(default_factory=lambda: dict(REGULATION_TABLES["haircut"]))
    asf: dict[str, Share] = Field(default_factory=lambda: dict(REGULATION_TABLES["asf"]))
    rsf: dict[str, Share] = Field(default_factory=lambda: dict(REGULATION_TABLES["rsf"]))

    @field_validator("runoff", "haircut", "asf", "rsf", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any, info: ValidationInfo) -> Any:
        """A partial table overrides only the keys it names; the others keep their defaults."""
        defaults = REGULATION_TABLES[str(info.field_name)]
        if value is None:
            return dict(defaults)
        if not isinstance(value, dict):
            return value  # pydantic reports the wrong type
        given = {str(k).strip(): v for k, v in value.items()}
        unknown = [k for k in given if k not in defaults]
        if unknown:
            raise ValueError(
                f"unknown key{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(k) for k in unknown)} (known: {', '.join(defaults)})"
            )
        return {**defaults, **given}

    @field_validator("irrbb_shocks", mode="before")
    @classmethod
    def _complete_shocks(cls, value: Any) -> Any:
        """A shock table names all three sizes the six scenarios are built from, and no other."""
        if not isinstance(value, dict):
            return value  # None, or pydantic reports the wrong type
        given = {str(k).strip(): v for k, v in value.items()}
        unknown = [k for k in given if k not in IRRBB_SHOCK_KEYS]
        missing = [k for k in IRRBB_SHOCK_KEYS if k not in given]
        if unknown:
            raise ValueError(
                f"unknown shock {', '.join(repr(k) for k in unknown)} "
                f"(known: {', '.join(IRRBB_SHOCK_KEYS)})"
            )
        if missing:
            raise ValueError(
                f"missing {', '.join(repr(k) for k in missing)}: the six scenarios (parallel "
                "up/down, steepener, flattener, short up/down) need the parallel, short and "
                "long shocks"
            )
        return given

    @property
    def cet1_requirement(self) -> float:
        """CET1 minimum plus buffers."""
        return (
            self.min_cet1 + self.conservation_buffer + self.countercyclical_buffer + self.sib_buffer
        )


class SecuritisationSpec(_Frozen):
    """How the bank securitises: which book the pool comes from, and the deal economics."""

    segment_book: str = Field(description="Name of the loan book the pool is drawn from")
    npl_share: Share | None = Field(
        0.0,
        description="Non-performing share of the pool: 0 by default (securitised pools, "
        "Chinese CLOs among them, are normal-class loans); null: the book's own share",
    )
    face_per_pool: float = Field(
        1.0,
        ge=1.0,
        le=100.0,
        description="Gross book face leaving per unit of deal pool balance (NPL pools are "
        "modelled at their expected recoveries, below face)",
    )
    costs: Money = Field(0.0, description="Issuance costs paid by the originator")
    structuring_fee: Share = Field(0.0, description="Arranger fee earned, share of the issue")
    price: float = Field(100.0, gt=0, le=200, description="Sale price per 100 of face")
    stc: bool = False
    use_ratings: bool = True
    k_irb: Share | None = Field(None, description="Pool K_IRB if the bank uses SEC-IRBA")
    irb_lgd: Share | None = None
    proceeds_to: Literal["cash_reserves", "hqla", "repay_wholesale"] = "cash_reserves"
    substantially_all: Share = Field(
        0.9, description="Share of the pool's variability that counts as 'substantially all'"
    )


class ProjectionSpec(_Frozen):
    """Assumptions of the originate-to-hold versus originate-to-distribute projection."""

    loan_growth: float = Field(0.08, ge=-0.5, le=1, description="Annual loan book growth")
    deposit_rate_shift: float = Field(0.0, ge=-0.05, le=0.05)
    issue_every_quarters: int = Field(4, ge=1, le=40)
    share_securitised: Share = Field(
        0.3, description="Share of the source book securitised at each issuance"
    )
    new_lending_segment: Segment = "green"
    new_lending_yield: Rate = 0.055
    new_lending_risk_weight: float = Field(1.0, ge=0, le=12.5)
    new_lending_pd: Share = 0.02
    new_lending_lgd: Share = 0.45
    new_lending_maturity_years: float = Field(3.0, gt=0, le=30)
    hqla_yield: Rate = 0.02
    special_mention_roll: float = Field(
        0.15,
        gt=0,
        le=1,
        description="Quarterly share of special-mention loans that become substandard",
    )
    special_mention_cure: Share = Field(
        0.15, description="Quarterly share of special-mention loans that return to normal"
    )
    write_off_share: Share = Field(
        0.5, description="Quarterly share of loss-class loans written off against provisions"
    )
    provisioning: Literal["coverage", "expected_loss"] = Field(
        "coverage",
        description="Provisions topped up each quarter to a coverage of NPLs (at least the "
        "expected loss and the regulatory minimums), or to the expected loss by class alone",
    )
    provision_coverage: float | None = Field(
        None,
        ge=0,
        le=100,
        description="Coverage the 'coverage' rule keeps (provisions / NPL); default: each "
        "book's own at the start, at least regulation.min_provision_coverage",
    )

    @model_validator(mode="after")
    def _special_mention_exits(self) -> Self:
        if self.special_mention_roll + self.special_mention_cure > 1:
            raise ValueError(
                "special_mention_roll + special_mention_cure: more than 1 (a quarter's exits "
                "from special mention cannot exceed its balance)"
            )
        return self


class BankSpec(_Frozen):
    """A bank file."""

    name: str = Field(min_length=1)
    currency: str = Field("CNY", min_length=3, max_length=3)
    date: BankDate
    irb: bool = Field(False, description="Whether the bank uses IRB (SEC-IRBA for its pools)")
    cash_reserves: Money = Field(description="Cash and central-bank reserves (level 1 HQLA)")
    cash_yield: Rate = Field(0.0, description="Remuneration of central-bank reserves")
    hqla: tuple[HQLASpec, ...] = ()
    loans: tuple[LoanBookSpec, ...] = Field(min_length=1)
    securities: tuple[PositionSpec, ...] = ()
    retained_securitisations: tuple[PositionSpec, ...] = ()
    other_assets: Money = 0.0
    other_assets_risk_weight: float = Field(1.0, ge=0, le=12.5)
    deposits: tuple[DepositSpec, ...] = Field(min_length=1)
    wholesale: tuple[WholesaleSpec, ...] = ()
    other_liabilities: Money = 0.0
    capital: CapitalSpec
    income: IncomeSpec = IncomeSpec()
    undrawn_commitments: Money = 0.0
    rwa_operational: Money = 0.0
    rwa_market: Money = 0.0
    rwa_other: Money = Field(
        0.0, description="Other RWA, e.g. securitised pools that did not transfer significant risk"
    )
    regulation: RegulationSpec = RegulationSpec()
    securitisation: SecuritisationSpec | None = None
    projection: ProjectionSpec = ProjectionSpec()

    @property
    def total_assets(self) -> float:
        """Total assets (loans net of provisions)."""
        return (
            self.cash_reserves
            + sum(h.balance for h in self.hqla)
            + sum(b.balance - b.provisions for b in self.loans)
            + sum(p.balance for p in self.securities)
            + sum(p.balance for p in self.retained_securitisations)
            + self.other_assets
        )

    @property
    def equity(self) -> float:
        """Book equity: CET1 before deductions plus AT1."""
        return self.capital.cet1 + self.capital.at1

    @property
    def total_liabilities(self) -> float:
        """Deposits, wholesale funding, other liabilities and Tier 2 instruments."""
        return (
            sum(d.balance for d in self.deposits)
            + sum(w.balance for w in self.wholesale)
            + self.other_liabilities
            + self.capital.tier2
        )

    def book(self, name: str) -> LoanBookSpec:
        """The loan book called ``name`` (a :class:`~greenabs.errors.SpecError` naming the known
        books when there is none)."""
        for b in self.loans:
            if b.name == name:
                return b
        known = ", ".join(repr(b.name) for b in self.loans)
        raise SpecError(
            "argument book", Problem("", f"unknown loan book {name!r} (known: {known})")
        )

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems = []
        names = [b.name for b in self.loans]
        for n in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"loans: book name {n!r} is used twice")
        for i, b in enumerate(self.loans):
            if b.provisions > b.balance:
                problems.append(f"loans[{i}].provisions: larger than the book's balance")
        assets, claims = self.total_assets, self.total_liabilities + self.equity
        if not (math.isfinite(assets) and math.isfinite(claims)):  # bounded amounts: defensive
            problems.append("balance sheet: totals are not finite numbers")
        elif assets <= 0:
            problems.append("balance sheet: total assets are zero; a bank needs a balance sheet")
        elif abs(assets - claims) > max(1.0, 1e-9 * assets):
            problems.append(
                f"balance sheet: does not balance: assets {assets:,.2f}, liabilities + equity "
                f"{claims:,.2f} (difference {assets - claims:,.2f})"
            )
        if self.regulation.irrbb_shocks is None and self.currency not in IRRBB_SHOCKS:
            problems.append(
                f"regulation.irrbb_shocks: SRP31 gives no interest rate shocks for currency "
                f"{self.currency!r} (it does for {', '.join(IRRBB_SHOCKS)}); give parallel, "
                "short and long"
            )
        if self.capital.deductions > self.capital.cet1:
            problems.append("capital.deductions: larger than CET1")
        if self.securitisation is not None and self.securitisation.segment_book not in names:
            problems.append(
                f"securitisation.segment_book: unknown loan book "
                f"{self.securitisation.segment_book!r} (known: {', '.join(names)})"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self
