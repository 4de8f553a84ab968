"""The composite systemic-risk index: from indicator data to weights, sub-indices and
contributions.

Methods (``method``):

* ``entropy``, ``critic``: min-max normalised indicators, objective weights;
* ``pca``: z-scores, weights from the loadings of the components explaining 85% of variance;
* ``equal``: z-scores, equal weights (the equal-variance index of Sun and Huang 2016);
* ``ahp``: min-max normalised, weights from a pairwise matrix over the four dimensions (split
  equally within each) or over the indicators, with its consistency ratio;
* ``ciss``: recursive empirical CDF of each indicator, dimension sub-indices as their means,
  and the CISS portfolio aggregation with EWMA correlations between the sub-indices.

Objective weights can be combined with subjective AHP ones (``subjective`` + ``alpha``).
Linear methods: ``index_t = sum_j w_j z_tj / sum_j w_j`` over the indicators available in
period ``t`` (weights renormalised per period); sub-index of a dimension = its available
indicators' weighted mean; contribution of indicator ``j`` = ``w_j z_tj / sum w`` (0 when it
is missing; they add up to the index).  For CISS the contribution of a dimension is
``w_i s_it sum_j C_ij,t w_j s_jt`` (they add up to the CISS), shared among its indicators in
proportion to their ECDF values.

Coverage: an indicator enters when it has data for ``min_coverage`` of the periods; a period
enters when it has data for ``period_coverage`` of the entering indicators (two thirds by
default) and for at least one indicator of every dimension.  ``IndexResult.coverage`` reports
every period: how many indicators it has, the share of the weight they carry, what is missing
and whether it entered.  Weights are computed over the entering periods, each indicator over
the values it has (``allow_missing`` in :mod:`.core`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from greenabs import _html
from greenabs.errors import DataError, Problem
from greenabs.systemic import core
from greenabs.systemic.data import (
    CATALOGUE,
    DIMENSIONS,
    FILLS,
    PERIODS_PER_YEAR,
    IndicatorData,
    Trend,
)

__all__ = ["METHODS", "NORMALISATIONS", "IndexResult", "build_index", "prepare"]

METHODS = ("entropy", "critic", "pca", "equal", "ahp", "ciss")
NORMALISATIONS = ("minmax", "zscore", "ecdf")
_MIN_PERIODS = {"entropy": 3, "critic": 3, "pca": 4, "equal": 3, "ahp": 2, "ciss": 3}


@dataclass(frozen=True)
class IndexResult:
    """A composite index with everything that explains it."""

    method: str
    composite: pd.Series
    sub_indices: pd.DataFrame
    weights: pd.Series
    dimension_weights: pd.Series
    contributions: pd.DataFrame
    normalised: pd.DataFrame
    notes: tuple[str, ...] = ()
    consistency_ratio: float | None = None
    correlations: Any = None
    dimensions: dict[str, str] = field(default_factory=dict)
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)
    frequency: str = "annual"

    def frame(self) -> pd.DataFrame:
        """Composite and sub-indices by period."""
        df = self.sub_indices.copy()
        df.insert(0, "composite", self.composite)
        return df

    def __repr__(self) -> str:
        periods = [str(p) for p in self.composite.index]
        span = f"{periods[0]} to {periods[-1]}" if periods else "no periods"
        return (
            f"IndexResult({self.method}, {self.frequency}, {len(periods)} periods {span}, "
            f"{len(self.weights)} indicators)"
        )

    def _repr_html_(self) -> str:
        """A notebook's view: the composite and sub-indices by period (the latest ones) and
        the largest weights."""
        frame = self.frame()
        last = frame.tail(12)
        rows = [
            (str(p), *(f"{v:.3f}" for v in r))
            for p, r in zip(last.index, last.to_numpy(), strict=True)
        ]
        periods = ("Period", *(str(c) for c in frame.columns))
        weights = [
            (str(n), self.dimensions.get(str(n), ""), f"{float(v):.1%}")
            for n, v in self.weights.sort_values(ascending=False).items()
        ]
        span = f" ({frame.index[0]} to {frame.index[-1]})" if len(frame) else ""
        facts: list[tuple[str, object]] = [
            ("Method / frequency", f"{self.method} / {self.frequency}"),
            ("Periods", f"{len(frame)}{span}"),
            ("Indicators", len(self.weights)),
        ]
        if self.consistency_ratio is not None:
            facts.append(("AHP consistency ratio", f"{self.consistency_ratio:.3f}"))
        tables = [
            (f"Index, last {len(last)} periods", _html.table(periods, rows)),
            ("Weights", _html.table(("Indicator", "Dimension", "Weight"), weights, max_rows=8)),
        ]
        notes = "; ".join(self.notes) or None
        return _html.summary("IndexResult: systemic-risk index", facts, tables, notes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "method": self.method,
            "periods": [str(p) for p in self.composite.index],
            "composite": self.composite.tolist(),
            "sub_indices": {c: self.sub_indices[c].tolist() for c in self.sub_indices},
            "weights": self.weights.to_dict(),
            "dimension_weights": self.dimension_weights.to_dict(),
            "contributions": {c: self.contributions[c].tolist() for c in self.contributions},
            "notes": list(self.notes),
            "consistency_ratio": self.consistency_ratio,
            "frequency": self.frequency,
            "coverage": [
                {"period": str(p), **{k: _plain(v) for k, v in row.items()}}
                for p, row in self.coverage.iterrows()
            ],
        }


def _plain(v: Any) -> Any:
    """A NumPy scalar as the Python value JSON writes."""
    return v.item() if isinstance(v, np.generic) else v


def prepare(
    data: IndicatorData,
    *,
    min_coverage: float = 0.6,
    fill: str | None = None,
    indicators: list[str] | None = None,
    trend: Trend = "two_sided",
) -> tuple[pd.DataFrame, list[str]]:
    """Risk measures ready for weighting: indicators with too little data excluded, and gaps
    filled only if asked.  Remaining gaps stay missing (the index renormalises over them).

    Indicators covering fewer than ``min_coverage`` of the periods are excluded; ``fill``
    (one of :data:`~greenabs.systemic.data.FILLS`) fills the rest.  Every step is recorded in
    the notes.
    """
    min_coverage = core._finite_number(min_coverage, "min_coverage", 0.0, 1.0)
    if fill is not None and fill not in FILLS:
        raise DataError(
            "argument fill", Problem("", f"unknown method {fill!r} (use one of {', '.join(FILLS)})")
        )
    x, notes = data.risk_measures(trend=trend)
    if indicators is not None:
        for name in indicators:
            if name not in x.columns:
                raise DataError(data.source, Problem(name, "not in the data (or excluded)"))
        x = x[list(dict.fromkeys(indicators))]
    cover = x.notna().mean() if len(x) else pd.Series(0.0, index=x.columns)
    low = [c for c in x.columns if cover[c] < min_coverage or not x[c].notna().any()]
    for c in low:
        notes.append(
            f"{c}: excluded, data for {cover[c]:.0%} of the periods (minimum {min_coverage:.0%})"
        )
    x = x.drop(columns=low)
    if fill is not None:
        before = int(x.isna().sum().sum())
        if fill == "ffill":
            x = x.ffill()
        elif fill == "bfill":
            x = x.bfill()
        elif fill == "interpolate":
            x = x.interpolate(limit_area="inside")
        else:
            x = x.fillna(x.mean())
        filled = before - int(x.isna().sum().sum())
        if filled:
            notes.append(f"{filled} missing values filled by {fill}")
    if x.shape[1] == 0:
        raise DataError(data.source, Problem("", "no indicator is left after exclusions"))
    return x, notes


def _coverage(
    x: pd.DataFrame,
    dims: dict[str, str],
    present: list[str],
    period_coverage: float,
    require_dimensions: bool,
) -> pd.DataFrame:
    """Per period: indicators available, their share, dimensions without data, and whether
    the period enters (``period_coverage`` of the indicators and, if required, every
    dimension)."""
    have = x.notna()
    n = have.sum(axis=1)
    share = n / x.shape[1]
    rows = []
    for p in x.index:
        empty = [d for d in present if not any(have.at[p, c] for c in x.columns if dims[c] == d)]
        enough = n[p] > 0 and share[p] >= period_coverage - 1e-12
        rows.append(
            {
                "indicators": int(n[p]),
                "share": float(share[p]),
                "missing": ", ".join(c for c in x.columns if not have.at[p, c]),
                "dimensions_without_data": ", ".join(empty),
                "included": bool(enough and not (require_dimensions and empty)),
            }
        )
    return pd.DataFrame(rows, index=x.index)


def _dimension_of(names: list[str]) -> dict[str, str]:
    return {n: CATALOGUE[n].dimension for n in names}


def build_index(
    data: IndicatorData,
    method: str = "entropy",
    *,
    min_coverage: float = 0.6,
    fill: str | None = None,
    indicators: list[str] | None = None,
    ahp_matrix: npt.ArrayLike | None = None,
    subjective: npt.ArrayLike | None = None,
    alpha: float = 0.5,
    ewma_lambda: float = 0.93,
    normalisation: str | None = None,
    ahp_source: str = "argument ahp_matrix",
    period_coverage: float = 2 / 3,
    require_dimensions: bool = True,
    trend: Trend = "two_sided",
    burn_in: int | None = None,
) -> IndexResult:
    """Build the composite index (see the module docstring for the methods and coverage).

    ``normalisation`` (``minmax``, ``zscore`` or ``ecdf``) overrides the scale the linear
    methods aggregate on; weights are still computed the method's own way.  ``ahp_source``
    names the AHP matrix in error messages (its file, when it came from one).  ``trend``:
    the HP filter of the trending indicators (``two_sided`` or ``one_sided``).  ``burn_in``:
    the periods that start the recursive ECDF of ``ciss`` (and of ``normalisation="ecdf"``),
    ranked among themselves; by default three years of data (3 annual, 12 quarterly, 36
    monthly periods).  ``require_dimensions=False`` lets a period enter without data for every
    dimension (the quarterly China sample has no quarter with all four).
    """
    if method not in METHODS:
        raise DataError(
            "argument method",
            Problem("", f"unknown method {method!r} (use one of {', '.join(METHODS)})"),
        )
    if normalisation is not None and normalisation not in NORMALISATIONS:
        raise DataError(
            "argument normalisation",
            Problem(
                "",
                f"unknown normalisation {normalisation!r} (use {', '.join(NORMALISATIONS)})",
            ),
        )
    alpha = core._finite_number(alpha, "alpha", 0.0, 1.0)
    ewma_lambda = core._finite_number(ewma_lambda, "ewma_lambda", 0.0, 1.0, low_open=True)
    if subjective is not None and method in ("ahp", "ciss"):
        raise DataError(
            "argument subjective",
            Problem(
                "",
                "the ahp method's weights are subjective already: nothing to combine"
                if method == "ahp"
                else "the ciss method weighs its dimensions equally: nothing to combine",
            ),
        )
    if ahp_matrix is not None and method != "ahp":
        raise DataError(
            "argument ahp_matrix",
            Problem(
                "",
                f"only the ahp method uses it; to mix AHP weights into {method}, give "
                "subjective=ahp_weights(matrix)[0]",
            ),
        )
    period_coverage = core._finite_number(period_coverage, "period_coverage", 0.0, 1.0)
    if method == "ciss" and not require_dimensions:
        raise DataError(
            "argument require_dimensions",
            Problem("", "ciss needs every dimension in every period (its sub-indices)"),
        )
    if burn_in is None:
        burn_in = 3 * PERIODS_PER_YEAR.get(data.frequency, 1)
    elif isinstance(burn_in, bool) or not isinstance(burn_in, int) or burn_in < 0:
        raise DataError(
            "argument burn_in", Problem("", f"must be a whole number >= 0 (got {burn_in!r})")
        )
    x, notes = prepare(
        data, min_coverage=min_coverage, fill=fill, indicators=indicators, trend=trend
    )
    names = list(x.columns)
    dims = _dimension_of(names)
    present = [d for d in DIMENSIONS if d in dims.values()]
    coverage = _coverage(x, dims, present, period_coverage, require_dimensions)
    out = coverage.index[~coverage["included"]].tolist()
    if out:
        notes.append(
            f"periods left out for low coverage (under {period_coverage:.0%} of the "
            f"indicators, or a dimension without data): {', '.join(map(str, out))}"
        )
    available = x.notna()
    x = x.loc[coverage["included"].to_numpy()]
    partial = [p for p in x.index if x.loc[p].isna().any()]
    if partial:
        counts = [f"{p} ({int(coverage['indicators'][p])}/{len(names)})" for p in partial]
        shown = counts if len(counts) <= 12 else [*counts[:3], "...", *counts[-3:]]
        notes.append(
            f"weights renormalised over the indicators available in {len(partial)} periods: "
            + ", ".join(shown)
            + " (the coverage table has every period)"
        )
    if len(x) < _MIN_PERIODS[method]:
        raise DataError(
            data.source,
            Problem(
                "",
                f"{method} needs at least {_MIN_PERIODS[method]} periods with enough data, "
                f"{len(x)} left (give a fill method or lower the coverage minimums)",
            ),
        )
    a = x.to_numpy()
    cr = None
    if method == "ciss":
        result = _ciss(x, dims, present, notes, ewma_lambda, burn_in)
        return _with_coverage(result, coverage, available, data.frequency)
    norm = normalisation or ("zscore" if method in ("equal", "pca") else "minmax")
    if norm == "ecdf":
        z = np.column_stack([core.ecdf(a[:, j], burn_in=burn_in) for j in range(a.shape[1])])
    else:
        z = core.zscore(a) if norm == "zscore" else core.minmax(a)
    if normalisation is not None:
        notes.append(f"aggregated on {norm} values")
    src = data.source
    if method == "entropy":
        w = core.entropy_weights(a, names=names, source=src, allow_missing=True)
    elif method == "critic":
        w = core.critic_weights(a, names=names, source=src, allow_missing=True)
    elif method == "pca":
        w = core.pca_weights(a, names=names, source=src, allow_missing=True)
    elif method == "equal":
        core._matrix(a, 3, "equal weighting", names, src, allow_missing=True)
        w = np.full(len(names), 1.0 / len(names))
    else:
        if ahp_matrix is None:
            raise DataError(
                "argument ahp_matrix",
                Problem("", "the ahp method needs a pairwise comparison matrix"),
            )
        m = core._as_floats(ahp_matrix, ahp_source, "an AHP matrix")
        w, cr = _ahp(m, names, dims, present, ahp_source)
        if cr >= 0.1:
            notes.append(f"AHP consistency ratio {cr:.3f} is 0.1 or more: revise the judgements")
    if subjective is not None:
        s = core._as_floats(subjective, "argument subjective", "combining weights")
        if s.shape == (len(present),) and len(present) != len(names):
            s = np.array(
                [
                    s[present.index(dims[n])] / sum(1 for m in names if dims[m] == dims[n])
                    for n in names
                ]
            )
        if s.shape != w.shape:
            raise DataError(
                "argument subjective",
                Problem(
                    "",
                    f"needs {len(names)} weights (one per indicator) or "
                    f"{len(present)} (per dimension)",
                ),
            )
        w = core.combine_weights(s, w, alpha=alpha)
        notes.append(f"weights combined: {alpha:.0%} subjective, {1 - alpha:.0%} {method}")
    zf = pd.DataFrame(z, index=x.index, columns=names)
    weights = pd.Series(w, index=names)
    have = zf.notna()
    raw = zf.fillna(0.0) * weights  # a missing indicator contributes nothing
    carried = have.mul(weights).sum(axis=1)
    if not (carried > 0).all():
        period = str(carried.index[int(np.argmax((carried <= 0).to_numpy()))])
        raise DataError(
            data.source,
            Problem(f"period {period}", "the indicators it has carry no weight"),
        )
    contrib = raw.div(carried, axis=0)
    sub = pd.DataFrame(
        {
            d: raw[members].sum(axis=1) / have[members].mul(weights[members]).sum(axis=1)
            for d in present
            for members in [[n for n in names if dims[n] == d]]
        }
    )  # a dimension without data in a period (require_dimensions=False): missing
    dimw = pd.Series({d: weights[[n for n in names if dims[n] == d]].sum() for d in present})
    result = IndexResult(
        method=method,
        composite=contrib.sum(axis=1),
        sub_indices=sub,
        weights=weights,
        dimension_weights=dimw,
        contributions=contrib,
        normalised=zf,
        notes=tuple(notes),
        consistency_ratio=cr,
        dimensions=dims,
    )
    return _with_coverage(result, coverage, available, data.frequency)


def _with_coverage(
    result: IndexResult, coverage: pd.DataFrame, available: pd.DataFrame, frequency: str
) -> IndexResult:
    """The result with its coverage table, completed by the share of the weight that each
    period's available indicators carry."""
    cov = coverage.copy()
    w = result.weights
    cov["weight_share"] = available[list(w.index)].mul(w).sum(axis=1).astype(float)
    return replace(result, coverage=cov, frequency=frequency)


def _ahp(
    m: np.ndarray, names: list[str], dims: dict[str, str], present: list[str], source: str
) -> tuple[np.ndarray, float]:
    if m.shape == (len(DIMENSIONS), len(DIMENSIONS)):
        wd, cr = core.ahp_weights(m, names=list(DIMENSIONS), source=source)
        by_dim = dict(zip(DIMENSIONS, wd, strict=True))
        total = sum(by_dim[d] for d in present)
        w = np.array(
            [by_dim[dims[n]] / total / sum(1 for k in names if dims[k] == dims[n]) for n in names]
        )
        return w, cr
    if m.shape == (len(names), len(names)):
        return core.ahp_weights(m, names=names, source=source)
    raise DataError(
        source,
        Problem(
            "",
            f"must be {len(DIMENSIONS)}x{len(DIMENSIONS)} (dimensions "
            f"{', '.join(DIMENSIONS)}) or {len(names)}x{len(names)} (indicators "
            f"{', '.join(names)}), got {m.shape[0]}x{m.shape[1] if m.ndim > 1 else 1}",
        ),
    )


def _ciss(
    x: pd.DataFrame,
    dims: dict[str, str],
    present: list[str],
    notes: list[str],
    lam: float,
    burn_in: int,
) -> IndexResult:
    names = list(x.columns)
    f = pd.DataFrame({c: core.ecdf(x[c].to_numpy(), burn_in=burn_in) for c in names}, index=x.index)
    notes.append(f"recursive ECDF after a burn-in of {burn_in} periods ranked among themselves")
    sub = pd.DataFrame({d: f[[n for n in names if dims[n] == d]].mean(axis=1) for d in present})
    wd = np.full(len(present), 1.0 / len(present))
    idx, corr = core.ciss(sub.to_numpy(), wd, lam=lam)
    ws = sub.to_numpy() * wd
    dim_contrib = ws * np.einsum("tij,tj->ti", corr, ws)
    contrib = pd.DataFrame(index=x.index, columns=names, dtype=float)
    for k, d in enumerate(present):
        members = [n for n in names if dims[n] == d]
        fm = f[members].fillna(0.0)
        share = fm.div(fm.sum(axis=1).replace(0, np.nan), axis=0).fillna(1.0 / len(members))
        contrib[members] = share.mul(dim_contrib[:, k], axis=0)
    weights = pd.Series(
        {n: wd[present.index(dims[n])] / sum(1 for m in names if dims[m] == dims[n]) for n in names}
    )
    return IndexResult(
        method="ciss",
        composite=pd.Series(idx, index=x.index),
        sub_indices=sub,
        weights=weights,
        dimension_weights=pd.Series(wd, index=present),
        contributions=contrib,
        normalised=f,
        notes=tuple(notes),
        correlations=corr,
        dimensions=dims,
    )
