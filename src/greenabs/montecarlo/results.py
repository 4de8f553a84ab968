"""Monte Carlo results: per-scenario rows reduced to loss distributions and ratings.

Definitions (docs/montecarlo.md):

* a tranche's **loss** in a scenario: principal written down, as a share of its original
  balance; interest never paid is reported beside it (``interest_shortfall``); the
  **discounted** loss is the present value of both at the tranche's coupon, a share of the
  promised value (at most 100%);
* it **defaults** in a scenario when it loses principal, misses interest or is not repaid at
  its legal final date (more than 0.01, or 1e-9 of its balance for very large classes);
* the **default probability** is the share of scenarios where it defaults, the **expected
  loss** the mean loss; VaR and expected shortfall at 99% are of the loss distribution;
* its rating compares the default probability over its life (closing to legal final) and the
  discounted expected loss at its mean WAL with the rating table
  (:mod:`greenabs.rating`): the worse of the two.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from greenabs import _html
from greenabs.compile import CompiledDeal
from greenabs.results import json_safe
from greenabs.spec.deal import DealSpec
from greenabs.spec.simulation import SimulationSpec

__all__ = ["LOSS_QUANTILES", "MonteCarloResult", "defaulted", "loss_histogram"]

FloatArray = npt.NDArray[np.float64]
LOSS_QUANTILES = (0.5, 0.9, 0.95, 0.99, 0.995, 0.999)
"""Quantiles of the loss distributions reported."""
TAIL = 0.99
"""Level of the reported VaR and expected shortfall."""


def defaulted(rows: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Whether each (scenario, tranche) row is a default: principal or interest lost, or
    not repaid at the legal final date."""
    tol = np.maximum(0.01, 1e-9 * rows["original_balance"].to_numpy())
    out: npt.NDArray[np.bool_] = (
        (rows["principal_loss"].to_numpy() > tol)
        | (rows["interest_shortfall"].to_numpy() > tol)
        | (rows["legal_final_shortfall"].to_numpy() > tol)
    )
    return out


def _quantiles(x: FloatArray) -> dict[str, float]:
    return {f"{q:g}": float(np.quantile(x, q)) for q in LOSS_QUANTILES}


def _tail(x: FloatArray) -> tuple[float, float]:
    """VaR and expected shortfall at :data:`TAIL`: the quantile and the mean of the worst
    ``1 - TAIL`` share of scenarios (at least one)."""
    var = float(np.quantile(x, TAIL))
    k = max(1, math.ceil((1 - TAIL) * x.size))
    es = float(np.sort(x)[-k:].mean())
    return var, es


HISTOGRAM_BINS = 50
"""Bins of the loss histograms in :meth:`MonteCarloResult.to_dict`."""


def loss_histogram(x: FloatArray, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """A compact loss distribution: ``bins`` equal bins from 0 to the largest loss
    (``edges``, ``counts``; the last bin includes its right edge) and ``scenarios``; with no
    loss at all, one bin [0, 0] holding every scenario.  The share of scenarios losing at
    least ``edges[k]`` is ``sum(counts[k:]) / scenarios``, exactly, for every edge."""
    hi = float(np.max(x)) if x.size else 0.0
    if hi <= 0.0:
        return {"edges": [0.0, 0.0], "counts": [int(x.size)], "scenarios": int(x.size)}
    counts, edges = np.histogram(x, bins=bins, range=(0.0, hi))
    return {"edges": edges.tolist(), "counts": counts.tolist(), "scenarios": int(x.size)}


def _years(a: Any, b: Any) -> float:
    return float((b - a).days) / 365.25


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Per-scenario rows of a Monte Carlo run and their summaries.

    ``tranches``: one row per (scenario, tranche): ``principal_loss``, ``interest_shortfall``,
    ``legal_final_shortfall``, ``discounted_loss`` (amounts), ``wal``, ``yield``;
    ``tranches_without_support`` the same with the supports ignored (deals with supports);
    ``pool``: per scenario ``factor``, ``default_rate``, ``loss_rate``, ``recovery_rate``;
    ``supports``: per (scenario, support) ``draw`` and ``provider_default_month``.
    """

    deal: DealSpec
    settings: SimulationSpec
    backend: str
    tranches: pd.DataFrame
    pool: pd.DataFrame
    tranches_without_support: pd.DataFrame | None = None
    supports: pd.DataFrame | None = None
    seconds: float = 0.0
    compiled: CompiledDeal | None = field(default=None, repr=False)
    blocks: tuple[tuple[Any, ...], tuple[Any, ...]] | None = field(default=None, repr=False)

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios S."""
        return len(self.pool)

    def __repr__(self) -> str:
        return (
            f"MonteCarloResult({self.deal.name!r}: {self.n_scenarios:,} scenarios, seed "
            f"{self.settings.seed}, backend {self.backend}, {self.seconds:.1f} s)"
        )

    def _repr_html_(self) -> str:
        """A notebook's view: the run's settings, the pool's losses and each tranche's
        measures and rating (greenabs' default rating table)."""
        p = self.pool_summary()
        tail = f"{_html.pct(p['var_99'], 2)} / {_html.pct(p['es_99'], 2)}"
        facts = [
            ("Scenarios / seed", f"{self.n_scenarios:,} / {self.settings.seed}"),
            ("Backend / time", f"{self.backend} / {self.seconds:.1f} s"),
            ("Pool expected loss", _html.pct(p["expected_loss"], 2)),
            ("Pool loss VaR 99 / ES 99", tail),
            ("Expected defaults", _html.pct(p["expected_default_rate"], 2)),
        ]
        rows = [
            (
                r["name"],
                r["rating"],
                _html.pct(r["default_probability"], 2),
                _html.pct(r["expected_loss"], 3),
                _html.num(r["wal_mean"]),
                _html.pct(r["var_99"], 2),
                _html.pct(r["es_99"], 2),
            )
            for r in self.rating()
        ]
        header = ("Tranche", "Rating", "PD", "EL", "WAL", "VaR 99", "ES 99")
        return _html.summary(
            f"MonteCarloResult: {self.deal.name}",
            facts,
            [("Tranche ratings", _html.table(header, rows))],
        )

    def life_years(self, tranche: str) -> float:
        """Years from closing to the tranche's legal final date (the deal's last payment date
        when it has none): the horizon of its default probability."""
        t = self.deal.tranche(tranche)
        end = getattr(t, "legal_final", None)
        if end is None:
            assert self.compiled is not None
            end = self.compiled.calendar.payment_dates[-1]
        return max(_years(self.deal.dates.closing, end), 1.0 / 12.0)

    def _measures(self, rows: pd.DataFrame, name: str) -> dict[str, Any]:
        r = rows[rows["name"] == name]
        orig = float(r["original_balance"].iloc[0])
        loss = (r["principal_loss"] / orig).to_numpy()
        disc = (r["discounted_loss"] / orig).to_numpy()
        tol = max(0.01, 1e-9 * orig)
        d = defaulted(r)
        p = float(d.mean())
        wal = r["wal"].to_numpy(dtype=np.float64)
        yld = r["yield"].to_numpy(dtype=np.float64)
        var, es = _tail(loss)
        fin = wal[np.isfinite(wal)]
        yfin = yld[np.isfinite(yld)]
        return {
            "name": name,
            "original_balance": orig,
            "expected_loss": float(loss.mean()),
            "expected_loss_discounted": float(disc.mean()),
            "expected_interest_shortfall": float((r["interest_shortfall"] / orig).mean()),
            "default_probability": p,
            "default_probability_se": math.sqrt(p * (1 - p) / len(r)),
            "principal_loss_probability": float((r["principal_loss"] > tol).mean()),
            "interest_loss_probability": float((r["interest_shortfall"] > tol).mean()),
            "loss_quantiles": _quantiles(loss),
            "discounted_loss_quantiles": _quantiles(disc),
            "var_99": var,
            "es_99": es,
            "wal_mean": float(fin.mean()) if fin.size else math.nan,
            "wal_sd": float(fin.std()) if fin.size else math.nan,
            "wal_quantiles": {f"{q:g}": float(np.quantile(fin, q)) for q in (0.05, 0.5, 0.95)}
            if fin.size
            else {},
            "yield_mean": float(yfin.mean()) if yfin.size else math.nan,
            "yield_quantiles": {f"{q:g}": float(np.quantile(yfin, q)) for q in (0.01, 0.05, 0.5)}
            if yfin.size
            else {},
        }

    def _losses(self, name: str) -> FloatArray:
        """A tranche's principal loss per scenario, a share of its original balance."""
        r = self.tranches[self.tranches["name"] == name]
        out: FloatArray = (r["principal_loss"] / r["original_balance"]).to_numpy(np.float64)
        return out

    def rating(self, table: Any = None) -> list[dict[str, Any]]:
        """Per tranche: the loss distribution's measures and its rating against ``table`` (a
        :class:`~greenabs.rating.RatingTable`, a path to one, or the default table); residual
        classes, which promise nothing, are not rated (``rating`` ``NR``)."""
        from greenabs.rating import RatingTable, load_rating_table

        tab = table if isinstance(table, RatingTable) else load_rating_table(table)
        out = []
        for t in self.deal.structure.tranches:
            m = self._measures(self.tranches, t.name)
            life = self.life_years(t.name)
            el_years = m["wal_mean"] if math.isfinite(m["wal_mean"]) else life
            m["pd_horizon_years"] = life
            m["el_horizon_years"] = el_years
            if t.residual:
                m.update(rating="NR", rating_by_pd=None, rating_by_el=None)
            else:
                o = tab.rate(
                    m["default_probability"], m["expected_loss_discounted"], life, el_years
                )
                m.update({"rating": o.rating, **{f"rating_{k}": v for k, v in _outcome(o).items()}})
            if self.tranches_without_support is not None:
                w = self._measures(self.tranches_without_support, t.name)
                m["default_probability_without_support"] = w["default_probability"]
                m["expected_loss_without_support"] = w["expected_loss"]
                if not t.residual:
                    o = tab.rate(
                        w["default_probability"], w["expected_loss_discounted"], life, el_years
                    )
                    m["rating_without_support"] = o.rating
            out.append(m)
        return out

    def pool_summary(self) -> dict[str, Any]:
        """The pool's default and loss distributions (shares of the cut-off balance)."""
        loss = self.pool["loss_rate"].to_numpy()
        dflt = self.pool["default_rate"].to_numpy()
        var, es = _tail(loss)
        return {
            "expected_default_rate": float(dflt.mean()),
            "expected_loss": float(loss.mean()),
            "loss_sd": float(loss.std()),
            "loss_quantiles": _quantiles(loss),
            "default_quantiles": _quantiles(dflt),
            "var_99": var,
            "es_99": es,
        }

    def support_summary(self) -> list[dict[str, Any]]:
        """Per support: its expected draw, the probability of a draw and of the provider's
        default, and the draw's 99% quantile."""
        if self.supports is None:
            return []
        out = []
        for name, r in self.supports.groupby("support", sort=False):
            d = r["draw"].to_numpy()
            out.append(
                {
                    "name": name,
                    "expected_draw": float(d.mean()),
                    "draw_probability": float((d > 0.01).mean()),
                    "draw_quantile_99": float(np.quantile(d, TAIL)),
                    "provider_default_probability": float((r["provider_default_month"] > 0).mean()),
                }
            )
        return out

    def to_dict(self, table: Any = None) -> dict[str, Any]:
        """Everything as JSON-ready data: ``meta``, ``simulation``, ``rating`` (per tranche),
        ``pool``, ``supports`` and ``loss_histograms``: the pool's loss (a share of its cut-off
        balance) and each tranche's principal loss (a share of its original balance) as
        :func:`loss_histogram`."""
        from greenabs import __version__

        out: dict[str, Any] = json_safe(
            {
                "meta": {
                    "greenabs_version": __version__,
                    "deal": self.deal.name,
                    "scenarios": self.n_scenarios,
                    "seed": self.settings.seed,
                    "backend": self.backend,
                    "seconds": self.seconds,
                },
                "simulation": self.settings.model_dump(mode="json"),
                "rating": self.rating(table),
                "pool": self.pool_summary(),
                "supports": self.support_summary(),
                "loss_histograms": {
                    "pool": loss_histogram(self.pool["loss_rate"].to_numpy(dtype=np.float64)),
                    "tranches": {
                        t.name: loss_histogram(self._losses(t.name))
                        for t in self.deal.structure.tranches
                    },
                },
            }
        )
        return out

    def to_json(self, path: str | Path, table: Any = None) -> None:
        """Write :meth:`to_dict` as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(table), indent=2), encoding="utf-8")


def _outcome(o: Any) -> dict[str, Any]:
    d: dict[str, Any] = o.to_dict() if hasattr(o, "to_dict") else dict(vars(o))
    d.pop("rating", None)
    return d
