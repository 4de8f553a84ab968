"""Tranche rating tables and the rating map: a tranche's default probability and expected loss
→ a rating symbol, with the margins to the neighbouring notches.

A :class:`RatingTable` holds, for each symbol of a scale (best to worst) and each horizon in
years, a cumulative default probability (PD) and an expected loss (EL, decimals of principal).
:func:`load_rating_table` reads one from a CSV file, or the default shipped with greenabs
(``greenabs/data/rating_table_greenabs.csv``, built by ``scripts/build_rating_table.py`` from
Moody's published 1983-2008 cumulative default rates; docs/rating.md says how).

Horizons.  A table's values are read at any horizon ``years > 0``: linearly in years between two
tabulated horizons; below the first horizon linearly from 0 at 0 years; beyond the last horizon
the PD grows at the constant marginal hazard of the last tabulated interval,
``PD(t) = 1 - (1 - PD(T)) * exp(-h * (t - T))`` with
``h = ln((1 - PD(T_prev)) / (1 - PD(T))) / (T - T_prev)`` (``T_prev = 0``, ``PD = 0`` for a
one-horizon table), and the EL keeps the last horizon's ratio ``EL(T) / PD(T)``, the loss given
default, so ``EL(t) = EL(T) * PD(t) / PD(T)``.  Values at a horizon are made non-decreasing
down the scale (a running maximum; it changes nothing within the tabulated horizons of a valid
table, and nothing at all for the default table).

The map (:meth:`RatingTable.rate`).  ``by_pd`` is the best symbol whose PD at the tranche's
horizon is at least the tranche's PD, ``by_el`` the same for the EL; the rating is the worse of
the two.  The worst symbol of the scale takes every measure above the threshold of the symbol
above it: in the map its threshold is 1.  The margins are those of the binding measure:
``margin_up = measure - threshold of the notch above`` (> 0; None at the top of the scale) and
``margin_down = threshold of the rating - measure`` (>= 0).

Bad arguments (a probability outside [0, 1], a horizon that is not > 0, a non-finite number,
a symbol not on the scale) raise :class:`~greenabs.errors.SpecError` with source
``"<argument>"`` and a :class:`~greenabs.errors.Problem` naming the argument; a bad table file
raises :class:`~greenabs.errors.DataError` naming the file, the row and the column.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from greenabs.errors import ARGUMENT, DataError, Problem, SpecError
from greenabs.tables import ragged_row_problem, read_csv_cells

__all__ = [
    "COLUMNS",
    "DEFAULT_TABLE",
    "MIN_LOG_ODDS_STEP",
    "SYMBOLS",
    "RatingOutcome",
    "RatingTable",
    "load_rating_table",
    "monotone_default_table",
]

FloatArray = npt.NDArray[np.float64]

DEFAULT_TABLE = "rating_table_greenabs.csv"
"""File name (in ``greenabs/data``) of the default rating table."""

SYMBOLS: tuple[str, ...] = (
    "AAA",
    "AA+",
    "AA",
    "AA-",
    "A+",
    "A",
    "A-",
    "BBB+",
    "BBB",
    "BBB-",
    "BB+",
    "BB",
    "BB-",
    "B+",
    "B",
    "B-",
    "CCC+",
    "CCC",
    "CCC-",
    "CC",
    "C",
    "D",
)
"""The symbols a rating table file may use, best to worst (the S&P symbols, which Chinese rating
agencies use too).  A file may use any subset; its scale is that subset in this order."""

MIN_LOG_ODDS_STEP = math.log(1.1)
"""The default table's smallest step between neighbouring notches, in log-odds of the PD: a
notch's odds of default are at least 1.1 times those of the notch above, at every horizon."""

COLUMNS = ("rating", "horizon_years", "pd", "el")
"""The columns of a rating table file (long form: one row per rating and horizon)."""
_META = re.compile(r"#\s*(name|source|vintage)\s*:\s*(.*\S)\s*$", re.IGNORECASE)


def _bad(where: str, reason: str) -> SpecError:
    return SpecError(ARGUMENT, Problem(where, reason))


def _number(name: str, value: Any) -> float:
    if isinstance(value, str | bytes | bool | np.bool_):
        raise _bad(name, f"expected a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise _bad(name, f"expected a number, got {value!r}") from None
    if not math.isfinite(x):
        raise _bad(name, f"must be finite, got {x}")
    return x


def _probability(name: str, value: Any) -> float:
    x = _number(name, value)
    if not 0.0 <= x <= 1.0:
        raise _bad(name, f"must be a probability in [0, 1] (decimals, not percent), got {x:g}")
    return x


def _years(name: str, value: Any) -> float:
    x = _number(name, value)
    if x <= 0.0:
        raise _bad(name, f"must be a horizon in years > 0, got {x:g}")
    return x


@dataclass(frozen=True)
class RatingOutcome:
    """A tranche's rating by a :class:`RatingTable` (see :meth:`RatingTable.rate`).

    Attributes
    ----------
    rating
        The worse of ``by_pd`` and ``by_el``.
    by_pd, by_el
        The best symbol whose PD (EL) threshold at the tranche's horizon is at least the
        tranche's PD (EL).
    binding
        ``"pd"`` or ``"el"``: the measure that gave the rating.  When both give the same symbol,
        the one with the smaller headroom relative to its threshold (``pd`` on a tie).
    margin_up
        The binding measure minus the threshold of the notch above (> 0): how far it must fall
        to gain a notch (when both measures give the rating, the other must fall too).  None at
        the top of the scale.
    margin_down
        The threshold of the rating minus the binding measure (>= 0): how far it may rise
        before the notch is lost.
    threshold
        The binding measure's threshold at the rating (1 for the worst symbol).
    """

    rating: str
    by_pd: str
    by_el: str
    binding: Literal["pd", "el"]
    margin_up: float | None
    margin_down: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        """The outcome as plain JSON-ready values."""
        return {
            "rating": self.rating,
            "by_pd": self.by_pd,
            "by_el": self.by_el,
            "binding": self.binding,
            "margin_up": self.margin_up,
            "margin_down": self.margin_down,
            "threshold": self.threshold,
        }


class _GridProblem(NamedTuple):
    """A bad cell of a PD or EL grid, cells as (rating index, horizon index)."""

    cell: tuple[int, int]
    compared: tuple[int, int] | None  # the cell it is compared with
    what: str
    why: str

    def reason(self, compared: str = "") -> str:
        return f"{self.what}{compared}; {self.why}" if self.why else self.what


def _grid_problems(
    values: FloatArray, label: str, scale: tuple[str, ...], horizons: FloatArray
) -> list[_GridProblem]:
    """Each cell of a PD or EL grid that is outside [0, 1], below the cell before it in
    horizon, or below the better rating's cell."""
    found: list[_GridProblem] = []
    n, m = values.shape
    for i in range(n):
        for j in range(m):
            v = values[i, j]
            at = f"{scale[i]} at {horizons[j]:g} years"
            if not (math.isfinite(v) and 0.0 <= v <= 1.0):
                what = f"{at}: {label} must be in [0, 1] (decimals, not percent), got {v}"
                found.append(_GridProblem((i, j), None, what, ""))
            elif j > 0 and v < values[i, j - 1]:
                before = f"{values[i, j - 1]:g} at {horizons[j - 1]:g} years"
                what = f"{at}: {label} {v:g} is below {before}"
                why = "cumulative rates cannot fall with the horizon"
                found.append(_GridProblem((i, j), (i, j - 1), what, why))
            elif i > 0 and v < values[i - 1, j]:
                above = f"{values[i - 1, j]:g} of the better rating {scale[i - 1]}"
                what = f"{at}: {label} {v:g} is below {above}"
                why = "a worse rating cannot have a lower value"
                found.append(_GridProblem((i, j), (i - 1, j), what, why))
    return found


@dataclass(frozen=True, eq=False)
class RatingTable:
    """Cumulative default probabilities and expected losses by rating and horizon.

    Build one with :func:`load_rating_table`, or directly (the arrays are copied, checked and
    made read-only; a bad value raises :class:`~greenabs.errors.SpecError`).

    Attributes
    ----------
    name
        A short name of the table.
    source
        Where its numbers come from (a citation).
    vintage
        The data's cohort and the table's construction date.
    scale
        The symbols, best to worst (unique, at least two).
    horizons
        Years, strictly ascending, > 0.
    pd
        ``(len(scale), len(horizons))`` cumulative default probabilities, decimals in [0, 1],
        non-decreasing in horizon and down the scale.
    el
        Same shape: expected loss, decimals of principal, likewise monotone and at most ``pd``.
    """

    name: str
    source: str
    vintage: str
    scale: tuple[str, ...]
    horizons: FloatArray
    pd: FloatArray
    el: FloatArray

    def __post_init__(self) -> None:
        for label in ("name", "source", "vintage"):
            if not isinstance(getattr(self, label), str):
                raise _bad(label, f"expected text, got {getattr(self, label)!r}")
        scale = tuple(self.scale)
        if len(scale) < 2:
            raise _bad("scale", "a rating scale needs at least two symbols")
        for s in scale:
            if not isinstance(s, str) or not s.strip() or s != s.strip():
                raise _bad("scale", f"symbols are non-empty text without spaces, got {s!r}")
        if len(set(scale)) != len(scale):
            twice = sorted({s for s in scale if scale.count(s) > 1})
            raise _bad("scale", f"symbols given twice: {', '.join(twice)}")
        try:
            horizons = np.array(self.horizons, dtype=np.float64).reshape(-1)
            pd_ = np.array(self.pd, dtype=np.float64)
            el = np.array(self.el, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise _bad("horizons, pd, el", f"expected numbers ({exc})") from None
        if horizons.size == 0 or not np.all(np.isfinite(horizons)) or np.any(horizons <= 0):
            raise _bad("horizons", "expected finite horizons in years > 0")
        if np.any(np.diff(horizons) <= 0):
            raise _bad("horizons", "horizons must be strictly ascending")
        shape = (len(scale), horizons.size)
        for label, grid in (("pd", pd_), ("el", el)):
            if grid.shape != shape:
                raise _bad(label, f"expected shape {shape} (ratings, horizons), got {grid.shape}")
            found = _grid_problems(grid, label, scale, horizons)
            if found:
                raise _bad(label, found[0].reason())
        over = np.argwhere(el > pd_)
        if over.size:
            i, j = over[0]
            raise _bad("el", f"{scale[i]} at {horizons[j]:g} years: el exceeds pd")
        for arr in (horizons, pd_, el):
            arr.flags.writeable = False
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "horizons", horizons)
        object.__setattr__(self, "pd", pd_)
        object.__setattr__(self, "el", el)

    def index(self, rating: str) -> int:
        """The position of ``rating`` on the scale (0 the best)."""
        return self._index("rating", rating)

    def _index(self, name: str, rating: Any) -> int:
        try:
            return self.scale.index(rating)
        except ValueError:
            raise _bad(
                name, f"unknown rating {rating!r} (the scale is {', '.join(self.scale)})"
            ) from None

    def notches_between(self, a: str, b: str) -> int:
        """How many notches ``b`` is below ``a`` (negative when ``b`` is the better rating)."""
        return self._index("b", b) - self._index("a", a)

    def _curves(self, years: float) -> tuple[FloatArray, FloatArray]:
        """PD and EL of every rating at ``years`` (checked > 0), non-decreasing down the scale."""
        t = self.horizons
        p, e = self.pd, self.el
        if years <= t[0]:
            w = years / t[0]
            p_t, e_t = p[:, 0] * w, e[:, 0] * w
        elif years <= t[-1]:
            j = int(np.searchsorted(t, years, side="left"))
            w = (years - t[j - 1]) / (t[j] - t[j - 1])
            p_t = (1.0 - w) * p[:, j - 1] + w * p[:, j]
            e_t = (1.0 - w) * e[:, j - 1] + w * e[:, j]
        else:
            t_prev = t[-2] if t.size > 1 else 0.0
            p_prev = p[:, -2] if t.size > 1 else np.zeros(len(self.scale))
            survive, survive_prev = 1.0 - p[:, -1], 1.0 - p_prev
            with np.errstate(divide="ignore", invalid="ignore"):
                hazard = np.log(survive_prev / survive) / (t[-1] - t_prev)
                grown = p[:, -1] - survive * np.expm1(-hazard * (years - t[-1]))
                p_t = np.where(survive > 0.0, np.minimum(grown, 1.0), 1.0)
                lgd = np.where(p[:, -1] > 0.0, e[:, -1] / p[:, -1], 0.0)
            e_t = np.minimum(lgd * p_t, 1.0)
        return np.maximum.accumulate(p_t), np.maximum.accumulate(e_t)

    def pd_at(self, rating: str, years: float) -> float:
        """The cumulative default probability of ``rating`` at ``years`` (see the module
        docstring for interpolation and extrapolation)."""
        i = self.index(rating)
        return float(self._curves(_years("years", years))[0][i])

    def el_at(self, rating: str, years: float) -> float:
        """The expected loss (decimals of principal) of ``rating`` at ``years``."""
        i = self.index(rating)
        return float(self._curves(_years("years", years))[1][i])

    def rate(
        self,
        default_probability: float,
        expected_loss: float,
        pd_years: float,
        el_years: float,
    ) -> RatingOutcome:
        """Rate a tranche from its default probability at ``pd_years`` and its expected loss
        (decimals of principal) at ``el_years``.

        Returns
        -------
        RatingOutcome
            The rating, the rating by each measure, the binding measure and its margins.
        """
        x_pd = _probability("default_probability", default_probability)
        x_el = _probability("expected_loss", expected_loss)
        thr_pd = self._curves(_years("pd_years", pd_years))[0]
        thr_el = self._curves(_years("el_years", el_years))[1]
        found: dict[str, tuple[int, float, float]] = {}
        for label, x, thr in (("pd", x_pd, thr_pd), ("el", x_el, thr_el)):
            cut = thr.copy()
            cut[-1] = 1.0  # the worst symbol takes every measure above the notch above it
            i = int(np.searchsorted(cut, x, side="left"))
            headroom = float(cut[i] - x)
            relative = headroom / float(cut[i]) if cut[i] > 0 else 0.0
            found[label] = (i, headroom, relative)
        i_pd, i_el = found["pd"][0], found["el"][0]
        binding: Literal["pd", "el"]
        if i_pd != i_el:
            binding = "pd" if i_pd > i_el else "el"
        else:
            binding = "el" if found["el"][2] < found["pd"][2] else "pd"
        x, thr = (x_pd, thr_pd) if binding == "pd" else (x_el, thr_el)
        r = max(i_pd, i_el)
        threshold = 1.0 if r == len(self.scale) - 1 else float(thr[r])
        return RatingOutcome(
            rating=self.scale[r],
            by_pd=self.scale[i_pd],
            by_el=self.scale[i_el],
            binding=binding,
            margin_up=None if r == 0 else x - float(thr[r - 1]),
            margin_down=threshold - x,
            threshold=threshold,
        )


def monotone_default_table(
    raw_pd: npt.ArrayLike,
    horizons: npt.ArrayLike,
    min_log_odds_step: float = MIN_LOG_ODDS_STEP,
) -> FloatArray:
    """Cumulative default rates made monotone in horizon and strictly ordered down the scale.

    The construction of the default table (docs/rating.md), in order:

    1. a running maximum along each row (cumulative rates never fall with the horizon);
    2. a row's zero cells before its first positive one are filled linearly in years from 0
       at 0 years to that cell (no default observed yet is read as few observations, not as a
       zero probability);
    3. down the scale, row by row: each cell is raised, where needed, to the cell above it plus
       ``min_log_odds_step`` in log-odds, ``logit(p[i, j]) >= logit(p[i - 1, j]) + step``;
    4. in the same pass, a row's last cell is raised, where needed, so that its last-interval
       hazard is at least the row above's, which keeps the order beyond the last horizon.

    Parameters
    ----------
    raw_pd
        ``(ratings, horizons)`` cumulative default rates, decimals in [0, 1), best rating first.
    horizons
        Years, strictly ascending, > 0.
    min_log_odds_step
        The smallest step between neighbouring notches, in log-odds (> 0).

    Returns
    -------
    numpy.ndarray
        A new array of the same shape.
    """
    p = np.array(raw_pd, dtype=np.float64)
    t = np.array(horizons, dtype=np.float64).reshape(-1)
    step = _number("min_log_odds_step", min_log_odds_step)
    if step <= 0:
        raise _bad("min_log_odds_step", f"must be > 0, got {step:g}")
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise _bad("horizons", "expected strictly ascending horizons in years > 0")
    if p.ndim != 2 or p.shape[1] != t.size or p.shape[0] == 0:
        raise _bad("raw_pd", f"expected shape (ratings, {t.size}), got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p >= 1):
        raise _bad("raw_pd", "every rate must be in [0, 1) (decimals, not percent)")
    p = np.maximum.accumulate(p, axis=1)
    for row in p:
        positive = np.flatnonzero(row > 0)
        if positive.size:
            k = positive[0]
            row[:k] = row[k] * t[:k] / t[k]
    if np.all(p[0] == 0):
        raise _bad("raw_pd", "the best rating has no positive rate to start the scale from")
    t_prev = t[-2] if t.size > 1 else 0.0

    def hazard(row: FloatArray) -> float:
        before = row[-2] if row.size > 1 else 0.0
        return float(np.log((1.0 - before) / (1.0 - row[-1])) / (t[-1] - t_prev))

    for i in range(1, p.shape[0]):
        floor = 1.0 / (1.0 + np.exp(-(np.log(p[i - 1] / (1.0 - p[i - 1])) + step)))
        p[i] = np.maximum(p[i], floor)
        if hazard(p[i]) < hazard(p[i - 1]):
            before = p[i, -2] if t.size > 1 else 0.0
            p[i, -1] = 1.0 - (1.0 - before) * math.exp(-hazard(p[i - 1]) * (t[-1] - t_prev))
    return p


def _data_lines(text: str) -> list[int]:
    """1-based line numbers of the lines the CSV reader keeps (header first): not blank and not
    a ``#`` comment."""
    return [
        n
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]


def _metadata(text: str) -> dict[str, str]:
    meta: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            break  # the header: metadata lines come before it
        found = _META.match(line.strip())
        if found:
            meta.setdefault(found.group(1).lower(), found.group(2))
    return meta


def _read_frame(path: Path) -> tuple[pd.DataFrame, str]:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        frame = read_csv_cells(path, comment="#")
    except FileNotFoundError:
        raise DataError(source, Problem("", "file not found")) from None
    except UnicodeDecodeError as exc:
        raise DataError(source, Problem("", f"not UTF-8 text ({exc})")) from None
    except pd.errors.ParserError as exc:
        problem = ragged_row_problem(exc)
        reason = Problem("", f"cannot read the table ({exc})") if problem is None else problem
        raise DataError(source, reason) from None
    except pd.errors.EmptyDataError:
        raise DataError(source, Problem("", "the table is empty (no header row)")) from None
    except (OSError, ValueError) as exc:
        raise DataError(source, Problem("", f"cannot read the table ({exc})")) from None
    return frame, text


def _cell_number(text: str, where: str, problems: list[Problem]) -> float | None:
    if not text:
        problems.append(Problem(where, "empty cell"))
        return None
    try:
        x = float(text)
    except ValueError:
        problems.append(Problem(where, f"not a number: {text!r}"))
        return None
    if not math.isfinite(x):
        problems.append(Problem(where, f"not a finite number: {text!r}"))
        return None
    return x


def _parse(path: Path) -> RatingTable:
    source = str(path)
    frame, text = _read_frame(path)
    columns = [str(c).strip() for c in frame.columns]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise DataError(source, Problem("header", f"columns given twice: {', '.join(twice)}"))
    missing = [c for c in COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in COLUMNS]
    if missing or unknown:
        why = f"expected the columns {', '.join(COLUMNS)}"
        why += f"; missing {', '.join(missing)}" if missing else ""
        why += f"; unknown {', '.join(repr(c) for c in unknown)}" if unknown else ""
        raise DataError(source, Problem("header", why))
    frame.columns = columns
    if frame.empty:
        raise DataError(source, Problem("", "the table has no rows"))
    lines = _data_lines(text)
    rows = lines[1:] if len(lines) == len(frame) + 1 else list(range(2, len(frame) + 2))

    problems: list[Problem] = []
    cells: dict[tuple[str, float], tuple[int, float, float]] = {}
    for k, rec in enumerate(frame.itertuples(index=False)):
        row = rows[k]
        symbol = str(rec.rating).strip()
        if not symbol:
            problems.append(Problem(f"row {row}, column rating", "empty cell"))
            continue
        if symbol not in SYMBOLS:
            problems.append(
                Problem(
                    f"row {row}, column rating",
                    f"unknown rating {symbol!r} (known: {', '.join(SYMBOLS)})",
                )
            )
            continue
        values: dict[str, float | None] = {
            col: _cell_number(str(getattr(rec, col)).strip(), f"row {row}, column {col}", problems)
            for col in COLUMNS[1:]
        }
        h, p, e = values["horizon_years"], values["pd"], values["el"]
        if h is not None and h <= 0:
            problems.append(Problem(f"row {row}, column horizon_years", f"must be > 0, got {h:g}"))
            h = None
        for col, v in (("pd", p), ("el", e)):
            if v is not None and not 0.0 <= v <= 1.0:
                problems.append(
                    Problem(
                        f"row {row}, column {col}",
                        f"must be in [0, 1] (decimals, not percent), got {v:g}",
                    )
                )
                values[col] = None
        p, e = values["pd"], values["el"]
        if p is not None and e is not None and e > p:
            problems.append(
                Problem(
                    f"row {row}, column el", f"el {e:g} exceeds pd {p:g} (a loss needs a default)"
                )
            )
        if h is None or p is None or e is None:
            continue
        if (symbol, h) in cells:
            first = cells[(symbol, h)][0]
            problems.append(
                Problem(
                    f"row {row}, column rating",
                    f"{symbol} at {h:g} years is given twice (rows {first} and {row})",
                )
            )
            continue
        cells[(symbol, h)] = (row, p, e)
    if problems:
        raise DataError(source, problems)

    scale = tuple(s for s in SYMBOLS if any(key[0] == s for key in cells))
    horizons = sorted({key[1] for key in cells})
    if len(scale) < 2:
        raise DataError(
            source, Problem("column rating", "a rating table needs at least two ratings")
        )
    for s in scale:
        for h in horizons:
            if (s, h) not in cells:
                given = sorted(k[1] for k in cells if k[0] == s)
                problems.append(
                    Problem(
                        f"column horizon_years, rating {s}",
                        f"no row for {h:g} years (every rating needs every horizon: "
                        f"{', '.join(f'{x:g}' for x in horizons)}; {s} has "
                        f"{', '.join(f'{x:g}' for x in given)})",
                    )
                )
    if problems:
        raise DataError(source, problems)
    axis = np.array(horizons, dtype=np.float64)
    line = np.array([[cells[(s, h)][0] for h in horizons] for s in scale])
    pd_grid = np.array([[cells[(s, h)][1] for h in horizons] for s in scale])
    el_grid = np.array([[cells[(s, h)][2] for h in horizons] for s in scale])
    for col, grid in (("pd", pd_grid), ("el", el_grid)):
        for bad in _grid_problems(grid, col, scale, axis):
            compared = "" if bad.compared is None else f" (row {line[bad.compared]})"
            problems.append(Problem(f"row {line[bad.cell]}, column {col}", bad.reason(compared)))
    if problems:
        raise DataError(source, problems)
    meta = _metadata(text)
    return RatingTable(
        name=meta.get("name", path.stem),
        source=meta.get("source", source),
        vintage=meta.get("vintage", "not stated"),
        scale=scale,
        horizons=axis,
        pd=pd_grid,
        el=el_grid,
    )


@functools.cache
def _default_table() -> RatingTable:
    ref = resources.files("greenabs.data").joinpath(DEFAULT_TABLE)
    with resources.as_file(ref) as path:
        return _parse(path)


def load_rating_table(path: str | Path | None = None) -> RatingTable:
    """A rating table from a CSV file, or the default shipped with greenabs (``path=None``).

    The file is long form, one row per rating and horizon, with the columns ``rating,
    horizon_years, pd, el`` (decimals); ``#`` lines are comments, and the lines ``# name: ...``,
    ``# source: ...`` and ``# vintage: ...`` before the header set those attributes (by default
    the file's stem, its path and ``"not stated"``).  docs/rating.md gives the rules; every
    broken one raises :class:`~greenabs.errors.DataError` naming the file, row and column.
    """
    if path is None:
        return _default_table()
    return _parse(Path(path))
