"""Breakeven default: the smallest default assumption at which a tranche first loses.

:func:`breakeven` searches one measure of the pool's defaults for the point where a tranche
first loses principal (or first misses interest), in deterministic runs (one scenario) with
the deal's own prepayment, recovery and every other assumption kept:

* ``cdr``: a constant annual default rate, as a decimal (the deal's default assumption is
  replaced by ``{cdr: x}``);
* ``sda``: a speed in percent of the SDA curve (``{sda: x}``);
* ``multiple``: a multiple of the deal's own default assumption (a CDR or each value of a CDR
  vector times ``x``, capped at 100%; an SDA speed times ``x``, capped at 16,666%, the speed
  at which the curve reaches a 100% CDR): :func:`scaled_default`.

Loss.  A tranche *loses principal* when its writedowns over the life exceed
:func:`loss_threshold` (``1e-9`` of its balance plus 0.01, so rounding never counts).  It
*misses interest* when, for a class that is not deferrable, the interest left unpaid after
the payments of some date (current and carried) exceeds the threshold at any date, and, for a
deferrable class, when interest is still unpaid when the deal terminates (a deferrable class
may defer interest without a miss as long as it is caught up).

Search.  The indicator (loses or not) is checked at both ends of the range: a tranche that
already loses at ``low`` gives ``status="at_low"`` and ``value=low``; one that never loses up to
``high`` has no breakeven in the range, a :class:`~greenabs.errors.SpecError` naming ``high``.
Between them, bisection keeps a bracket ``[lo, hi]`` with no loss at ``lo`` and a loss at
``hi`` and halves it until it is at most ``tolerance`` wide; the value reported is ``hi``, the
smallest measure found at which the tranche loses, so a run at ``value`` loses and a run at
``value - tolerance`` (at or below ``lo``) does not.  Ordinary deals lose more as defaults
rise; where triggers or a call make the indicator non-monotone, the value is still a point
where it switches from no loss to a loss within the tolerance, not necessarily the first one.

The deal's structure and calendar are compiled once; each point of the search recompiles only
the pool (its assumptions change) and runs the waterfall.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from greenabs.assets.backends import resolve_backend
from greenabs.collateral import compile_pool_for
from greenabs.compile import CompiledDeal, compile_deal
from greenabs.engine import run, with_assumptions
from greenabs.errors import ARGUMENT, Problem, SpecError
from greenabs.results import RunResult
from greenabs.spec.deal import DealSpec, DefaultSpec

__all__ = [
    "DEFAULT_RANGE",
    "DEFAULT_TOLERANCE",
    "MAX_ITERATIONS",
    "MEASURES",
    "ON",
    "Breakeven",
    "breakeven",
    "loss_threshold",
    "scaled_default",
    "tranche_loss",
]

MEASURES: tuple[str, ...] = ("cdr", "sda", "multiple")
"""The default measures searched: constant CDR, SDA speed, multiple of the deal's default."""

ON: tuple[str, ...] = ("principal", "interest")
"""What a tranche first fails on: a principal loss, or missed interest."""

SDA_MAX = 16666.0
"""The largest SDA speed a deal file takes (its peak is a 100% CDR)."""

DEFAULT_RANGE: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"cdr": (0.0, 1.0), "sda": (0.0, SDA_MAX), "multiple": (0.0, 1000.0)}
)
"""Search range of each measure when ``low`` / ``high`` are not given."""

DEFAULT_TOLERANCE: Mapping[str, float] = MappingProxyType(
    {"cdr": 1e-6, "sda": 0.01, "multiple": 1e-4}
)
"""Width of the final bracket of each measure when ``tolerance`` is not given."""

_MAX_HIGH: Mapping[str, float] = MappingProxyType({"cdr": 1.0, "sda": SDA_MAX})

MAX_ITERATIONS = 100
"""Most bisection steps a search may need (``ceil(log2((high - low) / tolerance))``)."""

_UNITS = {
    "cdr": "a constant annual default rate as a decimal",
    "sda": "an SDA speed in percent",
    "multiple": "a multiple of the deal's default assumption",
}


def loss_threshold(balance: float) -> float:
    """The amount above which a tranche of this original balance counts as losing:
    ``1e-9 * balance + 0.01`` (rounding of the waterfall never counts as a loss)."""
    return 1e-9 * float(balance) + 0.01


def scaled_default(default: DefaultSpec, multiple: float) -> dict[str, Any]:
    """The default assumption ``default`` times ``multiple``, as the mapping a deal file takes:
    a CDR (or each value of a CDR vector, keeping its ``by``) capped at 1, an SDA speed capped
    at :data:`SDA_MAX`."""
    if default.cdr is not None:
        return {"cdr": min(default.cdr * multiple, 1.0)}
    if default.sda is not None:
        return {"sda": min(default.sda * multiple, SDA_MAX)}
    return {"vector": [min(v * multiple, 1.0) for v in default.vector or ()], "by": default.by}


def _is_zero(default: DefaultSpec) -> bool:
    if default.cdr is not None:
        return default.cdr == 0
    if default.sda is not None:
        return default.sda == 0
    return all(v == 0 for v in default.vector or ())


def _argument(where: str, reason: str) -> SpecError:
    return SpecError(ARGUMENT, Problem(where, reason))


def _bound(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _argument(where, f"expected a finite number >= 0, got {value!r}")
    x = float(value)
    if not math.isfinite(x) or x < 0:
        raise _argument(where, f"expected a finite number >= 0, got {x!r}")
    return x


@dataclass(frozen=True)
class Breakeven:
    """The breakeven of one tranche on one measure (see the module docstring).

    ``value`` is the smallest measure found at which the tranche loses (a CDR as a decimal, an
    SDA speed in percent or a multiple); the tranche does not lose at the lower end of the
    final bracket, at most ``tolerance`` below it.  ``loss_at_value`` is the principal written
    down (``on="principal"``) or the interest missed (``on="interest"``) at ``value``,
    ``loss_below`` that at the lower end of the bracket (``None`` when ``status`` is
    ``"at_low"``: the tranche already loses at ``low``).  ``iterations`` counts the
    bisection steps (runs besides the two at the ends).  ``default_at_value`` is the deal's
    default assumption at ``value``.
    """

    tranche: str
    measure: str
    on: str
    value: float
    low: float
    high: float
    tolerance: float
    iterations: int
    status: str
    loss_at_value: float
    loss_below: float | None
    threshold: float
    default_at_value: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "tranche": self.tranche,
            "measure": self.measure,
            "on": self.on,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "tolerance": self.tolerance,
            "iterations": self.iterations,
            "status": self.status,
            "loss_at_value": self.loss_at_value,
            "loss_below": self.loss_below,
            "threshold": self.threshold,
            "default_at_value": dict(self.default_at_value),
        }


def tranche_loss(result: RunResult, tranche: str, on: str) -> float:
    """What a tranche lost in scenario 0 of a run: principal written down (``principal``), or
    (``interest``) the most interest left unpaid after any date for a class that is not
    deferrable and the interest never paid (unpaid on the last date any was due) for a
    deferrable one: ``principal_loss``, ``max_interest_shortfall`` and ``interest_shortfall``
    of :meth:`RunResult.tranches`, read from the waterfall's records directly."""
    rec = result.waterfall.tranches[tranche]
    if on == "principal":
        return float(rec["writedown"][0].sum())
    short = rec["interest_shortfall"][0]
    if not result.deal.tranche(tranche).deferrable:
        return float(short.max())
    due = np.nonzero(rec["interest_due"][0] > 0)[0]
    return float(short[due[-1]]) if due.size else 0.0


class _Search:
    """Runs of one deal at points of one measure (structure and calendar compiled once)."""

    def __init__(self, deal: DealSpec, tranche: str, measure: str, on: str, backend: str):
        self.deal, self.tranche, self.measure, self.on = deal, tranche, measure, on
        self.backend = backend
        self.base = compile_deal(deal)
        self.last_defaults = 0.0

    def default(self, x: float) -> dict[str, Any]:
        if self.measure == "cdr":
            return {"cdr": x}
        if self.measure == "sda":
            return {"sda": x}
        return scaled_default(self.deal.assumptions.default, x)

    def _compiled(self, deal: DealSpec) -> CompiledDeal:
        base = self.base
        d = deal.dates
        pool = compile_pool_for(deal.pool.assets, deal.assumptions, d.cutoff, deal.pool.advancing)
        if pool.n_months != base.pool.n_months or pool.balance != base.pool.balance:
            return compile_deal(deal)  # the calendar or the structure depends on them
        return dataclasses.replace(base, deal=deal, pool=pool)

    def loss(self, x: float) -> float:
        deal = with_assumptions(self.deal, default=self.default(x))
        result = run(self._compiled(deal), backend=self.backend)
        self.last_defaults = float(result.waterfall.deal["default"][0].sum())
        return tranche_loss(result, self.tranche, self.on)


def breakeven(
    deal: DealSpec,
    tranche: str,
    *,
    measure: str = "cdr",
    on: str = "principal",
    low: float | None = None,
    high: float | None = None,
    tolerance: float | None = None,
    backend: str = "numpy",
) -> Breakeven:
    """The smallest default measure at which ``tranche`` first loses (see the module docstring).

    Parameters
    ----------
    deal
        A validated deal (:func:`greenabs.load_deal`); its prepayment, recovery and other
        assumptions are kept, its default assumption replaced or scaled.
    tranche
        A class that is not residual (an equity class has no promised principal or interest).
    measure
        ``cdr`` (decimal), ``sda`` (percent) or ``multiple`` (of the deal's default assumption).
    on
        ``principal`` (first writedown) or ``interest`` (first missed interest).
    low, high
        Search range (default :data:`DEFAULT_RANGE`: CDR 0 to 1, SDA 0 to 16,666, multiple 0 to
        1,000); a CDR is at most 1 and an SDA speed at most 16,666.
    tolerance
        Width of the final bracket (default :data:`DEFAULT_TOLERANCE`: CDR 1e-6, SDA 0.01,
        multiple 1e-4).
    backend
        Collateral kernel, as for :func:`greenabs.run`.

    Raises
    ------
    SpecError
        An unknown measure, ``on`` or tranche, a residual tranche, a bad range or tolerance, a
        multiple of a zero default assumption, or no loss anywhere up to ``high`` (no
        breakeven in the range).
    """
    if not isinstance(deal, DealSpec):
        raise _argument("deal", f"expected a deal (greenabs.load_deal), got {type(deal).__name__}")
    if measure not in MEASURES:
        raise _argument("measure", f"unknown measure {measure!r} (known: {', '.join(MEASURES)})")
    if on not in ON:
        raise _argument("on", f"unknown value {on!r} (known: {', '.join(ON)})")
    names = [t.name for t in deal.structure.tranches]
    rated = [t.name for t in deal.structure.tranches if not t.residual]
    if tranche not in names:
        raise _argument(
            "tranche", f"unknown tranche {tranche!r} (known: {', '.join(names) or 'none'})"
        )
    if deal.tranche(tranche).residual:
        raise _argument(
            "tranche",
            f"tranche {tranche!r} is the residual (equity) class: it has no promised principal "
            "or interest to lose, so no breakeven "
            f"(classes with one: {', '.join(rated) or 'none'})",
        )
    lo_default, hi_default = DEFAULT_RANGE[measure]
    lo = lo_default if low is None else _bound("low", low)
    hi = hi_default if high is None else _bound("high", high)
    top = _MAX_HIGH.get(measure)
    if top is not None and hi > top:
        what = (
            "a CDR is at most 1 (100%)" if measure == "cdr" else f"an SDA speed is at most {top:g}"
        )
        raise _argument("high", f"{what}, got {hi!r}")
    if lo >= hi:
        raise _argument("low", f"the range must have low below high, got [{lo:g}, {hi:g}]")
    tol = DEFAULT_TOLERANCE[measure] if tolerance is None else tolerance
    if (
        isinstance(tol, bool)
        or not isinstance(tol, int | float)
        or not (math.isfinite(tol) and tol > 0)
    ):
        raise _argument("tolerance", f"expected a finite number above 0, got {tol!r}")
    tol = float(tol)
    needed = math.ceil(math.log2((hi - lo) / tol)) if hi - lo > tol else 0
    if needed > MAX_ITERATIONS:
        raise _argument(
            "tolerance",
            f"bisecting [{lo:g}, {hi:g}] to {tol:g} takes {needed} steps, more than "
            f"{MAX_ITERATIONS}: give a larger tolerance or a narrower range",
        )
    if measure == "multiple" and _is_zero(deal.assumptions.default):
        raise _argument(
            "measure",
            "the deal's default assumption is zero: every multiple of it is zero too; "
            "search measure cdr or sda instead",
        )
    search = _Search(deal, tranche, measure, on, resolve_backend(backend))
    threshold = loss_threshold(deal.tranche(tranche).balance)

    def result(value: float, status: str, n: int, at: float, below: float | None) -> Breakeven:
        return Breakeven(
            tranche=tranche,
            measure=measure,
            on=on,
            value=value,
            low=lo,
            high=hi,
            tolerance=tol,
            iterations=n,
            status=status,
            loss_at_value=at,
            loss_below=below,
            threshold=threshold,
            default_at_value=MappingProxyType(search.default(value)),
        )

    loss_lo = search.loss(lo)
    if loss_lo > threshold:
        return result(lo, "at_low", 0, loss_lo, None)
    loss_hi = search.loss(hi)
    if loss_hi <= threshold:
        raise _argument("high", _no_breakeven(search, tranche, measure, on, lo, hi))
    a, b, n = lo, hi, 0
    while b - a > tol and n < MAX_ITERATIONS:
        mid = a + (b - a) / 2
        if not a < mid < b:  # the bracket is as narrow as floats allow
            break
        loss_mid = search.loss(mid)
        n += 1
        if loss_mid > threshold:
            b, loss_hi = mid, loss_mid
        else:
            a, loss_lo = mid, loss_mid
    return result(b, "found", n, loss_hi, loss_lo)


def _no_breakeven(
    search: _Search, tranche: str, measure: str, on: str, lo: float, hi: float
) -> str:
    what = "loses principal" if on == "principal" else "misses interest"
    why = (
        f"tranche {tranche!r} never {what} in the search range [{lo:g}, {hi:g}] of {measure} "
        f"({_UNITS[measure]}): the breakeven does not exist there"
    )
    if search.last_defaults <= 0:
        if measure == "sda":
            return why + (
                f"; at an SDA speed of {hi:g} this pool makes no defaults (the SDA curve makes "
                "none in a loan's last 12 months)"
            )
        return why + (
            "; the default assumption makes no defaults in this pool (revenue assets default "
            "through their own operator and payer assumptions)"
        )
    top = _MAX_HIGH.get(measure)
    if top is not None and hi >= top:
        if measure == "cdr":
            return why + "; even a 100% CDR leaves it whole with the deal's recovery and prepayment"
        return why + (
            f"; even an SDA speed of {top:g} leaves it whole (the SDA curve ramps up with loan age "
            "and makes no defaults in a loan's last 12 months)"
        )
    return why + "; search a wider range (a larger upper end)"
