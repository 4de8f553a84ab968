"""The deal model: frozen, validated pydantic models of a deal file.

These models are both the validated form of the YAML deal file (their JSON Schema is what
``greenabs schema`` exports) and the immutable model objects the engine compiles.  Checks that
need the whole deal (cross references, date order, tranche sizes against the pool) run in
:meth:`DealSpec._cross_check` and name the field path in their message.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any, Literal, Self, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
    model_validator,
)

from greenabs import _html
from greenabs import steps as _steps
from greenabs.assets import (
    FAMILIES,
    MAX_AMOUNT,
    AssetSpec,
    ReceivableAssumptions,
    asset_union,
    load_entry_points,
)
from greenabs.assets.agriculture import AgricultureAssumptions
from greenabs.assets.fees import FeeAssumptions
from greenabs.assets.forestry import ForestryAssumptions
from greenabs.assets.power import PowerAssumptions
from greenabs.assets.revenue import RevenueSpecBase
from greenabs.assets.tourism import TourismAssumptions
from greenabs.calendar import BusinessDay, DayCount, DealDate, Frequency, roll
from greenabs.errors import Problem, SpecError
from greenabs.spec.simulation import SimulationSpec
from greenabs.steps import STEPS, StepType, register_step, step_args, step_kind

__all__ = [
    "AccountSpec",
    "AssumptionsSpec",
    "CallSpec",
    "CouponSpec",
    "DatesSpec",
    "DealSpec",
    "DefaultSpec",
    "DelinquencySpec",
    "FeeSpec",
    "OCTargetSpec",
    "PoolSpec",
    "PrepaymentSpec",
    "RecoverySpec",
    "RetentionSpec",
    "ScheduleRow",
    "Step",
    "StructureSpec",
    "SupportCoverSpec",
    "SupportKind",
    "SupportLimitSpec",
    "SupportSpec",
    "TargetSpec",
    "TrancheSpec",
    "TriggerSpec",
    "deal_model",
    "step_union",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False
    )


def _exactly_one(model: BaseModel, *names: str) -> None:
    """Raise unless exactly one of the fields ``names`` is given."""
    given = [k for k in names if getattr(model, k) is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of {', '.join(names)} (got {given or 'none'})")


Rate = Annotated[float, Field(ge=0, le=1)]
IndexRate = Annotated[float, Field(ge=-0.1, le=1.0)]
Name = Annotated[str, Field(min_length=1, max_length=64)]


# --------------------------------------------------------------------------- dates and pool
class DatesSpec(_Frozen):
    """Key dates and conventions of the deal."""

    cutoff: DealDate = Field(
        description="Pool cut-off date: collections after it belong to the SPV"
    )
    closing: DealDate = Field(description="Issue date of the notes; interest accrues from it")
    first_payment: DealDate = Field(description="First payment date")
    frequency: Frequency = Frequency.monthly
    day_count: DayCount = DayCount.act_365f
    determination_days: int = Field(
        0,
        ge=0,
        le=60,
        description="Days between the end of a collection period and the payment date that "
        "pays it: a month ending on or before P - determination_days is paid on P",
    )
    business_day: BusinessDay = Field(
        BusinessDay.none,
        description="Roll payment dates off weekends and China market holidays: following, "
        "modified_following or none",
    )
    end_of_month: bool = Field(
        False,
        description="Payment dates on month ends; otherwise they keep the day of first_payment",
    )

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.closing < self.cutoff:
            raise ValueError(f"closing ({self.closing}) is before cutoff ({self.cutoff})")
        if self.first_payment <= self.closing:
            raise ValueError(
                f"first_payment ({self.first_payment}) must be after closing ({self.closing})"
            )
        rolled = roll(self.first_payment, self.business_day)
        if rolled <= self.closing:
            raise ValueError(
                f"first_payment ({self.first_payment}) rolls to {rolled} by {self.business_day}, "
                f"not after closing ({self.closing})"
            )
        return self


class PoolSpec(_Frozen):
    """The collateral pool: inline assets, or a loan tape loaded into ``assets``."""

    servicing_fee: float = Field(
        0.0, ge=0, le=0.2, description="Annual servicing rate on the pool balance"
    )
    assets: tuple[AssetSpec, ...] = Field(min_length=1)
    tape: str | None = Field(None, description="Loan tape (CSV or Excel) the assets came from")
    advancing: Literal["none", "interest", "principal_and_interest"] = Field(
        "none",
        description="What the servicer advances on loans in foreclosure until liquidation "
        "(Standard Formulas C.3): nothing, interest, or scheduled principal and interest",
    )

    @property
    def balance(self) -> float:
        """Cut-off balance of the pool (net investment for leases, face for receivables;
        revenue assets count 0 here: their discounted balance is known once compiled)."""
        return float(sum(a.outstanding() for a in self.assets))


# --------------------------------------------------------------------------- assumptions
class _Curve(_Frozen):
    vector: tuple[Rate, ...] | None = Field(None, min_length=1, description="Annual rates")
    by: Literal["period", "age"] = Field(
        "period", description="Index a vector by projection month or by loan age"
    )


class PrepaymentSpec(_Curve):
    """Voluntary prepayment: one of a constant CPR, a PSA speed or a CPR vector."""

    cpr: Rate | None = None
    psa: float | None = Field(
        None, ge=0, le=1666, description="Speed in percent of PSA (at most 1666: a 100% CPR)"
    )

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one(self, "cpr", "psa", "vector")
        return self


class DefaultSpec(_Curve):
    """Defaults: one of a constant CDR, an SDA speed or a CDR vector."""

    cdr: Rate | None = None
    sda: float | None = Field(
        None, ge=0, le=16666, description="Speed in percent of SDA (at most 16666: a 100% CDR)"
    )

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one(self, "cdr", "sda", "vector")
        return self


class RecoverySpec(_Frozen):
    """Recovery on defaulted balance: ``rate`` of it, received ``lag_months`` later."""

    rate: Rate = 0.0
    lag_months: int = Field(0, ge=0, le=120)


class DelinquencySpec(_Frozen):
    """Delinquency: each month a share of the performing balance (``rate`` a year, converted
    like a CDR) stops paying; ``lag_months`` later ``cure_rate`` of it returns to performing and
    the rest defaults (then recovers as any default).  Missed interest is not recovered."""

    rate: Rate
    lag_months: int = Field(3, ge=1, le=24)
    cure_rate: Rate = 0.0


class AssumptionsSpec(_Frozen):
    """Performance and market assumptions of a run."""

    prepayment: PrepaymentSpec = PrepaymentSpec(cpr=0.0)
    default: DefaultSpec = DefaultSpec(cdr=0.0)
    recovery: RecoverySpec = RecoverySpec()
    delinquency: DelinquencySpec | None = None
    rates: dict[Name, IndexRate | tuple[IndexRate, ...]] = Field(
        default_factory=dict,
        description="Index paths: a flat rate or monthly values from the cut-off, each from "
        "-10% to 100%",
    )
    receivable: ReceivableAssumptions = Field(
        default_factory=ReceivableAssumptions,
        description="The receivable family's section: delay_months (collection stress)",
    )
    solar_plant: PowerAssumptions = Field(
        default_factory=PowerAssumptions, description="Stresses on every solar plant"
    )
    wind_farm: PowerAssumptions = Field(
        default_factory=PowerAssumptions, description="Stresses on every wind farm"
    )
    hydro_plant: PowerAssumptions = Field(
        default_factory=PowerAssumptions, description="Stresses on every hydro plant"
    )
    forestry: ForestryAssumptions = Field(
        default_factory=ForestryAssumptions, description="Stresses and price volatility of forests"
    )
    agriculture: AgricultureAssumptions = Field(
        default_factory=AgricultureAssumptions,
        description="Stresses and price volatility of agricultural sales",
    )
    sewage_fee: FeeAssumptions = Field(
        default_factory=FeeAssumptions, description="Stresses on every sewage-fee asset"
    )
    waste_fee: FeeAssumptions = Field(
        default_factory=FeeAssumptions, description="Stresses on every waste-fee asset"
    )
    tourism_ticket: TourismAssumptions = Field(
        default_factory=TourismAssumptions, description="Stresses and volatility of visitors"
    )
    call_exercise: bool = Field(True, description="Exercise the clean-up call when allowed")
    prepayment_timing: Literal["beginning_of_month", "after_defaults"] = Field(
        "beginning_of_month",
        description="Voluntary prepayments on the beginning-of-month performing balance, like "
        "defaults (Standard Formulas C.3), or on what is left after the month's defaults",
    )


# --------------------------------------------------------------------------- structure
class StepUpSpec(_Frozen):
    """A coupon step-up from a date."""

    date: DealDate
    spread: float = Field(gt=0, lt=1, description="Added to the coupon from the date on")


class CouponSpec(_Frozen):
    """A tranche coupon: ``fixed``, or ``index`` plus ``margin`` (floored and capped)."""

    fixed: float | None = Field(None, ge=0, lt=1)
    index: Name | None = None
    margin: float = Field(0.0, gt=-1, lt=1)
    floor: float | None = Field(
        None, ge=0, lt=1, description="Lowest coupon (0 when not given: a note never charges)"
    )
    cap: float | None = Field(None, gt=0, lt=1)
    step_up: StepUpSpec | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.fixed is None) == (self.index is None):
            raise ValueError("give fixed, or index with margin")
        if self.fixed is not None:
            extra = [k for k in ("floor", "cap") if getattr(self, k) is not None]
            if self.margin != 0.0:
                extra.insert(0, "margin")
            if extra:
                raise ValueError(
                    f"a fixed coupon takes no {', '.join(extra)} (they apply to index)"
                )
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise ValueError(f"floor ({self.floor}) is above cap ({self.cap})")
        return self


class ScheduleRow(_Frozen):
    """A tranche's target balance from a payment date on."""

    date: DealDate
    balance: float = Field(ge=0, le=MAX_AMOUNT, description="Target balance after that date")


class TrancheSpec(_Frozen):
    """A class of securities, in order of seniority in ``structure.tranches``."""

    name: Name
    balance: float = Field(gt=0, le=MAX_AMOUNT)
    coupon: CouponSpec | None = None
    residual: bool = Field(False, description="Equity class: receives what is left")
    deferrable: bool = Field(False, description="Unpaid interest is carried forward, not an EoD")
    price: float = Field(100.0, gt=0, le=200, description="Price per 100 of face for yield")
    rating: str | None = None
    schedule: tuple[ScheduleRow, ...] | None = Field(
        None,
        min_length=1,
        description="Target balances by date for pay_principal mode schedule: on each payment "
        "date on or after a row's date the class is paid down to that balance (shortfalls are "
        "carried); dates increasing, balances not increasing",
    )
    legal_final: DealDate | None = Field(
        None,
        description="Legal final maturity: on the last payment date on or before it (rolled "
        "like the payment dates) supports covering the class's principal pay what is still "
        "outstanding, and what is left is recorded as legal_final_shortfall.  After "
        "dates.first_payment and on or before the deal's last payment date; default: the "
        "deal's last payment date (or the clean-up call date when earlier)",
    )

    @model_validator(mode="after")
    def _coupon(self) -> Self:
        if self.coupon is None and not self.residual:
            raise ValueError("a tranche that is not residual needs a coupon")
        if self.schedule is not None:
            rows = self.schedule
            for a, b in pairwise(rows):
                if b.date <= a.date:
                    raise ValueError(f"schedule dates must increase: {b.date} after {a.date}")
                if b.balance > a.balance:
                    raise ValueError(
                        f"schedule balances must not increase: {b.balance:,.2f} on {b.date} "
                        f"after {a.balance:,.2f}"
                    )
            if rows[0].balance > self.balance:
                raise ValueError(
                    f"schedule starts at {rows[0].balance:,.2f}, above the tranche balance "
                    f"{self.balance:,.2f}"
                )
        return self


class FeeSpec(_Frozen):
    """A senior expense: ``rate`` on a balance, a yearly ``amount``, or a ``once`` payment."""

    name: Name
    rate: float | None = Field(None, ge=0, le=0.2, description="Annual rate on the base")
    base: Literal["pool_balance", "original_pool_balance", "notes_balance"] = "pool_balance"
    amount: float | None = Field(
        None, ge=0, le=MAX_AMOUNT, description="Amount per year, accrued by day count"
    )
    once: float | None = Field(
        None, ge=0, le=MAX_AMOUNT, description="Paid once, on the first payment date"
    )

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one(self, "rate", "amount", "once")
        return self


class TargetSpec(_Frozen):
    """A balance target: a fixed ``amount``, or ``percent`` of a balance, with a ``floor``."""

    amount: float | None = Field(None, ge=0, le=MAX_AMOUNT)
    percent: float | None = Field(None, ge=0, le=1)
    of: Literal["pool_balance", "original_pool_balance", "notes_balance"] = "pool_balance"
    floor: float = Field(0.0, ge=0, le=MAX_AMOUNT)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.amount is None) == (self.percent is None):
            raise ValueError("give amount, or percent (of a balance)")
        return self


class AccountSpec(_Frozen):
    """A reserve account: ``initial`` funded at closing, topped up to ``target`` from the
    waterfall, the excess over target released to available funds."""

    name: Name
    initial: float = Field(0.0, ge=0, le=MAX_AMOUNT, description="Funded at closing")
    target: TargetSpec | None = None


class OCTargetSpec(_Frozen):
    """Overcollateralisation target: principal is paid until the pool exceeds the notes by it."""

    percent: float = Field(ge=0, le=1)
    of: Literal["pool_balance", "original_pool_balance"] = "original_pool_balance"
    floor: float = Field(0.0, ge=0, le=MAX_AMOUNT)


class TriggerKind(StrEnum):
    """What a trigger tests."""

    cumulative_loss = "cumulative_loss"
    """Cumulative net loss / original pool balance above ``threshold``."""
    oc_ratio = "oc_ratio"
    """Pool balance / balance of ``tranches`` (and all senior to them) below ``threshold``."""
    ic_ratio = "ic_ratio"
    """Interest collections / interest due on ``tranches`` below ``threshold``."""
    reserve_shortfall = "reserve_shortfall"
    """Balance of ``account`` below ``threshold`` x its target."""
    interest_shortfall = "interest_shortfall"
    """Any of ``tranches`` left with unpaid interest on the previous payment date."""


class TriggerEffect(StrEnum):
    """What a breached trigger does."""

    sequential = "sequential"
    """Pro-rata principal steps pay sequentially."""
    turbo = "turbo"
    """All funds left after interest pay principal, senior first."""
    accelerate = "accelerate"
    """Event of default: the post-acceleration waterfall (interest then principal, class by
    class in seniority) replaces the normal one."""


class TriggerSpec(_Frozen):
    """A test on each payment date; once breached it stays breached unless ``curable``."""

    name: Name
    kind: TriggerKind
    threshold: float = Field(0.0, ge=0)
    tranches: tuple[Name, ...] = ()
    account: Name | None = None
    effect: TriggerEffect = TriggerEffect.sequential
    curable: bool = False


class CallSpec(_Frozen):
    """Clean-up call: when the pool factor falls to ``pool_factor`` or below, the pool is
    bought back at ``price`` x its balance (defaulted assets at their expected recovery)."""

    pool_factor: float = Field(0.10, gt=0, lt=1)
    price: float = Field(1.0, gt=0, le=2)


class RetentionSpec(_Frozen):
    """The originator's risk retention.

    ``vertical``: ``share`` of every tranche.  ``horizontal``: ``share`` of the total issue,
    held in the most junior tranche(s).  ``l_shaped``: ``vertical_share`` of every tranche plus
    ``horizontal_share`` of the issue in the junior tranche(s).  ``minimum`` is the regulatory
    floor (PBoC/CBRC Announcement [2013] No. 21: 5%).
    """

    form: Literal["vertical", "horizontal", "l_shaped"]
    share: float | None = Field(None, gt=0, le=1)
    vertical_share: float | None = Field(None, gt=0, le=1)
    horizontal_share: float | None = Field(None, gt=0, le=1)
    minimum: float = Field(0.05, ge=0, le=1)
    holder: str = "originator"

    @model_validator(mode="after")
    def _shares(self) -> Self:
        if self.form == "l_shaped":
            if self.vertical_share is None or self.horizontal_share is None:
                raise ValueError("l_shaped retention needs vertical_share and horizontal_share")
        elif self.share is None:
            raise ValueError(f"{self.form} retention needs share")
        return self


# --------------------------------------------------------------------------- supports
class SupportKind(StrEnum):
    """What an external support is (both pay the same way; the kind is reported)."""

    guarantee = "guarantee"
    """A guarantee by a third party (担保)."""
    shortfall_undertaking = "shortfall_undertaking"
    """A shortfall payment undertaking (差额支付承诺), usually by the originator or sponsor."""


class SupportLimitSpec(_Frozen):
    """The most a support pays over the deal's life: an ``amount``, or a ``share`` of the
    original notes or of the original pool balance."""

    amount: float | None = Field(
        None, gt=0, le=MAX_AMOUNT, description="The limit in the deal's currency"
    )
    share: float | None = Field(
        None, gt=0, le=1, description="The limit as a share, above 0 and at most 1, of `of`"
    )
    of: Literal["original_notes", "original_pool_balance"] | None = Field(
        None,
        description="What share is a share of: the tranches' original balances together "
        "(original_notes, the default) or the pool's balance at the cut-off "
        "(original_pool_balance)",
    )

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.amount is None) == (self.share is None):
            raise ValueError("give amount, or share (of original_notes or original_pool_balance)")
        if self.amount is not None and self.of is not None:
            raise ValueError("of goes with share, not with amount")
        return self

    def resolve(self, original_notes: float, original_pool_balance: float) -> float:
        """The limit as an amount, given the original notes and pool balances."""
        if self.amount is not None:
            return float(self.amount)
        assert self.share is not None
        base = original_pool_balance if self.of == "original_pool_balance" else original_notes
        return float(self.share * base)


class SupportCoverSpec(_Frozen):
    """One shortfall a support pays: a tranche's ``interest`` or its ``principal``."""

    tranche: Name = Field(description="The covered tranche (not a residual one)")
    what: Literal["interest", "principal"] = Field(
        description="interest: what a pay_interest step leaves unpaid on any date; principal: "
        "what is outstanding on the tranche's legal final date"
    )


def _not_empty(v: tuple[Any, ...]) -> tuple[Any, ...]:
    # a check after the items (pydantic's min_length on a tuple also fires when an item fails)
    if not v:
        raise ValueError("give at least one shortfall to cover ({tranche, what})")
    return v


class SupportSpec(_Frozen):
    """External credit enhancement: a provider outside the deal pays named shortfalls of the
    waterfall up to a limit (a guarantee, or the originator's shortfall undertaking).

    Its draws are cash in from outside the deal; they are not repaid.  The provider may
    default (``default_probability`` or ``rating``, drawn by the Monte Carlo); from then on
    it pays nothing.
    """

    name: Name
    kind: SupportKind = Field(description="guarantee or shortfall_undertaking")
    provider: str = Field(min_length=1, max_length=200, description="The provider's name")
    originator: bool = Field(
        False,
        description="The provider is the originating bank: its bank keeps the limit as a "
        "retained securitisation exposure",
    )
    limit: SupportLimitSpec = Field(description="The most paid over the life, all draws together")
    covers: Annotated[tuple[SupportCoverSpec, ...], AfterValidator(_not_empty)] = Field(
        description="The shortfalls paid: {tranche, what: interest | principal}",
        json_schema_extra={"minItems": 1},
    )
    default_probability: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="The provider's annual probability of default (decimal, from 0 to below 1)",
    )
    rating: str | None = Field(
        None,
        min_length=1,
        max_length=16,
        description="The provider's rating symbol (e.g. AA); the Monte Carlo maps it to a "
        "default probability through its rating table",
    )
    factor_correlation: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Correlation of the provider's default with the pool's default factor "
        "(wrong-way risk), from 0 to below 1",
    )

    @model_validator(mode="after")
    def _default_source(self) -> Self:
        if self.default_probability is not None and self.rating is not None:
            raise ValueError(
                "give default_probability or rating, not both (neither: the provider never "
                "defaults)"
            )
        return self


# --------------------------------------------------------------------------- waterfall steps
def _names(v: Any, key: str) -> Any:
    if isinstance(v, str):
        return {key: [v]}
    if isinstance(v, list | tuple):
        return {key: list(v)}
    return v


def _single(v: Any, key: str) -> Any:
    return {key: v} if isinstance(v, str) else v


class FeesArgs(_Frozen):
    fees: tuple[Name, ...] = Field(min_length=1)
    support: Name | None = Field(None, description="Account that covers a shortfall")


class InterestArgs(_Frozen):
    tranches: tuple[Name, ...] = Field(min_length=1)
    support: Name | None = Field(None, description="Account that covers a shortfall")


class PrincipalArgs(_Frozen):
    tranches: tuple[Name, ...] = Field(min_length=1)
    mode: Literal["sequential", "pro_rata", "schedule"] = Field(
        "sequential",
        description="sequential, pro_rata, or schedule: each tranche with a schedule is paid "
        "down to its target balance of the date (from any available funds, shortfalls carried), "
        "then the rest of the principal distribution amount sequentially",
    )


class AccountArgs(_Frozen):
    account: Name


class ResidualArgs(_Frozen):
    tranche: Name


def _arg(model: type[BaseModel], fn: Any, key: str, shorthand: Any) -> Any:
    return Annotated[
        model,
        BeforeValidator(lambda v: fn(v, key), json_schema_input_type=shorthand | model),
    ]


class PayFees(_Frozen):
    """Pay accrued fees (pro rata among those listed), with any unpaid amount carried."""

    pay_fees: _arg(FeesArgs, _names, "fees", str | list[str])  # type: ignore[valid-type]


class PayInterest(_Frozen):
    """Pay current and carried-forward interest of the tranches (pro rata among them)."""

    pay_interest: _arg(InterestArgs, _names, "tranches", str | list[str])  # type: ignore[valid-type]


class PayPrincipal(_Frozen):
    """Pay the principal distribution amount to the tranches, sequentially or pro rata."""

    pay_principal: _arg(PrincipalArgs, _names, "tranches", str | list[str])  # type: ignore[valid-type]


class FundReserve(_Frozen):
    """Top the account up to its target from available funds."""

    fund_reserve: _arg(AccountArgs, _single, "account", str)  # type: ignore[valid-type]


class DrawReserve(_Frozen):
    """Move the account's whole balance into available funds."""

    draw_reserve: _arg(AccountArgs, _single, "account", str)  # type: ignore[valid-type]


class PayResidual(_Frozen):
    """Pay everything left to the residual tranche (principal first, then excess)."""

    pay_residual: _arg(ResidualArgs, _single, "tranche", str)  # type: ignore[valid-type]


STEP_TYPES: dict[str, type[_Frozen]] = {
    "pay_fees": PayFees,
    "pay_interest": PayInterest,
    "pay_principal": PayPrincipal,
    "fund_reserve": FundReserve,
    "draw_reserve": DrawReserve,
    "pay_residual": PayResidual,
}
"""The built-in steps (their actions are in :mod:`greenabs.waterfall`)."""
for _name, _model in STEP_TYPES.items():
    register_step(StepType(_name, _model))


def _step_tag(v: Any) -> str | None:
    if isinstance(v, dict):
        keys = list(v)
        return keys[0] if len(keys) == 1 and keys[0] in STEPS else None
    for name in STEPS:
        if hasattr(v, name):
            return name
    return None


def step_union(names: list[str] | None = None) -> Any:
    """The discriminated union of the registered steps (all when ``names`` is None)."""
    chosen = [n for n in STEPS if names is None or n in names]
    members = tuple(Annotated[STEPS[n].model, Tag(n)] for n in chosen)
    return Annotated[
        Union[members],  # noqa: UP007
        Discriminator(
            _step_tag,
            custom_error_type="unknown_step",
            custom_error_message="a step is a mapping with one key, one of: " + ", ".join(chosen),
            custom_error_context={"steps": ", ".join(chosen)},
        ),
    ]


Step = Annotated[
    Annotated[PayFees, Tag("pay_fees")]
    | Annotated[PayInterest, Tag("pay_interest")]
    | Annotated[PayPrincipal, Tag("pay_principal")]
    | Annotated[FundReserve, Tag("fund_reserve")]
    | Annotated[DrawReserve, Tag("draw_reserve")]
    | Annotated[PayResidual, Tag("pay_residual")],
    Discriminator(
        _step_tag,
        custom_error_type="unknown_step",
        custom_error_message="a step is a mapping with one key, one of: " + ", ".join(STEP_TYPES),
        custom_error_context={"steps": ", ".join(STEP_TYPES)},
    ),
]
"""One built-in waterfall step, written in YAML as a mapping with a single key (the deal model
that :func:`deal_model` builds accepts every registered step)."""


class StructureSpec(_Frozen):
    """The SPV: fees, accounts, tranches, triggers, call, retention and the waterfall."""

    fees: tuple[FeeSpec, ...] = ()
    accounts: tuple[AccountSpec, ...] = ()
    tranches: tuple[TrancheSpec, ...] = Field(min_length=1)
    triggers: tuple[TriggerSpec, ...] = ()
    oc_target: OCTargetSpec | None = None
    call: CallSpec | None = None
    retention: RetentionSpec | None = None
    supports: tuple[SupportSpec, ...] = Field(
        (),
        description="External credit enhancement: guarantees and shortfall undertakings that "
        "pay named interest and principal shortfalls up to a limit",
    )
    waterfall: tuple[Step, ...] = Field(min_length=1)
    waterfall_after_default: tuple[Step, ...] | None = Field(
        None, description="Post-acceleration order; built from seniority when not given"
    )


class DealSpec(_Frozen):
    """A whole deal file."""

    name: str = Field(min_length=1)
    currency: str = Field("CNY", min_length=3, max_length=3)
    dates: DatesSpec
    pool: PoolSpec
    assumptions: AssumptionsSpec = AssumptionsSpec()
    structure: StructureSpec
    simulation: SimulationSpec | None = Field(
        None, description="Monte Carlo settings (greenabs rate, size): see docs/montecarlo.md"
    )

    @model_validator(mode="after")
    def _cross_check(self) -> Self:
        problems = cross_check(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def tranche(self, name: str) -> TrancheSpec:
        """The tranche called ``name`` (a :class:`~greenabs.errors.SpecError` naming the known
        tranches when there is none)."""
        for t in self.structure.tranches:
            if t.name == name:
                return t
        known = ", ".join(t.name for t in self.structure.tranches)
        raise SpecError(
            "<argument>", Problem("tranche", f"unknown tranche {name!r} (known: {known})")
        )

    def __repr__(self) -> str:
        tranches = _html.names(t.name for t in self.structure.tranches)
        return (
            f"DealSpec({self.name!r}, {self.currency}, {len(self.pool.assets):,} assets, "
            f"tranches {tranches})"
        )

    def _repr_html_(self) -> str:
        """A notebook's view: dates, the pool by asset type and the tranches."""
        d = self.dates
        kinds = Counter(a.type for a in self.pool.assets)
        facts = [
            ("Currency", self.currency),
            ("Cut-off / closing", f"{d.cutoff} / {d.closing}"),
            ("First payment / frequency", f"{d.first_payment} / {d.frequency}"),
            ("Assets", ", ".join(f"{k}: {n:,}" for k, n in kinds.most_common())),
            ("Pool balance", _html.money(self.pool.balance)),
            ("Waterfall steps", len(self.structure.waterfall)),
        ]
        rows = []
        for t in self.structure.tranches:
            c = t.coupon
            coupon = (
                "residual"
                if t.residual
                else "-"
                if c is None
                else _html.pct(c.fixed)
                if c.fixed is not None
                else f"{c.index} + {_html.pct(c.margin)}"
            )
            rows.append((t.name, _html.money(t.balance), coupon, t.rating or "-"))
        header = ("Class", "Balance", "Coupon", "Rating")
        return _html.summary(
            f"DealSpec: {self.name}", facts, [("Tranches", _html.table(header, rows))]
        )


def _dupes(names: list[str]) -> set[str]:
    return {n for n, c in Counter(names).items() if c > 1}


def cross_check(deal: DealSpec) -> list[str]:
    """Problems that need the whole deal, each starting with its field path."""
    st = deal.structure
    out: list[str] = []
    tranches = [t.name for t in st.tranches]
    fees = [f.name for f in st.fees]
    accounts = [a.name for a in st.accounts]
    triggers = [t.name for t in st.triggers]
    for path, names in (
        ("tranches", tranches),
        ("fees", fees),
        ("accounts", accounts),
        ("triggers", triggers),
        ("supports", [s.name for s in st.supports]),
    ):
        for d in sorted(_dupes(names)):
            out.append(f"structure.{path}: name {d!r} is used twice")
    pool_bal = deal.pool.balance
    notes = sum(t.balance for t in st.tranches)
    # a revenue asset's balance is the present value of its expected collections, known once
    # compiled (compile_deal checks the notes against it)
    revenue = any(isinstance(a, RevenueSpecBase) for a in deal.pool.assets)
    if not revenue and notes > pool_bal * (1 + 1e-9) + 0.005:
        out.append(
            f"structure.tranches: tranche balances total {notes:,.2f}, more than the pool "
            f"balance {pool_bal:,.2f}"
        )
    if deal.pool.servicing_fee > 0:
        svc = next((f for f in st.fees if f.name == "servicing"), None)
        if (
            svc is not None
            and svc.rate is not None
            and abs(svc.rate - deal.pool.servicing_fee) > 1e-12
        ):
            out.append(
                f"structure.fees: fee 'servicing' has rate {svc.rate} but "
                f"pool.servicing_fee is {deal.pool.servicing_fee}"
            )
    indexes = set(deal.assumptions.rates)
    for i, t in enumerate(st.tranches):
        if t.coupon is not None and t.coupon.index is not None and t.coupon.index not in indexes:
            out.append(
                f"structure.tranches[{i}].coupon.index: index {t.coupon.index!r} has no path in "
                f"assumptions.rates (known: {', '.join(sorted(indexes)) or 'none'})"
            )
    asset_indexes = {getattr(a, "index", None) for a in deal.pool.assets}
    for name in sorted(str(n) for n in asset_indexes if n is not None):
        if name not in indexes:
            out.append(f"pool.assets: index {name!r} has no path in assumptions.rates")
    ids = [a.id for a in deal.pool.assets]
    for d in sorted(_dupes(ids))[:5]:
        out.append(f"pool.assets: asset id {d!r} is used twice")

    def ref(path: str, name: str | None, known: list[str], what: str) -> None:
        if name is not None and name not in known:
            out.append(f"{path}: unknown {what} {name!r} (known: {', '.join(known) or 'none'})")

    principal_paid: set[str] = set()
    fees_paid: set[str] = set()
    for label, steps in (
        ("waterfall", st.waterfall),
        ("waterfall_after_default", st.waterfall_after_default or ()),
    ):
        for i, step in enumerate(steps):
            kind, args = step_kind(step), step_args(step)
            path = f"structure.{label}[{i}].{kind}"
            listed = list(getattr(args, "tranches", ())) + list(getattr(args, "fees", ()))
            for d in sorted(_dupes(listed)):
                out.append(f"{path}: {d!r} is listed twice")
            if kind == "pay_fees":
                for f in args.fees:
                    ref(path, f, fees, "fee")
                fees_paid |= set(args.fees)
                ref(path, args.support, accounts, "account")
            elif kind == "pay_interest":
                for t in args.tranches:
                    ref(path, t, tranches, "tranche")
                    if t in tranches and deal.tranche(t).coupon is None:
                        out.append(f"{path}: tranche {t!r} has no coupon")
                ref(path, args.support, accounts, "account")
            elif kind == "pay_principal":
                for t in args.tranches:
                    ref(path, t, tranches, "tranche")
                principal_paid |= set(args.tranches)
                if args.mode == "schedule" and not any(
                    t in tranches and deal.tranche(t).schedule is not None for t in args.tranches
                ):
                    out.append(f"{path}: mode schedule, but no listed tranche has a schedule")
            elif kind in ("fund_reserve", "draw_reserve"):
                ref(path, args.account, accounts, "account")
                if kind == "fund_reserve" and args.account in accounts:
                    acc = st.accounts[accounts.index(args.account)]
                    if acc.target is None:
                        out.append(f"{path}: account {args.account!r} has no target to fund to")
            elif kind == "pay_residual":
                ref(path, args.tranche, tranches, "tranche")
                if args.tranche in tranches and not deal.tranche(args.tranche).residual:
                    out.append(f"{path}: tranche {args.tranche!r} is not marked residual: true")
                principal_paid.add(args.tranche)
            else:
                check = STEPS[kind].check if kind in STEPS else None
                if check is not None:
                    out.extend(check(path, args, deal))
    scheduled = {
        t
        for step in st.waterfall
        if step_kind(step) == "pay_principal" and step_args(step).mode == "schedule"
        for t in step_args(step).tranches
    }
    for i, t in enumerate(st.tranches):
        if t.schedule is not None and t.name not in scheduled:
            out.append(
                f"structure.tranches[{i}].schedule: tranche {t.name!r} has a schedule but no "
                "pay_principal step in mode schedule pays it"
            )
    for i, t in enumerate(st.tranches):
        if t.name not in principal_paid:
            out.append(
                f"structure.tranches[{i}]: tranche {t.name!r} is never paid principal "
                "(add it to a pay_principal or pay_residual step)"
            )
    for i, f in enumerate(st.fees):
        if f.name not in fees_paid:
            out.append(f"structure.fees[{i}]: fee {f.name!r} is never paid (add a pay_fees step)")
    if deal.pool.servicing_fee > 0 and "servicing" not in fees:
        out.append(
            "pool.servicing_fee: set, but structure.fees has no fee named 'servicing' to pay it"
        )
    if deal.pool.advancing != "none":
        if deal.assumptions.recovery.lag_months < 1:
            out.append(
                "assumptions.recovery.lag_months: advancing needs a liquidation lag of 1 month "
                "or more"
            )
        dq = deal.assumptions.delinquency
        if dq is not None and dq.rate > 0:
            out.append("assumptions.delinquency: delinquency cannot be combined with advancing")
    for i, trg in enumerate(st.triggers):
        path = f"structure.triggers[{i}]"
        for tname in trg.tranches:
            ref(path + ".tranches", tname, tranches, "tranche")
        if trg.kind in ("oc_ratio", "ic_ratio", "interest_shortfall") and not trg.tranches:
            out.append(f"{path}.tranches: a {trg.kind.value} trigger needs tranches")
        if trg.kind == "reserve_shortfall":
            if trg.account is None:
                out.append(f"{path}.account: a reserve_shortfall trigger needs an account")
            ref(path + ".account", trg.account, accounts, "account")
    out.extend(_check_supports(deal))
    sim = deal.simulation
    if sim is not None:
        if sim.rate_model is not None:
            known = sorted(deal.assumptions.rates)
            if not known:
                out.append(
                    "simulation.rate_model: the deal has no index rates to simulate "
                    "(assumptions.rates)"
                )
            for name in sim.rate_model.indices or ():
                ref("simulation.rate_model.indices", name, known, "index")
        recovery_random = sim.recovery_model.volatility > 0
        if recovery_random and deal.pool.advancing != "none":
            out.append(
                "simulation.recovery_model.volatility: random recoveries cannot be combined "
                "with advancing (the servicer's recoveries are fixed)"
            )
    return out


def _check_supports(deal: DealSpec) -> list[str]:
    """Legal final dates and external supports: names they refer to, what they cover."""
    st = deal.structure
    out: list[str] = []
    first = deal.dates.first_payment
    for i, t in enumerate(st.tranches):
        if t.legal_final is None:
            continue
        path = f"structure.tranches[{i}].legal_final"
        if t.residual:
            out.append(f"{path}: a residual tranche has no legal final (it is paid what is left)")
        elif t.legal_final <= first:
            out.append(
                f"{path}: {t.legal_final} must be after the first payment date "
                f"(dates.first_payment: {first})"
            )
    by_name = {t.name: t for t in st.tranches}
    known = ", ".join(by_name)
    interest_paid = {
        t
        for steps in (st.waterfall, st.waterfall_after_default or ())
        for step in steps
        if step_kind(step) == "pay_interest"
        for t in step_args(step).tranches
    }
    if st.waterfall_after_default is None:  # the built-in acceleration pays every coupon
        interest_paid |= {t.name for t in st.tranches if not t.residual}
    for i, sup in enumerate(st.supports):
        seen: set[tuple[str, str]] = set()
        for j, cover in enumerate(sup.covers):
            path = f"structure.supports[{i}].covers[{j}]"
            tranche = by_name.get(cover.tranche)
            if tranche is None:
                out.append(f"{path}.tranche: unknown tranche {cover.tranche!r} (known: {known})")
                continue
            if tranche.residual:
                out.append(
                    f"{path}.tranche: tranche {cover.tranche!r} is residual: it is owed no "
                    "interest or principal a support could cover"
                )
                continue
            key = (cover.tranche, cover.what)
            if key in seen:
                out.append(f"{path}: {cover.what} of tranche {cover.tranche!r} is listed twice")
            seen.add(key)
            if cover.what == "interest" and cover.tranche not in interest_paid:
                out.append(
                    f"{path}: no pay_interest step pays tranche {cover.tranche!r}, so there is "
                    "no interest shortfall to cover"
                )
    return out


def _registry_key() -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
    """What the deal model depends on: the registered families and steps."""
    return (
        tuple((name, id(fam)) for name, fam in FAMILIES.items()),
        tuple((name, id(st.model)) for name, st in STEPS.items()),
    )


def _missing_sections() -> bool:
    """Whether a registered family has an assumptions section :class:`AssumptionsSpec` does
    not declare."""
    return any(
        getattr(fam, "assumptions", None) is not None and name not in AssumptionsSpec.model_fields
        for name, fam in FAMILIES.items()
    )


_BUILT_IN = _registry_key()
_MODELS: dict[Any, type[DealSpec]] = {}


def deal_model() -> type[DealSpec]:
    """The deal model for the asset families and steps registered now (including those of
    installed packages' entry points): :class:`DealSpec` itself while only the built-in ones
    are and :class:`AssumptionsSpec` declares every family's section, otherwise a subclass
    whose pool, structure and assumptions accept them all (its JSON Schema lists them).  Built
    once per registry state."""
    load_entry_points()
    _steps.load_entry_points()
    key = _registry_key()
    if key == _BUILT_IN and not _missing_sections():
        return DealSpec
    if key in _MODELS:
        return _MODELS[key]
    step = step_union()
    assets: Any = tuple[asset_union(), ...]  # type: ignore[misc]
    pool = create_model("PoolSpec", __base__=PoolSpec, assets=(assets, Field(min_length=1)))
    structure = create_model(
        "StructureSpec",
        __base__=StructureSpec,
        waterfall=(tuple[step, ...], Field(min_length=1)),  # type: ignore[valid-type]
        waterfall_after_default=(
            tuple[step, ...] | None,  # type: ignore[valid-type]
            Field(None, description="Post-acceleration order; built from seniority when not given"),
        ),
    )
    sections: dict[str, Any] = {}
    for name, fam in FAMILIES.items():
        model = getattr(fam, "assumptions", None)
        if model is not None and name not in AssumptionsSpec.model_fields:
            sections[name] = (
                model,
                Field(default_factory=model, description=f"{name} assumptions"),
            )
    assumptions = create_model("AssumptionsSpec", __base__=AssumptionsSpec, **sections)
    deal = create_model(
        "DealSpec",
        __base__=DealSpec,
        pool=(pool, ...),
        structure=(structure, ...),
        assumptions=(assumptions, Field(default_factory=assumptions)),
    )
    _MODELS[key] = deal
    return deal
