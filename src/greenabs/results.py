"""The result of a run: frozen arrays, with tables as pandas DataFrames and a JSON form.

Tables show one scenario (0 by default; a deterministic run has only that one);
:meth:`RunResult.scenario_metrics` has every scenario and tranche in one table.

Results are immutable.  Building a :class:`RunResult` makes every array it can reach (pool
flows, loan-level flows, waterfall records, coupons, calendar arrays, and the arrays they are
views of) read-only in place, without copying, and turns every mapping into a read-only
:class:`FrozenMapping`; writing to either raises (``ValueError: assignment
destination is read-only``, ``TypeError``).  The tables are fresh DataFrames the caller may
change.  A result pickles and copies; the copy is frozen again.

Settlement.  Yields, prices, durations, discount margins and WALs are measured from a
settlement date: :attr:`RunResult.settle`, or the ``settle=`` keyword of the pricing methods,
or the closing date when neither is given.  Cash paid on or before the settlement date belongs
to the seller and is excluded; times run from the settlement date in ACT/365F years; a price is
the full (dirty) price per 100 of the tranche's face outstanding at settlement, i.e. after the
payments on or before it and before those after it (so it differs by scenario once a scenario
has paid principal or written the class down); a discount margin discounts the first remaining
period from the settlement date on the deal's day count.  A settlement date before closing or
after the last payment date is refused.  At the closing date every figure is the one the
issue is priced at.

Arguments are checked: an unknown tranche, a scenario out of range, a non-finite or
out-of-range yield, price, discount margin or rate, a bad settlement date, pricing a fixed
class at a discount margin or asking for loan-level flows a run did not keep raise
:class:`~greenabs.errors.SpecError` with source ``"<argument>"`` and a
:class:`~greenabs.errors.Problem` naming the argument and what it may be.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from greenabs import _html, analytics
from greenabs.calendar import DealCalendar, months_between, year_fraction
from greenabs.collateral import POOL_FIELDS, PoolCashflows, legs
from greenabs.errors import Problem, SpecError
from greenabs.retention import RetentionReport, retention_report
from greenabs.spec.deal import DealSpec, TrancheSpec
from greenabs.waterfall import TRANCHE_FIELDS, WaterfallResult

__all__ = ["FrozenMapping", "RunResult", "cells_for_csv", "json_safe"]

FloatArray = npt.NDArray[np.float64]
_K = TypeVar("_K")
_V = TypeVar("_V")


def json_safe(v: Any, digits: int | None = None) -> Any:
    """``v`` as JSON-ready data, recursively: NaN and infinities as ``None``, numpy scalars as
    Python numbers, dates as ``YYYY-MM-DD``, arrays and tuples as lists; floats rounded to
    ``digits`` decimals when given."""
    if isinstance(v, float | np.floating):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            return None
        return f if digits is None else round(f, digits)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, date | pd.Timestamp):
        return v.isoformat()[:10]
    if isinstance(v, Mapping):
        return {str(k): json_safe(x, digits) for k, x in v.items()}
    if isinstance(v, list | tuple | np.ndarray):
        return [json_safe(x, digits) for x in v]
    return v


def _clean(v: Any) -> Any:
    """A run's results as JSON: :func:`json_safe` to 6 decimals."""
    return json_safe(v, 6)


def _cells_for_excel(df: pd.DataFrame) -> pd.DataFrame:
    """The table with control characters in its text cells written as ``\\xNN`` (a workbook
    cannot hold them; a name from a deal file may)."""
    import re

    bad = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

    def clean(v: Any) -> Any:
        return bad.sub(lambda m: f"\\x{ord(m.group()):02x}", v) if isinstance(v, str) else v

    text = [
        c
        for c in df.columns
        if pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c])
    ]
    if not text:
        return df
    out = df.copy()
    for c in text:
        out[c] = out[c].map(clean)
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cells_for_csv(df: pd.DataFrame) -> pd.DataFrame:
    """The table with each text cell (and column name) that a spreadsheet would read as a
    formula, one starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return,
    prefixed with ``'`` so that it opens as text (OWASP, "CSV Injection"); numbers stay
    numbers, a negative one included."""

    def text(v: Any) -> Any:
        return "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v

    out = df.rename(columns=text)  # a new frame: ``df`` is left as it was
    for c in out.columns:
        if out[c].map(lambda v: isinstance(v, str)).any():
            out[c] = out[c].map(text)
    return out


def _safe_names(names: list[str], limit: int, taken: set[str] | None = None) -> list[str]:
    """File and sheet names for tables named after tranches: letters, digits, ``-`` and ``_``
    kept (anything else, path separators and dots included, becomes ``_``), at most ``limit``
    characters, unique without regard to case (``~2``, ``~3``... added where two would
    coincide), in the order given."""
    used = {t.lower() for t in taken or set()}
    out = []
    for name in names:
        base = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:limit] or "_"
        safe, n = base, 1
        while safe.lower() in used:
            n += 1
            tail = f"~{n}"
            safe = base[: limit - len(tail)] + tail
        used.add(safe.lower())
        out.append(safe)
    return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [_clean(r) for r in df.to_dict(orient="records")]


class FrozenMapping(Mapping[_K, _V]):
    """A read-only mapping: item assignment and deletion raise :class:`TypeError`.

    Like :class:`types.MappingProxyType`, but it pickles and copies (so a
    :class:`RunResult` still does).
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[_K, _V]) -> None:
        self._data: dict[_K, _V] = dict(data)

    def __getitem__(self, key: _K) -> _V:
        return self._data[key]

    def __iter__(self) -> Iterator[_K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"FrozenMapping({self._data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMapping, (self._data,))

    def copy(self) -> dict[_K, _V]:
        """A plain (mutable) dict with the same items."""
        return dict(self._data)


def _lock(arr: np.ndarray[Any, Any]) -> None:
    """Make an array and every array it is a view of read-only (no copy)."""
    a: Any = arr
    while isinstance(a, np.ndarray):
        a.flags.writeable = False
        a = a.base


def _freeze(obj: Any) -> Any:
    """``obj`` with its arrays read-only and its mappings :class:`FrozenMapping`.

    Arrays are locked in place; a mapping, list or tuple is rebuilt (as a frozen mapping or a
    tuple) only when something inside it changed; a dataclass is copied with
    :func:`dataclasses.replace` only when one of its fields changed.  Other objects (the
    frozen pydantic deal, dates, numbers) are returned as they are.
    """
    if isinstance(obj, np.ndarray):
        _lock(obj)
        return obj
    if isinstance(obj, Mapping):
        items = {k: _freeze(v) for k, v in obj.items()}
        if isinstance(obj, FrozenMapping) and all(items[k] is v for k, v in obj.items()):
            return obj
        return FrozenMapping(items)
    if isinstance(obj, list | tuple):
        values = [_freeze(v) for v in obj]
        if isinstance(obj, tuple) and all(a is b for a, b in zip(values, obj, strict=True)):
            return obj
        return type(obj)(*values) if hasattr(obj, "_fields") else tuple(values)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = dataclasses.fields(obj)
        changed = {}
        for f in fields:
            value = getattr(obj, f.name)
            frozen = _freeze(value)
            if frozen is not value:
                changed[f.name] = frozen
        if not changed:
            return obj
        init = {f.name: changed[f.name] for f in fields if f.init and f.name in changed}
        new = dataclasses.replace(obj, **init) if init else copy.copy(obj)
        for f in fields:
            if not f.init:
                value = getattr(new, f.name)
                frozen = _freeze(value)
                if frozen is not value:
                    object.__setattr__(new, f.name, frozen)
        return new
    return obj


def _rebuild(cls: type[RunResult], fields: dict[str, Any]) -> RunResult:
    """Unpickle or copy a :class:`RunResult` through its constructor (so it is frozen)."""
    return cls(**fields)


def _argument(where: str, reason: str) -> SpecError:
    return SpecError("<argument>", Problem(where, reason))


def _number(where: str, value: Any, above: float | None = None, what: str = "") -> float:
    """A finite real number (above ``above`` when given), or a SpecError naming ``where``."""
    bound = "" if above is None else f" above {above:g}"
    need = f"a finite number{bound}{what}"
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise _argument(where, f"expected {need}, got {value!r}")
    x = float(value)
    if not math.isfinite(x) or (above is not None and x <= above):
        raise _argument(where, f"expected {need}, got {x!r}")
    return x


@dataclass(frozen=True)
class _Settlement:
    """What a settlement date means for the calendar of a run."""

    date: date
    first: int
    """Index of the first payment date after the settlement date (K if none)."""
    times: FloatArray
    """ACT/365F years from the settlement date to each later payment date."""
    accrual: FloatArray
    """Day-count fraction of each later period, the first one from the settlement date."""


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything a run produced.  Build it with :func:`greenabs.run`.

    ``settle`` is the settlement date that yields, prices, durations, discount margins and WALs
    are measured from (``None``: the closing date); the pricing methods take a ``settle=``
    keyword that overrides it.  See the module docstring for the settlement convention and for
    immutability.
    """

    deal: DealSpec
    calendar: DealCalendar
    pool: PoolCashflows
    waterfall: WaterfallResult
    backend: str
    settle: date | None = None

    def __post_init__(self) -> None:
        for name in ("calendar", "pool", "waterfall"):
            value = getattr(self, name)
            frozen = _freeze(value)
            if frozen is not value:
                object.__setattr__(self, name, frozen)
        if self.settle is not None:
            object.__setattr__(self, "settle", self._check_settle(self.settle))

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        return (_rebuild, (type(self), fields))

    def __repr__(self) -> str:
        tranches = _html.names(t.name for t in self.deal.structure.tranches)
        return (
            f"RunResult({self.deal.name!r}: tranches {tranches}; {self.calendar.n_periods} "
            f"payment dates, {self.n_scenarios} scenario(s), backend {self.backend})"
        )

    def _repr_html_(self) -> str:
        """A notebook's view: the deal's key figures and its tranches (scenario 0)."""
        s = self.summary()
        loss = _html.money(s["cumulative_loss"])
        facts = [
            ("Currency", s["currency"]),
            ("Cut-off / closing", f"{s['cutoff']} / {s['closing']}"),
            ("Assets", f"{s['n_assets']:,}"),
            ("Pool balance", _html.money(s["pool_balance"])),
            ("Notes issued", _html.money(s["notes_balance"])),
            ("Cumulative loss", f"{loss} ({_html.pct(s['cumulative_loss_rate'])})"),
            ("Clean-up call", str(s["call_date"] or "not exercised")),
            ("Payment dates", s["n_periods"]),
            ("Scenarios / backend", f"{s['scenarios']} / {s['backend']}"),
        ]
        rows = [
            (
                r["name"] + (" (residual)" if r["residual"] else ""),
                _html.money(r["original_balance"]),
                "-" if r["residual"] else _html.pct(r["coupon"]),
                _html.num(r["wal"]),
                _html.pct(r["yield"]),
                _html.money(r["principal_loss"]),
            )
            for _, r in self.tranches().iterrows()
        ]
        header = ("Class", "Balance", "Coupon", "WAL (y)", "Yield", "Loss")
        note = f"scenario 0 of {self.n_scenarios}" if self.n_scenarios > 1 else None
        return _html.summary(
            f"RunResult: {self.deal.name}", facts, [("Tranches", _html.table(header, rows))], note
        )

    # ------------------------------------------------------------------ arguments
    def _scenario(self, scenario: Any) -> int:
        """A valid scenario index, or a SpecError giving the range."""
        n = self.n_scenarios
        allowed = f"a scenario number from 0 to {n - 1} (this run has {n} scenario(s))"
        if isinstance(scenario, bool) or not isinstance(scenario, int | np.integer):
            raise _argument("scenario", f"expected {allowed}, got {scenario!r}")
        s = int(scenario)
        if not 0 <= s < n:
            raise _argument("scenario", f"scenario {s} is out of range: expected {allowed}")
        return s

    def _tranche(self, name: Any) -> TrancheSpec:
        """The tranche called ``name``, or a SpecError naming the known ones."""
        names = [t.name for t in self.deal.structure.tranches]
        if not isinstance(name, str) or name not in names or name not in self.waterfall.tranches:
            raise _argument("name", f"unknown tranche {name!r} (known: {', '.join(names)})")
        return self.deal.tranche(name)

    def _check_settle(self, settle: Any) -> date:
        """A settlement date within the deal's life, or a SpecError giving the range."""
        cal = self.calendar
        first, last = cal.closing, cal.payment_dates[-1]
        allowed = f"a date from the closing date {first} to the last payment date {last}"
        d = settle
        if isinstance(d, str):
            try:
                d = date.fromisoformat(d.strip())
            except ValueError:
                raise _argument("settle", f"expected {allowed}, got {settle!r}") from None
        if isinstance(d, datetime):
            d = d.date()
        if not isinstance(d, date):
            raise _argument("settle", f"expected {allowed}, got {settle!r}")
        if d < first:
            raise _argument("settle", f"settlement date {d} is before closing: expected {allowed}")
        if d > last:
            raise _argument(
                "settle", f"settlement date {d} is after the last payment: expected {allowed}"
            )
        return d

    def _settlement(self, settle: date | str | None) -> _Settlement:
        """The calendar seen from a settlement date (``None``: this result's, or closing)."""
        cal = self.calendar
        d = self._check_settle(settle) if settle is not None else self.settle or cal.closing
        pay = cal.payment_dates
        first = bisect.bisect_right(pay, d)
        if d == cal.closing:
            times = np.asarray(cal.years_from_closing, dtype=np.float64)[first:]
        else:
            times = np.array([(p - d).days for p in pay[first:]], dtype=np.float64) / 365.0
        accrual = np.array(cal.accrual[first:], dtype=np.float64)
        start = cal.closing if first == 0 else pay[first - 1]
        if first < len(pay) and d != start:
            accrual[0] = year_fraction(d, pay[first], cal.day_count)
        return _Settlement(date=d, first=first, times=times, accrual=accrual)

    # ------------------------------------------------------------------ pool
    @property
    def n_scenarios(self) -> int:
        """Number of scenarios S."""
        return int(self.waterfall.deal["interest_collected"].shape[0])

    def pool_cashflows(self, scenario: int = 0) -> pd.DataFrame:
        """Pool cash flows per payment period (collections paid on each date)."""
        scenario = self._scenario(scenario)
        d = self.waterfall.deal
        from greenabs.waterfall import period_flows

        pf = period_flows(self.pool, self.calendar)
        df = pd.DataFrame({c: pf[c][scenario] for c in (*POOL_FIELDS, *legs(self.pool))})
        df["begin_balance"] = d["pool_begin_balance"][scenario]
        df["end_balance"] = d["pool_end_balance"][scenario]
        df.insert(0, "date", list(self.calendar.payment_dates))
        df.insert(0, "period", np.arange(1, self.calendar.n_periods + 1))
        return df

    def pool_monthly(self, scenario: int = 0) -> pd.DataFrame:
        """Pool cash flows per collection month."""
        return self.pool.frame(self._scenario(scenario))

    def loan_level(self) -> pd.DataFrame:
        """Per-asset monthly flows (only when the run asked for loan level)."""
        if self.pool.loan_level is None:
            raise _argument(
                "loan_level",
                "loan-level flows were not computed: run the deal with "
                "greenabs.run(deal, loan_level=True)",
            )
        return self.pool.loan_level_frame()

    # ------------------------------------------------------------------ tranches
    def tranche_cashflows(self, name: str, scenario: int = 0) -> pd.DataFrame:
        """Per-period cash flows of one tranche."""
        self._tranche(name)
        scenario = self._scenario(scenario)
        rec = self.waterfall.tranches[name]
        df = pd.DataFrame({f: rec[f][scenario] for f in TRANCHE_FIELDS})
        df.insert(0, "coupon", self._coupon_path(name, scenario))
        df.insert(0, "date", list(self.calendar.payment_dates))
        df.insert(0, "period", np.arange(1, self.calendar.n_periods + 1))
        return df

    def _cash(self, name: str, rows: int | slice = slice(None)) -> FloatArray:
        """Cash paid to a tranche: (K,) for one scenario, (S, K) for a slice of them."""
        r = self.waterfall.tranches[name]
        cash: FloatArray = (
            r["interest_paid"][rows] + r["principal_paid"][rows] + r["residual_paid"][rows]
        )
        return cash

    def _face(self, name: str, first: int) -> FloatArray:
        """Face of a tranche outstanding after the payments before period ``first``, (S,)."""
        if first == 0:
            return np.full(self.n_scenarios, float(self.deal.tranche(name).balance))
        return np.asarray(self.waterfall.tranches[name]["end_balance"][:, first - 1])

    def _unpaid_interest(
        self, name: str, rows: int | slice = slice(None)
    ) -> tuple[FloatArray, npt.NDArray[np.intp]]:
        """Interest never paid and the index of the date it is written off, per scenario.

        Unpaid interest is carried to the next date until the deal terminates, when what is
        left is lost: that is the shortfall on the last date any interest was due.
        """
        r = self.waterfall.tranches[name]
        due = r["interest_due"][rows] > 0
        last = (due.shape[-1] - 1 - np.argmax(due[..., ::-1], axis=-1)).astype(np.intp)
        short = np.take_along_axis(r["interest_shortfall"][rows], last[..., None], axis=-1)
        return np.where(due.any(axis=-1), short[..., 0], 0.0), last

    def _coupon_path(self, name: str, scenario: int) -> FloatArray:
        """A tranche's annual coupon per period in one scenario (coupons vary by scenario only
        where a run gave per-scenario index paths)."""
        c: FloatArray = self.waterfall.coupons[name]
        return c if c.ndim == 1 else c[scenario]

    def _index_path(self, name: str) -> FloatArray | None:
        c = self.deal.tranche(name).coupon
        if c is None or c.index is None:
            return None
        path = np.atleast_1d(np.asarray(self.deal.assumptions.rates[c.index], dtype=np.float64))
        starts = [self.calendar.closing, *self.calendar.payment_dates[:-1]]
        idx = [
            min(max(months_between(self.calendar.cutoff, s) - 1, 0), len(path) - 1) for s in starts
        ]
        out: FloatArray = path[idx]
        return out

    @staticmethod
    def _per_100(amount: float, face: float) -> float:
        return 100.0 * amount / face if face > 0 else math.nan

    def price(
        self, name: str, yield_: float, scenario: int = 0, *, settle: date | str | None = None
    ) -> float:
        """Full price per 100 of face at settlement at a yield compounded at the deal's
        frequency: the cash paid after the settlement date discounted over ACT/365F years
        from it (NaN when no face is outstanding at settlement)."""
        self._tranche(name)
        scenario = self._scenario(scenario)
        freq = self.calendar.frequency.per_year
        y = _number(
            "yield_", yield_, above=-freq, what=" (at -100% a period or below a yield has no price)"
        )
        st = self._settlement(settle)
        pv = analytics.price_from_yield(st.times, self._cash(name, scenario)[st.first :], y, freq)
        return self._per_100(float(pv), float(self._face(name, st.first)[scenario]))

    def yield_at(
        self, name: str, price: float, scenario: int = 0, *, settle: date | str | None = None
    ) -> float:
        """Yield at a full price per 100 of face at settlement, compounded at the deal's
        frequency (NaN when no yield in (-99%, 1000%) gives the price)."""
        self._tranche(name)
        scenario = self._scenario(scenario)
        p = _number("price", price, above=0.0, what=" (a full price per 100 of face)")
        st = self._settlement(settle)
        face = float(self._face(name, st.first)[scenario])
        return float(
            analytics.yield_from_price(
                st.times,
                self._cash(name, scenario)[st.first :],
                p / 100.0 * face,
                self.calendar.frequency.per_year,
            )
        )

    def price_at_dm(
        self, name: str, dm: float, scenario: int = 0, *, settle: date | str | None = None
    ) -> float:
        """Full price per 100 of face at settlement of a floating tranche at a discount margin
        over its index: each period discounted by ``1 + (index + dm) * accrual``, the first
        remaining period accruing from the settlement date."""
        self._tranche(name)
        scenario = self._scenario(scenario)
        margin = _number("dm", dm)
        idx = self._index_path(name)
        if idx is None:
            floating = [
                t.name for t in self.deal.structure.tranches if self._index_path(t.name) is not None
            ]
            raise _argument(
                "name",
                f"tranche {name!r} is not floating: price it at a yield "
                f"(floating tranches: {', '.join(floating) or 'none'})",
            )
        st = self._settlement(settle)
        path = idx[st.first :]
        live = st.accrual > 0
        if live.any():
            floor = float(np.max(-1.0 / st.accrual[live] - path[live]))
            if margin <= floor:
                raise _argument(
                    "dm",
                    f"expected a finite number above {floor:g} (a discount rate, index plus "
                    f"margin, at or below -100% a period has no price), got {margin!r}",
                )
        pv = analytics.price_from_dm(
            st.accrual, path, self._cash(name, scenario)[st.first :], margin
        )
        return self._per_100(float(pv), float(self._face(name, st.first)[scenario]))

    def _measures(
        self, t: TrancheSpec, st: _Settlement, rows: int | slice
    ) -> dict[str, analytics.PerScenario]:
        """WAL, yield at the class's price, modified duration and discount margin from a
        settlement date, for one scenario (``rows`` an index: floats) or several (a slice:
        arrays), through the same analytics functions."""
        freq = self.calendar.frequency.per_year
        cash = self._cash(t.name, rows)[..., st.first :]
        prin = self.waterfall.tranches[t.name]["principal_paid"][rows, st.first :]
        price_amt = t.price / 100.0 * self._face(t.name, st.first)[rows]
        y = analytics.yield_from_price(st.times, cash, price_amt, freq)
        idx = self._index_path(t.name)
        dm: analytics.PerScenario = (
            analytics.discount_margin(st.accrual, idx[st.first :], cash, price_amt)
            if idx is not None
            else (math.nan if isinstance(rows, int) else np.full(cash.shape[0], math.nan))
        )
        return {
            "wal": analytics.wal(st.times, prin),
            "yield": y,
            "modified_duration": analytics.modified_duration(st.times, cash, y, freq),
            "discount_margin": dm,
        }

    def tranches(self, scenario: int = 0, *, settle: date | str | None = None) -> pd.DataFrame:
        """One row per tranche: size, WAL, yield at its price, duration, window, losses.

        ``wal``, ``yield`` (at the class's ``price`` from the deal file, read as a full price
        per 100 of face at settlement), ``modified_duration`` and ``discount_margin``
        (floating classes) are measured from the settlement date; the payment window and the
        amounts paid and lost are over the whole life.  ``interest_shortfall`` is the interest
        never paid (written off when the deal terminates); ``support_paid`` what external
        supports paid the class (included in the interest and principal paid);
        ``legal_final_shortfall`` the balance left unpaid on its legal final date.
        """
        scenario = self._scenario(scenario)
        st = self._settlement(settle)
        cal = self.calendar
        rows = []
        for t in self.deal.structure.tranches:
            r = self.waterfall.tranches[t.name]
            prin = r["principal_paid"][scenario]
            cash = self._cash(t.name, scenario)
            m = self._measures(t, st, scenario)
            paid_idx = np.nonzero(prin > 0.005)[0]
            cash_idx = np.nonzero(cash > 0.005)[0]
            unpaid, _ = self._unpaid_interest(t.name, scenario)
            rows.append(
                {
                    "name": t.name,
                    "original_balance": t.balance,
                    "coupon": (
                        t.coupon.fixed
                        if t.coupon and t.coupon.fixed is not None
                        else float(self._coupon_path(t.name, scenario)[0])
                    ),
                    "residual": t.residual,
                    "price": t.price,
                    **m,
                    "principal_window_start": cal.payment_dates[paid_idx[0]]
                    if paid_idx.size
                    else None,
                    "principal_window_end": cal.payment_dates[paid_idx[-1]]
                    if paid_idx.size
                    else None,
                    "final_payment_date": cal.payment_dates[cash_idx[-1]]
                    if cash_idx.size
                    else None,
                    "interest_paid": float(r["interest_paid"][scenario].sum()),
                    "principal_paid": float(prin.sum()),
                    "residual_paid": float(r["residual_paid"][scenario].sum()),
                    "principal_loss": float(r["writedown"][scenario].sum()),
                    "interest_shortfall": float(unpaid),
                    "max_interest_shortfall": float(r["interest_shortfall"][scenario].max()),
                    "support_paid": float(r["support_paid"][scenario].sum()),
                    "legal_final_shortfall": float(r["legal_final_shortfall"][scenario].sum()),
                }
            )
        return pd.DataFrame(rows)

    def scenario_metrics(
        self, discount_rate: float | None = None, *, settle: date | str | None = None
    ) -> pd.DataFrame:
        """One row per (scenario, tranche), scenario by scenario, every scenario at once.

        Columns: ``scenario``, ``name``, ``original_balance``, ``face_at_settle``,
        ``principal_loss`` (principal written down over the life), ``loss_rate`` (that over the
        original balance), ``interest_shortfall`` (interest never paid), ``wal``, ``yield`` (at
        the class's price per 100 of face at settlement), ``modified_duration``,
        ``discount_margin`` (floating classes, NaN otherwise) and ``discounted_loss``.

        ``discounted_loss`` is the present value at settlement of the losses after it: each
        writedown on its date plus the unpaid interest on the date it is written off,
        discounted the way the class accrues: period by period by ``1 + rate * accrual`` on
        the deal's day count, the first remaining period from the settlement date, at the
        class's own coupon of each period (a class without a coupon: undiscounted) or at
        ``discount_rate`` for every class when given.  Discounted at its own coupon, a class's
        promised cash flows are worth its face, so ``discounted_loss / face`` is the share of
        value lost.

        Two more columns follow: ``legal_final_shortfall``, the balance left unpaid on the
        class's legal final date after the external supports (a default of the class; 0 for a
        residual class), and ``support_paid``, the interest and principal the supports paid
        the class (summed over the classes of a scenario: what the supports paid in it;
        :meth:`support_draws` splits it by support).

        Equal, row by row, to :meth:`tranches` of each scenario (WAL, yield, duration, DM and
        losses), computed by the same analytics functions on (S, K) arrays.
        """
        rate = None
        if discount_rate is not None:
            rate = _number("discount_rate", discount_rate, above=-1.0)
        st = self._settlement(settle)
        scen = np.arange(self.n_scenarios)
        frames = []
        for t in self.deal.structure.tranches:
            m = self._measures(t, st, slice(None))
            loss = self._losses(t.name, st, rate)
            principal_loss = loss["principal_loss"]
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": scen,
                        "name": t.name,
                        "original_balance": t.balance,
                        "face_at_settle": self._face(t.name, st.first),
                        "principal_loss": principal_loss,
                        "loss_rate": principal_loss / t.balance if t.balance else math.nan,
                        "interest_shortfall": loss["interest_shortfall"],
                        **m,
                        "discounted_loss": loss["discounted_loss"],
                        "legal_final_shortfall": loss["legal_final_shortfall"],
                        "support_paid": loss["support_paid"],
                    }
                )
            )
        df = pd.concat(frames, ignore_index=True)
        return df.sort_values("scenario", kind="stable", ignore_index=True)

    def tranche_losses(
        self, name: str, discount_rate: float | None = None, *, settle: date | str | None = None
    ) -> dict[str, FloatArray]:
        """One class's losses per scenario, (S,) arrays: ``principal_loss``,
        ``interest_shortfall``, ``discounted_loss``, ``legal_final_shortfall``,
        ``support_paid`` (as in :meth:`scenario_metrics`) and ``wal``; no yields are solved,
        so it is what a search over structures (tranche sizing) reruns."""
        t = self._tranche(name)
        rate = None
        if discount_rate is not None:
            rate = _number("discount_rate", discount_rate, above=-1.0)
        st = self._settlement(settle)
        prin = self.waterfall.tranches[t.name]["principal_paid"][:, st.first :]
        wal = np.asarray(analytics.wal(st.times, prin), dtype=np.float64)
        return {**self._losses(t.name, st, rate), "wal": wal}

    def _losses(self, name: str, st: _Settlement, rate: float | None) -> dict[str, FloatArray]:
        """Losses of a class per scenario (see :meth:`scenario_metrics`)."""
        r = self.waterfall.tranches[name]
        n_s = self.n_scenarios
        unpaid, when = self._unpaid_interest(name)
        losses = np.array(r["writedown"], dtype=np.float64)
        losses[np.arange(n_s), when] += unpaid
        path = self.waterfall.coupons[name] if rate is None else np.full(losses.shape[1], rate)
        if path.ndim == 1:
            discounted = analytics.price_from_dm(
                st.accrual, path[st.first :], losses[:, st.first :], 0.0
            )
        else:  # the coupon follows each scenario's index path
            discounted = np.array(
                [
                    analytics.price_from_dm(
                        st.accrual, path[s_, st.first :], losses[s_, st.first :], 0.0
                    )
                    for s_ in range(n_s)
                ]
            )
        return {
            "principal_loss": r["writedown"].sum(axis=1),
            "interest_shortfall": unpaid,
            "discounted_loss": np.asarray(discounted, dtype=np.float64),
            "legal_final_shortfall": r["legal_final_shortfall"].sum(axis=1),
            "support_paid": r["support_paid"].sum(axis=1),
        }

    # ------------------------------------------------------------------ deal
    def _long(
        self, key: str, records: Mapping[str, Mapping[str, Any]], scenario: int
    ) -> pd.DataFrame:
        """Per-period records of several named items as one long table."""
        dates = list(self.calendar.payment_dates)
        frames = [
            pd.DataFrame(
                {
                    key: name,
                    "period": np.arange(1, len(dates) + 1),
                    "date": dates,
                    **{f: v[scenario] for f, v in rec.items()},
                }
            )
            for name, rec in records.items()
        ]
        if frames:
            return pd.concat(frames, ignore_index=True)
        return pd.DataFrame(columns=[key, "period", "date"])

    def fees(self, scenario: int = 0) -> pd.DataFrame:
        """Fees due, paid and unpaid per period (long form)."""
        return self._long("fee", self.waterfall.fees, self._scenario(scenario))

    def accounts(self, scenario: int = 0) -> pd.DataFrame:
        """Account balances and movements per period (long form)."""
        return self._long("account", self.waterfall.accounts, self._scenario(scenario))

    def supports(self, scenario: int = 0) -> pd.DataFrame:
        """External supports' draws per period (long form): ``support, period, date,
        draw_interest, draw_principal, draw, limit_left`` (the limit left after the date's
        draws).  No rows when the deal has no supports or the run ignored them."""
        return self._long("support", self.waterfall.supports, self._scenario(scenario))

    def support_draws(self) -> dict[str, FloatArray]:
        """What each external support paid over the life, per scenario: name -> (S,)."""
        return {
            name: np.asarray(rec["draw"].sum(axis=1), dtype=np.float64)
            for name, rec in self.waterfall.supports.items()
        }

    def deal_flows(self, scenario: int = 0) -> pd.DataFrame:
        """Deal-level flows per period: collections, available funds, PDA, excess spread,
        pool factor, cumulative loss, trigger states and the audit difference."""
        scenario = self._scenario(scenario)
        d = self.waterfall.deal
        df = pd.DataFrame({k: v[scenario] for k, v in d.items()})
        orig = self.pool.original_balance
        coupon_paid = sum(
            self.waterfall.tranches[t.name]["interest_paid"][scenario]
            for t in self.deal.structure.tranches
            if not t.residual
        )
        fees_paid = sum(
            (r["paid"][scenario] for r in self.waterfall.fees.values()),
            np.zeros(self.calendar.n_periods),
        )
        excess = df["interest_collected"].to_numpy() - fees_paid - coupon_paid
        base = df["pool_begin_balance"].to_numpy() * self.calendar.accrual
        df["excess_spread"] = excess
        df["excess_spread_rate"] = np.divide(
            excess, base, out=np.zeros_like(excess), where=base > 0
        )
        df["pool_factor"] = df["pool_end_balance"] / orig
        df["cumulative_loss_rate"] = df["cumulative_loss"] / orig
        for name, arr in self.waterfall.triggers.items():
            df[f"trigger_{name}"] = arr[scenario]
        df.insert(0, "date", list(self.calendar.payment_dates))
        df.insert(0, "period", np.arange(1, self.calendar.n_periods + 1))
        return df

    @property
    def retention(self) -> RetentionReport | None:
        """The originator's retention and whether it complies."""
        return retention_report(self.deal)

    def summary(self, scenario: int = 0) -> dict[str, Any]:
        """Deal-level figures: sizes, excess spread, losses, pool factor, call, audit, the
        settlement date the tranche figures are measured from, and ``support_draws:NAME``:
        what each external support paid over the life (one key per support; none without
        supports)."""
        scenario = self._scenario(scenario)
        flows = self.deal_flows(scenario)
        orig = self.pool.original_balance
        called = np.nonzero(self.waterfall.deal["called"][scenario] > 0)[0]
        interest = float(flows["interest_collected"].sum())
        cash_in = float(
            (
                flows["interest_collected"]
                + flows["principal_collected"]
                + flows["recovery_collected"]
                + flows["call_proceeds"]
            ).sum()
        )
        active = flows["pool_begin_balance"] > 0
        weights = (flows["pool_begin_balance"] * self.calendar.accrual)[active]
        avg_xs = (
            float((flows["excess_spread"][active]).sum() / weights.sum()) if weights.sum() else 0.0
        )
        return {
            "name": self.deal.name,
            "currency": self.deal.currency,
            "cutoff": self.calendar.cutoff,
            "closing": self.calendar.closing,
            "settle": self.settle or self.calendar.closing,
            "pool_balance": orig,
            "notes_balance": float(sum(t.balance for t in self.deal.structure.tranches)),
            "n_assets": len(self.deal.pool.assets),
            "interest_collected": interest,
            "cash_collected": cash_in,
            "cumulative_default": float(flows["default"].sum()),
            "cumulative_loss": float(flows["cumulative_loss"].iloc[-1]),
            "cumulative_loss_rate": float(flows["cumulative_loss"].iloc[-1] / orig),
            "average_excess_spread": avg_xs,
            "final_pool_factor": float(flows["pool_factor"].iloc[-1]),
            "call_date": self.calendar.payment_dates[called[0]] if called.size else None,
            "residual_released": float(flows["residual_released"].sum()),
            "max_audit_difference": float(np.abs(self.waterfall.deal["audit_difference"]).max()),
            **{
                f"support_draws:{name}": float(rec["draw"][scenario].sum())
                for name, rec in self.waterfall.supports.items()
            },
            "n_periods": self.calendar.n_periods,
            "backend": self.backend,
            "scenarios": self.n_scenarios,
        }

    # ------------------------------------------------------------------ output
    def to_dict(self, scenario: int = 0) -> dict[str, Any]:
        """Every result as plain JSON-ready data."""
        scenario = self._scenario(scenario)
        ret = self.retention
        return {
            "deal": _clean(self.summary(scenario)),
            "pool_cashflows": _records(self.pool_cashflows(scenario)),
            "tranches": _records(self.tranches(scenario)),
            "tranche_cashflows": {
                t.name: _records(self.tranche_cashflows(t.name, scenario))
                for t in self.deal.structure.tranches
            },
            "fees": _records(self.fees(scenario)),
            "accounts": _records(self.accounts(scenario)),
            "supports": _records(self.supports(scenario)),
            "deal_cashflows": _records(self.deal_flows(scenario)),
            "retention": None if ret is None else _clean(ret.__dict__),
            "structure": _clean(self.parties()),
            "timeline": _clean(self.timeline(scenario)),
        }

    def parties(self) -> dict[str, Any]:
        """Who is in the deal and with how much (the transaction-structure diagram): the
        originator (the retention holder), the issuer (the deal), the pool, each tranche with
        its share of the pool and credit enhancement (what is junior to it, the
        overcollateralisation and the reserve accounts funded at closing, as shares of the
        pool), the accounts, fees (service providers), external supports and triggers."""
        st = self.deal.structure
        pool = self.pool.original_balance
        notes = float(sum(t.balance for t in st.tranches))
        reserve = float(sum(a.initial for a in st.accounts))
        tranches = []
        for i, t in enumerate(st.tranches):
            junior = float(sum(j.balance for j in st.tranches[i + 1 :]))
            ce = (junior + max(pool - notes, 0.0) + reserve) / pool if pool > 0 else math.nan
            tranches.append(
                {
                    "name": t.name,
                    "balance": t.balance,
                    "share": t.balance / pool if pool > 0 else math.nan,
                    "coupon": None if t.coupon is None else t.coupon.fixed,
                    "index": None if t.coupon is None else t.coupon.index,
                    "margin": None if t.coupon is None else t.coupon.margin,
                    "rating": t.rating,
                    "residual": t.residual,
                    "credit_enhancement": 0.0 if t.residual else ce,
                }
            )
        ret = st.retention
        return {
            "originator": ret.holder if ret is not None else "originator",
            "issuer": self.deal.name,
            "currency": self.deal.currency,
            "pool": {"balance": pool, "n_assets": len(self.deal.pool.assets)},
            "notes_balance": notes,
            "overcollateralisation": pool - notes,
            "tranches": tranches,
            "accounts": [{"name": a.name, "initial": a.initial} for a in st.accounts],
            "fees": [
                {"name": f.name, "rate": f.rate, "base": f.base, "amount": f.amount, "once": f.once}
                for f in st.fees
            ],
            "supports": [
                {
                    "name": s.name,
                    "kind": str(s.kind),
                    "provider": s.provider,
                    "limit": s.limit.resolve(notes, pool),
                }
                for s in st.supports
            ],
            "triggers": [
                {"name": g.name, "kind": str(g.kind), "threshold": g.threshold} for g in st.triggers
            ],
        }

    def timeline(self, scenario: int = 0) -> dict[str, Any]:
        """The deal's life cycle (the timeline diagram): the earliest origination of a pool
        asset (from its age, or a plant's commercial operation date), cut-off, closing (the
        pool's transfer and the notes' issue), the first and last payment dates, coupon
        step-ups, each trigger's first breach and the clean-up call in ``scenario``, and the
        legal final dates."""
        scenario = self._scenario(scenario)
        from greenabs.calendar import add_months

        cal = self.calendar
        starts = []
        for a in self.deal.pool.assets:
            if getattr(a, "age", None) is not None:
                starts.append(add_months(cal.cutoff, -int(a.age)))
            elif getattr(a, "cod", None) is not None:
                starts.append(a.cod)
        pay = list(cal.payment_dates)
        called = np.nonzero(self.waterfall.deal["called"][scenario] > 0)[0]
        breached = []
        for name, arr in self.waterfall.triggers.items():
            hit = np.nonzero(arr[scenario])[0]
            if hit.size:
                breached.append({"name": name, "date": pay[int(hit[0])]})
        finals = {t.name: t.legal_final for t in self.deal.structure.tranches if t.legal_final}
        return {
            "origination": min(starts) if starts else None,
            "cutoff": cal.cutoff,
            "closing": cal.closing,
            "first_payment": pay[0],
            "last_payment": pay[-1],
            "n_payments": len(pay),
            "frequency": str(self.deal.dates.frequency.value),
            "step_ups": [
                {"name": t.name, "date": t.coupon.step_up.date}
                for t in self.deal.structure.tranches
                if t.coupon is not None and t.coupon.step_up is not None
            ],
            "triggers": breached,
            "call": pay[int(called[0])] if called.size else None,
            "legal_final": max(finals.values()) if finals else None,
            "legal_finals": finals,
        }

    def to_json(self, path: str | Path, scenario: int = 0) -> None:
        """Write :meth:`to_dict` as JSON."""
        scenario = self._scenario(scenario)
        Path(path).write_text(json.dumps(self.to_dict(scenario), indent=1), encoding="utf-8")

    def tables(self, scenario: int = 0) -> dict[str, pd.DataFrame]:
        """Every result table by name (what the CSV folder and the workbook hold); ``supports``
        only when the deal has external supports (and the run used them), ``loan_level``
        only when the run kept it."""
        scenario = self._scenario(scenario)
        tables = {
            "pool_cashflows": self.pool_cashflows(scenario),
            "pool_monthly": self.pool_monthly(scenario),
            "tranches": self.tranches(scenario),
            "deal_cashflows": self.deal_flows(scenario),
            "fees": self.fees(scenario),
            "accounts": self.accounts(scenario),
        }
        if self.waterfall.supports:
            tables["supports"] = self.supports(scenario)
        for t in self.deal.structure.tranches:
            tables[f"tranche_{t.name}"] = self.tranche_cashflows(t.name, scenario)
        if self.pool.loan_level is not None:
            tables["loan_level"] = self.loan_level()
        return tables

    def to_csv_dir(self, path: str | Path, scenario: int = 0) -> list[Path]:
        """Write the result tables as CSV files into a folder (:func:`cells_for_csv`: text that
        a spreadsheet would read as a formula starts with ``'``); returns the files."""
        scenario = self._scenario(scenario)
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        files = []
        tables = self.tables(scenario)
        for (_, df), safe in zip(tables.items(), _safe_names(list(tables), 120), strict=True):
            f = out / f"{safe}.csv"
            cells_for_csv(df).to_csv(f, index=False)
            files.append(f)
        return files

    def to_excel(self, path: str | Path, scenario: int = 0) -> Path:
        """Write the deal summary and every result table to one Excel workbook, a sheet each."""
        scenario = self._scenario(scenario)
        out = Path(path)
        summary = pd.DataFrame(
            {
                "item": list(self.summary(scenario)),
                "value": pd.Series(list(self.summary(scenario).values()), dtype=object),
            }
        )
        with pd.ExcelWriter(out, engine="openpyxl") as xl:
            tables = self.tables(scenario)
            sheets = dict(zip(tables, _safe_names(list(tables), 31, taken={"deal"}), strict=True))
            _cells_for_excel(summary).to_excel(xl, sheet_name="deal", index=False)
            for name, df in tables.items():
                _cells_for_excel(df).to_excel(xl, sheet_name=sheets[name], index=False)
            for ws in xl.book.worksheets:  # no formulas are written: "=..." from a name is text
                for row in ws.iter_rows():
                    for cell in row:
                        if cell.data_type == "f":
                            cell.data_type = "s"
        return out
