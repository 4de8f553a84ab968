"""Originate-to-hold (OTH) versus originate-to-distribute (OTD), quarter by quarter.

Both models start from the same balance sheet and grow the loan books at
``projection.loan_growth`` a year, funded by deposits.  Each quarter:

* **credit risk**: every book's loans migrate across China's five classes (normal, special
  mention, substandard, doubtful, loss) by a quarterly matrix derived from the book's PD
  (:func:`migration_matrix`); a loan reaching the loss class is recovered at ``1 - LGD`` and
  the rest written off against provisions (``write_off_share`` a quarter); provisions are
  replenished through the income statement to the ``provisioning`` rule (a coverage of NPLs,
  at least the expected loss and the regulatory minimums; or the expected loss by class,
  :func:`expected_loss_rates`) and never released; a provision coverage or loan provision
  ratio below its minimum is recorded (``provisions below minimum``);
* **income**: a quarter of the annual net interest income, fees, other income and operating
  costs of the balance sheet, less the provision charge, taxed; ``payout_ratio`` of it is paid
  out and the rest kept as CET1.

OTD also securitises ``share_securitised`` of the source book every ``issue_every_quarters``,
booking each sale like the paired deal (proceeds, retained positions and their risk weights,
costs, fees, gain; scaled to the pool), earns the servicing fee on what it still services, and
**recycles the cash into new lending** with the risk profile of ``projection.new_lending_*``
(the paper's channel: liquidity from securitisation funds more, and riskier, lending, whose
loans then migrate down the classes at their higher PD).  The gain on sale and the
structuring fee go through net income; the after-tax gain is deducted from CET1 (Basel CAP30,
by :func:`~greenabs.bank.transaction.apply_sale`) and the deduction runs off with the sold
pool; dividends are paid on the sale's profit less that deduction.

Every quarter's balance sheet is validated (it balances) and its ratios computed.  The profit
columns (:data:`INCOME_ITEMS`, ROA, ROE, fee share, cost-income) are the income statement of
the last four quarters, quarters before the start counted at today's run rate, so a gain on
sale stays in them for a year.  The paper's mechanism changes are reported per quarter
(:data:`MECHANISMS`): liquidity, business model, profit mix, lending, risk sharing,
liquidity creation, risk-taking and credit risk.

A bank in trouble is a result, not an error.  Each path records (:class:`PathEvent`) the first
quarter its CET1 ratio falls below its requirement (minimum plus buffers) and below the bare
minimum, and its provisions below a minimum, and carries on; it **stops** at the quarter the
bank fails: CET1 capital after deductions would go below zero, the cash reserves would run
out, or an issuance cannot be booked (e.g. its loss would wipe out CET1).  It also stops (kind
``stopped``) where the projected balance sheet leaves the model's range (an amount above
10^18 after decades of growth).  A path that ended early has its table end at the last quarter
the bank stood; the event, its quarter and the reason are in :attr:`Projection.events`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationError

from greenabs import _html
from greenabs.bank.ratios import Ratios, ratios
from greenabs.bank.spec import BankSpec
from greenabs.bank.transaction import RetainedPiece, Sale, apply_sale, sale_from_deal
from greenabs.calendar import add_months
from greenabs.errors import Problem, SpecError
from greenabs.spec.io import problems_from

if TYPE_CHECKING:
    from greenabs.results import RunResult

__all__ = [
    "CLASSES",
    "INCOME_ITEMS",
    "MAX_QUARTERS",
    "MECHANISMS",
    "Migration",
    "PathEvent",
    "Projection",
    "default_sale",
    "expected_loss_rates",
    "migrate",
    "migration_matrix",
    "project",
]

MAX_QUARTERS = 200
"""The longest projection (50 years)."""

MECHANISMS: dict[str, tuple[str, ...]] = {
    "liquidity": ("lcr", "liquid_asset_share", "loan_to_deposit"),
    "business model": ("fee_share", "nim"),
    "profit mix": ("net_interest_income", "fee_income", "gain_on_sale", "net_income", "roe"),
    "lending": ("loans", "managed_loans"),
    "risk sharing": ("rwa_transferred", "retained_exposure", "securitised_outstanding"),
    "liquidity creation": ("liquidity_creation_ratio",),
    "risk-taking": ("z_score", "rwa_density", "cet1_ratio", "total_capital_ratio"),
    "credit risk": (
        "npl_ratio",
        "special_mention_ratio",
        "npl_formation",
        "credit_cost",
        "provision_coverage",
        "loan_provision_ratio",
    ),
}
"""The paper's mechanism changes and the columns that measure each."""


EventKind = Literal[
    "below requirement", "below minimum", "provisions below minimum", "failed", "stopped"
]

CLASSES = ("normal", "special_mention", "substandard", "doubtful", "loss")
"""China's five loan classes, best first (CBRC 2007 loan risk classification guideline; NFRA/PBoC
2023 financial asset risk classification measures)."""

SUBSTANDARD_TO_DOUBTFUL = 0.5
"""Quarterly share of substandard loans that turn doubtful: overdue more than 90 days is at
least substandard, more than 270 days at least doubtful (2023 measures), two quarters apart."""

DOUBTFUL_TO_LOSS = 1.0
"""Quarterly share of doubtful loans that reach the loss class: more than 360 days overdue is
loss (2023 measures), a quarter after doubtful."""


@dataclass(frozen=True)
class PathEvent:
    """Something that happened to one path: the first quarter its CET1 ratio fell below its
    requirement or its minimum, or its provisions below a minimum (provision coverage, loan
    provision ratio; the path carries on), the quarter the bank failed, or the
    quarter the path left the model's range (amounts above 10^18): the path stops there."""

    model: str
    quarter: int
    date: date
    kind: EventKind
    reason: str

    def __str__(self) -> str:
        return f"{self.model} {self.kind} in quarter {self.quarter} ({self.date}): {self.reason}"


@dataclass(frozen=True)
class Projection:
    """Quarterly paths of both business models (one row per quarter, quarter 0 = today).

    A path that failed ends at the last quarter the bank stood; :attr:`events` says when and
    why, and when each path first fell below its CET1 requirement and minimum.
    """

    oth: pd.DataFrame
    otd: pd.DataFrame
    events: tuple[PathEvent, ...] = field(default=())
    quarters: int = 0

    def failure(self, model: str) -> PathEvent | None:
        """The event that ended path ``model`` (``"OTH"`` or ``"OTD"``) before the horizon: the
        bank ``failed``, or the path ``stopped`` at the model's limits; None when it ran to the
        horizon."""
        return next(
            (e for e in self.events if e.model == model and e.kind in ("failed", "stopped")), None
        )

    def __repr__(self) -> str:
        return f"Projection(OTH and OTD over {self.quarters} quarters, {len(self.events)} events)"

    def _repr_html_(self) -> str:
        """A notebook's view: each mechanism's measures today and at the horizon, OTH and
        OTD, and the events."""
        money = {
            *MECHANISMS["profit mix"],
            *MECHANISMS["lending"],
            *MECHANISMS["risk sharing"],
            "credit_cost",
        } - {"roe"}
        rows = []
        for _, r in self.compare().iterrows():
            if r["metric"] == "quarter":
                continue
            form = (
                _html.money
                if r["metric"] in money
                else _html.num
                if r["metric"] == "z_score"
                else lambda v: _html.pct(v, 2)
            )
            values = (form(r[c]) for c in ("today", "OTH", "OTD"))
            rows.append((r["mechanism"], r["metric"], *values))
        facts: list[tuple[str, object]] = [
            ("Quarters", self.quarters),
            ("Events", len(self.events)),
            *(("", str(e)) for e in self.events[:5]),
        ]
        table = _html.table(("Mechanism", "Metric", "Today", "OTH", "OTD"), rows, max_rows=40)
        title = "Projection: originate-to-hold vs originate-to-distribute"
        return _html.summary(title, facts, [(f"After {self.quarters} quarters", table)])

    def frame(self) -> pd.DataFrame:
        """Both paths in one long table with a ``model`` column."""
        return pd.concat(
            [self.oth.assign(model="OTH"), self.otd.assign(model="OTD")], ignore_index=True
        )

    def compare(self) -> pd.DataFrame:
        """The horizon's values side by side, grouped by the paper's mechanisms.

        The first row (``horizon``, ``quarter``) is the quarter each column shows: the horizon,
        or for a failed path its last quarter before the failure."""
        rows = []
        last_h, last_d = self.oth.iloc[-1], self.otd.iloc[-1]
        first = self.oth.iloc[0]
        rows.append(
            {
                "mechanism": "horizon",
                "metric": "quarter",
                "today": first["quarter"],
                "OTH": last_h["quarter"],
                "OTD": last_d["quarter"],
                "OTD - OTH": last_d["quarter"] - last_h["quarter"],
            }
        )
        for mech, cols in MECHANISMS.items():
            for c in cols:
                rows.append(
                    {
                        "mechanism": mech,
                        "metric": c,
                        "today": first[c],
                        "OTH": last_h[c],
                        "OTD": last_d[c],
                        "OTD - OTH": last_d[c] - last_h[c],
                    }
                )
        return pd.DataFrame(rows)


def default_sale(bank: BankSpec, book: str) -> Sale:
    """A per-unit template when no deal is paired: 95% sold at the ``securitisation``
    section's ``price`` (par without one), 5% kept as a vertical slice risk-weighted like the
    pool (look-through); the section's ``structuring_fee`` is earned on the issue."""
    b = bank.book(book)
    sp = bank.securitisation
    price = 1.0 if sp is None else sp.price / 100.0
    piece = RetainedPiece("vertical 5%", 0.05, 0.05, b.yield_, b.rw, b.life, "look-through")
    return Sale(
        book=book,
        pool=1.0,
        proceeds=0.95 * price,
        retained=(piece,),
        structuring_fee=0.0 if sp is None else sp.structuring_fee,
        servicing_fee_rate=0.003,
    )


def _scaled(template: Sale, pool: float, book: str) -> Sale:
    f = pool / template.pool
    pieces = tuple(
        replace(r, face=r.face * f, fair_value=r.fair_value * f) for r in template.retained
    )
    return replace(
        template,
        book=book,
        pool=pool,
        proceeds=template.proceeds * f,
        retained=pieces,
        costs=template.costs * f,
        structuring_fee=template.structuring_fee * f,
    )


def _row(bank: BankSpec, r: Ratios, q: int, when: date, extra: dict[str, float]) -> dict[str, Any]:
    row = r.as_dict()
    liquid = bank.cash_reserves + sum(h.balance for h in bank.hqla)
    special = sum(b.balance * b.classification.special_mention for b in bank.loans)
    return {
        "quarter": q,
        "date": when,
        **row,
        "liquid_asset_share": liquid / row["total_assets"] if row["total_assets"] else math.nan,
        "retained_exposure": sum(p.balance for p in bank.retained_securitisations),
        "special_mention_ratio": special / row["loans"] if row["loans"] else math.nan,
        "managed_loans": row["loans"] + extra["securitised_outstanding"],
        **extra,
    }


def project(
    bank: BankSpec,
    result: RunResult | None = None,
    *,
    quarters: int = 20,
    bank_source: str = "argument bank",
    deal_source: str = "argument result",
) -> Projection:
    """Project the bank under OTH and OTD for ``quarters`` quarters (1 to 200).

    ``result`` (a deal run) sets how each OTD sale is booked; without one
    :func:`default_sale` is used.  The source book is ``bank.securitisation.segment_book``
    (the first green book, else the first book, when the bank file has no such section).
    ``bank_source`` and ``deal_source`` name the bank and the deal in error messages (their
    files, when they came from files).  A path that fails stops there; see
    :attr:`Projection.events`.
    """
    if (
        isinstance(quarters, bool)
        or not isinstance(quarters, int)
        or not 1 <= quarters <= MAX_QUARTERS
    ):
        raise SpecError(
            "argument quarters",
            Problem("", f"must be a whole number from 1 to {MAX_QUARTERS} (got {quarters!r})"),
        )
    sp = bank.securitisation
    if result is not None and sp is None:
        raise SpecError(
            bank_source,
            Problem(
                "securitisation", "pairing a deal needs a securitisation section (segment_book)"
            ),
        )
    source = (
        sp.segment_book
        if sp is not None
        else next((b.name for b in bank.loans if b.segment == "green"), bank.loans[0].name)
    )
    template = (
        sale_from_deal(bank, result, bank_source=bank_source, deal_source=deal_source)
        if result is not None
        else default_sale(bank, source)
    )
    paths: dict[str, pd.DataFrame] = {}
    events: list[PathEvent] = []
    for model in ("OTH", "OTD"):
        paths[model], path_events = _simulate(
            bank, template, source, quarters, distribute=model == "OTD", model=model
        )
        events += path_events
    return Projection(oth=paths["OTH"], otd=paths["OTD"], events=tuple(events), quarters=quarters)


def _problems_text(problems: list[Problem]) -> str:
    return "; ".join(str(p) for p in problems)


def migration_matrix(pd: float, roll: float, cure: float) -> np.ndarray:
    """The quarterly migration matrix of a loan book across China's five classes.

    Rows are the class at the start of the quarter, columns the class at its end, in the order
    of :data:`CLASSES` (normal, special mention, substandard, doubtful, loss); rows sum to one.

    * Special mention is the early-warning class (CBRC 2007 loan risk classification guideline;
      NFRA/PBoC 2023 financial asset risk classification measures: any overdue amount makes an
      asset at least special mention).  A quarter sends ``roll`` of it to substandard and
      ``cure`` back to normal.
    * Normal loans enter special mention at ``u = q (roll + cure) / roll`` a quarter (capped at
      1), ``q = 1 - (1 - pd)^(1/4)`` the quarterly PD: in the steady state the flow into
      substandard, ``roll x SM = roll x u N / (roll + cure)``, is then ``q x N``, the book's PD.
      (Entering non-performing is defaulting: the 2023 measures make an asset overdue more
      than 90 days at least substandard, the Basel default definition's 90 days past due.)
    * The 2023 measures' thresholds set the ageing of the non-performing classes: overdue more
      than 270 days is at least doubtful and more than 360 days loss, so an unresolved
      substandard loan turns doubtful after two quarters (:data:`SUBSTANDARD_TO_DOUBTFUL` =
      1/2 a quarter) and a doubtful one loss after one (:data:`DOUBTFUL_TO_LOSS` = 1).

    Recoveries (``1 - LGD`` of a loan reaching the loss class) and write-offs are applied to the
    flows by :func:`migrate`; the matrix is only the classes.
    """
    q = 1.0 - (1.0 - pd) ** 0.25
    u = min(q * (roll + cure) / roll, 1.0)
    g, h = SUBSTANDARD_TO_DOUBTFUL, DOUBTFUL_TO_LOSS
    return np.array(
        [
            [1.0 - u, u, 0.0, 0.0, 0.0],
            [cure, 1.0 - roll - cure, roll, 0.0, 0.0],
            [0.0, 0.0, 1.0 - g, g, 0.0],
            [0.0, 0.0, 0.0, 1.0 - h, h],
            [0.0, 0.0, 0.0, 0.0, 1.0],
        ]
    )


def expected_loss_rates(pd: float, lgd: float, roll: float, cure: float) -> np.ndarray:
    """Expected loss per unit of balance by class (the provisions the ``expected_loss`` rule
    holds), after IFRS 9 / CAS 22's three stages: normal loans their 12-month expected loss
    ``PD x LGD`` (stage 1); special mention its lifetime loss, the chance of rolling to
    substandard before curing, ``roll / (roll + cure)``, times LGD (stage 2); substandard and
    doubtful LGD (stage 3, defaulted); loss the whole balance (unrecoverable by definition)."""
    return np.array([pd * lgd, roll / (roll + cure) * lgd, lgd, lgd, 1.0])


@dataclass(frozen=True)
class Migration:
    """One book's quarter: class balances at its end and the flows that got them there."""

    classes: np.ndarray
    recovered: float
    written_off: float
    to_npl: float


def migrate(
    classes: np.ndarray, pd: float, lgd: float, roll: float, cure: float, write_off: float
) -> Migration:
    """Move class balances one quarter (:func:`migration_matrix`); a loan reaching the loss
    class is recovered at ``1 - LGD`` (cash, it leaves the book) and the rest enters the loss
    class, of which ``write_off`` is written off against provisions."""
    flows = classes[:, None] * migration_matrix(pd, roll, cure)
    after = flows.sum(axis=0)
    recovered = float(flows[3, 4]) * (1.0 - lgd)
    after[4] -= recovered
    written = float(after[4]) * write_off
    after[4] -= written
    return Migration(after, recovered, written, float(flows[1, 2] + flows[0, 2]))


def _classes(spec: dict[str, Any]) -> np.ndarray:
    c = spec["classification"]
    return float(spec["balance"]) * np.array([float(c[k]) for k in CLASSES])


def _set_classes(spec: dict[str, Any], classes: np.ndarray) -> None:
    """Write class balances back as the book's balance and classification shares."""
    classes = np.maximum(classes, 0.0)
    total = float(classes.sum())
    spec["balance"] = total
    if total > 0:
        shares = classes / total
        spec["classification"] = {k: float(v) for k, v in zip(CLASSES[1:], shares[1:], strict=True)}
        spec["classification"]["normal"] = max(1.0 - float(shares[1:].sum()), 0.0)


def _coverage_targets(bank: BankSpec) -> dict[str, float]:
    """The provision coverage (provisions / NPL) the ``coverage`` rule keeps per book: the
    projection's ``provision_coverage``, else each book's own at the start (the bank's for a
    book without NPLs), never below ``regulation.min_provision_coverage``."""
    pj, floor = bank.projection, bank.regulation.min_provision_coverage
    npl = sum(b.balance * b.classification.npl for b in bank.loans)
    prov = sum(b.provisions for b in bank.loans)
    overall = prov / npl if npl > 0 else floor
    out = {}
    for b in bank.loans:
        own = b.balance * b.classification.npl
        start = b.provisions / own if own > 0 else overall
        out[b.name] = max(
            pj.provision_coverage if pj.provision_coverage is not None else start, floor
        )
    return out


def _credit_quarter(
    d: dict[str, Any], bank: BankSpec, growth: float, coverage: dict[str, float]
) -> dict[str, float]:
    """Migrate every loan book of ``d`` one quarter, grow it, write off and replenish its
    provisions (in place); the quarter's amounts: ``new`` lending, ``recovered``,
    ``written_off``, ``provision_charge``, ``to_npl`` (flow into substandard)."""
    pj, reg = bank.projection, bank.regulation
    total = {"new": 0.0, "recovered": 0.0, "written_off": 0.0, "provision_charge": 0.0}
    total["to_npl"] = 0.0
    for book, spec in zip(d["loans"], bank.loans, strict=True):
        m = migrate(
            _classes(book),
            spec.pd,
            spec.lgd,
            pj.special_mention_roll,
            pj.special_mention_cure,
            pj.write_off_share,
        )
        classes = m.classes.copy()
        new = max(spec.balance * growth, -float(classes[0]))
        classes[0] += new
        _set_classes(book, classes)
        left = spec.provisions - m.written_off
        el = float(
            classes
            @ expected_loss_rates(
                spec.pd, spec.lgd, pj.special_mention_roll, pj.special_mention_cure
            )
        )
        target = el
        if pj.provisioning == "coverage":
            npl = float(classes[2:].sum())
            target = max(
                el,
                coverage.get(spec.name, reg.min_provision_coverage) * npl,
                reg.min_loan_provision_ratio * book["balance"],
            )
        held = min(max(target, left), book["balance"])  # provisions are topped up, not released
        book["provisions"] = held
        total["new"] += new
        total["recovered"] += m.recovered
        total["written_off"] += m.written_off
        total["provision_charge"] += held - left
        total["to_npl"] += m.to_npl
    return total


def _taxed(pbt: float, tax: float) -> float:
    """Net income from profit before tax (a loss is not taxed), as :func:`ratios` does."""
    return pbt * (1.0 - tax) if pbt > 0 else pbt


INCOME_ITEMS = (
    "net_interest_income",
    "fee_income",
    "other_income",
    "operating_expense",
    "gain_on_sale",
    "credit_cost",
    "net_income",
)
"""The income statement items a projection row sums over its last four quarters."""


def _trailing(row: dict[str, Any], window: deque[dict[str, float]]) -> None:
    """Replace the row's profit columns by the income statement of its last four quarters."""
    year = {k: sum(q[k] for q in window) for k in INCOME_ITEMS}
    row.update(year)
    income = (
        year["net_interest_income"]
        + year["fee_income"]
        + year["other_income"]
        + year["gain_on_sale"]
    )
    row["roa"] = year["net_income"] / row["total_assets"] if row["total_assets"] else math.nan
    row["roe"] = year["net_income"] / row["equity"] if row["equity"] else math.nan
    row["fee_share"] = year["fee_income"] / income if income else math.nan
    row["cost_income"] = year["operating_expense"] / income if income else math.nan


def _simulate(
    bank: BankSpec,
    template: Sale,
    source: str,
    quarters: int,
    *,
    distribute: bool,
    model: str,
) -> tuple[pd.DataFrame, list[PathEvent]]:
    pj = bank.projection
    tax = bank.income.tax_rate
    events: list[PathEvent] = []

    def event(q: int, when: date, kind: EventKind, reason: str) -> None:
        events.append(PathEvent(model, q, when, kind, reason))

    def check(b: BankSpec, r: Ratios, q: int, when: date) -> None:
        seen = {e.kind for e in events}
        req, floor = r.cet1_requirement, b.regulation.min_cet1
        if "below requirement" not in seen and r.cet1_ratio < req - 1e-12:
            event(
                q,
                when,
                "below requirement",
                f"CET1 ratio {r.cet1_ratio:.2%} below its requirement {req:.2%} "
                "(minimum plus buffers)",
            )
        if "below minimum" not in seen and r.cet1_ratio < floor - 1e-12:
            event(q, when, "below minimum", f"CET1 ratio {r.cet1_ratio:.2%} below {floor:.2%}")
        reg = b.regulation
        short = [
            f"{name} {v:.2%} below {m:.2%}"
            for name, v, m in (
                ("provision coverage", r.provision_coverage, reg.min_provision_coverage),
                ("loan provision ratio", r.loan_provision_ratio, reg.min_loan_provision_ratio),
            )
            if v < m - 1e-12
        ]
        if short and "provisions below minimum" not in seen:
            event(q, when, "provisions below minimum", "; ".join(short))

    base_fee = bank.income.fee_income
    outstanding = transferred_rwa = gos_deduction = 0.0
    source_life = bank.book(source).life
    runoff = max(1.0 - 0.25 / source_life, 0.0)
    coverage = _coverage_targets(bank)
    r = ratios(bank)
    # the four quarters before the start: a quarter of today's annual run rate each
    window: deque[dict[str, float]] = deque(
        [
            {
                "net_interest_income": r.net_interest_income / 4,
                "fee_income": r.fee_income / 4,
                "other_income": bank.income.other_income / 4,
                "operating_expense": bank.income.operating_expense / 4,
                "gain_on_sale": 0.0,
                "credit_cost": r.credit_cost / 4,
                "net_income": r.net_income / 4,
            }
        ]
        * 4,
        maxlen=4,
    )
    zero = {
        "securitised": 0.0,
        "securitised_outstanding": 0.0,
        "rwa_transferred": 0.0,
        "provision_charge": 0.0,
        "write_offs": 0.0,
        "recoveries": 0.0,
        "npl_formation": math.nan,
        "gain_on_sale_deduction": 0.0,
    }
    rows = [_row(bank, r, 0, bank.date, zero)]
    _trailing(rows[0], window)
    check(bank, r, 0, bank.date)
    b = bank
    growth = (1.0 + pj.loan_growth) ** 0.25 - 1.0
    for q in range(1, quarters + 1):
        when = add_months(bank.date, 3 * q)
        inc = b.income
        d = b.model_dump(by_alias=True)
        performing = sum(x.balance * (1 - x.classification.npl) for x in b.loans)
        credit = _credit_quarter(d, b, growth, coverage)
        pre_provision = (
            r.net_interest_income + inc.fee_income + inc.other_income - inc.operating_expense
        ) / 4.0
        ni = _taxed(pre_provision - credit["provision_charge"], tax)
        div = max(ni, 0.0) * inc.payout_ratio
        dep = sum(x["balance"] for x in d["deposits"])
        if dep > 0:
            for x in d["deposits"]:
                x["balance"] *= (dep + credit["new"]) / dep
        else:  # no deposits yet: the first category funds the growth
            d["deposits"][0]["balance"] += credit["new"]
        for p in d["retained_securitisations"]:
            paid = p["balance"] * min(0.25 / p["maturity_years"], 1.0)
            p["balance"] -= paid
            d["cash_reserves"] += paid
        outstanding *= runoff
        transferred_rwa *= runoff
        # the gain on sale deducted from CET1 is realised as the sold pool runs off
        released = gos_deduction * (1.0 - runoff)
        gos_deduction -= released
        d["capital"]["deductions"] = max(d["capital"]["deductions"] - released, 0.0)
        # provisions are charged, not paid: the cash is the profit plus the charge, plus
        # recoveries collected
        d["cash_reserves"] += ni - div + credit["provision_charge"] + credit["recovered"]
        d["capital"]["cet1"] += ni - div
        # the balance sheets keep the bank file's date (dates are bounded); rows carry `when`
        cet1_net = d["capital"]["cet1"] - d["capital"]["deductions"]
        if cet1_net < 0:
            event(
                q,
                when,
                "failed",
                f"CET1 capital after deductions would fall to {cet1_net:,.2f} (net income of "
                f"the quarter {ni:,.2f}): the bank is insolvent; the path stops",
            )
            break
        if d["cash_reserves"] < 0:
            event(
                q,
                when,
                "failed",
                f"cash reserves would fall to {d['cash_reserves']:,.2f}: the bank runs out of "
                "cash (the projection does not borrow); the path stops",
            )
            break
        try:
            b = BankSpec.model_validate(d)
        except ValidationError as exc:
            event(
                q,
                when,
                "stopped",
                "the projected balance sheet leaves the model's range: "
                f"{_problems_text(problems_from(exc))}; the path stops",
            )
            break
        quarter = {
            "net_interest_income": r.net_interest_income / 4,
            "fee_income": inc.fee_income / 4,
            "other_income": inc.other_income / 4,
            "operating_expense": inc.operating_expense / 4,
            "gain_on_sale": 0.0,
            "credit_cost": credit["provision_charge"],
            "net_income": ni,
        }
        sold = 0.0
        if distribute and q % pj.issue_every_quarters == 0:
            pool = pj.share_securitised * b.book(source).balance
            if pool > 0:
                sale = _scaled(template, pool, source)
                cash_before = b.cash_reserves + sum(h.balance for h in b.hqla)
                cet1_before = b.capital.cet1
                try:
                    b, amounts = apply_sale(b, sale, proceeds_to="cash_reserves")
                    # the sale's profit goes through net income; its distributable part (not
                    # the gain deducted from CET1) pays the dividend
                    profit = b.capital.cet1 - cet1_before
                    deduction = float(amounts.get("cet1_deduction", 0.0))
                    paid_out = max(profit - deduction, 0.0) * inc.payout_ratio
                    if paid_out > 0:
                        b = _pay(b, paid_out)
                except SpecError as exc:
                    event(
                        q,
                        when,
                        "failed",
                        f"the issuance cannot be booked: {_problems_text(exc.problems)}; "
                        "the path stops",
                    )
                    break
                gos_deduction += deduction
                quarter["gain_on_sale"] = amounts["gain"]
                quarter["fee_income"] += sale.structuring_fee
                quarter["net_income"] += profit
                sold = pool
                outstanding += pool
                if sale.srt:
                    transferred_rwa += pool * bank.book(source).rw - sum(
                        x.fair_value * x.risk_weight for x in sale.retained
                    )
                recycled = max(b.cash_reserves + sum(h.balance for h in b.hqla) - cash_before, 0.0)
                try:
                    b = _lend(b, min(recycled, b.cash_reserves))
                except ValidationError as exc:
                    event(
                        q,
                        when,
                        "stopped",
                        "the recycled lending leaves the model's range: "
                        f"{_problems_text(problems_from(exc))}; the path stops",
                    )
                    break
        fee = (
            base_fee * (1.0 + pj.loan_growth) ** (q / 4.0)
            + template.servicing_fee_rate * outstanding
        )
        b = b.model_copy(update={"income": b.income.model_copy(update={"fee_income": fee})})
        r = ratios(b)
        window.append(quarter)
        row = _row(
            b,
            r,
            q,
            when,
            {
                "securitised": sold,
                "securitised_outstanding": outstanding,
                "rwa_transferred": transferred_rwa,
                "provision_charge": credit["provision_charge"],
                "write_offs": credit["written_off"],
                "recoveries": credit["recovered"],
                "npl_formation": 4 * credit["to_npl"] / performing if performing else math.nan,
                "gain_on_sale_deduction": gos_deduction,
            },
        )
        _trailing(row, window)
        rows.append(row)
        check(b, r, q, when)
    return pd.DataFrame(rows), events


def _pay(bank: BankSpec, amount: float) -> BankSpec:
    """Pay a dividend of ``amount`` from cash and CET1."""
    return bank.model_copy(
        update={
            "cash_reserves": bank.cash_reserves - amount,
            "capital": bank.capital.model_copy(update={"cet1": bank.capital.cet1 - amount}),
        }
    )


def _lend(bank: BankSpec, amount: float) -> BankSpec:
    """Move ``amount`` of cash into the recycled new-lending book (created on first use); new
    loans are normal-class loans."""
    if amount <= 0 or math.isnan(amount):
        return bank
    pj = bank.projection
    d = bank.model_dump(by_alias=True)
    d["cash_reserves"] -= amount
    name = "new lending (recycled proceeds)"
    d["loans"] = list(d["loans"])
    book = next((x for x in d["loans"] if x["name"] == name), None)
    if book is None:
        d["loans"].append(
            {
                "name": name,
                "segment": pj.new_lending_segment,
                "balance": amount,
                "yield": pj.new_lending_yield,
                "risk_weight": pj.new_lending_risk_weight,
                "pd": pj.new_lending_pd,
                "lgd": pj.new_lending_lgd,
                "maturity_years": pj.new_lending_maturity_years,
                "repricing_years": min(pj.new_lending_maturity_years, 1.0),
            }
        )
    else:
        classes = _classes(book)
        classes[0] += amount
        _set_classes(book, classes)
    return BankSpec.model_validate(d)
