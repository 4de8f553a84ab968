"""Representative lines: a loan tape aggregated into a few lines that project like it.

A bank's whole green loan book has hundreds of thousands to millions of loans; most of them
differ only in balance and a few basis points of rate.  :func:`rep_lines` groups the pool's
loans by everything the cash-flow engine reads exactly (type of amortisation, payment
frequency, where the loan is in its payment cycle, floating index and its reset, floor and
cap, rating), optionally by the descriptive fields that stratification and green
eligibility read (``keep``: industry, region, green category), then by bucket of remaining
term (``term_step`` months) and of rate (``rate_step``: the fixed rate, or a floating loan's
margin).  Each group becomes one loan whose balance is the group's, whose rate (margin),
remaining term and seasoning are the group's balance-weighted averages, whose impact fields
are the group's sums, and whose descriptive fields are its loans' when they share them.

What is exact and what is not:

* the pool's balance and the impact totals are kept exactly; so are the green share by
  category, industry and region for the fields named in ``keep``;
* loans that share rate, term and seasoning (the cash-flow fields) project exactly as their
  line does, since every kernel is linear in the balance;
* averaging rates within ``rate_step`` and terms within ``term_step`` is an approximation
  (a level-pay line at the average rate and term is not the sum of the annuities), measured
  in ``benchmarks/bench_replines.py`` and docs/scale.md;
* a line stands for many obligors, so in the Monte Carlo its defaults follow the pool's
  conditional default rate (``default_model.large_pool``), not one default time per line:
  that is the granularity approximation of the large-pool option, which ``rep_lines``
  therefore requires.

Assets other than loans (leases, receivables, revenue assets) are kept as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from greenabs.assets.base import AssetSpecBase
from greenabs.assets.loans import LoanSpec
from greenabs.spec.deal import DealSpec

__all__ = ["RepLines", "aggregate_loans", "rep_lines"]

#: Impact fields summed over a line (a line finances what its loans finance): every
#: ``impact_*`` field an asset has.
_IMPACTS = tuple(f for f in AssetSpecBase.model_fields if f.startswith("impact_"))

#: Fields the engine reads exactly: a line's loans share each of them.
_EXACT = ("amortization", "frequency", "index", "reset_months", "floor", "cap", "rating")

#: Descriptive fields a line keeps when its loans share them (``None`` when they differ), and
#: that ``keep`` may name to keep them exact.
_DESCRIPTIVE = ("industry", "region", "green_category")


@dataclass(frozen=True)
class RepLines:
    """What :func:`rep_lines` did: the aggregated deal and the loans behind each line."""

    deal: DealSpec
    loans: int
    """Loans of the original pool that were aggregated."""
    lines: int
    """Lines they became."""
    members: tuple[tuple[str, ...], ...]
    """The ids of the loans behind each line, in the order of the lines."""


def _check_steps(rate_step: float, term_step: int) -> None:
    from greenabs.errors import ARGUMENT, Problem, SpecError

    if not (isinstance(rate_step, float | int) and 0 < rate_step <= 0.05):
        raise SpecError(ARGUMENT, Problem("rate_step", f"must be in (0, 0.05] (got {rate_step})"))
    if not (isinstance(term_step, int) and 1 <= term_step <= 120):
        raise SpecError(
            ARGUMENT, Problem("term_step", f"must be 1 to 120 months (got {term_step})")
        )


def aggregate_loans(
    loans: Sequence[LoanSpec],
    rate_step: float = 0.0025,
    term_step: int = 12,
    keep: Sequence[str] = (),
) -> tuple[list[LoanSpec], list[tuple[str, ...]]]:
    """The representative lines of ``loans`` and the ids behind each (see the module)."""
    _check_steps(rate_step, term_step)
    unknown = [f for f in keep if f not in _DESCRIPTIVE]
    if unknown:
        from greenabs.errors import ARGUMENT, Problem, SpecError

        why = f"unknown field {unknown[0]!r} (one of {', '.join(_DESCRIPTIVE)})"
        raise SpecError(ARGUMENT, Problem("keep", why))
    n = len(loans)
    if n == 0:
        return [], []
    exact = [*_EXACT, *keep]
    frame = pd.DataFrame({f: [getattr(s, f) for s in loans] for f in exact})
    step = np.fromiter((s.frequency.months for s in loans), np.int64, n)
    term = np.fromiter((s.original_term for s in loans), np.int64, n)
    age = np.fromiter((s.age for s in loans), np.int64, n)
    bal = np.fromiter((s.balance for s in loans), np.float64, n)
    floating = np.fromiter((s.index is not None for s in loans), np.bool_, n)
    # the rate a line averages: a fixed loan's coupon, a floating loan's margin
    level = np.where(
        floating,
        np.fromiter((s.margin for s in loans), np.float64, n),
        np.fromiter((s.rate if s.rate is not None else 0.0 for s in loans), np.float64, n),
    )
    remaining = term - age
    frame["cycle"] = age % step  # where the loan is in its payment cycle (accrual, timing)
    frame["term_bucket"] = (remaining - 1) // term_step
    frame["rate_bucket"] = np.floor(level / rate_step + 1e-9).astype(np.int64)
    # a floating loan's coupon until its first reset (its rate, when given) is kept exact
    frame["own_rate"] = [-1.0 if s.index is None or s.rate is None else s.rate for s in loans]
    keys = [*exact, "cycle", "term_bucket", "rate_bucket", "own_rate"]
    codes = frame.groupby(keys, dropna=False, sort=True).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    lines: list[LoanSpec] = []
    members: list[tuple[str, ...]] = []
    for k, idx in enumerate(np.split(order, bounds)):
        first = loans[int(idx[0])]
        w = bal[idx] / bal[idx].sum()
        p = int(step[idx[0]])
        cycle = int(age[idx[0]] % p)
        # payment periods left (remaining + cycle = whole periods) and of seasoning, each the
        # balance-weighted mean; the line keeps the cycle, so it pays when its loans pay
        periods_left = max(1, round(float(w @ (remaining[idx] + cycle)) / p))
        seasoned = max(0, round((float(w @ age[idx]) - cycle) / p))
        line_age = seasoned * p + cycle
        changes: dict[str, Any] = {
            "id": f"line{k + 1}",
            "obligor": None,
            "balance": float(bal[idx].sum()),
            "age": line_age,
            "original_term": (seasoned + periods_left) * p,
        }
        rate = float(w @ level[idx])
        if first.index is None:
            changes["rate"] = rate
        else:
            changes["margin"] = rate
        for f in _DESCRIPTIVE:
            if len({getattr(loans[int(i)], f) for i in idx}) > 1:
                changes[f] = None
        for f in _IMPACTS:
            values = [getattr(loans[int(i)], f) for i in idx]
            given = [v for v in values if v is not None]
            changes[f] = float(sum(given)) if given else None
        lines.append(LoanSpec.model_validate({**first.model_dump(), **changes}))
        members.append(tuple(loans[int(i)].id for i in idx))
    return lines, members


def rep_lines(
    deal: DealSpec, rate_step: float = 0.0025, term_step: int = 12, keep: Sequence[str] = ()
) -> RepLines:
    """``deal`` with its loans aggregated into representative lines (see the module);
    ``rate_step`` the width of a rate (margin) bucket, ``term_step`` of a remaining-term bucket
    in months; ``keep`` descriptive fields (industry, region, green_category) to keep exact,
    for analyses that stratify the lines (the Monte Carlo's large-pool model reads none)."""
    assets = deal.pool.assets
    loans = [a for a in assets if isinstance(a, LoanSpec)]
    others: list[AssetSpecBase] = [a for a in assets if not isinstance(a, LoanSpec)]
    lines, members = aggregate_loans(loans, rate_step, term_step, keep)
    pool = deal.pool.model_copy(update={"assets": (*lines, *others)})
    out = deal.model_copy(update={"pool": pool})
    return RepLines(deal=out, loans=len(loans), lines=len(lines), members=tuple(members))
