"""The shipped China samples and indicator files: units, frequencies, coverage, and what the
annual index shows on the extended data."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from greenabs import systemic
from greenabs.errors import DataError

HEADER = "year,indicator,value,unit,source\n"


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return f


def test_every_shipped_value_carries_a_source() -> None:
    root = Path(systemic.__file__).parents[1] / "data"
    for name in ("china_systemic_indicators.csv", "china_systemic_indicators_quarterly.csv"):
        rows = pd.read_csv(root / name, comment="#", dtype=str, keep_default_na=False)
        assert len(rows) > 250
        assert (rows["source"].str.strip() != "").all(), name
        assert not rows.duplicated(["year" if "year" in rows else "period", "indicator"]).any()


def test_rmb_rows_are_converted_at_the_annual_average_rate() -> None:
    data = systemic.china_sample()
    f = data.frame
    # FDI 2017: MOFCOM RMB 877.56 bn at the Fed H.10 2017 average of 6.7569 CNY per USD
    assert f.at["2017", "fdi"] == pytest.approx(877.56 / 6.7569, rel=1e-12)
    # trade balance 2015: customs RMB 3,690 bn at 6.2827
    assert f.at["2015", "trade_balance"] == pytest.approx(3690.0 / 6.2827, rel=1e-12)
    # USD rows are untouched
    assert f.at["2018", "fdi"] == pytest.approx(134.97)
    assert data.units["fdi"] == {"USD bn"}
    assert data.units["trade_balance"] == {"USD bn"}
    assert any("fdi: 5 values converted to USD bn" in n for n in data.notes)


def test_a_currency_mix_without_a_rate_names_the_row(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        HEADER + "2019,fdi,941.5,RMB bn,x\n2018,fdi,134.97,USD bn,x\n2018,usdcny_avg,6.609,,x\n",
    )
    with pytest.raises(
        DataError,
        match=rf"^{re.escape(str(f))}: row 2, column unit: fdi mixes currencies "
        r"\(RMB bn, USD bn\) and 2019 has no positive usdcny_avg",
    ):
        systemic.load_indicators(f)
    # with the rate of 2019 the same file loads, in USD
    ok = write(tmp_path, f.read_text() + "2019,usdcny_avg,6.9081,,x\n", "ok.csv")
    assert systemic.load_indicators(ok).frame.at["2019", "fdi"] == pytest.approx(941.5 / 6.9081)


def test_units_that_cannot_be_converted_are_refused_by_row(tmp_path: Path) -> None:
    f = write(tmp_path, HEADER + "2019,cpi,2.9,%,x\n2020,cpi,25,basis points,x\n")
    with pytest.raises(
        DataError,
        match=rf"^{re.escape(str(f))}: row 3, column unit: cpi is in 'basis points' here but "
        r"in '%' in row 2, column unit: one unit per indicator",
    ):
        systemic.load_indicators(f)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            HEADER + "2019,cpi,2.9,%,x\n2019Q3,cpi,3.0,%,x\n",
            r"row 3, column year: '2019Q3' is quarterly, but row 2, column year \('2019'\) is "
            r"annual: one frequency per file",
        ),
        (
            "period,cpi,gdp_growth\n2019Q1,2.9,6\n2019-04,3.0,6\n",
            r"row 3, column period: '2019-04' is monthly, but row 2, column period "
            r"\('2019Q1'\) is quarterly",
        ),
        ("period,cpi\n2019Q1,2.9\nQ2 2019,3.0\n", r"row 3, column period: 'Q2 2019' is not a"),
    ],
)
def test_mixed_frequencies_are_refused_by_row(tmp_path: Path, text: str, match: str) -> None:
    f = write(tmp_path, text)
    with pytest.raises(DataError, match=rf"^{re.escape(str(f))}: {match}"):
        systemic.load_indicators(f)


def test_mixed_units_built_in_python_are_refused_by_column() -> None:
    data = systemic.IndicatorData(
        frame=pd.DataFrame({"fdi": [1.0, 2.0, 3.0]}, index=["2020", "2021", "2022"]),
        frequency="annual",
        source="mine",
        units={"fdi": {"USD bn", "RMB bn"}},
    )
    with pytest.raises(DataError, match=r"^mine: column 'fdi': values mix units"):
        data.risk_measures()


def test_the_quarterly_sample() -> None:
    q = systemic.china_sample("quarterly")
    assert q.frequency == "quarterly"
    assert q.frame.index[0] == "2005Q1"
    assert q.frame.index[-1] == "2024Q4"
    assert q.frame["sse_volatility"].notna().all()
    with pytest.raises(DataError, match="unknown frequency 'monthly'"):
        systemic.china_sample("monthly")


def test_renormalised_aggregation_by_hand(tmp_path: Path) -> None:
    # equal weights on min-max values; 2003 lacks cpi: its composite is the mean of the
    # other three, its macro sub-index gdp alone
    f = write(
        tmp_path,
        "year,gdp_growth,cpi,rrr_large,sse_volatility\n"
        "2000,8,1,2,20\n2001,6,2,3,30\n2002,7,5,1,25\n2003,5,,4,40\n2004,9,3,2,10\n",
    )
    r = systemic.build_index(systemic.load_indicators(f), "equal", normalisation="minmax")
    # risk measures: -gdp, |cpi - 3|, rrr, vol, each min-max over 2000-2004
    z_gdp = (9 - np.array([8, 6, 7, 5, 9])) / 4
    z_cpi = np.array([2, 1, 2, np.nan, 0]) / 2
    z_rrr = (np.array([2, 3, 1, 4, 2]) - 1) / 3
    z_vol = (np.array([20, 30, 25, 40, 10]) - 10) / 30
    stacked = np.vstack([z_gdp, z_cpi, z_rrr, z_vol])
    expected = np.nanmean(stacked, axis=0)
    np.testing.assert_allclose(r.composite.to_numpy(), expected, rtol=1e-12)
    assert r.sub_indices.at["2003", "macro"] == pytest.approx(z_gdp[3])
    assert r.contributions.loc["2003"].sum() == pytest.approx(expected[3])
    assert r.contributions.at["2003", "cpi"] == 0.0
    cov = r.coverage
    assert cov.at["2003", "indicators"] == 3
    assert cov.at["2003", "missing"] == "cpi"
    assert cov.at["2003", "weight_share"] == pytest.approx(0.75)
    assert bool(cov.at["2003", "included"])
    assert any("2003 (3/4)" in n for n in r.notes)
    # a stricter minimum leaves 2003 out, and says so
    strict = systemic.build_index(systemic.load_indicators(f), "equal", period_coverage=1.0)
    assert "2003" not in strict.composite.index
    assert not bool(strict.coverage.at["2003", "included"])
    assert any("low coverage" in n and "2003" in n for n in strict.notes)


def test_a_period_without_a_dimension_is_left_out(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "year,gdp_growth,npl_ratio,sse_volatility\n"
        "2000,8,2,20\n2001,6,,30\n2002,7,1,25\n2003,5,4,40\n",
    )
    r = systemic.build_index(systemic.load_indicators(f), "equal", period_coverage=0.5)
    assert list(r.composite.index) == ["2000", "2002", "2003"]
    assert r.coverage.at["2001", "dimensions_without_data"] == "banking"


ANNUAL = systemic.build_index(systemic.china_sample(), "entropy")


def test_the_annual_index_runs_from_2006_with_eleven_indicators() -> None:
    r = ANNUAL
    assert len(r.weights) >= 10
    assert r.composite.index[0] == "2006"
    assert r.composite.index[-1] == "2024"
    assert len(r.composite) == 19
    # 2005 has 7 of the 11 indicators (no NPL, CAR, FDI or reserve change): under two thirds
    assert not bool(r.coverage.at["2005", "included"])
    assert r.coverage.at["2005", "indicators"] == 7
    assert (r.coverage.loc[r.composite.index, "share"] >= 2 / 3).all()
    assert set(r.sub_indices.columns) == set(systemic.DIMENSIONS)
    assert np.isfinite(r.composite.to_numpy()).all()
    excluded = " ".join(r.notes)
    for name in ("macro_climate_index", "sse_pe", "st_external_debt"):
        assert f"{name}: excluded" in excluded


@pytest.mark.parametrize("method", ["entropy", "critic", "pca", "equal"])
def test_known_stress_episodes_are_among_the_highest_years(method: str) -> None:
    """2008-09 (global crisis), 2015-16 (equity crash, reserve loss) and 2020 (Covid) each
    have a year in the top third of the annual index, with the defaults (nothing tuned)."""
    r = systemic.build_index(systemic.china_sample(), method)
    top = set(r.composite.sort_values(ascending=False).index[: math.ceil(len(r.composite) / 3)])
    for episode in (("2008", "2009"), ("2015", "2016"), ("2020",)):
        assert top & set(episode), (method, episode, sorted(top))
    # and calm years are not: 2010 and 2017-2019 stay out of the top third
    assert not top & {"2010", "2017", "2018", "2019"}, (method, sorted(top))


def test_hp_trend_deviation_is_statsmodels_hp_filter() -> None:
    from statsmodels.tsa.filters.hp_filter import hpfilter

    data = systemic.china_sample()
    x, notes = data.risk_measures()
    fai = data.frame["fai_growth"].dropna()
    cycle = np.asarray(hpfilter(fai.to_numpy(), lamb=6.25)[0])
    # FAI: above trend is riskier (+); CAR: below trend is riskier (-)
    np.testing.assert_allclose(x["fai_growth"].dropna().to_numpy(), cycle, rtol=1e-9, atol=1e-12)
    car = data.frame["car"].dropna()
    np.testing.assert_allclose(
        x["car"].dropna().to_numpy(),
        -np.asarray(hpfilter(car.to_numpy(), lamb=6.25)[0]),
        atol=1e-12,
    )
    assert any("lambda 6.25, Ravn and Uhlig 2002" in n for n in notes)
    assert systemic.HP_LAMBDA == {"annual": 6.25, "quarterly": 1600.0, "monthly": 129600.0}


def test_a_period_whose_indicators_carry_no_weight_is_named(tmp_path: Path) -> None:
    # subjective weights of 0 for the macro dimension (alpha 1: the subjective weights alone);
    # 2003 has only macro data
    f = write(
        tmp_path,
        "year,gdp_growth,rrr_large,sse_volatility\n"
        "2000,8,2,20\n2001,6,3,30\n2002,7,1,25\n2003,5,,\n2004,9,2,10\n",
    )
    data = systemic.load_indicators(f)
    with pytest.raises(
        DataError, match=rf"^{re.escape(str(f))}: period 2003: the indicators it has carry no"
    ):
        systemic.build_index(
            data,
            "entropy",
            subjective=[0.0, 1.0, 1.0],
            alpha=1.0,
            period_coverage=0.0,
            require_dimensions=False,
        )
