"""Compile once, run many: a validated deal as arrays the engine runs directly.

:func:`compile_deal` turns a :class:`~greenabs.spec.deal.DealSpec` into a
:class:`CompiledDeal`: the compiled pool (blocks of asset arrays, rate tables, the monthly
grid), the deal calendar and the compiled structure (tranche balances and per-period coupons as
arrays, the waterfall steps resolved to their actions once).  The pool's flows do not depend on
the structure, so :meth:`CompiledDeal.with_structure` gives another structure (tranche sizes,
coupons, reserve targets) over the same compiled pool and calendar without revalidating the
deal: sizing and structure comparisons rerun only the waterfall.

The split follows QuantLib's instrument / arguments / engine: the spec is the instrument, the
compiled deal its arguments, and ``project`` + ``run_waterfall`` the engine.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from greenabs.assets import MAX_AMOUNT
from greenabs.calendar import DealCalendar, build_calendar, months_between, roll
from greenabs.collateral import CompiledPool, compile_pool_for
from greenabs.errors import Problem, SpecError
from greenabs.spec.deal import (
    AccountSpec,
    CallSpec,
    DealSpec,
    FeeSpec,
    OCTargetSpec,
    StructureSpec,
    TargetSpec,
    TrancheSpec,
    TriggerSpec,
)
from greenabs.steps import ResolvedStep, default_acceleration, resolve_steps

__all__ = [
    "CompiledDeal",
    "CompiledStructure",
    "CompiledSupport",
    "compile_deal",
    "legal_final_periods",
    "tranche_coupons",
]

FloatArray = npt.NDArray[np.float64]


def tranche_coupons(
    tranches: tuple[TrancheSpec, ...],
    cal: DealCalendar,
    index_paths: Mapping[str, FloatArray],
) -> dict[str, FloatArray]:
    """Annual coupon of each tranche per period: ``(K,)``, or ``(S, K)`` when the tranche's
    index path has a scenario axis (``index_paths[name]`` of shape ``(S, M)``).  Floating
    coupons read the index at the start of each interest period, add the margin and are held
    between the floor (0 when none is given: a note never charges its holder) and the cap."""
    starts = [cal.closing, *cal.payment_dates[:-1]]
    out: dict[str, FloatArray] = {}
    for t in tranches:
        c = t.coupon
        if c is None:
            out[t.name] = np.zeros(cal.n_periods)
            continue
        if c.fixed is not None:
            rate: FloatArray = np.full(cal.n_periods, c.fixed)
        else:
            assert c.index is not None
            path = np.asarray(index_paths[c.index], dtype=np.float64)
            cols = path.shape[-1]
            idx = np.array(
                [min(max(months_between(cal.cutoff, s) - 1, 0), cols - 1) for s in starts]
            )
            rate = np.clip(
                path[..., idx] + c.margin,
                0.0 if c.floor is None else c.floor,
                np.inf if c.cap is None else c.cap,
            )
        if c.step_up is not None:
            up = c.step_up
            rate = rate + np.array([up.spread if s >= up.date else 0.0 for s in starts])
        out[t.name] = rate
    return out


@dataclass(frozen=True)
class CompiledSupport:
    """An external support as the waterfall runs it: ``limit`` as an amount (a share resolved
    against the original notes or pool), the tranches whose ``interest`` and whose
    ``principal`` it covers (in seniority order), and what the spec says of the provider."""

    name: str
    kind: str
    provider: str
    originator: bool
    limit: float
    interest: tuple[str, ...]
    principal: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class CompiledStructure:
    """The SPV as the waterfall runs it.

    ``names``, ``balances`` (T,) and ``residual`` per tranche in seniority order; ``coupons``
    the annual coupon of each tranche per period (K,); ``targets`` the scheduled balance of
    each tranche with a schedule per period (K,) (its balance before the first row); fees,
    accounts, triggers, the OC target and the call as validated specs (read once per date,
    never revalidated); ``normal`` and ``after_default`` the waterfall steps resolved to
    (action, arguments) once; ``supports`` the external supports with their limits as amounts;
    ``legal_final`` the 0-based period of each tranche's legal final date (the last period
    when the tranche has none).
    """

    tranches: tuple[TrancheSpec, ...]
    names: tuple[str, ...]
    balances: FloatArray
    residual: tuple[bool, ...]
    coupons: Mapping[str, FloatArray]
    fees: tuple[FeeSpec, ...]
    accounts: tuple[AccountSpec, ...]
    triggers: tuple[TriggerSpec, ...]
    oc_target: OCTargetSpec | None
    call: CallSpec | None
    call_exercise: bool
    normal: tuple[ResolvedStep, ...]
    after_default: tuple[ResolvedStep, ...]
    targets: Mapping[str, FloatArray] | None = None
    supports: tuple[CompiledSupport, ...] = ()
    legal_final: Mapping[str, int] = field(default_factory=dict)


def schedule_targets(tranches: tuple[TrancheSpec, ...], cal: DealCalendar) -> dict[str, FloatArray]:
    """Target balance per period of each tranche with a schedule: the balance of its last row
    dated on or before the payment date (its original balance before the first row)."""
    out: dict[str, FloatArray] = {}
    for t in tranches:
        if t.schedule is None:
            continue
        target = np.full(cal.n_periods, t.balance)
        for row in t.schedule:
            target[[p >= row.date for p in cal.payment_dates]] = row.balance
        target.flags.writeable = False
        out[t.name] = target
    return out


def legal_final_periods(deal: DealSpec, cal: DealCalendar) -> dict[str, int]:
    """The 0-based period of each tranche's legal final date: the last payment date on or
    before its ``legal_final`` rolled by the deal's business-day rule (the last period when it
    has none).  A legal final after the last payment date is refused, naming the field."""
    last = cal.n_periods - 1
    out: dict[str, int] = {}
    for i, t in enumerate(deal.structure.tranches):
        if t.legal_final is None:
            out[t.name] = last
            continue
        rolled = roll(t.legal_final, deal.dates.business_day)
        if rolled > cal.payment_dates[-1]:
            why = (
                f"{t.legal_final} is after the deal's last payment date "
                f"{cal.payment_dates[-1]} (the deal terminates then, a legal final for every "
                "class): give a date on or before it, or leave legal_final out"
            )
            raise SpecError("<argument>", Problem(f"structure.tranches[{i}].legal_final", why))
        out[t.name] = max(bisect.bisect_right(cal.payment_dates, rolled) - 1, 0)
    return out


def _supports(deal: DealSpec, pool_balance: float) -> tuple[CompiledSupport, ...]:
    """The deal's supports with their limits resolved to amounts."""
    st = deal.structure
    notes = float(sum(t.balance for t in st.tranches))
    order = [t.name for t in st.tranches]
    out = []
    for sup in st.supports:
        interest = {c.tranche for c in sup.covers if c.what == "interest"}
        principal = {c.tranche for c in sup.covers if c.what == "principal"}
        out.append(
            CompiledSupport(
                name=sup.name,
                kind=sup.kind.value,
                provider=sup.provider,
                originator=sup.originator,
                limit=sup.limit.resolve(notes, pool_balance),
                interest=tuple(n for n in order if n in interest),
                principal=tuple(n for n in order if n in principal),
            )
        )
    return tuple(out)


def _structure(deal: DealSpec, cal: DealCalendar, pool_balance: float) -> CompiledStructure:
    st = deal.structure
    paths = {
        k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in deal.assumptions.rates.items()
    }
    balances = np.array([t.balance for t in st.tranches], dtype=np.float64)
    balances.flags.writeable = False
    return CompiledStructure(
        tranches=st.tranches,
        names=tuple(t.name for t in st.tranches),
        balances=balances,
        residual=tuple(t.residual for t in st.tranches),
        coupons=tranche_coupons(st.tranches, cal, paths),
        fees=st.fees,
        accounts=st.accounts,
        triggers=st.triggers,
        oc_target=st.oc_target,
        call=st.call,
        call_exercise=deal.assumptions.call_exercise,
        normal=resolve_steps(st.waterfall),
        after_default=resolve_steps(st.waterfall_after_default or default_acceleration(st)),
        targets=schedule_targets(st.tranches, cal),
        supports=_supports(deal, pool_balance),
        legal_final=legal_final_periods(deal, cal),
    )


def _is_amount(value: object) -> bool:
    """A finite number from 0 to :data:`~greenabs.assets.MAX_AMOUNT` (not a bool)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return ok and math.isfinite(value) and 0 <= value <= MAX_AMOUNT  # type: ignore[operator,arg-type]


@dataclass(frozen=True, eq=False)
class CompiledDeal:
    """A deal compiled for running: ``deal`` (the spec it came from, updated by
    :meth:`with_structure`), ``pool``, ``calendar`` and ``structure``."""

    deal: DealSpec
    pool: CompiledPool
    calendar: DealCalendar
    structure: CompiledStructure

    def with_structure(
        self,
        *,
        balances: Mapping[str, float] | None = None,
        coupons: Mapping[str, float] | None = None,
        reserve_targets: Mapping[str, float | TargetSpec] | None = None,
    ) -> CompiledDeal:
        """Another structure over the same compiled pool and calendar.

        ``balances`` and ``coupons`` (fixed annual rates) by tranche name, ``reserve_targets``
        by account name (an amount, or a :class:`~greenabs.spec.deal.TargetSpec`).  Only what
        changes is checked: names, finite positive sizes, notes not above the pool.
        """
        st = self.deal.structure
        names = [t.name for t in st.tranches]
        tranches = list(st.tranches)

        def check_name(arg: str, name: str, known: list[str]) -> None:
            if name not in known:
                why = f"unknown name {name!r} (known: {', '.join(known) or 'none'})"
                raise SpecError("<argument>", Problem(arg, why))

        for name, value in (balances or {}).items():
            check_name("balances", name, names)
            if not (_is_amount(value) and value > 0):
                why = f"tranche {name!r}: a balance is above 0, at most {MAX_AMOUNT:g}: {value!r}"
                raise SpecError("<argument>", Problem("balances", why))
            i = names.index(name)
            tranches[i] = tranches[i].model_copy(update={"balance": float(value)})
        for name, value in (coupons or {}).items():
            check_name("coupons", name, names)
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value < 1):
                why = f"tranche {name!r}: a fixed coupon is from 0 to below 1, got {value!r}"
                raise SpecError("<argument>", Problem("coupons", why))
            i = names.index(name)
            old = tranches[i].coupon
            if old is None:
                why = f"tranche {name!r} is residual and has no coupon"
                raise SpecError("<argument>", Problem("coupons", why))
            new = old.model_copy(update={"fixed": float(value), "index": None, "margin": 0.0})
            tranches[i] = tranches[i].model_copy(update={"coupon": new})
        accounts = list(st.accounts)
        acc_names = [a.name for a in accounts]
        for name, target in (reserve_targets or {}).items():
            check_name("reserve_targets", name, acc_names)
            if isinstance(target, TargetSpec):
                spec = target
            elif _is_amount(target):
                spec = TargetSpec(amount=float(target))
            else:
                why = (
                    f"account {name!r}: a target is an amount up to {MAX_AMOUNT:g} or a TargetSpec"
                )
                raise SpecError("<argument>", Problem("reserve_targets", why))
            i = acc_names.index(name)
            accounts[i] = accounts[i].model_copy(update={"target": spec})
        total = sum(t.balance for t in tranches)
        if total > self.pool.balance * (1 + 1e-9) + 0.005:
            why = (
                f"tranche balances total {total:,.2f}, more than the pool {self.pool.balance:,.2f}"
            )
            raise SpecError("<argument>", Problem("balances", why))
        new_st: StructureSpec = st.model_copy(
            update={"tranches": tuple(tranches), "accounts": tuple(accounts)}
        )
        deal = self.deal.model_copy(update={"structure": new_st})
        return CompiledDeal(
            deal=deal,
            pool=self.pool,
            calendar=self.calendar,
            structure=_structure(deal, self.calendar, self.pool.balance),
        )


def compile_deal(deal: DealSpec) -> CompiledDeal:
    """Compile a validated deal: pool blocks and rate tables, calendar, structure."""
    pool = compile_pool_for(
        deal.pool.assets, deal.assumptions, deal.dates.cutoff, deal.pool.advancing
    )
    d = deal.dates
    cal = build_calendar(
        d.cutoff,
        d.closing,
        d.first_payment,
        d.frequency,
        d.day_count,
        pool.n_months,
        determination_days=d.determination_days,
        business_day=d.business_day,
        end_of_month=d.end_of_month,
    )
    notes = sum(t.balance for t in deal.structure.tranches)
    if notes > pool.balance * (1 + 1e-9) + 0.005:
        why = (
            f"tranche balances total {notes:,.2f}, more than the pool balance "
            f"{pool.balance:,.2f} (revenue assets at the present value of their expected "
            "collections)"
        )
        raise SpecError("<argument>", Problem("structure.tranches", why))
    return CompiledDeal(
        deal=deal, pool=pool, calendar=cal, structure=_structure(deal, cal, pool.balance)
    )
