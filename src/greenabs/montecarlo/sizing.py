"""Tranche sizing: the largest tranches (smallest credit enhancement) achieving target ratings.

Targets are solved senior first, down the capital structure: a target tranche's balance is
searched by bisection between a floor and its balance plus the next class's, the difference
moving to the next class (the notes' total stays the same), and fixed before the next target
is solved.  The pool flows of the Monte Carlo are simulated once and reused: each step reruns
only the waterfall.

Speed: a larger senior class loses in more scenarios, never fewer (tested as sizing
monotonicity), so a step that fails narrows the search to the scenarios where the class
defaulted at that size; steps run on those scenarios only, with the class's WAL from the last
run over every scenario.  The size found is then checked over every scenario; if that check
fails (the WAL moved, or a structure where the monotonicity does not hold), the search goes
on over every scenario.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from greenabs.collateral import PoolCashflows
from greenabs.compile import CompiledDeal
from greenabs.engine import run
from greenabs.errors import Problem, SpecError
from greenabs.montecarlo.results import MonteCarloResult, defaulted
from greenabs.scenarios import Scenarios
from greenabs.spec.deal import DealSpec

__all__ = ["SizingResult", "check_targets", "size_tranches"]

IntArray = npt.NDArray[np.intp]
CHUNK = 2500
"""Scenarios per waterfall run of the search over every scenario: the run's period records
stay small (about 170 MB for five classes over 130 dates) and fresh memory is not paged in
for the whole set at once."""
MAX_CHECKS = 8
"""Searches on the scenarios a class loses in, each checked over every scenario, before the
sizing gives up (each check that fails moves the bracket's top down)."""


@dataclass(frozen=True)
class SizingResult:
    """Per target tranche (senior first): ``tranche``, ``target``, ``status`` (``achieved``
    or ``not achievable``), ``balance`` (the size found; the original one when not
    achievable), ``original_balance``, ``credit_enhancement`` (share of the pool balance
    below the class), ``rating`` reached at that size, ``default_probability`` and
    ``expected_loss`` there, ``best_rating`` (at the smallest size tried, when not
    achievable), ``steps``; ``balances`` the whole structure after sizing."""

    targets: tuple[dict[str, Any], ...]
    balances: Mapping[str, float]
    pool_balance: float

    @property
    def achieved(self) -> bool:
        """Whether every target was achieved."""
        return all(t["status"] == "achieved" for t in self.targets)

    def frame(self) -> pd.DataFrame:
        """The targets as a table."""
        return pd.DataFrame(list(self.targets))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``sizing`` (the targets) and ``balances``."""
        return {"sizing": list(self.targets), "balances": dict(self.balances)}


class _Waterfalls:
    """The kept pool flows and scenarios of a Monte Carlo run, as one set, rerun through
    structures (whole or on a subset of scenarios)."""

    def __init__(self, mc: MonteCarloResult) -> None:
        if mc.blocks is None or mc.compiled is None:
            why = "run the Monte Carlo with keep_flows=True to size tranches"
            raise SpecError("<argument>", Problem("result", why))
        flows, scens = mc.blocks
        self.n = mc.n_scenarios
        first: PoolCashflows = flows[0]
        self.pool = PoolCashflows(
            month_ends=first.month_ends,
            flows={k: np.concatenate([f.flows[k] for f in flows]) for k in first.flows},
            original_balance=first.original_balance,
        )
        self.index_paths = {
            k: np.concatenate([s.index_paths[k] for s in scens]) for k in scens[0].index_paths
        }
        self.drivers = {
            k: np.concatenate([s.drivers[k] for s in scens])
            for k in scens[0].drivers
            if k.startswith("support:")
        }

    def run(self, compiled: CompiledDeal, name: str, rows: IntArray | None) -> pd.DataFrame:
        """Losses and WAL of tranche ``name`` per scenario under ``compiled`` (rows: a
        subset), the waterfall run block by block (its records stay small)."""
        idx = np.arange(self.n) if rows is None else rows
        parts = [
            self._run(compiled, name, idx[i : i + CHUNK]) for i in range(0, max(len(idx), 1), CHUNK)
        ]
        return pd.concat(parts, ignore_index=True)

    def _run(self, compiled: CompiledDeal, name: str, rows: IntArray) -> pd.DataFrame:
        pool = PoolCashflows(
            month_ends=self.pool.month_ends,
            flows={k: v[rows] for k, v in self.pool.flows.items()},
            original_balance=self.pool.original_balance,
        )
        sc = Scenarios.build(
            index_paths={k: v[rows] for k, v in self.index_paths.items()} or None,
            drivers={k: v[rows] for k, v in self.drivers.items()} or None,
        )
        varying = bool(self.index_paths or self.drivers)
        result = run(compiled, flows=pool, scenarios=sc if varying else None)
        frame = pd.DataFrame(result.tranche_losses(name))
        frame["original_balance"] = compiled.deal.tranche(name).balance
        return frame


def _lost(m: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Rows where the class defaulted or lost anything."""
    out: npt.NDArray[np.bool_] = defaulted(m) | (m["discounted_loss"].to_numpy() > 0)
    return out


def _measures(m: pd.DataFrame, n: int, wal: float | None) -> tuple[float, float, float, Any]:
    """PD and discounted EL over ``n`` scenarios (rows not in ``m`` lost nothing), WAL."""
    d = defaulted(m)
    orig = float(m["original_balance"].iloc[0]) if len(m) else 1.0
    pd_ = float(d.sum()) / n
    el = float(m["discounted_loss"].sum()) / orig / n
    w = m["wal"].to_numpy(dtype=np.float64)
    wal_mean = float(np.nanmean(w)) if wal is None and np.isfinite(w).any() else (wal or math.nan)
    return pd_, el, wal_mean, d


def check_targets(deal: DealSpec, targets: Mapping[str, str], table: Any) -> None:
    """Target tranches and ratings a sizing can search (a :class:`SpecError` on
    ``targets`` otherwise): known, not residual, with a class below, known symbols."""
    names = [t.name for t in deal.structure.tranches]
    if not targets:
        raise SpecError("<argument>", Problem("targets", "give at least one TRANCHE=RATING"))
    for name, rating in targets.items():
        if name not in names:
            why = f"unknown tranche {name!r} (known: {', '.join(names)})"
            raise SpecError("<argument>", Problem("targets", why))
        if deal.tranche(name).residual:
            why = f"tranche {name!r} is residual: it promises nothing and has no rating"
            raise SpecError("<argument>", Problem("targets", why))
        if rating not in table.scale:
            why = f"unknown rating {rating!r} (the scale is {', '.join(table.scale)})"
            raise SpecError("<argument>", Problem("targets", why))
        if names.index(name) + 1 >= len(names):
            why = f"tranche {name!r} is the last class: no class below it absorbs a change"
            raise SpecError("<argument>", Problem("targets", why))


def size_tranches(
    mc: MonteCarloResult,
    targets: Mapping[str, str],
    *,
    table: Any = None,
    tolerance: float | None = None,
) -> SizingResult:
    """Size the target tranches of a Monte Carlo run kept with ``keep_flows=True``.

    Parameters
    ----------
    mc
        :func:`~greenabs.montecarlo.monte_carlo` result with its pool flows.
    targets
        ``{tranche: rating}``, e.g. ``{"A": "AAA", "B": "A"}``.
    table
        Rating table (:class:`~greenabs.rating.RatingTable` or a path; the default table).
    tolerance
        Balance precision of the search (default: 0.01% of the pool balance).
    """
    from greenabs.rating import RatingTable, load_rating_table

    tab = table if isinstance(table, RatingTable) else load_rating_table(table)
    assert mc.compiled is not None
    deal = mc.deal
    names = [t.name for t in deal.structure.tranches]
    check_targets(deal, targets, tab)
    pool_bal = mc.compiled.pool.balance
    tol = tolerance if tolerance is not None else 1e-4 * pool_bal
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol > 0):
        raise SpecError("<argument>", Problem("tolerance", f"must be above 0, got {tol!r}"))
    sets = _Waterfalls(mc)
    balances = {t.name: float(t.balance) for t in deal.structure.tranches}
    out = []
    for name in sorted(targets, key=names.index):
        below = names[names.index(name) + 1]
        search = _Search(mc, sets, tab, balances, name, below, targets[name])
        row = search.solve(tol)
        if row["status"] == "achieved":
            balances[name], balances[below] = row["balance"], search.total - row["balance"]
            senior = sum(balances[n] for n in names[: names.index(name) + 1])
            row["credit_enhancement"] = 1.0 - senior / pool_bal
        out.append(row)
    return SizingResult(targets=tuple(out), balances=balances, pool_balance=pool_bal)


class _Search:
    """The bisection for one target tranche, its size traded with the class below."""

    def __init__(
        self,
        mc: MonteCarloResult,
        sets: _Waterfalls,
        table: Any,
        balances: Mapping[str, float],
        name: str,
        below: str,
        target: str,
    ) -> None:
        assert mc.compiled is not None
        self.compiled = mc.compiled
        self.sets, self.table, self.name, self.below, self.target = sets, table, name, below, target
        self.balances = dict(balances)
        self.total = balances[name] + balances[below]
        self.life = mc.life_years(name)
        self.original = float(mc.deal.tranche(name).balance)
        self.steps = 0
        self.seen: list[tuple[float, float]] = []  # (size, WAL) of runs over every scenario

    def _grade(self, pd_: float, el: float, wal: float) -> Any:
        horizon = wal if math.isfinite(wal) else self.life
        return self.table.rate(pd_, min(el, 1.0), self.life, horizon)

    def _ok(self, r: Any) -> bool:
        return bool(self.table.index(r.rating) <= self.table.index(self.target))

    def _run(self, b: float, rows: IntArray | None) -> pd.DataFrame:
        self.steps += 1
        structure = {**self.balances, self.name: b, self.below: self.total - b}
        return self.sets.run(self.compiled.with_structure(balances=structure), self.name, rows)

    def full(self, b: float) -> tuple[Any, pd.DataFrame, float, float]:
        """Rating, rows, PD and EL at size b over every scenario."""
        m = self._run(b, None)
        pd_, el, wal, _ = _measures(m, self.sets.n, None)
        self.seen.append((b, wal))
        return self._grade(pd_, el, wal), m, pd_, el

    def wal_at(self, b: float) -> float:
        """The class's WAL at size b: through the two closest runs over every scenario (the
        secant), or the one there is."""
        pts = sorted(self.seen, key=lambda p: abs(p[0] - b))[:2]
        if len(pts) == 1 or pts[0][0] == pts[1][0]:
            return pts[0][1]
        (x0, y0), (x1, y1) = pts
        return y0 + (b - x0) * (y1 - y0) / (x1 - x0)

    def subset(self, b: float, rows: IntArray) -> tuple[Any, float, float, IntArray]:
        """Rating, PD and EL at size b from the scenarios ``rows`` (the class loses in no
        other), and the rows where it lost."""
        m = self._run(b, rows)
        wal = self.wal_at(b)
        pd_, el, _, _ = _measures(m, self.sets.n, wal)
        return self._grade(pd_, el, wal), pd_, el, rows[_lost(m)]

    def _row(self, status: str, b: float, r: Any, pd_: float, el: float) -> dict[str, Any]:
        row = {
            "tranche": self.name,
            "target": self.target,
            "status": status,
            "balance": b,
            "original_balance": self.original,
            "rating": r.rating,
            "default_probability": pd_,
            "expected_loss": el,
            "steps": self.steps,
        }
        if status != "achieved":
            row["best_rating"] = r.rating
        return row

    def solve(self, tol: float) -> dict[str, Any]:
        """The largest size achieving the target, to ``tol``."""
        floor = min(tol, self.total / 4)
        hi = self.total - floor
        r_hi, m_hi, pd_hi, el_hi = self.full(hi)
        if self._ok(r_hi):
            return self._row("achieved", hi, r_hi, pd_hi, el_hi)
        # every scenario a smaller class loses in is among those it loses in at hi, and the
        # WAL at hi is at least the WAL below it: a failure on that subset is final
        risky = np.flatnonzero(_lost(m_hi))
        r_lo, pd_lo, el_lo, _ = self.subset(floor, risky)
        if not self._ok(r_lo):
            return self._row("not achievable", self.balances[self.name], r_lo, pd_lo, el_lo)
        for _ in range(MAX_CHECKS):
            lo = floor
            while hi - lo > tol:
                mid = 0.5 * (lo + hi)
                r_mid, _, _, lost = self.subset(mid, risky)
                if self._ok(r_mid):
                    lo = mid
                else:
                    hi, risky = mid, lost
            r_lo, m_lo, pd_lo, el_lo = self.full(lo)  # checked over every scenario
            if self._ok(r_lo):
                return self._row("achieved", lo, r_lo, pd_lo, el_lo)
            # lo fails over every scenario: the bracket's new top; its WAL refines wal_at
            hi, risky = lo, np.flatnonzero(_lost(m_lo))
        why = f"sizing {self.name!r} did not converge: check the structure"
        raise SpecError("<argument>", Problem("targets", why))
