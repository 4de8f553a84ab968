"""The SPV's waterfall: typed steps applied on each payment date, vectorised over scenarios.

Each payment date ``k``:

1. the pool's collections of the collection months paid on ``k`` become available funds (and,
   if the clean-up call is exercised, the call proceeds; the deal then terminates);
2. fees and tranche coupons accrue automatically on the deal's day count (no "accrue" step);
3. triggers are tested on the balances before this date's payments; breached ones switch
   principal to sequential, turbo the senior class or accelerate (post-default waterfall);
4. reserve balances above target are released into available funds (all at termination);
5. the steps run in order, each a vectorised operation over the scenario axis; after each
   ``pay_interest`` step the external supports pay the covered interest it left unpaid;
6. on a tranche's legal final date the supports covering its principal pay what is still
   outstanding; what is left then is its ``legal_final_shortfall``;
7. the conservation audit checks, for every scenario, that opening account balances plus
   collections plus support draws equal payments plus closing account balances, to a cent.

Principal distribution amount (PDA) of a date: at least the scheduled and prepaid principal
collected, and at least what brings the notes down to the pool balance less the
overcollateralisation target (so excess spread covers defaults); the whole outstanding balance
at termination, under turbo or after acceleration.  Recoveries are available funds.

External supports (``structure.supports``: guarantees, shortfall undertakings) are cash from
outside the deal paid straight to the covered tranches, never into available funds, up to a
limit consumed by every draw over the life (per scenario).  Interest: after a ``pay_interest``
step has paid what the available funds and its supporting account can, each support covering
the interest of some of the step's tranches pays what they still owe, pro rata among them
when its limit runs short; supports draw in the order they are listed.  Principal: on a
tranche's legal final date (its ``legal_final``, or the deal's termination: the clean-up call
or the last date, whichever comes first), after the steps, each support covering its
principal pays the outstanding balance, tranches in seniority order.  A provider that
defaults (driver ``support:NAME``: its default month, 1-based from the cut-off, 0 never) pays
nothing from the payment date that pays that collection month on.  Draws are not repaid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from greenabs.calendar import DealCalendar
from greenabs.collateral import STOCKS, PoolCashflows
from greenabs.compile import CompiledDeal, CompiledStructure, CompiledSupport, tranche_coupons
from greenabs.errors import ConservationError, Problem, SpecError
from greenabs.scenarios import Scenarios
from greenabs.spec.deal import AccountSpec, FeeSpec, TargetSpec, TriggerSpec
from greenabs.steps import STEPS, ResolvedStep

__all__ = [
    "SUPPORT_FIELDS",
    "TOLERANCE",
    "WaterfallResult",
    "WaterfallState",
    "audit_tolerance",
    "period_flows",
    "run_waterfall",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
TOLERANCE = 0.01
"""Largest cash difference (currency units) the conservation audit accepts on ordinary deals:
one cent.  For very large amounts it grows with the cash in (see :func:`audit_tolerance`)."""
RELATIVE_TOLERANCE = 1e-12
"""Relative part of the audit tolerance: double precision carries about 16 digits, so a
deal of 1e15 cannot be audited to the cent."""


def audit_tolerance(cash_in: FloatArray) -> FloatArray:
    """The audit's tolerance per scenario: one cent, or ``1e-12`` of the cash in when larger."""
    out: FloatArray = np.maximum(TOLERANCE, RELATIVE_TOLERANCE * np.abs(cash_in))
    return out


TRANCHE_FIELDS = (
    "begin_balance",
    "interest_due",
    "interest_paid",
    "principal_paid",
    "residual_paid",
    "interest_shortfall",
    "writedown",
    "end_balance",
    "support_paid",
    "legal_final_shortfall",
)
"""Per-tranche records.  ``support_paid``: interest and principal the external supports paid
the tranche (part of ``interest_paid`` and ``principal_paid``); ``legal_final_shortfall``:
the balance still outstanding on the tranche's legal final date after the supports (only on
that date; 0 for a residual tranche)."""
FEE_FIELDS = ("due", "paid", "unpaid")
ACCOUNT_FIELDS = ("begin_balance", "deposit", "withdrawal", "end_balance")
DEAL_FIELDS = (
    "interest_collected",
    "principal_collected",
    "recovery_collected",
    "call_proceeds",
    "called",
    "available_funds",
    "reserve_draws",
    "residual_released",
    "pool_begin_balance",
    "pool_end_balance",
    "default",
    "loss",
    "cumulative_loss",
    "principal_distribution_amount",
    "audit_difference",
    "support_draws",
)
SUPPORT_FIELDS = ("draw_interest", "draw_principal", "draw", "limit_left")
"""Per-support records: interest and principal paid, their total, and the limit left after
the date's draws."""
SUPPORT_DRIVER = "support:"
"""Prefix of the scenario driver that gives a support provider's default month."""


@dataclass(frozen=True, eq=False)
class WaterfallResult:
    """Per-period arrays, each shaped (S, K).

    ``tranches[name][field]``, ``fees[name][field]``, ``accounts[name][field]``,
    ``triggers[name]`` (bool, breached after the test), ``deal[field]``,
    ``supports[name][field]`` (:data:`SUPPORT_FIELDS`; empty when the run ignored supports).
    """

    tranches: dict[str, dict[str, FloatArray]]
    fees: dict[str, dict[str, FloatArray]]
    accounts: dict[str, dict[str, FloatArray]]
    triggers: dict[str, BoolArray]
    deal: dict[str, FloatArray]
    coupons: dict[str, FloatArray]
    supports: dict[str, dict[str, FloatArray]] = field(default_factory=dict)


def _scenario_coupons(
    compiled: CompiledDeal, scenarios: Scenarios | None, n_s: int
) -> dict[str, FloatArray]:
    """Coupons per tranche, (K,) or (S, K) where an index path varies by scenario."""
    base = dict(compiled.structure.coupons)
    if scenarios is None or not scenarios.index_paths:
        return base
    paths: dict[str, FloatArray] = dict(compiled.pool.index_paths)
    paths.update(scenarios.index_paths)
    varying = tranche_coupons(compiled.structure.tranches, compiled.calendar, paths)
    for name, c in varying.items():
        if c.ndim == 2:
            if c.shape[0] != n_s:
                why = f"index paths have {c.shape[0]} scenarios, the pool flows {n_s}"
                raise SpecError("<argument>", Problem("scenarios", why))
            base[name] = c
    return base


def period_flows(pool: PoolCashflows, cal: DealCalendar) -> dict[str, FloatArray]:
    """Monthly pool flows gathered per payment period: ``field -> (S, K)``.

    Flow fields are summed over the months each date pays; balances (``end_balance``,
    ``delinquent``) are taken after the last of those months and ``begin_balance`` before the
    first (carried through a period that pays no month).
    """
    k_n = cal.n_periods
    assign = np.zeros((pool.n_months, k_n))
    assign[np.arange(pool.n_months), cal.period_of_month] = 1.0
    out = {k: v @ assign for k, v in pool.flows.items() if k not in STOCKS}
    s_n = pool.flows["end_balance"].shape[0]
    last = np.full(k_n, -1)
    for m, k in enumerate(cal.period_of_month):
        last[k] = m
    last = np.maximum.accumulate(last)
    for name, before in (("end_balance", pool.original_balance), ("delinquent", 0.0)):
        stock = pool.flows[name]
        out[name] = np.where(last >= 0, stock[:, np.maximum(last, 0)], np.full((s_n, 1), before))
    out["begin_balance"] = np.concatenate(
        [np.full((s_n, 1), pool.original_balance), out["end_balance"][:, :-1]], axis=1
    )
    return out


def _target(
    spec: TargetSpec | None, pool_bal: FloatArray, orig: float, notes: FloatArray
) -> FloatArray:
    if spec is None:
        return np.zeros_like(pool_bal)
    if spec.amount is not None:
        return np.full_like(pool_bal, spec.amount)
    assert spec.percent is not None
    base = {
        "pool_balance": pool_bal,
        "original_pool_balance": np.full_like(pool_bal, orig),
        "notes_balance": notes,
    }[spec.of]
    return np.maximum(spec.percent * base, spec.floor)


class WaterfallState:
    """Mutable state of the waterfall over S scenarios, what a step reads and changes.

    ``fees`` and ``accounts_spec``: the fee and account specs by name.  Per tranche (by
    name): ``bal`` outstanding balance, ``int_due`` interest due on this
    date, ``int_short`` unpaid interest carried; per fee: ``fee_due``; per account: ``acct``
    balance; ``targets`` scheduled balances per period of tranches with a schedule;
    ``pda`` the principal distribution amount left on this date; ``draws`` account
    withdrawals into available funds; ``k`` the period.  ``supports`` the external supports
    in force (none when a run ignores them), ``sup_left`` each one's limit left, ``sup_on``
    whether its provider still pays on this date, ``sup_draws`` what they all paid on it.
    ``rec_t``, ``rec_f``, ``rec_a``, ``rec_s`` hold the per-period records (period-major
    (K, S)); a step adds what it pays to them, e.g. ``rec_a[account]["deposit"][k] +=
    amount``.  Every array has the scenario axis S.
    """

    def __init__(
        self,
        st: CompiledStructure,
        n_s: int,
        n_k: int,
        supports: tuple[CompiledSupport, ...] | None = None,
    ) -> None:
        self.names: tuple[str, ...] = st.names
        self.supports: tuple[CompiledSupport, ...] = st.supports if supports is None else supports
        self.sup_left = {u.name: np.full(n_s, u.limit) for u in self.supports}
        self.sup_on = {u.name: np.ones(n_s, dtype=np.bool_) for u in self.supports}
        self.sup_draws = np.zeros(n_s)
        self.targets = st.targets
        self.fees: dict[str, FeeSpec] = {f.name: f for f in st.fees}
        self.accounts_spec: dict[str, AccountSpec] = {a.name: a for a in st.accounts}
        self.bal = {n: np.full(n_s, b) for n, b in zip(st.names, st.balances, strict=True)}
        self.int_short = {n: np.zeros(n_s) for n in st.names}
        self.int_due = {n: np.zeros(n_s) for n in st.names}
        self.fee_unpaid = {f.name: np.zeros(n_s) for f in st.fees}
        self.fee_due = {f.name: np.zeros(n_s) for f in st.fees}
        self.acct = {a.name: np.full(n_s, a.initial) for a in st.accounts}
        self.latched = {t.name: np.zeros(n_s, dtype=np.bool_) for t in st.triggers}
        self.cum_loss = np.zeros(n_s)

        # records are period-major (K, S) so that each date's writes are contiguous; the
        # result exposes them as (S, K) views
        def z() -> FloatArray:
            return np.zeros((n_k, n_s))

        self.rec_t = {n: {f: z() for f in TRANCHE_FIELDS} for n in st.names}
        self.rec_f = {f.name: {g: z() for g in FEE_FIELDS} for f in st.fees}
        self.rec_a = {a.name: {g: z() for g in ACCOUNT_FIELDS} for a in st.accounts}
        self.rec_d = {g: z() for g in DEAL_FIELDS}
        self.rec_trg = {t.name: np.zeros((n_k, n_s), dtype=np.bool_) for t in st.triggers}
        self.rec_s = {u.name: {g: z() for g in SUPPORT_FIELDS} for u in self.supports}
        # per-period working values
        self.avail = np.zeros(n_s)
        self.pda = np.zeros(n_s)
        self.draws = np.zeros(n_s)
        self.k = 0

    def notes_balance(self) -> FloatArray:
        """Outstanding balance of all tranches (S,)."""
        return _total([self.bal[n] for n in self.names])


def _total(arrays: list[FloatArray]) -> FloatArray:
    """Element-wise sum of a short list of (S,) arrays (faster than ``np.sum`` on a list)."""
    out = arrays[0].copy()
    for a in arrays[1:]:
        out += a
    return out


def _pay_pro_rata(avail: FloatArray, dues: list[FloatArray]) -> tuple[FloatArray, list[FloatArray]]:
    total = _total(dues)
    paid_total = np.minimum(np.maximum(avail, 0.0), total)
    share = np.divide(paid_total, total, out=np.zeros_like(total), where=total > 0)
    return paid_total, [d * share for d in dues]


def _support(
    s: WaterfallState, account: str | None, shortfall: FloatArray, mask: BoolArray
) -> FloatArray:
    """Draw up to ``shortfall`` from a supporting account (only where ``mask``)."""
    if account is None:
        return np.zeros_like(shortfall)
    draw = np.where(mask, np.minimum(s.acct[account], np.maximum(shortfall, 0.0)), 0.0)
    s.acct[account] = s.acct[account] - draw
    s.rec_a[account]["withdrawal"][s.k] += draw
    s.draws += draw
    return draw


def _pay_dues(
    s: WaterfallState,
    due: dict[str, FloatArray],
    paid_to: dict[str, FloatArray],
    support: str | None,
    avail: FloatArray,
    mask: BoolArray,
) -> FloatArray:
    """Pay the amounts ``due[name]`` of the names in ``paid_to`` pro rata from ``avail`` (and a
    supporting account), recording each payment in ``paid_to[name]``; returns what is left."""
    dues = [due[n] for n in paid_to]
    total = _total(dues)
    paid = np.minimum(np.maximum(avail, 0.0), total)
    drawn = _support(s, support, total - paid, mask)
    _, parts = _pay_pro_rata(paid + drawn, dues)
    for (name, record), part in zip(paid_to.items(), parts, strict=True):
        due[name] = due[name] - part
        record[s.k] += part
    return avail - paid


def _draw_support(
    s: WaterfallState, sup: CompiledSupport, need: FloatArray, mask: BoolArray, what: str
) -> FloatArray:
    """Draw up to ``need`` from a support (where ``mask`` and its provider still pays), within
    its limit left; records the draw and returns it."""
    draw = np.where(
        mask & s.sup_on[sup.name], np.minimum(np.maximum(need, 0.0), s.sup_left[sup.name]), 0.0
    )
    s.sup_left[sup.name] = s.sup_left[sup.name] - draw
    rec = s.rec_s[sup.name]
    rec[f"draw_{what}"][s.k] += draw
    rec["draw"][s.k] += draw
    s.sup_draws += draw
    return draw


def _cover_interest(s: WaterfallState, tranches: tuple[str, ...], mask: BoolArray) -> None:
    """After a ``pay_interest`` step: each support covering the interest of some of its
    tranches pays what they still owe, pro rata among them within its limit."""
    for sup in s.supports:
        covered = [t for t in tranches if t in sup.interest]
        if not covered:
            continue
        dues = [np.maximum(s.int_due[t], 0.0) for t in covered]
        total = _total(dues)
        draw = _draw_support(s, sup, total, mask, "interest")
        share = np.divide(draw, total, out=np.zeros_like(total), where=total > 0)
        for t, due in zip(covered, dues, strict=True):
            part = due * share
            s.int_due[t] = s.int_due[t] - part
            s.rec_t[t]["interest_paid"][s.k] += part
            s.rec_t[t]["support_paid"][s.k] += part


def _cover_principal(s: WaterfallState, t: str, at_final: BoolArray) -> None:
    """On a tranche's legal final date (where ``at_final``): each support covering its
    principal pays its outstanding balance within its limit."""
    for sup in s.supports:
        if t not in sup.principal:
            continue
        draw = _draw_support(s, sup, s.bal[t], at_final, "principal")
        s.bal[t] = s.bal[t] - draw
        s.rec_t[t]["principal_paid"][s.k] += draw
        s.rec_t[t]["support_paid"][s.k] += draw


def _provider_stop(
    supports: tuple[CompiledSupport, ...], scenarios: Scenarios | None, cal: DealCalendar, n_s: int
) -> dict[str, npt.NDArray[np.int64]]:
    """The first period each support's provider no longer pays, per scenario (K: never):
    the payment date that pays its default month (driver ``support:NAME``, 1-based months
    after the cut-off, 0 never) and every date after it."""
    drivers = {} if scenarios is None else dict(scenarios.drivers)
    names = [u.name for u in supports]
    for key in drivers:
        if key.startswith(SUPPORT_DRIVER) and key[len(SUPPORT_DRIVER) :] not in names:
            why = (
                f"no support is called {key[len(SUPPORT_DRIVER) :]!r} "
                f"(supports: {', '.join(names) or 'none'})"
            )
            raise SpecError("<argument>", Problem(f"drivers[{key!r}]", why))
    n_k = cal.n_periods
    out: dict[str, npt.NDArray[np.int64]] = {}
    for name in names:
        key = SUPPORT_DRIVER + name
        stop = np.full(n_s, n_k, dtype=np.int64)
        if key in drivers:
            where = f"drivers[{key!r}]"
            arr = np.asarray(drivers[key], dtype=np.float64)
            if arr.shape != (n_s,):
                why = f"expected one default month per scenario, shape ({n_s},), got {arr.shape}"
                raise SpecError("<argument>", Problem(where, why))
            if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
                why = "default months are whole numbers >= 1 after the cut-off (0: never defaults)"
                raise SpecError("<argument>", Problem(where, why))
            month = arr.astype(np.int64)
            hit = (month >= 1) & (month <= cal.n_months)
            stop[hit] = cal.period_of_month[month[hit] - 1]
        out[name] = stop
    return out


def _pay_schedule(
    s: WaterfallState, names: list[str], avail: FloatArray, on: BoolArray
) -> FloatArray:
    """Pay each scheduled tranche down to its target balance of the date, in order, from the
    available funds (where ``on``); what cannot be paid stays outstanding for the next date.
    The payments count against the principal distribution amount."""
    targets = s.targets or {}
    for t in names:
        if t not in targets:
            continue
        due = np.where(on, np.maximum(s.bal[t] - targets[t][s.k], 0.0), 0.0)
        p = np.minimum(np.maximum(avail, 0.0), due)
        s.bal[t] = s.bal[t] - p
        s.rec_t[t]["principal_paid"][s.k] += p
        s.pda = np.maximum(s.pda - p, 0.0)
        avail = avail - p
    return avail


def _run_steps(
    s: WaterfallState,
    steps: tuple[ResolvedStep, ...],
    mask: BoolArray,
    seq: BoolArray,
    turbo: BoolArray,
    accelerated: bool,
    terminal: BoolArray,
    targets: dict[str, FloatArray],
) -> None:
    """Run one waterfall's steps on the scenarios in ``mask``."""
    k = s.k
    avail = np.where(mask, s.avail, 0.0)
    rest = s.avail - avail
    for kind, args in steps:
        if kind == "pay_fees":
            paid_to = {f: s.rec_f[f]["paid"] for f in args.fees}
            avail = _pay_dues(s, s.fee_due, paid_to, args.support, avail, mask)
        elif kind == "pay_interest":
            paid_to = {t: s.rec_t[t]["interest_paid"] for t in args.tranches}
            avail = _pay_dues(s, s.int_due, paid_to, args.support, avail, mask)
            if s.supports:
                _cover_interest(s, tuple(args.tranches), mask)
        elif kind == "pay_principal":
            names = list(args.tranches)
            full = accelerated | turbo | terminal
            if args.mode == "schedule":
                avail = _pay_schedule(s, names, avail, ~full)
            outstanding = _total([s.bal[t] for t in names])
            limit = np.where(full, outstanding, np.minimum(s.pda, outstanding))
            amount = np.maximum(np.minimum(avail, limit), 0.0)  # principal is never negative
            sequential = (args.mode != "pro_rata") | seq | accelerated
            left = amount.copy()
            seq_pay = {}
            for t in names:
                p = np.minimum(left, s.bal[t])
                seq_pay[t] = p
                left = left - p
            pro = {
                t: np.divide(
                    amount * s.bal[t], outstanding, out=np.zeros_like(amount), where=outstanding > 0
                )
                for t in names
            }
            for t in names:
                p = np.minimum(np.where(sequential, seq_pay[t], pro[t]), s.bal[t])
                s.bal[t] = s.bal[t] - p
                s.rec_t[t]["principal_paid"][k] += p
            avail = avail - amount
            s.pda = np.maximum(s.pda - amount, 0.0)
        elif kind == "fund_reserve":
            need = np.maximum(targets[args.account] - s.acct[args.account], 0.0)
            dep = np.minimum(avail, need)
            s.acct[args.account] = s.acct[args.account] + dep
            s.rec_a[args.account]["deposit"][k] += dep
            avail = avail - dep
        elif kind == "draw_reserve":
            draw = np.where(mask, s.acct[args.account], 0.0)
            s.acct[args.account] = s.acct[args.account] - draw
            s.rec_a[args.account]["withdrawal"][k] += draw
            s.draws += draw
            avail = avail + draw
        elif kind == "pay_residual":
            t = args.tranche
            full = accelerated | terminal
            limit = np.where(full, s.bal[t], np.minimum(s.pda, s.bal[t]))
            prin = np.maximum(np.minimum(avail, limit), 0.0)
            s.bal[t] = s.bal[t] - prin
            s.pda = np.maximum(s.pda - prin, 0.0)
            s.rec_t[t]["principal_paid"][k] += prin
            s.rec_t[t]["residual_paid"][k] += avail - prin
            avail = np.zeros_like(avail)
        else:  # a registered step
            apply = STEPS[kind].apply
            assert apply is not None, f"step {kind!r} has no action"
            avail = apply(s, args, avail, mask)
    s.avail = rest + avail


def _trigger_breach(
    trg: TriggerSpec,
    s: WaterfallState,
    pf: dict[str, FloatArray],
    k: int,
    orig: float,
    targets: dict[str, FloatArray],
) -> BoolArray:
    names = list(s.names)
    if trg.kind == "cumulative_loss":
        return s.cum_loss / orig > trg.threshold
    if trg.kind == "reserve_shortfall":
        assert trg.account is not None
        out: BoolArray = s.acct[trg.account] < trg.threshold * targets[trg.account] - 1e-9
        return out
    if trg.kind == "interest_shortfall":
        short: BoolArray = np.any([s.int_short[t] > TOLERANCE for t in trg.tranches], axis=0)
        return short
    upto = max(names.index(t) for t in trg.tranches)
    group = names[: upto + 1]
    if trg.kind == "oc_ratio":
        den = _total([s.bal[t] for t in group])
        ratio = np.divide(pf["end_balance"][k], den, out=np.full_like(den, np.inf), where=den > 0)
        low: BoolArray = ratio < trg.threshold
        return low
    den = _total([s.int_due[t] for t in group])
    with np.errstate(over="ignore"):  # a denormal amount due: the ratio is huge, not a breach
        ratio = np.divide(pf["interest"][k], den, out=np.full_like(den, np.inf), where=den > 0)
    ic: BoolArray = ratio < trg.threshold
    return ic


def run_waterfall(
    compiled: CompiledDeal,
    pool: PoolCashflows,
    scenarios: Scenarios | None = None,
    *,
    supports: bool = True,
) -> WaterfallResult:
    """Run a compiled deal's waterfall over every payment date and scenario of ``pool``.

    ``scenarios`` matters only when it carries per-scenario index paths (floating tranche
    coupons then follow each scenario's path) or support providers' default months (driver
    ``support:NAME``, shape (S,), whole months after the cut-off, 0 never); the pool flows
    carry everything else.  ``supports=False`` ignores the deal's external supports (as if it
    had none: the rating without support).

    Raises
    ------
    SpecError
        If a ``support:NAME`` driver names no support or is not one whole month >= 0 per
        scenario.

    Raises
    ------
    ConservationError
        If, in any period and scenario, cash in differs from cash out plus retained balances
        by more than the audit tolerance (one cent, or 1e-12 of the cash in for very large
        deals).
    """
    st = compiled.structure
    cal = compiled.calendar
    pf = {name: np.ascontiguousarray(v.T) for name, v in period_flows(pool, cal).items()}
    n_k, n_s = pf["interest"].shape
    orig = pool.original_balance
    s = WaterfallState(st, n_s, n_k, st.supports if supports else ())
    stop = _provider_stop(s.supports, scenarios, cal, n_s) if supports else {}
    legal_final = st.legal_final or {}
    coupons = _scenario_coupons(compiled, scenarios, n_s)
    normal = st.normal
    after_default = st.after_default
    # future recoveries after each period (the call buyer pays their expected value)
    # (under advancing also the principal still to be advanced on loans in foreclosure)
    still = pf["recovery"] + pf["advanced_principal"]
    rec_left = np.flip(np.cumsum(np.flip(still, axis=0), axis=0), axis=0)
    future_rec = np.concatenate([rec_left[1:], np.zeros((1, n_s))], axis=0)
    alive = np.ones(n_s, dtype=np.bool_)
    for k in range(n_k):
        if not alive.any():
            break  # every scenario has terminated: later dates stay zero
        s.k = k
        s.draws = np.zeros(n_s)
        s.sup_draws = np.zeros(n_s)
        for name, first_missed in stop.items():
            s.sup_on[name] = k < first_missed
        live = alive.copy()
        opening = sum(s.acct.values(), np.zeros(n_s))
        # 1. collections
        intr = np.where(live, pf["interest"][k] + pf["advanced_interest"][k], 0.0)
        prin = np.where(
            live,
            pf["scheduled_principal"][k] + pf["prepayment"][k] + pf["advanced_principal"][k],
            0.0,
        )
        recv = np.where(live, pf["recovery"][k], 0.0)
        pool_end = np.where(live, pf["end_balance"][k], 0.0)
        notes_before = s.notes_balance()
        call = np.zeros(n_s, dtype=np.bool_)
        if st.call is not None and st.call_exercise and k < n_k - 1:
            call = live & (pool_end <= st.call.pool_factor * orig) & (notes_before > TOLERANCE)
        proceeds = (
            np.where(call, st.call.price * pool_end + future_rec[k], 0.0)
            if st.call is not None
            else np.zeros(n_s)
        )
        terminal = live & (call | (k == n_k - 1))
        s.cum_loss = s.cum_loss + np.where(live, pf["loss"][k], 0.0)
        s.avail = intr + prin + recv + proceeds
        # 2. accruals
        pool_begin = np.where(live, pf["begin_balance"][k], 0.0)
        for f in st.fees:
            if f.rate is not None:
                base = {
                    "pool_balance": pool_begin,
                    "original_pool_balance": np.full(n_s, orig),
                    "notes_balance": notes_before,
                }[f.base]
                due = f.rate * base * cal.accrual[k]
            elif f.amount is not None:
                due = np.full(n_s, f.amount * cal.accrual[k])
            else:
                assert f.once is not None
                due = np.full(n_s, f.once if k == 0 else 0.0)
            due = np.where(live, due, 0.0)
            s.fee_due[f.name] = s.fee_unpaid[f.name] + due
            s.rec_f[f.name]["due"][k] = s.fee_due[f.name]
        for t in st.names:
            cur = s.bal[t] * coupons[t][..., k] * cal.accrual[k]
            s.int_due[t] = s.int_short[t] + np.where(live, cur, 0.0)
            s.rec_t[t]["begin_balance"][k] = s.bal[t]
            s.rec_t[t]["interest_due"][k] = s.int_due[t]
        # 3. triggers (on balances before this date's release)
        targets = {
            a.name: np.where(terminal, 0.0, _target(a.target, pool_end, orig, notes_before))
            for a in st.accounts
        }
        for trg in st.triggers:
            breach = _trigger_breach(trg, s, pf, k, orig, targets) & live
            s.latched[trg.name] = breach if trg.curable else (s.latched[trg.name] | breach)
            s.rec_trg[trg.name][k] = s.latched[trg.name]
        # 4. reserve release above target (all of it at termination)
        for a in st.accounts:
            s.rec_a[a.name]["begin_balance"][k] = s.acct[a.name]
            keep = np.where(
                terminal, 0.0, targets[a.name] if a.target is not None else s.acct[a.name]
            )
            rel = np.maximum(s.acct[a.name] - keep, 0.0)
            s.acct[a.name] -= rel
            s.rec_a[a.name]["withdrawal"][k] += rel
            s.draws += rel
            s.avail = s.avail + rel
        eff = {e: np.zeros(n_s, dtype=np.bool_) for e in ("sequential", "turbo", "accelerate")}
        for trg in st.triggers:
            eff[trg.effect.value] |= s.latched[trg.name]
        # 5. principal distribution amount and the steps
        oc = np.zeros(n_s)
        if st.oc_target is not None:
            base = pool_end if st.oc_target.of == "pool_balance" else np.full(n_s, orig)
            oc = np.maximum(st.oc_target.percent * base, st.oc_target.floor)
        need = notes_before - np.maximum(pool_end - oc, 0.0)
        s.pda = np.where(live, np.minimum(notes_before, np.maximum(prin, need)), 0.0)
        pda0 = s.pda.copy()
        accel = eff["accelerate"] & live
        if (live & ~accel).any():
            _run_steps(
                s, normal, live & ~accel, eff["sequential"], eff["turbo"], False, terminal, targets
            )
        if accel.any():
            _run_steps(
                s, after_default, accel, eff["sequential"], eff["turbo"], True, terminal, targets
            )
        # 6. carry unpaid amounts, write off at termination, record
        released = s.avail.copy()
        s.avail = np.zeros(n_s)
        for f in st.fees:
            s.fee_unpaid[f.name] = np.where(terminal, 0.0, s.fee_due[f.name])
            s.rec_f[f.name]["unpaid"][k] = s.fee_due[f.name]
        for t, residual in zip(st.names, st.residual, strict=True):
            final = legal_final.get(t, n_k - 1)
            at_final = live & ((k == final) | (terminal & (k < final)))
            if s.supports and at_final.any():
                _cover_principal(s, t, at_final)
            if not residual:
                s.rec_t[t]["legal_final_shortfall"][k] = np.where(at_final, s.bal[t], 0.0)
        for u in s.supports:
            s.rec_s[u.name]["limit_left"][k] = s.sup_left[u.name]
        for t in st.names:
            short = s.int_due[t]
            s.int_short[t] = np.where(terminal, 0.0, short)
            r = s.rec_t[t]
            r["interest_shortfall"][k] = short
            wd = np.where(terminal, s.bal[t], 0.0)
            r["writedown"][k] = wd
            s.bal[t] = s.bal[t] - wd
            r["end_balance"][k] = s.bal[t]
        for a in st.accounts:
            s.rec_a[a.name]["end_balance"][k] = s.acct[a.name]
        d = s.rec_d
        d["interest_collected"][k] = intr
        d["principal_collected"][k] = prin
        d["recovery_collected"][k] = recv
        d["call_proceeds"][k] = proceeds
        d["called"][k] = call
        d["reserve_draws"][k] = s.draws
        d["residual_released"][k] = released
        d["pool_begin_balance"][k] = pool_begin
        d["pool_end_balance"][k] = np.where(call, 0.0, pool_end)
        d["default"][k] = np.where(live, pf["default"][k], 0.0)
        d["loss"][k] = np.where(live, pf["loss"][k], 0.0)
        d["cumulative_loss"][k] = s.cum_loss
        d["principal_distribution_amount"][k] = pda0
        d["support_draws"][k] = s.sup_draws
        # audit: opening accounts + collections + support draws = payments + closing accounts
        paid = released.copy()
        for t in st.names:
            r = s.rec_t[t]
            paid += r["interest_paid"][k] + r["principal_paid"][k] + r["residual_paid"][k]
        for f in st.fees:
            paid += s.rec_f[f.name]["paid"][k]
        closing = sum(s.acct.values(), np.zeros(n_s))
        cash_in = opening + intr + prin + recv + proceeds + s.sup_draws
        diff = cash_in - (paid + closing)
        d["available_funds"][k] = intr + prin + recv + proceeds + s.draws
        d["audit_difference"][k] = diff
        bad = ~(np.abs(diff) <= audit_tolerance(cash_in))  # NaN is a failure
        if bad.any():
            sc = int(np.argmax(bad))
            raise ConservationError(
                f"cash not conserved on {cal.payment_dates[k]} (scenario {sc}): "
                f"in {cash_in[sc]:,.4f} (support draws {s.sup_draws[sc]:,.4f} included), "
                f"out {paid[sc] + closing[sc]:,.4f}, difference {diff[sc]:,.4f}"
            )
        alive = live & ~terminal
    else:
        k = n_k
    # dates after every scenario terminated carry the running totals
    s.rec_d["cumulative_loss"][k:] = s.cum_loss[None, :]
    for u in s.supports:
        s.rec_s[u.name]["limit_left"][k:] = s.sup_left[u.name][None, :]

    def scenario_major(rec: dict[str, FloatArray]) -> dict[str, FloatArray]:
        return {name: arr.T for name, arr in rec.items()}

    return WaterfallResult(
        tranches={n: scenario_major(r) for n, r in s.rec_t.items()},
        fees={n: scenario_major(r) for n, r in s.rec_f.items()},
        accounts={n: scenario_major(r) for n, r in s.rec_a.items()},
        triggers={n: arr.T for n, arr in s.rec_trg.items()},
        deal=scenario_major(s.rec_d),
        coupons=coupons,
        supports={n: scenario_major(r) for n, r in s.rec_s.items()},
    )
