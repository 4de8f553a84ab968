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

A bank in trouble is a result, not an error.  Each path records (:class:`PathEvent`) the first
quarter its CET1 ratio falls below its requirement (minimum plus buffers) and below the bare
minimum, and carries on; it **stops** at the quarter the bank fails: CET1 capital after
deductions would go below zero, the cash reserves would run out, or an issuance cannot be
booked (e.g. its loss would wipe out CET1).  It also stops (kind ``stopped``) where the
projected balance sheet leaves the model's range (an amount above 10^18 after decades of
growth).  A path that ended early has its table end at the last quarter the bank stood; the
event, its quarter and the reason are in :attr:`Projection.events`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import ValidationError

from greenabs.bank.ratios import Ratios, ratios
from greenabs.bank.spec import BankSpec
from greenabs.bank.transaction import RetainedPiece, Sale, apply_sale, sale_from_deal
from greenabs.calendar import add_months
from greenabs.errors import Problem, SpecError
from greenabs.spec.io import problems_from

if TYPE_CHECKING:
    from greenabs.results import RunResult

__all__ = ["MAX_QUARTERS", "MECHANISMS", "PathEvent", "Projection", "default_sale", "project"]

MAX_QUARTERS = 200
"""The longest projection (50 years)."""

MECHANISMS: dict[str, tuple[str, ...]] = {
    "liquidity": ("lcr", "liquid_asset_share", "loan_to_deposit"),
    "business model": ("fee_share", "nim"),
    "profit mix": ("net_interest_income", "fee_income", "gain_on_sale", "roe"),
    "risk sharing": ("rwa_transferred", "retained_exposure", "securitised_outstanding"),
    "liquidity creation": ("liquidity_creation_ratio",),
    "risk-taking": ("z_score", "rwa_density", "cet1_ratio", "total_capital_ratio"),
}
"""The paper's mechanism changes and the columns that measure each."""


EventKind = Literal["below requirement", "below minimum", "failed", "stopped"]


@dataclass(frozen=True)
class PathEvent:
    """Something that happened to one path: the first quarter its CET1 ratio fell below its
    requirement or its minimum (the path carries on), the quarter the bank failed, or the
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


def _row(bank: BankSpec, r: Ratios, q: int, when: date, extra: dict[str, float]) -> dict[str, Any]:
    row = r.as_dict()
    liquid = bank.cash_reserves + sum(h.balance for h in bank.hqla)
    return {
        "quarter": q,
        "date": when,
        **row,
        "liquid_asset_share": liquid / row["total_assets"] if row["total_assets"] else math.nan,
        "retained_exposure": sum(p.balance for p in bank.retained_securitisations),
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
    events: list[PathEvent] = []

    def event(q: int, when: date, kind: EventKind, reason: str) -> None:
        events.append(PathEvent(model, q, when, kind, reason))

    def check_capital(b: BankSpec, r: Ratios, q: int, when: date) -> None:
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

    base_fee = bank.income.fee_income
    outstanding = 0.0
    transferred_rwa = 0.0
    source_life = bank.book(source).life
    r = ratios(bank)
    rows = [
        _row(
            bank,
            r,
            0,
            bank.date,
            {
                "gain_on_sale": 0.0,
                "securitised": 0.0,
                "securitised_outstanding": 0.0,
                "rwa_transferred": 0.0,
            },
        )
    ]
    check_capital(bank, r, 0, bank.date)
    b = bank
    growth = (1.0 + pj.loan_growth) ** 0.25 - 1.0
    for q in range(1, quarters + 1):
        when = add_months(bank.date, 3 * q)
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
        if dep > 0:
            for x in d["deposits"]:
                x["balance"] *= (dep + added) / dep
        else:  # no deposits yet: the first category funds the growth
            d["deposits"][0]["balance"] += added
        for p in d["retained_securitisations"]:
            paid = p["balance"] * min(0.25 / p["maturity_years"], 1.0)
            p["balance"] -= paid
            d["cash_reserves"] += paid
        outstanding *= max(1.0 - 0.25 / source_life, 0.0)
        transferred_rwa *= max(1.0 - 0.25 / source_life, 0.0)
        d["cash_reserves"] += ni - div
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
        gain = sold = 0.0
        if distribute and q % pj.issue_every_quarters == 0:
            pool = pj.share_securitised * b.book(source).balance
            if pool > 0:
                sale = _scaled(template, pool, source)
                cash_before = b.cash_reserves + sum(h.balance for h in b.hqla)
                try:
                    b, amounts = apply_sale(b, sale, proceeds_to="cash_reserves")
                except SpecError as exc:
                    event(
                        q,
                        when,
                        "failed",
                        f"the issuance cannot be booked: {_problems_text(exc.problems)}; "
                        "the path stops",
                    )
                    break
                gain, sold = amounts["gain"], pool
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
        rows.append(
            _row(
                b,
                r,
                q,
                when,
                {
                    "gain_on_sale": gain,
                    "securitised": sold,
                    "securitised_outstanding": outstanding,
                    "rwa_transferred": transferred_rwa,
                },
            )
        )
        check_capital(b, r, q, when)
    return pd.DataFrame(rows), events


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
