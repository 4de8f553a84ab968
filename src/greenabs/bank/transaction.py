"""What a securitisation does to the originating bank's balance sheet.

:class:`Sale` describes a transaction in accounting terms (pool leaving a loan book, cash
proceeds, retained positions with their risk weights, costs and fees, and the outcome of the
derecognition and significant-risk-transfer tests).  :func:`apply_sale` books it and returns a
new, balanced :class:`~greenabs.bank.spec.BankSpec`; :func:`sale_from_deal` builds the sale
from a deal run (retained tranches from the deal's retention, their capital from
:mod:`greenabs.bank.capital`, derecognition from default stresses run through the waterfall);
:func:`securitise` does both and explains every ratio's change.  Attachment and detachment
points come from the deal's capital structure by loss band (:func:`loss_bands`: classes that
rank pari passu in losses and differ only in maturity are one tranche, CRR Art. 256(1)).

Accounting (IFRS 9 / CAS 23, shared reference systemic_risk.md section 4.3):

* substantially all risks and rewards transferred, or neither transferred nor retained with
  control passed: derecognise; gain = proceeds + fair value of retained positions - carrying
  amount (balance less its provisions) - costs;
* substantially all retained: keep the loans, book the proceeds as a financing liability;
* capital relief needs significant risk transfer; without it the pool's RWA stay;
* the after-tax gain on sale is deducted from CET1 (Basel III, BCBS 189 "gain on sale related
  to securitisation transactions", now the Basel Framework's CET1 regulatory adjustments;
  CRR Art. 32(1)(a); China's 2023 capital rules list 资产证券化销售利得 among the CET1
  deductions): book equity rises by the gain, regulatory capital does not.

Credit enhancement the originator provides (a deal's ``structure.supports`` with
``originator: true``: a guarantee or shortfall undertaking by the originating bank) is a
securitisation exposure it keeps (Basel CRE40: credit enhancements are securitisation
exposures, an off-balance-sheet one at a 100% credit conversion factor; China's 2023 capital
rules for commercial banks follow the same framework).  Its exposure is the **limit**, not the
expected draw: the bank is committed to the whole limit whatever the scenario.  It is booked
as a retained piece off the balance sheet (no asset, no fair value in the gain) whose RWA is
limit x risk weight.  Simplification: the position is placed in the loss stack just below the
covered classes, attaching where the most junior covered class attaches and as thick as the
limit over the pool; the covered classes keep their own attachment points (their capital is
not reduced for the protection, which overstates it slightly).  The position counts in the
significant-risk-transfer test as a position the originator keeps whole, and its draws in the
stress runs count against the originator in the derecognition (variability) test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from greenabs import _html
from greenabs.analytics import wal
from greenabs.bank.capital import (
    RW_MAX,
    PositionCapital,
    effective_number,
    erba_ratings,
    largest_share_held,
    position_risk_weights,
)
from greenabs.bank.ratios import Ratios, ratios
from greenabs.bank.spec import (
    DEFAULT_CORRELATION,
    BankSpec,
    Classification,
    HQLASpec,
    PositionSpec,
    SecuritisationSpec,
    WholesaleSpec,
)
from greenabs.errors import Problem, SpecError
from greenabs.spec.io import problems_from

if TYPE_CHECKING:
    from greenabs.results import RunResult
    from greenabs.spec.deal import StructureSpec, TrancheSpec

__all__ = [
    "PROCEEDS_TO",
    "RetainedPiece",
    "Sale",
    "TransactionImpact",
    "apply_sale",
    "loss_bands",
    "sale_from_deal",
    "securitise",
    "sources_label",
]

PROCEEDS_TO = ("cash_reserves", "hqla", "repay_wholesale")
"""Where a sale's cash may go."""


def sources_label(bank_source: str, deal_source: str) -> str:
    """How error messages name a bank and a deal together (their files, or the arguments)."""
    if bank_source.startswith("argument ") and deal_source.startswith("argument "):
        return f"arguments {bank_source.removeprefix('argument ')} and " + deal_source.removeprefix(
            "argument "
        )
    return f"{bank_source} with deal {deal_source}"


@dataclass(frozen=True)
class RetainedPiece:
    """A position the originator keeps: face, fair value, yield and capital treatment."""

    tranche: str
    face: float
    fair_value: float
    yield_: float
    risk_weight: float
    maturity_years: float = 3.0
    approach: str = "given"
    note: str = ""
    on_balance_sheet: bool = True
    """False for a credit enhancement the originator provides (a guarantee or shortfall
    undertaking): no asset is booked (``fair_value`` 0), its RWA are ``face`` (the limit) x
    ``risk_weight``."""

    @property
    def rwa(self) -> float:
        """Risk-weighted amount: fair value (on the balance sheet) or face (off it) x weight."""
        return (self.fair_value if self.on_balance_sheet else self.face) * self.risk_weight


@dataclass(frozen=True)
class Sale:
    """A securitisation in the originator's books.

    ``pool`` (face) leaves loan book ``book``; ``npl_share`` of it is non-performing (default
    0: securitised pools are normally performing loans; ``None``: the book's own share, a
    proportional slice of the book).  The originator receives ``proceeds`` in cash for the
    tranches sold, keeps ``retained`` (its tranches, and off the balance sheet the credit
    enhancement it provides), pays ``costs`` and earns ``structuring_fee`` once and
    ``servicing_fee_rate`` a year on the pool.
    """

    book: str
    pool: float
    proceeds: float
    retained: tuple[RetainedPiece, ...] = ()
    npl_share: float | None = 0.0
    costs: float = 0.0
    structuring_fee: float = 0.0
    servicing_fee_rate: float = 0.0
    derecognise: bool = True
    srt: bool = True
    financing_tenor_years: float = 2.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransactionImpact:
    """Before and after: balance sheets, ratios, and why each ratio moved."""

    sale: Sale
    before: BankSpec
    after: BankSpec
    before_ratios: Ratios
    after_ratios: Ratios
    gain: float
    """Gain on sale before tax (negative: a loss)."""
    carrying_amount: float
    provisions_released: float
    npl_removed: float
    retained_rwa: float
    pool_rwa: float
    explanations: dict[str, str]
    cet1_deduction: float = 0.0
    """The after-tax gain on sale, deducted from CET1 (zero for a loss or without
    derecognition): ``after.capital.deductions`` carries it."""

    def table(self) -> list[dict[str, Any]]:
        """Every ratio before and after, with the change and, where known, why."""
        b, a = self.before_ratios.as_dict(), self.after_ratios.as_dict()
        return [
            {
                "metric": k,
                "before": b[k],
                "after": a[k],
                "change": a[k] - b[k],
                "why": self.explanations.get(k, ""),
            }
            for k in b
        ]

    def __repr__(self) -> str:
        return (
            f"TransactionImpact({self.before.name!r}: pool {_html.money(self.sale.pool)} from "
            f"{self.sale.book!r}, gain {_html.money(self.gain)}, CET1 "
            f"{_html.pct(self.before_ratios.cet1_ratio, 2)} -> "
            f"{_html.pct(self.after_ratios.cet1_ratio, 2)})"
        )

    def _repr_html_(self) -> str:
        """A notebook's view: the sale, and the main ratios before and after with why."""
        s = self.sale
        yes = {True: "yes", False: "no"}
        facts = [
            ("Pool sold", f"{_html.money(s.pool)} from {s.book!r}"),
            ("Proceeds / gain on sale", f"{_html.money(s.proceeds)} / {_html.money(self.gain)}"),
            ("Derecognised / risk transfer", f"{yes[s.derecognise]} / {yes[s.srt]}"),
            ("Retained RWA", _html.money(self.retained_rwa)),
        ]
        rows = []
        b, a = self.before_ratios.as_dict(), self.after_ratios.as_dict()
        for label, key in _KEY_RATIOS:
            form = _html.money if key == "rwa" else _html.pct
            rows.append((label, form(b[key]), form(a[key]), self.explanations.get(key, "")))
        table = _html.table(("Ratio", "Before", "After", "Why"), rows)
        return _html.summary(f"TransactionImpact: {self.before.name}", facts, [("Ratios", table)])


_KEY_RATIOS = (
    ("CET1 ratio", "cet1_ratio"),
    ("Tier 1 ratio", "tier1_ratio"),
    ("Total capital ratio", "total_capital_ratio"),
    ("Leverage ratio", "leverage_ratio"),
    ("LCR", "lcr"),
    ("NSFR", "nsfr"),
    ("Loan-to-deposit", "loan_to_deposit"),
    ("NPL ratio", "npl_ratio"),
    ("ROE", "roe"),
    ("RWA", "rwa"),
)
"""The ratios a notebook's view of a transaction shows."""


def _split(cls: Classification, amount: float, npl_amount: float) -> dict[str, float]:
    """Amounts per class of a slice with ``npl_amount`` non-performing, in the book's mix."""
    perf_share = cls.normal + cls.special_mention
    npl_share = cls.npl
    perf = amount - npl_amount
    out = {}
    for name in ("normal", "special_mention"):
        share = getattr(cls, name) / perf_share if perf_share else (1.0 if name == "normal" else 0)
        out[name] = perf * share
    for name in ("substandard", "doubtful", "loss"):
        share = getattr(cls, name) / npl_share if npl_share else (1.0 if name == "loss" else 0)
        out[name] = npl_amount * share
    return out


PROVISION_KEY = {
    "normal": 0.01,
    "special_mention": 0.02,
    "substandard": 0.25,
    "doubtful": 0.50,
    "loss": 1.00,
}
"""Relative provisioning by class used to allocate a book's provisions to a pool: the rates of
China's 2002 Guidelines on Loan Loss Provisioning (general 1%, special mention 2%,
substandard 25%, doubtful 50%, loss 100%)."""


def _pool_provisions(provisions: float, book: dict[str, float], pool: dict[str, float]) -> float:
    """The share of a book's provisions that leaves with a pool, class by class."""
    weights = {k: book[k] * PROVISION_KEY[k] for k in book}
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(provisions * weights[k] / total * (pool[k] / book[k]) for k in book if book[k] > 0)


def _check_sale(sale: Sale, source: str) -> None:
    """Every number of a sale is finite and in its range (a Sale is a plain dataclass)."""
    problems = []
    bounds: dict[str, tuple[float, float]] = {
        "pool": (0.0, math.inf),
        "proceeds": (0.0, math.inf),
        "costs": (0.0, math.inf),
        "structuring_fee": (0.0, math.inf),
        "servicing_fee_rate": (0.0, 1.0),
        "financing_tenor_years": (1e-9, 50.0),
    }
    for f in fields(sale):
        v = getattr(sale, f.name)
        if f.name == "npl_share" and v is not None:
            bounds_v = (0.0, 1.0)
        elif f.name in bounds:
            bounds_v = bounds[f.name]
        else:
            continue
        if not isinstance(v, int | float) or not math.isfinite(v):
            problems.append(Problem(f.name, f"must be a finite number (got {v!r})"))
        elif not bounds_v[0] <= v <= bounds_v[1]:
            problems.append(
                Problem(f.name, f"must lie between {bounds_v[0]:g} and {bounds_v[1]:g} (got {v})")
            )
    for i, r in enumerate(sale.retained):
        for name, lo, hi in (
            ("face", 0.0, math.inf),
            ("fair_value", 0.0, math.inf),
            ("yield_", -1.0, 1.0),
            ("risk_weight", 0.0, 12.5),
            ("maturity_years", 1e-9, 50.0),
        ):
            v = getattr(r, name)
            where = f"retained[{i}].{name}"
            if not isinstance(v, int | float) or not math.isfinite(v):
                problems.append(Problem(where, f"must be a finite number (got {v!r})"))
            elif not lo <= v <= hi:
                problems.append(Problem(where, f"must lie between {lo:g} and {hi:g} (got {v})"))
    kept = sum(r.face for r in sale.retained if r.on_balance_sheet)
    if not problems and kept > sale.pool * (1 + 1e-9):
        problems.append(
            Problem(
                "retained",
                f"the retained positions' face ({kept:,.2f}) is larger than the pool "
                f"({sale.pool:,.2f}): a retained share of {kept / sale.pool:.4g}, above 1"
                if sale.pool > 0
                else f"the retained positions' face ({kept:,.2f}) is larger than the pool (0)",
            )
        )
    if problems:
        raise SpecError(source, problems)


def apply_sale(
    bank: BankSpec,
    sale: Sale,
    *,
    proceeds_to: str = "cash_reserves",
    hqla_yield: float | None = None,
    source: str = "argument sale",
) -> tuple[BankSpec, dict[str, float]]:
    """Book a securitisation; returns the new balance sheet and the accounting amounts.

    The new bank passes the same validation as a bank file: it still balances.  ``source``
    names the sale in error messages (e.g. the bank and deal files it came from).
    """
    _check_sale(sale, source)
    if proceeds_to not in PROCEEDS_TO:
        raise SpecError(
            "argument proceeds_to",
            Problem("", f"unknown destination {proceeds_to!r} (use {', '.join(PROCEEDS_TO)})"),
        )
    if hqla_yield is not None and not (
        isinstance(hqla_yield, int | float)
        and math.isfinite(hqla_yield)
        and -0.05 <= hqla_yield <= 1
    ):
        raise SpecError(
            "argument hqla_yield", Problem("", f"must lie between -0.05 and 1 (got {hqla_yield!r})")
        )
    idx = next((i for i, b in enumerate(bank.loans) if b.name == sale.book), None)
    if idx is None:
        known = ", ".join(repr(b.name) for b in bank.loans)
        raise SpecError(
            source, Problem("book", f"unknown loan book {sale.book!r} (known: {known})")
        )
    book = bank.loans[idx]
    if sale.pool > book.balance * (1 + 1e-9):
        raise SpecError(
            source,
            Problem(
                "pool",
                f"the pool ({sale.pool:,.2f}) is larger than loan book {book.name!r} "
                f"({book.balance:,.2f})",
            ),
        )
    tax = bank.income.tax_rate
    npl_share = book.classification.npl if sale.npl_share is None else sale.npl_share
    npl_pool = sale.pool * npl_share
    book_npl = book.balance * book.classification.npl
    if npl_pool > book_npl * (1 + 1e-9) + 1e-6:
        raise SpecError(
            source,
            Problem(
                "npl_share",
                f"the pool's NPLs ({npl_pool:,.2f}) exceed the book's ({book_npl:,.2f})",
            ),
        )
    perf_pool, book_perf = sale.pool - npl_pool, book.balance - book_npl
    if perf_pool > book_perf * (1 + 1e-9) + 1e-6:
        raise SpecError(
            source,
            Problem(
                "npl_share",
                f"the pool's performing loans ({perf_pool:,.2f}, with npl_share "
                f"{npl_share:g}) exceed the book's ({book_perf:,.2f}): a pool this large "
                "takes some of the book's NPLs",
            ),
        )
    old = _split(book.classification, book.balance, book_npl)
    gone = _split(book.classification, sale.pool, npl_pool)
    prov = min(_pool_provisions(book.provisions, old, gone), sale.pool)
    carrying = sale.pool - prov
    retained_fv = sum(r.fair_value for r in sale.retained if r.on_balance_sheet)
    amounts: dict[str, float] = {
        "carrying_amount": carrying,
        "provisions_released": prov,
        "npl_removed": npl_pool,
        "gain": 0.0,
        "cet1_deduction": 0.0,
    }
    changes: dict[str, Any] = {}
    fee_income = bank.income.fee_income + sale.servicing_fee_rate * sale.pool
    if sale.derecognise:
        gain = sale.proceeds + retained_fv - carrying - sale.costs
        pre_tax = gain + sale.structuring_fee
        cash = sale.proceeds - sale.costs + sale.structuring_fee - tax * pre_tax
        amounts["gain"] = gain
        # the increase in equity from the securitisation is deducted from CET1 (a loss is not)
        amounts["cet1_deduction"] = max(gain, 0.0) * (1 - tax)
        left = {k: old[k] - gone[k] for k in old}
        bal = max(book.balance - sale.pool, 0.0)
        kept = {k: max(v, 0.0) for k, v in left.items()}
        total = sum(kept.values())
        # what is left of the book, in its classes (unchanged mix when nothing is left)
        cls = (
            Classification(**{k: v / total for k, v in kept.items()})
            if total > 1e-9 * max(book.balance, 1.0)
            else book.classification
        )
        loans = list(bank.loans)
        loans[idx] = book.model_copy(
            update={"balance": bal, "provisions": book.provisions - prov, "classification": cls}
        )
        retained = [*bank.retained_securitisations] + [
            PositionSpec(
                name=f"retained {r.tranche}",
                balance=r.fair_value,
                yield_=r.yield_,
                risk_weight=r.risk_weight,
                maturity_years=r.maturity_years,
                repricing_years=min(r.maturity_years, 3.0),
            )
            for r in sale.retained
            if r.fair_value > 0 and r.on_balance_sheet
        ]
        changes = {
            "loans": tuple(loans),
            "retained_securitisations": tuple(retained),
            "capital": bank.capital.model_copy(
                update={
                    "cet1": bank.capital.cet1 + pre_tax * (1 - tax),
                    "deductions": bank.capital.deductions + amounts["cet1_deduction"],
                }
            ),
        }
        # credit enhancement the originator provides: no asset, its RWA (limit x weight)
        off_rwa = sum(r.rwa for r in sale.retained if not r.on_balance_sheet)
        if not sale.srt:
            pool_rwa = carrying * book.rw
            retained_rwa = sum(r.rwa for r in sale.retained)
            changes["rwa_other"] = bank.rwa_other + max(pool_rwa - retained_rwa, 0.0) + off_rwa
        elif off_rwa > 0:
            changes["rwa_other"] = bank.rwa_other + off_rwa
    else:
        # loans stay; the proceeds fund the bank as a liability; costs are expensed
        cash = sale.proceeds - sale.costs * (1 - tax) + sale.structuring_fee * (1 - tax)
        financing = WholesaleSpec(
            name="securitisation financing",
            balance=sale.proceeds,
            rate=float(sale.details.get("funding_rate", 0.04)),
            tenor_years=sale.financing_tenor_years,
        )
        changes = {
            "wholesale": (*bank.wholesale, financing),
            "capital": bank.capital.model_copy(
                update={"cet1": bank.capital.cet1 + (sale.structuring_fee - sale.costs) * (1 - tax)}
            ),
        }
        fee_income = bank.income.fee_income
    changes["income"] = bank.income.model_copy(update={"fee_income": fee_income})
    if proceeds_to == "hqla" and cash > 0:
        y = bank.projection.hqla_yield if hqla_yield is None else hqla_yield
        changes["hqla"] = (
            *bank.hqla,
            HQLASpec(
                name="securitisation proceeds",
                level="1",
                balance=cash,
                yield_=y,
                repricing_years=0.5,
            ),
        )
    elif proceeds_to == "repay_wholesale" and cash > 0:
        left_cash = cash
        whole = []
        for w in sorted(changes.get("wholesale", bank.wholesale), key=lambda w: w.tenor_years):
            pay = min(w.balance, left_cash)
            left_cash -= pay
            whole.append(w.model_copy(update={"balance": w.balance - pay}))
        changes["wholesale"] = tuple(whole)
        changes["cash_reserves"] = bank.cash_reserves + left_cash
    else:
        changes["cash_reserves"] = bank.cash_reserves + cash
    new_cet1 = changes["capital"].cet1
    if new_cet1 < changes["capital"].deductions:
        raise SpecError(
            source,
            Problem(
                "capital.cet1",
                f"the sale's loss ({amounts['gain']:,.2f} before tax) leaves CET1 at "
                f"{new_cet1:,.2f}, below its deductions ({bank.capital.deductions:,.2f}): "
                "the bank would have no CET1 capital left",
            ),
        )
    cash_after = changes.get("cash_reserves", bank.cash_reserves)
    if cash_after < -1e-9:
        raise SpecError(
            source,
            Problem(
                "cash_reserves",
                f"the sale needs {-(cash_after - bank.cash_reserves):,.2f} of cash (costs above "
                f"proceeds) but the bank holds {bank.cash_reserves:,.2f}",
            ),
        )
    try:
        after = BankSpec.model_validate(
            {
                **bank.model_dump(by_alias=True),
                **{
                    k: (v if not hasattr(v, "model_dump") else v.model_dump(by_alias=True))
                    for k, v in changes.items()
                },
            }
        )
    except ValidationError as exc:
        raise SpecError(source, problems_from(exc, "balance sheet after the sale")) from None
    return after, amounts


def _step_tranches(step: Any, key: str) -> tuple[str, ...] | None:
    """The classes a built-in ``pay_interest`` / ``pay_principal`` step names (None for any
    other step)."""
    args = getattr(step, key, None)
    return None if args is None else tuple(args.tranches)


def loss_bands(structure: StructureSpec) -> list[tuple[str, ...]]:
    """The deal's classes grouped by loss rank, most senior first: classes that rank pari
    passu in losses and differ only in maturity form one band (one tranche for attachment and
    detachment: CRR Art. 256(1), "all tranches that rank senior or pari passu"; the Basel
    senior definition, CRE40, treats senior classes of different maturities alike).

    Two neighbouring classes of ``structure.tranches`` (in seniority order) share a band when
    neither is residual and, from the deal's own waterfall (and its ``waterfall_after_default``
    where the deal gives one):

    * their interest is paid in the same ``pay_interest`` steps (pro rata among them), and at
      least one;
    * their principal is paid in the same ``pay_principal`` steps, at least one, next to each
      other in it (sequentially, on a schedule or pro rata), so that no other class takes
      principal between them and the classes below are paid only after the whole band;
    * they carry the same rating (or none), the same ``deferrable`` flag and the same
      supports (each ``structure.supports`` cover of one covers the other alike).

    The engine writes losses down bottom-up (a class is paid only after the classes above it
    in each step; what is left at termination is written off), so a band's classes lose only
    after every class below it: sequential time tranches such as A1..A8 on a fixed schedule
    differ only in maturity.  Limits: classes whose ratings differ (even for maturity alone)
    stay apart; plug-in steps are not read; the post-acceleration order the engine builds
    when a deal gives none (class by class) is not taken as the deal's.
    """
    tranches = structure.tranches
    waterfalls = [structure.waterfall]
    if structure.waterfall_after_default is not None:
        waterfalls.append(structure.waterfall_after_default)
    steps = [s for w in waterfalls for s in w]
    interest = [n for s in steps if (n := _step_tranches(s, "pay_interest")) is not None]
    principal = [n for s in steps if (n := _step_tranches(s, "pay_principal")) is not None]
    covers: dict[str, set[tuple[str, str]]] = {t.name: set() for t in tranches}
    for sup in structure.supports:
        for c in sup.covers:
            covers.setdefault(c.tranche, set()).add((sup.name, c.what))

    def rating(r: str | None) -> str | None:
        return r.strip().upper() if r else None

    def together(hi: TrancheSpec, lo: TrancheSpec) -> bool:
        if hi.residual or lo.residual:
            return False
        if rating(hi.rating) != rating(lo.rating) or hi.deferrable != lo.deferrable:
            return False
        if covers[hi.name] != covers[lo.name]:
            return False
        if any((hi.name in s) != (lo.name in s) for s in interest):
            return False
        if not any(hi.name in s for s in interest):
            return False
        both = [s for s in principal if hi.name in s or lo.name in s]
        return bool(both) and all(
            hi.name in s and lo.name in s and s.index(lo.name) == s.index(hi.name) + 1 for s in both
        )

    bands: list[list[str]] = []
    for k, t in enumerate(tranches):
        if k > 0 and together(tranches[k - 1], t):
            bands[-1].append(t.name)
        else:
            bands.append([t.name])
    return [tuple(b) for b in bands]


def _tranche_points(result: RunResult) -> list[tuple[str, float, float, bool]]:
    """(name, attachment, detachment, senior) of each tranche against the pool (CRE44.14;
    CRR Art. 256(1)-(2)), in the order of ``structure.tranches``.

    The classes of one :func:`loss_bands` band share the band's points: A is the pool less
    every class of the band and above it, D the pool less the classes above the band (over
    the pool; A at least 0); the most senior band is senior, all its classes."""
    pool = result.pool.original_balance
    balance = {t.name: t.balance for t in result.deal.structure.tranches}
    out: list[tuple[str, float, float, bool]] = []
    above = 0.0
    for k, band in enumerate(loss_bands(result.deal.structure)):
        d = (pool - above) / pool
        above += sum(balance[name] for name in band)
        a = max((pool - above) / pool, 0.0)
        out.extend((name, a, d, k == 0) for name in band)
    return out


VARIABILITY_MULTIPLES = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0)
"""The derecognition test's default scenarios: multiples of the monthly default rate of a 1%
CDR (0% to about 26% a year)."""


def scenario_weights(
    default_rates: npt.ArrayLike, pd: float, correlation: float
) -> npt.NDArray[np.float64]:
    """Probabilities of default-rate scenarios under the Vasicek one-factor distribution of a
    pool's annual default rate (the distribution behind the IRB formula, CRE31).

    Scenario ``k`` (``default_rates`` ascending) takes the probability that the pool's default
    rate falls between the midpoints to its neighbours: ``F(x) = Phi((sqrt(1 - rho)
    Phi^-1(x) - Phi^-1(PD)) / sqrt(rho))``, the first scenario from 0, the last to 1.  ``pd``
    is held at 0.03% or more (the IRB PD floor) so that every scenario keeps some weight.
    """
    rates = np.asarray(default_rates, dtype=np.float64)
    n = NormalDist()
    pd_ = min(max(pd, 0.0003), 0.9999)
    rho = min(max(correlation, 1e-6), 0.999)

    def cdf(x: float) -> float:
        if x <= 0.0:
            return 0.0
        if x >= 1.0:
            return 1.0
        return n.cdf((math.sqrt(1 - rho) * n.inv_cdf(x) - n.inv_cdf(pd_)) / math.sqrt(rho))

    edges = [0.0, *((rates[1:] + rates[:-1]) / 2.0), 1.0]
    return np.array([cdf(edges[k + 1]) - cdf(edges[k]) for k in range(len(rates))])


def retained_variability(
    kept: npt.ArrayLike, total: npt.ArrayLike, weights: npt.ArrayLike
) -> float:
    """Share of the variability of the cash that the retained positions bear: the
    probability-weighted standard deviation of what they receive over that of all the cash
    (IFRS 9 3.2.8: "all reasonably possible variability ... with greater weight being given
    to those outcomes that are more likely to occur"), held within [0, 1]."""
    k, t, w = (np.asarray(x, dtype=np.float64) for x in (kept, total, weights))
    w = w / w.sum()

    def sd(x: npt.NDArray[np.float64]) -> float:
        return math.sqrt(float(w @ (x - w @ x) ** 2))

    sd_total = sd(t)
    return min(max(sd(k) / sd_total, 0.0), 1.0) if sd_total > 0 else 0.0


def _variability_share(
    result: RunResult,
    retained_share: dict[str, float],
    supports: tuple[str, ...],
    pd: float,
    correlation: float,
) -> float:
    """Share of the variability of the present value of the pool's cash that the retained
    positions bear (IFRS 9 3.2.7-3.2.8).

    The deal runs once over the :data:`VARIABILITY_MULTIPLES` default scenarios; each is
    weighted by its probability for a pool of annual default probability ``pd`` and asset
    correlation ``correlation`` (:func:`scenario_weights`); the measure is
    :func:`retained_variability` of the present value of the cash paid to the retained
    positions, less what the originator's own supports (``supports``, by name) pay into the
    deal, against that of all the cash paid out.  The discount rate, "an appropriate current
    market interest rate", is the notes' balance-weighted coupon at closing.
    """
    from greenabs.engine import run, with_assumptions

    mult = np.array(VARIABILITY_MULTIPLES)
    r = run(
        with_assumptions(result.deal, default={"cdr": 0.01}),
        mdr_mult=mult,
        smm_mult=np.ones_like(mult),
    )
    notes = [t for t in result.deal.structure.tranches if not t.residual and t.balance > 0]
    coupons = result.tranches().set_index("name")["coupon"]
    face = sum(t.balance for t in notes)
    rate = sum(t.balance * _finite_or(coupons[t.name], 0.0) for t in notes) / face if face else 0
    disc = (1.0 + rate) ** -np.asarray(r.calendar.years_from_closing, dtype=np.float64)
    tranches = r.waterfall.tranches
    drawn = r.waterfall.supports
    kept, total = [], []
    for sc in range(len(mult)):
        pv = {
            name: float(
                disc
                @ (rec["interest_paid"][sc] + rec["principal_paid"][sc] + rec["residual_paid"][sc])
            )
            for name, rec in tranches.items()
        }
        paid_in = sum(float(disc @ drawn[n]["draw"][sc]) for n in supports if n in drawn)
        kept.append(sum(pv[t] * sh for t, sh in retained_share.items()) - paid_in)
        total.append(sum(pv.values()))
    mdr = 1.0 - 0.99 ** (1.0 / 12.0)
    annual = 1.0 - (1.0 - np.minimum(mult * mdr, 1.0)) ** 12
    return retained_variability(kept, total, scenario_weights(annual, pd, correlation))


def _contractual_maturities(result: RunResult) -> dict[str, float]:
    """Each tranche's maturity M_T for SEC-IRBA and SEC-ERBA: the cash-flow weighted average
    maturity of its contractual payments, principal and interest (CRE44; CRR Art. 257(1)(a):
    ``M_T = sum t CF_t / sum CF_t``), from the deal run without defaults or prepayments, in
    years from closing (1 where a tranche receives nothing)."""
    from greenabs.engine import run

    r = run(result.deal, mdr_mult=np.zeros(1), smm_mult=np.zeros(1))
    times = np.asarray(r.calendar.years_from_closing, dtype=np.float64)
    out = {}
    for t in result.deal.structure.tranches:
        cf = r.tranche_cashflows(t.name)
        cash = (cf["interest_paid"] + cf["principal_paid"] + cf["residual_paid"]).to_numpy()
        out[t.name] = _finite_or(wal(times, cash), 1.0)
    return out


def _pool_exposures(result: RunResult) -> list[tuple[str | None, float]]:
    """``(obligor, cut-off balance)`` of every asset of the deal's pool, the balances from the
    compiled pool (revenue assets have theirs only once compiled); an asset without an
    ``obligor`` stands for itself."""
    from greenabs.compile import compile_deal

    pool = compile_deal(result.deal).pool
    specs = {a.id: a for a in pool.assets}
    out: list[tuple[str | None, float]] = []
    for block in pool.blocks:
        balances = block.summary()["balance"]
        for k, aid in enumerate(block.ids):
            out.append((specs[aid].obligor, float(balances[k])))
    return out


def _finite_or(value: Any, default: float) -> float:
    """``value`` as a float, or ``default`` where the run gives none (a tranche that never
    pays has no WAL or yield)."""
    v = float(value)
    return v if math.isfinite(v) else default


SUPPORT_POSITION = "support:"
"""Prefix of an originator support's name among the positions of the capital computation."""


def _support_positions(
    result: RunResult, points: list[tuple[str, float, float, bool]], maturity: dict[str, float]
) -> list[tuple[str, float, float, float, bool, str | None, float]]:
    """The originator's own supports as securitisation positions ``(name, exposure,
    attachment, detachment, senior, rating, maturity)``: the exposure is the limit, attaching
    where the most junior covered class attaches, as thick as the limit over the pool (capped
    at 1), unrated, maturing with the longest maturity M_T among the covered classes."""
    deal = result.deal
    pool = result.pool.original_balance
    notes = float(sum(t.balance for t in deal.structure.tranches))
    attach = {name: a for name, a, _, _ in points}
    out: list[tuple[str, float, float, float, bool, str | None, float]] = []
    for sup in deal.structure.supports:
        if not sup.originator:
            continue
        limit = sup.limit.resolve(notes, pool)
        covered = sorted({c.tranche for c in sup.covers})
        a = min(attach[t] for t in covered)
        d = min(a + limit / pool, 1.0)
        mat = max(maturity.get(t, 1.0) for t in covered)
        out.append((SUPPORT_POSITION + sup.name, limit, a, d, False, None, mat))
    return out


def _securitisation_spec(
    bank: BankSpec, spec: SecuritisationSpec | None, bank_source: str
) -> SecuritisationSpec:
    sp = spec or bank.securitisation
    if sp is None:
        raise SpecError(
            bank_source,
            Problem(
                "securitisation", "pairing a deal needs a securitisation section (segment_book)"
            ),
        )
    if all(b.name != sp.segment_book for b in bank.loans):
        known = ", ".join(repr(b.name) for b in bank.loans)
        raise SpecError(
            bank_source,
            Problem(
                "securitisation.segment_book",
                f"unknown loan book {sp.segment_book!r} (known: {known})",
            ),
        )
    return sp


RETAIL_SEGMENTS = ("retail", "residential_mortgage")
"""Loan-book segments whose pools take SEC-IRBA's retail p-table (CRE44: retail pools)."""


def _srt_test(
    own: list[PositionCapital], shares: dict[str, float]
) -> tuple[float, float, list[str], list[str]]:
    """The quantitative significant-risk-transfer test (CRR Art. 244(2)): ``(measure, limit,
    mezzanine, first_loss)``.

    The first-loss positions are the most subordinated ones (the lowest attachment point: 0,
    or above it where the pool exceeds the notes) and any weighted 1250%; mezzanine positions
    are those subordinated to the senior one and senior to the first loss, weighted below 1250%
    (CRR Art. 242, "mezzanine securitisation position").  With mezzanine positions the
    originator may keep at most 50% of their RWA; without, at most 20% of the first-loss
    positions.
    """
    junior = min((c.attachment for c in own if not c.senior), default=0.0)
    first = [
        c
        for c in own
        if not c.senior and (c.attachment <= junior + 1e-12 or c.risk_weight >= RW_MAX)
    ]
    mezz = [c for c in own if not c.senior and c not in first]
    if mezz:
        kept = sum(c.rwa * shares[c.tranche] for c in mezz)
        total = sum(c.rwa for c in mezz)
        measure, limit = (kept / total if total > 0 else 0.0), 0.5
    elif first:
        kept = sum(c.amount * shares[c.tranche] for c in first)
        total = sum(c.amount for c in first)
        measure, limit = (kept / total if total > 0 else 0.0), 0.2
    else:
        measure, limit = 0.0, 0.5
    return measure, limit, [c.tranche for c in mezz], [c.tranche for c in first]


def sale_from_deal(
    bank: BankSpec,
    result: RunResult,
    spec: SecuritisationSpec | None = None,
    *,
    bank_source: str = "argument bank",
    deal_source: str = "argument result",
) -> Sale:
    """The sale a deal run implies for the bank.

    The pool leaves ``spec.segment_book``; the originator keeps what the deal's ``retention``
    says (nothing if it declares none), sells the rest at ``spec.price``; retained positions
    are risk-weighted by the hierarchy of approaches with their attachment and detachment
    points, ratings and maturities M_T (contractual cash flows, principal and interest), capped
    at ``P x K_P``; under SEC-IRBA a retail or mortgage book takes the retail p-table and ``N``
    is the pool's effective number of exposures, one obligor's loans consolidated.
    Derecognition compares the probability-weighted variability retained with
    ``spec.substantially_all``; significant risk transfer follows the mezzanine / first-loss
    test (CRR Art. 244(2)).  The book loses ``face_per_pool`` x the deal's pool balance (an
    NPL pool's deal balance is its expected recoveries, its face is larger).  ``bank_source``
    and ``deal_source`` name the bank and the deal in error messages (their files, when they
    came from files).
    """
    sp = _securitisation_spec(bank, spec, bank_source)
    book = bank.book(sp.segment_book)
    deal = result.deal
    pool = result.pool.original_balance
    if not (math.isfinite(pool) and pool > 0):
        raise SpecError(deal_source, Problem("pool", f"the deal's pool balance is {pool}"))
    ret = result.retention
    summary = result.tranches().set_index("name")
    npl_share = book.classification.npl if sp.npl_share is None else sp.npl_share
    for i, t in enumerate(deal.structure.tranches):
        known = {r.upper() for r in erba_ratings()}
        if t.rating and sp.use_ratings and t.rating.strip().upper() not in known:
            raise SpecError(
                deal_source,
                Problem(
                    f"structure.tranches[{i}].rating",
                    f"unknown rating symbol {t.rating!r} (known: {', '.join(erba_ratings())})",
                ),
            )
    points = _tranche_points(result)
    shares = {
        t.name: (ret.share_of(t.name, t.balance) if ret is not None else 0.0)
        for t in deal.structure.tranches
    }
    # capital uses M_T; the balance sheet (repricing, the financing's tenor) the WAL
    m_t = _contractual_maturities(result)
    wal_of = {t.name: _finite_or(summary.loc[t.name, "wal"], 1.0) for t in deal.structure.tranches}
    all_positions = [
        (name, deal.tranche(name).balance, a, d, senior, deal.tranche(name).rating, m_t[name])
        for name, a, d, senior in points
    ]
    irb = bank.irb and sp.k_irb is not None
    params: dict[str, Any] = {
        "pool": pool,
        "pool_risk_weight": book.rw,
        "w": npl_share,
        "stc": sp.stc,
        "k_irb": sp.k_irb if bank.irb else None,
        "irb_n": effective_number(_pool_exposures(result)) if irb else None,
        "irb_lgd": sp.irb_lgd,
        "retail": book.segment in RETAIL_SEGMENTS,
        "use_ratings": sp.use_ratings,
    }
    supports = _support_positions(result, points, m_t)
    # the originator keeps its own supports whole
    shares.update({p[0]: 1.0 for p in supports})
    all_positions += supports
    own = position_risk_weights(all_positions, caps=False, **params)
    kept_positions = [
        (p[0], p[1] * shares[p[0]], *p[2:]) for p in all_positions if shares[p[0]] > 0
    ]
    # P: the largest share kept of any tranche, a loss band counting as one (its classes
    # share their points); the originator's own support is kept whole
    kept_tranches = [p for p in kept_positions if not p[0].startswith(SUPPORT_POSITION)]
    largest = (
        1.0 if supports else (largest_share_held(kept_tranches, pool) if kept_tranches else 0.0)
    )
    by_name: dict[str, PositionCapital] = {
        c.tranche: c for c in position_risk_weights(kept_positions, largest_share=largest, **params)
    }
    retained = []
    proceeds = 0.0
    price = sp.price / 100.0
    for t in deal.structure.tranches:
        face = t.balance * shares[t.name]
        proceeds += (t.balance - face) * price
        if face > 0:
            c = by_name[t.name]
            y = summary.loc[t.name, "yield"]
            retained.append(
                RetainedPiece(
                    tranche=t.name,
                    face=face,
                    fair_value=face * price,
                    yield_=_finite_or(y, 0.0),
                    risk_weight=c.risk_weight,
                    maturity_years=wal_of[t.name],
                    approach=c.approach,
                    note=c.note,
                )
            )
    for name, exposure, a, d, _, _, mat in supports:
        c = by_name[name]
        retained.append(
            RetainedPiece(
                tranche=name,
                face=exposure,
                fair_value=0.0,
                yield_=0.0,
                risk_weight=c.risk_weight,
                maturity_years=mat,
                approach=c.approach,
                note=(c.note + "; " if c.note else "")
                + f"credit enhancement provided by the originator (limit {exposure:,.2f}, "
                f"attachment {a:.4f}, detachment {d:.4f}), off balance sheet",
                on_balance_sheet=False,
            )
        )
    tranche_shares = {t.name: shares[t.name] for t in deal.structure.tranches}
    names = tuple(p[0].removeprefix(SUPPORT_POSITION) for p in supports)
    share = _variability_share(
        result, tranche_shares, names, book.pd, DEFAULT_CORRELATION[book.segment]
    )
    derecognise = share < sp.substantially_all
    srt_measure, srt_limit, mezz, first = _srt_test(own, shares)
    srt = derecognise and srt_measure <= srt_limit
    servicing = deal.pool.servicing_fee
    return Sale(
        book=book.name,
        pool=pool * sp.face_per_pool,
        proceeds=proceeds,
        retained=tuple(retained),
        npl_share=npl_share,
        costs=sp.costs,
        structuring_fee=sp.structuring_fee * sum(t.balance for t in deal.structure.tranches),
        servicing_fee_rate=servicing,
        derecognise=derecognise,
        srt=srt,
        financing_tenor_years=max(float(summary["wal"].max()), 0.25),
        details={
            "variability_retained": share,
            "substantially_all": sp.substantially_all,
            "srt_measure": srt_measure,
            "srt_limit": srt_limit,
            "mezzanine": mezz,
            "first_loss": first,
            "largest_share": largest,
            "effective_number": params["irb_n"],
            "maturity": dict(m_t),
            "positions": [c.__dict__ for c in own],
            "retained_shares": tranche_shares,
            "originator_supports": {
                p[0].removeprefix(SUPPORT_POSITION): {
                    "exposure": p[1],
                    "attachment": p[2],
                    "detachment": p[3],
                    "risk_weight": by_name[p[0]].risk_weight,
                }
                for p in supports
            },
        },
    )


def _explain(
    before: Ratios,
    after: Ratios,
    sale: Sale,
    amounts: dict[str, float],
    pool_rwa: float,
    retained_rwa: float,
) -> dict[str, str]:
    def cur(v: float) -> str:
        return f"{v:,.0f}"

    if not sale.derecognise:
        return {
            "total_assets": f"loans stay on the balance sheet; proceeds {cur(sale.proceeds)} "
            "come in as cash against a financing liability",
            "rwa": "no capital relief: the loans are not derecognised",
            "lcr": "cash proceeds raise HQLA",
        }
    ex = {
        "total_assets": f"pool carrying amount -{cur(amounts['carrying_amount'])}, cash "
        f"+{cur(sale.proceeds - sale.costs)}, retained positions "
        f"+{cur(sum(r.fair_value for r in sale.retained))}",
        "equity": f"gain on sale {cur(amounts['gain'])} and structuring fee "
        f"{cur(sale.structuring_fee)}, after tax",
        "rwa": (
            f"pool RWA -{cur(pool_rwa)}, retained positions +{cur(retained_rwa)}"
            if sale.srt
            else "no significant risk transfer: the pool's RWA stay"
        ),
        "lcr": "cash proceeds are level-1 HQLA",
        "nsfr": "long loans needing 85% stable funding become cash needing none",
        "npl_ratio": f"non-performing loans {cur(amounts['npl_removed'])} leave with the pool",
        "provision_coverage": f"provisions {cur(amounts['provisions_released'])} leave with "
        "the pool",
        "net_interest_income": "loan interest lost, yield on the proceeds and the retained "
        "positions gained",
        "fee_income": f"servicing fee {sale.servicing_fee_rate:.2%} a year on the pool",
        "loan_to_deposit": "loans leave, deposits stay",
        "delta_eve_up": "fixed-rate loans leave the banking book",
    }
    deduction = amounts["cet1_deduction"]
    capital = (
        f"capital up by the structuring fee; the after-tax gain on sale {cur(deduction)} is "
        "deducted from CET1"
        if deduction > 0
        else "capital changed by the loss on sale and the structuring fee"
    )
    relief = "RWA down by the relief" if sale.srt else "RWA unchanged without risk transfer"
    for k in ("cet1_ratio", "tier1_ratio", "total_capital_ratio"):
        ex[k] = f"{capital}; {relief}"
    return ex


def securitise(
    bank: BankSpec,
    result: RunResult,
    spec: SecuritisationSpec | None = None,
    *,
    bank_source: str = "argument bank",
    deal_source: str = "argument result",
) -> TransactionImpact:
    """The whole effect of a deal on its originating bank, ratio by ratio.

    ``bank_source`` and ``deal_source`` name the bank and the deal in error messages (their
    files, when they came from files)."""
    sp = _securitisation_spec(bank, spec, bank_source)
    sale = sale_from_deal(bank, result, sp, bank_source=bank_source, deal_source=deal_source)
    after, amounts = apply_sale(
        bank, sale, proceeds_to=sp.proceeds_to, source=sources_label(bank_source, deal_source)
    )
    book = bank.book(sale.book)
    pool_rwa = amounts["carrying_amount"] * book.rw
    retained_rwa = sum(r.rwa for r in sale.retained)
    before_r, after_r = ratios(bank), ratios(after)
    return TransactionImpact(
        sale=sale,
        before=bank,
        after=after,
        before_ratios=before_r,
        after_ratios=after_r,
        gain=amounts["gain"],
        carrying_amount=amounts["carrying_amount"],
        provisions_released=amounts["provisions_released"],
        npl_removed=amounts["npl_removed"],
        retained_rwa=retained_rwa,
        pool_rwa=pool_rwa,
        explanations=_explain(before_r, after_r, sale, amounts, pool_rwa, retained_rwa),
        cet1_deduction=amounts["cet1_deduction"],
    )
