"""From a stress level to deal assumptions and bank risk: the index meets the engine.

The stress level of a period is the percentile of the composite index in its own sample, at
the Hazen plotting position ``(rank - 1/2) / n`` so that it lies strictly inside (0, 1) (the
calmest of 10 periods is 0.05, the most stressed 0.95); the CISS is already in [0, 1] and is
used as it is.  :class:`StressMapping` turns a level into documented, overridable shocks:

* default multiplier ``1 + (max_default_multiplier - 1) x level``;
* prepayment multiplier ``1 - max_prepayment_cut x level``;
* recovery haircut ``max_recovery_haircut x level`` (recovery rate x (1 - haircut));
* revenue haircut ``max_revenue_haircut x level`` (for revenue-driven assets: power sales,
  tickets, fees; reported for the families that have revenue drivers);
* systematic-factor shift ``Phi^-1(level)``: the same stress expressed for a one-factor Monte
  Carlo engine as the quantile of its systematic factor.

Defaults (x3 defaults, -50% prepayment, -30% recoveries and revenue at the worst period) are
judgement, not estimates: calibrate them to your portfolio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scipy.stats import norm

from greenabs.errors import DataError, Problem
from greenabs.systemic.core import ecdf
from greenabs.systemic.index import IndexResult

if TYPE_CHECKING:
    from greenabs.bank.spec import BankSpec
    from greenabs.spec.deal import DealSpec

__all__ = ["StressMapping", "stress_level"]


def stress_level(result: IndexResult, period: str) -> float:
    """Stress level of ``period`` in [0, 1] (see the module docstring)."""
    labels = [str(p) for p in result.composite.index]
    period = str(period).strip()
    if period not in labels:
        raise DataError(
            "argument period",
            Problem("", f"{period!r} is not among the index periods ({', '.join(labels)})"),
        )
    if result.method == "ciss":  # in [0, 1] up to rounding of the correlations
        return min(max(float(result.composite.iloc[labels.index(period)]), 0.0), 1.0)
    ranks = ecdf(result.composite.to_numpy(), recursive=False)
    n = len(labels)
    return float((ranks[labels.index(period)] * n - 0.5) / n)


@dataclass(frozen=True)
class StressMapping:
    """How a stress level shifts deal assumptions (documented defaults, overridable)."""

    max_default_multiplier: float = 3.0
    max_prepayment_cut: float = 0.5
    max_recovery_haircut: float = 0.3
    max_revenue_haircut: float = 0.3

    def __post_init__(self) -> None:
        bounds = {
            "max_default_multiplier": (0.0, 100.0),
            "max_prepayment_cut": (0.0, 1.0),
            "max_recovery_haircut": (0.0, 1.0),
            "max_revenue_haircut": (0.0, 1.0),
        }
        for name, (lo, hi) in bounds.items():
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and lo <= v <= hi):
                raise DataError(
                    f"argument {name}", Problem("", f"must lie in [{lo:g}, {hi:g}] (got {v!r})")
                )

    def shocks(self, level: float) -> dict[str, float]:
        """Multipliers and haircuts at a stress level."""
        if not (isinstance(level, int | float) and 0.0 <= level <= 1.0):
            raise DataError("argument level", Problem("", f"must lie in [0, 1], got {level!r}"))
        return {
            "stress_level": level,
            "default_multiplier": 1.0 + (self.max_default_multiplier - 1.0) * level,
            "prepayment_multiplier": 1.0 - self.max_prepayment_cut * level,
            "recovery_haircut": self.max_recovery_haircut * level,
            "revenue_haircut": self.max_revenue_haircut * level,
            "factor_shift": float(norm.ppf(min(max(level, 1e-6), 1 - 1e-6))),
        }

    def stressed_deal(self, deal: DealSpec, level: float) -> DealSpec:
        """The deal with its assumptions shifted to the stress level."""
        from greenabs.engine import with_assumptions

        s = self.shocks(level)
        a = deal.assumptions
        dm, pm = s["default_multiplier"], s["prepayment_multiplier"]
        d, p = a.default, a.prepayment
        default = (
            {"cdr": min(d.cdr * dm, 1.0)}
            if d.cdr is not None
            else {"sda": d.sda * dm}
            if d.sda is not None
            else {"vector": [min(v * dm, 1.0) for v in d.vector or ()], "by": d.by}
        )
        prepay = (
            {"cpr": p.cpr * pm}
            if p.cpr is not None
            else {"psa": p.psa * pm}
            if p.psa is not None
            else {"vector": [v * pm for v in p.vector or ()], "by": p.by}
        )
        recovery = {
            "rate": a.recovery.rate * (1 - s["recovery_haircut"]),
            "lag_months": a.recovery.lag_months,
        }
        return with_assumptions(deal, default=default, prepayment=prepay, recovery=recovery)

    def stressed_bank(self, bank: BankSpec, level: float) -> BankSpec:
        """The bank with its books' default probabilities scaled by the default multiplier."""
        dm = self.shocks(level)["default_multiplier"]
        loans = tuple(b.model_copy(update={"pd": min(b.pd * dm, 1.0)}) for b in bank.loans)
        return bank.model_copy(update={"loans": loans})
