"""Rating tables and the rating map (greenabs.rating).

Published cells pinned here come from Moody's Investors Service, "Corporate Default and Recovery
Rates, 1920-2008" (Special Comment, February 2009): Exhibit 41, average cumulative
issuer-weighted global default rates by alphanumeric rating, 1983-2008 (percent), and Exhibit 5,
senior unsecured bond recovery, issuer-weighted, 1982-2008 (36.4%).
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from greenabs.errors import DataError, SpecError
from greenabs.rating import (
    DEFAULT_TABLE,
    MIN_LOG_ODDS_STEP,
    RatingTable,
    load_rating_table,
    monotone_default_table,
)
from tests.conftest import ROOT

LGD = 1 - 0.364
SHIPPED = ROOT / "src" / "greenabs" / "data" / DEFAULT_TABLE


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_rating_table", ROOT / "scripts" / "build_rating_table.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table() -> RatingTable:
    return load_rating_table()


def _odds_step(p: float) -> float:
    """p raised by the default step in log-odds (odds times 1.1)."""
    odds = p / (1 - p) * 1.1
    return odds / (1 + odds)


# --- the construction of the default table ---------------------------------------------------


def test_published_cells_embedded_in_the_construction() -> None:
    raw = {moody: cells for moody, _, cells in _script().EXHIBIT_41}
    assert raw["Baa2"][4] == 1.850  # Baa2, year 5
    assert raw["Aaa"][9] == 0.193  # Aaa, year 10
    assert raw["Aa1"][:3] == (0.000, 0.000, 0.000)
    assert raw["B2"][0] == 3.827
    assert raw["Caa3"][9] == 82.018
    assert raw["Ca-C"][7:] == (74.990, 74.990, 74.990)
    assert len(raw) == 20
    assert all(len(cells) == 10 for cells in raw.values())


def test_moodys_rows_map_to_the_symbol_scale(table: RatingTable) -> None:
    mapping = {moody: symbol for moody, symbol, _ in _script().EXHIBIT_41}
    assert mapping == {
        "Aaa": "AAA",
        "Aa1": "AA+",
        "Aa2": "AA",
        "Aa3": "AA-",
        "A1": "A+",
        "A2": "A",
        "A3": "A-",
        "Baa1": "BBB+",
        "Baa2": "BBB",
        "Baa3": "BBB-",
        "Ba1": "BB+",
        "Ba2": "BB",
        "Ba3": "BB-",
        "B1": "B+",
        "B2": "B",
        "B3": "B-",
        "Caa1": "CCC+",
        "Caa2": "CCC",
        "Caa3": "CCC-",
        "Ca-C": "CC",
    }
    assert table.scale == tuple(mapping.values())
    assert np.array_equal(table.horizons, np.arange(1.0, 11.0))


def test_shipped_file_is_the_build() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == _script().render()


def test_default_table_source_and_vintage(table: RatingTable) -> None:
    assert table.name == "greenabs default"
    assert "Corporate Default and Recovery Rates, 1920-2008" in table.source
    assert "Exhibit 41" in table.source
    assert "Exhibit 5" in table.source
    assert table.vintage.startswith("Moody's 1983-2008 cohort (Feb 2009 study)")
    assert load_rating_table() is table  # read once


def test_published_cells_kept_where_already_ordered(table: RatingTable) -> None:
    bbb, y5 = table.index("BBB"), 4
    assert table.pd[bbb, y5] == 0.0185  # Baa2 year 5: 1.850%
    assert table.el[bbb, y5] == pytest.approx(0.0185 * LGD, abs=1e-12)
    assert table.pd[table.index("B"), 0] == 0.03827  # B2 year 1
    assert table.pd[table.index("CCC-"), 9] == 0.82018  # Caa3 year 10
    raw = np.array([c for _, _, c in _script().EXHIBIT_41]) / 100
    kept = np.isclose(table.pd, raw, rtol=0, atol=1e-12)
    assert kept.sum() == 158  # 42 of the 200 cells are moved by the construction


def test_smoothed_cells_by_hand(table: RatingTable) -> None:
    pd_ = table.pd
    # zeros before the first default filled linearly in years: Aaa 0.016% at year 2
    assert pd_[0, 0] == pytest.approx(0.00016 / 2, abs=1e-12)
    # Aa1 has its first default at year 4 (0.094%)
    assert pd_[1, :3] == pytest.approx([0.00094 / 4, 0.00094 / 2, 0.00094 * 3 / 4], abs=1e-12)
    # Aa1 year 10 (0.159%) is below Aaa's 0.193%: raised to Aaa's odds times 1.1
    assert pd_[1, 9] == pytest.approx(_odds_step(0.00193), abs=1e-12)
    # A3 year 10 (1.799%) below A2 (2.209%)
    assert pd_[6, 9] == pytest.approx(_odds_step(0.02209), abs=1e-12)
    # Ca-C year 10 (74.99%, flat since year 8): its year 9-10 hazard raised to Caa3's
    hazard = math.log((1 - 0.70661) / (1 - 0.82018))
    assert pd_[19, 9] == pytest.approx(1 - (1 - 0.7499) * math.exp(-hazard), abs=1e-12)
    assert table.el == pytest.approx(np.round(pd_ * LGD, 12), abs=0)


def test_default_table_monotone_in_both_directions(table: RatingTable) -> None:
    for grid in (table.pd, table.el):
        assert np.all(np.diff(grid, axis=1) >= 0)  # cumulative: non-decreasing in horizon
        assert np.all(np.diff(grid, axis=0) > 0)  # strictly worse down the scale, every horizon
        assert np.all(grid > 0)
        assert np.all(grid < 1)


@pytest.mark.parametrize("years", [0.01, 0.5, 1.0, 2.5, 7.25, 10.0, 10.5, 12.0, 20.0, 40.0])
def test_default_table_strict_at_any_horizon(table: RatingTable, years: float) -> None:
    pds = [table.pd_at(s, years) for s in table.scale]
    els = [table.el_at(s, years) for s in table.scale]
    assert np.all(np.diff(pds) > 0)
    assert np.all(np.diff(els) > 0)


def test_last_interval_hazard_non_decreasing_down_the_scale(table: RatingTable) -> None:
    hazard = np.log((1 - table.pd[:, -2]) / (1 - table.pd[:, -1]))
    # equal where the construction raised a row's hazard to the row above's (CC to CCC-), up to
    # the table's rounding to 12 decimal places
    assert np.all(np.diff(hazard) >= -1e-10)
    assert hazard[-1] == pytest.approx(hazard[-2], abs=1e-10)


def test_monotone_default_table_steps() -> None:
    t = [1.0, 2.0, 4.0]
    raw = np.array([[0.0, 0.0, 0.004], [0.002, 0.0015, 0.003], [0.5, 0.6, 0.6]])
    out = monotone_default_table(raw, t)
    assert out[0] == pytest.approx([0.001, 0.002, 0.004])  # linear from 0 in years
    assert out[1, 0] == 0.002
    assert out[1, 1] == pytest.approx(_odds_step(0.002))  # running max, then above the row above
    assert out[1, 2] == pytest.approx(_odds_step(0.004))
    assert out[2, :2] == pytest.approx([0.5, 0.6])
    # the last cell's hazard raised to the row above's
    h = math.log((1 - out[1, 1]) / (1 - out[1, 2])) / 2
    assert out[2, 2] == pytest.approx(1 - 0.4 * math.exp(-2 * h))
    assert raw[1, 1] == 0.0015  # the input is not changed
    one = monotone_default_table([[0.01], [0.01]], [3.0], min_log_odds_step=math.log(2))
    assert one[1, 0] == pytest.approx(0.02 / 1.01)
    assert math.exp(MIN_LOG_ODDS_STEP) == pytest.approx(1.1)


@pytest.mark.parametrize(
    ("raw", "horizons", "step", "named"),
    [
        ([[0.0, 0.0], [0.1, 0.2]], [1, 2], 0.1, "raw_pd"),
        ([[0.1, 1.0], [0.1, 0.2]], [1, 2], 0.1, "raw_pd"),
        ([[0.1, 5.0]], [1, 2], 0.1, "raw_pd"),
        ([[0.1, 0.2]], [1, 2, 3], 0.1, "raw_pd"),
        ([[0.1, 0.2]], [2, 1], 0.1, "horizons"),
        ([[0.1, 0.2]], [1, 2], 0.0, "min_log_odds_step"),
    ],
)
def test_monotone_default_table_refuses(
    raw: list[list[float]], horizons: list[float], step: float, named: str
) -> None:
    with pytest.raises(SpecError, match=named):
        monotone_default_table(raw, horizons, step)


# --- the map ----------------------------------------------------------------------------------


def test_pd_exactly_at_a_threshold_gets_that_rating(table: RatingTable) -> None:
    out = table.rate(0.0185, 0.0, 5, 5)
    assert (out.rating, out.by_pd, out.by_el, out.binding) == ("BBB", "BBB", "AAA", "pd")
    assert out.threshold == 0.0185
    assert out.margin_down == 0.0
    assert out.margin_up == pytest.approx(0.0185 - 0.01091)  # BBB+ (Baa1) year 5


def test_just_above_and_below_a_threshold(table: RatingTable) -> None:
    above = table.rate(0.0185 + 1e-9, 0.0, 5, 5)
    assert above.rating == "BBB-"
    assert above.margin_up == pytest.approx(1e-9, abs=1e-15)
    assert above.margin_down == pytest.approx(0.02926 - 0.0185 - 1e-9)  # Baa3 year 5
    below = table.rate(0.0185 - 1e-9, 0.0, 5, 5)
    assert below.rating == "BBB"
    assert below.margin_down == pytest.approx(1e-9, abs=1e-15)


def test_interpolation_between_horizons(table: RatingTable) -> None:
    expected = (0.01367 + 0.0185) / 2  # BBB at 4 and 5 years
    assert table.pd_at("BBB", 4.5) == pytest.approx(expected, abs=1e-15)
    assert table.el_at("BBB", 4.5) == pytest.approx(expected * LGD, abs=1e-12)
    assert table.pd_at("BBB", 4.25) == pytest.approx(0.75 * 0.01367 + 0.25 * 0.0185)
    assert table.rate(expected, 0.0, 4.5, 4.5).rating == "BBB"
    assert table.rate(expected * 1.001, 0.0, 4.5, 4.5).rating == "BBB-"


def test_below_the_first_horizon_linear_from_zero(table: RatingTable) -> None:
    assert table.pd_at("BB+", 0.5) == pytest.approx(0.00682 / 2, abs=1e-15)
    assert table.pd_at("BB+", 0.25) == pytest.approx(0.00682 / 4, abs=1e-15)
    assert table.rate(0.00682 / 2, 0.0, 0.5, 0.5).rating == "BB+"


def test_beyond_the_last_horizon_constant_hazard(table: RatingTable) -> None:
    p9, p10 = 0.03666, 0.04292  # BBB (Baa2) years 9 and 10
    expected = 1 - (1 - p10) * ((1 - p10) / (1 - p9)) ** 2  # 12 years
    assert table.pd_at("BBB", 12) == pytest.approx(expected, abs=1e-12)
    assert table.el_at("BBB", 12) == pytest.approx(expected * LGD, abs=1e-12)
    assert table.pd_at("BBB", 10) == p10
    assert table.pd_at("AAA", 15) == 0.00193  # flat since year 8: zero hazard
    assert table.rate(expected, 0.0, 12, 12).rating == "BBB"


def test_el_can_bind(table: RatingTable) -> None:
    el_a = table.el_at("A", 3)
    out = table.rate(0.0, el_a, 3, 3)
    assert (out.rating, out.by_pd, out.by_el, out.binding) == ("A", "AAA", "A", "el")
    assert out.threshold == el_a
    assert out.margin_down == 0.0
    assert out.margin_up == pytest.approx(el_a - table.el_at("A+", 3))
    # different horizons for the two measures
    out = table.rate(table.pd_at("BB", 2), table.el_at("B", 7), 2, 7)
    assert (out.rating, out.by_pd, out.by_el, out.binding) == ("B", "BB", "B", "el")


def test_both_measures_at_the_same_notch_bind_by_relative_headroom(table: RatingTable) -> None:
    pd_thr, el_thr = table.pd_at("BBB", 5), table.el_at("BBB", 5)
    pd_above, el_above = table.pd_at("BBB+", 5), table.el_at("BBB+", 5)
    tight_el = table.rate(pd_above + 0.1 * (pd_thr - pd_above), el_thr * 0.999, 5, 5)
    assert (tight_el.by_pd, tight_el.by_el, tight_el.binding) == ("BBB", "BBB", "el")
    assert tight_el.margin_down == pytest.approx(el_thr * 0.001)
    tight_pd = table.rate(pd_thr * 0.999, el_above + 0.1 * (el_thr - el_above), 5, 5)
    assert tight_pd.binding == "pd"
    assert tight_pd.threshold == pd_thr


def test_top_and_bottom_of_the_scale(table: RatingTable) -> None:
    top = table.rate(0.0, 0.0, 5, 5)
    assert top.rating == "AAA"
    assert top.margin_up is None
    assert top.margin_down == table.pd_at("AAA", 5)
    bottom = table.rate(0.99, 0.5, 5, 5)
    assert (bottom.rating, bottom.binding, bottom.threshold) == ("CC", "pd", 1.0)
    assert bottom.margin_down == pytest.approx(0.01)
    assert bottom.margin_up == pytest.approx(0.99 - table.pd_at("CCC-", 5))
    # between the CCC- and CC rows, and above the CC row: the worst symbol either way
    assert table.rate(0.6, 0.0, 5, 5).rating == "CC"
    assert table.rate(1.0, 1.0, 5, 5).margin_down == 0.0


def test_margins_signs_over_a_grid(table: RatingTable) -> None:
    for years in (0.5, 3.0, 10.0, 15.0):
        for p in np.linspace(0.0, 1.0, 41):
            for e in (0.0, p * 0.3, p * LGD):
                out = table.rate(p, e, years, years)
                assert out.margin_down >= 0
                assert out.margin_up is None or out.margin_up > 0
                assert (out.margin_up is None) == (out.rating == "AAA")
                worse = max(table.index(out.by_pd), table.index(out.by_el))
                assert table.index(out.rating) == worse
                measure = p if out.binding == "pd" else e
                assert out.threshold - out.margin_down == pytest.approx(measure, abs=1e-15)


def test_outcome_to_dict(table: RatingTable) -> None:
    out = table.rate(0.0185, 0.001, 5, 5)
    d = json.loads(json.dumps(out.to_dict()))
    assert d == {
        "rating": "BBB",
        "by_pd": "BBB",
        "by_el": "AA",  # EL at 5 years: AA+ 0.141% x 0.636 = 0.090% < 0.1% <= AA 0.128%
        "binding": "pd",
        "margin_up": out.margin_up,
        "margin_down": 0.0,
        "threshold": 0.0185,
    }
    assert json.loads(json.dumps(table.rate(0, 0, 1, 1).to_dict()))["margin_up"] is None


def test_index_and_notches(table: RatingTable) -> None:
    assert table.index("AAA") == 0
    assert table.index("CC") == 19
    assert table.notches_between("AAA", "BBB") == 8
    assert table.notches_between("BBB", "AAA") == -8
    assert table.notches_between("A", "A") == 0


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda t: t.index("Aaa"), "rating"),
        (lambda t: t.pd_at("AAA+", 5), "rating"),
        (lambda t: t.el_at("D", 5), "rating"),
        (lambda t: t.notches_between("XX", "AAA"), "a"),
        (lambda t: t.notches_between("AAA", "XX"), "b"),
    ],
)
def test_unknown_symbol_names_the_scale(
    call: Callable[[RatingTable], object], named: str, table: RatingTable
) -> None:
    with pytest.raises(SpecError) as err:
        call(table)
    message = str(err.value)
    assert message.startswith(f"{named}: unknown rating")
    assert "AAA, AA+, AA, AA-, A+" in message
    assert message.endswith("CCC-, CC)")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((-0.01, 0.0, 5, 5), "default_probability"),
        ((1.01, 0.0, 5, 5), "default_probability"),
        ((math.nan, 0.0, 5, 5), "default_probability"),
        (("0.1", 0.0, 5, 5), "default_probability"),
        ((True, 0.0, 5, 5), "default_probability"),
        ((None, 0.0, 5, 5), "default_probability"),
        ((0.1, -1e-9, 5, 5), "expected_loss"),
        ((0.1, math.inf, 5, 5), "expected_loss"),
        ((0.1, 2.0, 5, 5), "expected_loss"),
        ((0.1, 0.0, 0, 5), "pd_years"),
        ((0.1, 0.0, -3, 5), "pd_years"),
        ((0.1, 0.0, math.inf, 5), "pd_years"),
        ((0.1, 0.0, 5, 0.0), "el_years"),
        ((0.1, 0.0, 5, math.nan), "el_years"),
    ],
)
def test_bad_arguments_name_the_argument(
    args: tuple[object, ...], named: str, table: RatingTable
) -> None:
    with pytest.raises(SpecError, match=f"^{named}: "):
        table.rate(*args)  # type: ignore[arg-type]


def test_bad_horizon_in_lookups(table: RatingTable) -> None:
    with pytest.raises(SpecError, match=r"^years: must be a horizon in years > 0"):
        table.pd_at("AAA", 0)
    with pytest.raises(SpecError, match=r"^years: must be finite"):
        table.el_at("AAA", math.nan)


def test_table_is_immutable(table: RatingTable) -> None:
    with pytest.raises(ValueError, match="read-only"):
        table.pd[0, 0] = 0.5
    with pytest.raises(AttributeError):
        table.name = "x"  # type: ignore[misc]


def test_direct_construction_is_checked() -> None:
    good = {
        "name": "t",
        "source": "s",
        "vintage": "v",
        "scale": ("AAA", "BBB"),
        "horizons": [1.0, 2.0],
        "pd": [[0.01, 0.02], [0.03, 0.04]],
        "el": [[0.005, 0.01], [0.015, 0.02]],
    }
    t = RatingTable(**good)  # type: ignore[arg-type]
    assert t.pd_at("BBB", 2) == 0.04
    for change, named in [
        ({"scale": ("AAA",)}, "scale"),
        ({"scale": ("AAA", "AAA")}, "scale"),
        ({"horizons": [2.0, 1.0]}, "horizons"),
        ({"horizons": [0.0, 1.0]}, "horizons"),
        ({"pd": [[0.01, 0.02]]}, "pd"),
        ({"pd": [[0.01, 0.02], [0.005, 0.04]]}, "pd"),
        ({"pd": [[0.03, 0.02], [0.03, 0.04]]}, "pd"),
        ({"el": [[0.005, 0.01], [0.015, 0.05]]}, "el"),
    ]:
        with pytest.raises(SpecError, match=f"^{named}: "):
            RatingTable(**{**good, **change})  # type: ignore[arg-type]


def test_user_table_beyond_the_last_horizon_keeps_the_order() -> None:
    """A better rating whose last-interval hazard is higher would overtake a worse one
    far out; the map holds the worse rating at least at the better one."""
    t = RatingTable(
        name="t",
        source="s",
        vintage="v",
        scale=("A", "BBB"),
        horizons=np.array([1.0, 2.0]),
        pd=np.array([[0.01, 0.05], [0.06, 0.06]]),
        el=np.array([[0.005, 0.025], [0.03, 0.03]]),
    )
    assert t.pd_at("BBB", 10) == t.pd_at("A", 10) > 0.06
    assert t.rate(0.07, 0.0, 10, 10).rating == "A"


# --- user tables --------------------------------------------------------------------------------

GOOD = """\
# name: my agency table
# source: My Agency, idealised table 2025
# vintage: 2025 edition
rating,horizon_years,pd,el
BBB,1,0.002,0.001
BBB,3,0.008,0.004
AAA,1,0.0001,0.00005
AAA,3,0.0005,0.00025
# a comment between rows
A,1,0.0005,0.0003
A,3,0.002,0.001
"""


def _write(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_table_loads(tmp_path: Path) -> None:
    t = load_rating_table(_write(tmp_path, GOOD))
    assert t.scale == ("AAA", "A", "BBB")  # the symbol order, whatever the file's
    assert (t.name, t.source, t.vintage) == (
        "my agency table",
        "My Agency, idealised table 2025",
        "2025 edition",
    )
    assert np.array_equal(t.horizons, [1.0, 3.0])
    assert t.pd[2, 1] == 0.008
    assert t.el_at("A", 2) == pytest.approx(0.00065)
    assert t.rate(0.001, 0.0, 1, 1).rating == "BBB"
    plain = "\n".join(line for line in GOOD.splitlines() if not line.startswith("#"))
    t = load_rating_table(str(_write(tmp_path, plain, "plain.csv")))
    assert (t.name, t.vintage) == ("plain", "not stated")
    assert t.source.endswith("plain.csv")


def _bad_table(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(DataError) as err:
        load_rating_table(path)
    message = str(err.value)
    assert message.startswith(str(path))
    return message


HEAD = "# note\nrating,horizon_years,pd,el\n"  # data rows start on line 3


@pytest.mark.parametrize(
    ("rows", "where", "reason"),
    [
        ("AAB,1,0.001,0.0005\n", "row 3, column rating", "unknown rating 'AAB'"),
        ("AAA,1,0.001,0.0005\nAAA,1,0.002,0.001\n", "row 4, column rating", "rows 3 and 4"),
        (
            "AAA,1,0.001,0.0005\nBBB,1,0.0005,0.0002\n",
            "row 4, column pd",
            "better rating AAA (row 3); a worse",
        ),
        (
            "AAA,1,0.002,0.0005\nAAA,2,0.001,0.0005\nBBB,1,0.5,0.2\nBBB,2,0.6,0.3\n",
            "row 4, column pd",
            "below 0.002 at 1 years (row 3); cumulative rates cannot fall with the horizon",
        ),
        (
            "AAA,1,0.001,0.0005\nAAA,2,0.002,0.0001\nBBB,1,0.5,0.2\nBBB,2,0.6,0.3\n",
            "row 4, column el",
            "below 0.0005 at 1 years (row 3); cumulative",
        ),
        ("AAA,1,0.001,0.0008\nBBB,1,0.002,0.0005\n", "row 4, column el", "better rating"),
        ("AAA,1,1.5,0.5\n", "row 3, column pd", "decimals, not percent"),
        ("AAA,1,0.1,-0.1\n", "row 3, column el", "[0, 1]"),
        ("AAA,1,0.001,\n", "row 3, column el", "empty cell"),
        ("AAA,one,0.001,0.0005\n", "row 3, column horizon_years", "not a number"),
        ("AAA,0,0.001,0.0005\n", "row 3, column horizon_years", "must be > 0"),
        ("AAA,1,nan,0.0005\n", "row 3, column pd", "not a finite number"),
        ("AAA,1,0.001,0.002\n", "row 3, column el", "exceeds pd"),
        (",1,0.001,0.0005\n", "row 3, column rating", "empty cell"),
        ("AAA,1,0.001,0.0005,9\n", "row 3", "4 columns"),
    ],
)
def test_bad_user_table_names_row_and_column(
    tmp_path: Path, rows: str, where: str, reason: str
) -> None:
    message = _bad_table(tmp_path, HEAD + rows)
    assert where in message
    assert reason in message


def test_missing_horizon_for_a_rating(tmp_path: Path) -> None:
    message = _bad_table(tmp_path, HEAD + "AAA,1,0.001,0.0005\nAAA,2,0.002,0.001\nBBB,1,0.5,0.2\n")
    assert "column horizon_years, rating BBB: no row for 2 years" in message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("rating,horizon,pd,el\nAAA,1,0.1,0.05\n", "header: expected the columns"),
        ("rating,horizon_years,pd\nAAA,1,0.1\n", "missing el"),
        ("rating,horizon_years,pd,el,pd\nAAA,1,0.1,0.05,0.1\n", "columns given twice: pd"),
        ("rating,horizon_years,pd,el\n", "no rows"),
        ("", "empty"),
        ("rating,horizon_years,pd,el\nAAA,1,0.1,0.05\nAAA,2,0.2,0.1\n", "at least two ratings"),
    ],
)
def test_bad_user_table_shape(tmp_path: Path, text: str, reason: str) -> None:
    assert reason in _bad_table(tmp_path, text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_rating_table(tmp_path / "none.csv")


def test_every_cell_problem_reported_at_once(tmp_path: Path) -> None:
    message = _bad_table(tmp_path, HEAD + "AAB,1,0.1,0.05\nAAA,x,0.1,0.05\nBBB,1,7,0.05\n")
    assert "3 problems" in message
    for where in ("row 3, column rating", "row 4, column horizon_years", "row 5, column pd"):
        assert where in message


def test_doc_example_runs() -> None:
    text = (ROOT / "docs" / "rating.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/rating.md", "exec"), {})
