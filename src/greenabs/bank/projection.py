"""Originate-to-hold (OTH) versus originate-to-distribute (OTD), quarter by quarter.

Both models start from the same balance sheet and grow the loan books at
``projection.loan_growth`` a year, funded by deposits; each quarter earns a quarter of the
annual net income the ratios give (interest, fees, costs, expected credit losses written off,
tax), pays ``payout_ratio`` of it out and keeps the rest as CET1.

OTD also securitises ``share_securitised`` of the source book every ``issue_every_quarters``,
booking each sale like the paired deal (proceeds, retained positions and their risk weights,
costs, fees, gain; scaled to the pool), earns the servicing fee on what it still services, and
**recycles the cash into new lending** with the risk profile of ``projection.new_lending_*``
(the paper's channel: liquidity from securitisation funds more, and riskier, lending).

Every quarter's balance sheet is validated (it balances) and its ratios computed; the paper's
five mechanism changes are reported per quarter: liquidity (LCR, liquid-asset share),
business model (fee share of income), profit mix (NII, fees, gains), risk sharing (RWA
transferred, retained exposure), liquidity creation (Berger-Bouwman / assets); and its
risk-taking claim through the Z-score, RWA density and capital ratios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from greenabs.bank.ratios import ratios
from greenabs.bank.spec import BankSpec
from greenabs.bank.transaction import RetainedPiece, Sale, apply_sale, sale_from_deal
from greenabs.calendar import add_months

__all__ = ["MECHANISMS", "Projection", "default_sale", "project"]

MECHANISMS: dict[str, tuple[str, ...]] = {
    "liquidity": ("lcr", "liquid_asset_share", "loan_to_deposit"),
    "business model": ("fee_share", "nim"),
    "profit mix": ("net_interest_income", "fee_income", "gain_on_sale", "roe"),
    "risk sharing": ("rwa_transferred", "retained_exposure", "securitised_outstanding"),
    "liquidity creation": ("liquidity_creation_ratio",),
    "risk-taking": ("z_score", "rwa_density", "cet1_ratio", "total_capital_ratio"),
}
"""The paper's mechanism changes and the columns that measure each."""


@dataclass(frozen=True)
class Projection:
    """Quarterly paths of both business models (one row per quarter, quarter 0 = today)."""

    oth: pd.DataFrame
    otd: pd.DataFrame

    def frame(self) -> pd.DataFrame:
        """Both paths in one long table with a ``model`` column."""
        return pd.concat(
            [self.oth.assign(model="OTH"), self.otd.assign(model="OTD")], ignore_index=True
        )

    def compare(self) -> pd.DataFrame:
        """The horizon's values side by side, grouped by the paper's mechanisms."""
        rows = []
        last_h, last_d = self.oth.iloc[-1], self.otd.iloc[-1]
        first = self.oth.iloc[0]
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
    """A per-unit template when no deal is paired: 95% sold at par, 5% kept as a vertical
    slice risk-weighted like the pool (look-through)."""
    b = bank.book(book)
    piece = RetainedPiece("vertical 5%", 0.05, 0.05, b.yield_, b.rw, b.life, "look-through")
    return Sale(book=book, pool=1.0, proceeds=0.95, retained=(piece,), servicing_fee_rate=0.003)


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


def _row(bank: BankSpec, q: int, extra: dict[str, float]) -> dict[str, Any]:
    r = ratios(bank).as_dict()
    liquid = bank.cash_reserves + sum(h.balance for h in bank.hqla)
    return {
        "quarter": q,
        "date": bank.date,
        **r,
        "liquid_asset_share": liquid / r["total_assets"],
        "retained_exposure": sum(p.balance for p in bank.retained_securitisations),
        **extra,
    }


def project(bank: BankSpec, result: Any | None = None, *, quarters: int = 20) -> Projection:
    """Project the bank under OTH and OTD for ``quarters`` quarters.

    ``result`` (a deal run) sets how each OTD sale is booked; without one
    :func:`default_sale` is used.  The source book is ``bank.securitisation.segment_book``
    (the first green book, else the first book, when the bank file has no such section).
    """
    if quarters < 1:
        from greenabs.errors import Problem, SpecError

        raise SpecError("<argument>", Problem("quarters", "must be at least 1"))
    sp = bank.securitisation
    source = (
        sp.segment_book
        if sp is not None
        else next((b.name for b in bank.loans if b.segment == "green"), bank.loans[0].name)
    )
    template = (
        sale_from_deal(bank, result)
        if result is not None and sp is not None
        else default_sale(bank, source)
    )
    paths = {}
    for model in ("OTH", "OTD"):
        paths[model] = _simulate(bank, template, source, quarters, distribute=model == "OTD")
    return Projection(oth=paths["OTH"], otd=paths["OTD"])


def _simulate(
    bank: BankSpec, template: Sale, source: str, quarters: int, distribute: bool
) -> pd.DataFrame:
    pj = bank.projection
    base_fee = bank.income.fee_income
    outstanding = 0.0
    transferred_rwa = 0.0
    source_life = bank.book(source).life
    rows = [
        _row(
            bank,
            0,
            {
                "gain_on_sale": 0.0,
                "securitised": 0.0,
                "securitised_outstanding": 0.0,
                "rwa_transferred": 0.0,
            },
        )
    ]
    b = bank
    growth = (1.0 + pj.loan_growth) ** 0.25 - 1.0
    for q in range(1, quarters + 1):
        r = ratios(b)
        ni = r.net_income / 4.0
        div = max(ni, 0.0) * b.income.payout_ratio
        d = b.model_dump(by_alias=True)
        added = 0.0
        for book, spec in zip(d["loans"], b.loans, strict=True):
            loss = spec.balance * (1 - spec.classification.npl) * spec.pd * spec.lgd / 4.0
            new = spec.balance * growth
            book["balance"] = spec.balance + new - loss
            added += new
            d["cash_reserves"] += loss
        dep = sum(x["balance"] for x in d["deposits"])
        for x in d["deposits"]:
            x["balance"] *= (dep + added) / dep
        for p in d["retained_securitisations"]:
            paid = p["balance"] * min(0.25 / p["maturity_years"], 1.0)
            p["balance"] -= paid
            d["cash_reserves"] += paid
        outstanding *= max(1.0 - 0.25 / source_life, 0.0)
        transferred_rwa *= max(1.0 - 0.25 / source_life, 0.0)
        d["cash_reserves"] += ni - div
        d["capital"]["cet1"] += ni - div
        d["date"] = add_months(bank.date, 3 * q)
        b = BankSpec.model_validate(d)
        gain = sold = 0.0
        if distribute and q % pj.issue_every_quarters == 0:
            pool = pj.share_securitised * b.book(source).balance
            if pool > 0:
                sale = _scaled(template, pool, source)
                cash_before = b.cash_reserves + sum(h.balance for h in b.hqla)
                b, amounts = apply_sale(b, sale, proceeds_to="cash_reserves")
                gain, sold = amounts["gain"], pool
                outstanding += pool
                if sale.srt:
                    transferred_rwa += pool * bank.book(source).rw - sum(
                        x.fair_value * x.risk_weight for x in sale.retained
                    )
                recycled = max(b.cash_reserves + sum(h.balance for h in b.hqla) - cash_before, 0.0)
                b = _lend(b, min(recycled, b.cash_reserves))
        fee = (
            base_fee * (1.0 + pj.loan_growth) ** (q / 4.0)
            + template.servicing_fee_rate * outstanding
        )
        b = b.model_copy(update={"income": b.income.model_copy(update={"fee_income": fee})})
        rows.append(
            _row(
                b,
                q,
                {
                    "gain_on_sale": gain,
                    "securitised": sold,
                    "securitised_outstanding": outstanding,
                    "rwa_transferred": transferred_rwa,
                },
            )
        )
    return pd.DataFrame(rows)


def _lend(bank: BankSpec, amount: float) -> BankSpec:
    """Move ``amount`` of cash into the recycled new-lending book (created on first use)."""
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
        book["balance"] += amount
    return BankSpec.model_validate(d)
