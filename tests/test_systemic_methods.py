"""Systemic-index methods on hand-computed cases: the one-sided HP filter, the ECDF burn-in
of the CISS, KLR's post-crisis window and composite signal, Markov switching on the quarterly
index, and the index chart by what it draws."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from greenabs import systemic
from greenabs.errors import DataError
from greenabs.systemic.charts import index_figure, period_span


def test_one_sided_hp_gap_uses_data_up_to_each_period() -> None:
    from statsmodels.tsa.filters.hp_filter import hpfilter

    x = pd.Series([25.7, 24.0, np.nan, 25.5, 30.1, 24.5, 23.6], index=list("abcdefg"))
    gap = systemic.hp_gap(x, 6.25, one_sided=True)
    seen = x.dropna().to_numpy()
    assert gap[["a", "b", "c"]].isna().all()  # fewer than 3 observations; c is missing
    for t, label in enumerate(["d", "e", "f", "g"], start=2):
        last = np.asarray(hpfilter(seen[: t + 1], lamb=6.25)[0])[-1]
        assert gap[label] == pytest.approx(last, abs=1e-12)
    two = systemic.hp_gap(x, 6.25)
    assert two["g"] == pytest.approx(np.asarray(hpfilter(seen, lamb=6.25)[0])[-1], abs=1e-12)
    assert two["a"] != pytest.approx(gap["d"])
    with pytest.raises(DataError, match="argument lam: must be a positive number"):
        systemic.hp_gap(x, 0.0)


def test_one_sided_trend_reaches_the_index() -> None:
    two = systemic.build_index(systemic.china_sample(), "entropy")
    one = systemic.build_index(systemic.china_sample(), "entropy", trend="one_sided")
    assert any("one-sided HP trend" in n for n in one.notes)
    data = systemic.china_sample()
    one_x, _ = data.risk_measures(trend="one_sided")
    two_x, _ = data.risk_measures()
    assert one_x["fai_growth"].iloc[:2].isna().all()  # the first two years have no trend yet
    # the last value is the same filter on the same data; earlier ones see less of it
    assert one_x["fai_growth"].iloc[-1] == pytest.approx(two_x["fai_growth"].iloc[-1])
    assert one_x["fai_growth"].iloc[10] != pytest.approx(two_x["fai_growth"].iloc[10])
    assert len(one.composite) <= len(two.composite)
    with pytest.raises(DataError, match="argument trend: unknown trend 'both'"):
        systemic.build_index(systemic.china_sample(), "entropy", trend="both")  # type: ignore[arg-type]


def test_ecdf_burn_in_by_hand() -> None:
    x = [3.0, 1.0, 2.0, 5.0, 0.5]
    # the first three ranked among themselves (3 -> 3/3, 1 -> 1/3, 2 -> 2/3), then recursive:
    # 5 is the highest of four, 0.5 the lowest of five
    np.testing.assert_allclose(systemic.ecdf(x, burn_in=3), [1.0, 1 / 3, 2 / 3, 1.0, 0.2])
    np.testing.assert_allclose(systemic.ecdf(x, burn_in=0), systemic.ecdf(x))
    np.testing.assert_allclose(systemic.ecdf(x, burn_in=9), systemic.ecdf(x, recursive=False))
    with pytest.raises(DataError, match="argument burn_in"):
        systemic.ecdf(x, burn_in=-1)


def test_the_ciss_no_longer_starts_at_one() -> None:
    # without a burn-in every indicator's first ECDF value is 1, so the CISS started at 1.000
    # whatever the data; with it the first year is ranked within the first three
    r = systemic.build_index(systemic.china_sample(), "ciss")
    assert r.composite.iloc[0] < 0.9
    assert any("burn-in of 3 periods" in n for n in r.notes)
    early = systemic.build_index(systemic.china_sample(), "ciss", burn_in=0)
    assert early.composite.iloc[0] == pytest.approx(1.0)
    assert r.composite.min() >= 0.0
    assert r.composite.max() <= 1.0


LABELS = [str(y) for y in range(2000, 2012)]


def test_post_crisis_window_leaves_the_aftermath_out_of_the_counts() -> None:
    # a crisis starts in 2004 and 2009; the index stays high for two years after each
    x = pd.Series([0.1, 0.2, 0.3, 0.8, 0.9, 0.9, 0.85, 0.2, 0.7, 0.9, 0.8, 0.1], index=LABELS)
    plain = systemic.signal_extraction(x, ["2004", "2009"], horizon=1, percentiles=[50.0])
    row = plain.table.iloc[0]
    # threshold: median of all 12 values (0.75); signals at 2003-06, 2009, 2010
    # pre-crisis (t..t+1): 2003, 2004, 2008, 2009 -> A = 3 (2003, 2004, 2009), C = 1 (2008)
    # B = 3 (2005, 2006, 2010), D = 5
    assert (row["A"], row["B"], row["C"], row["D"]) == (3, 3, 1, 5)
    assert row["noise_to_signal"] == pytest.approx((3 / 8) / (3 / 4))
    windowed = systemic.signal_extraction(
        x, ["2004", "2009"], horizon=1, percentiles=[50.0], post_crisis=2
    )
    row = windowed.table.iloc[0]
    # 2005, 2006, 2010, 2011 are left out; threshold: median of the other 8 values (0.5)
    # signals at 2003, 2004, 2008, 2009: A = 4, B = 0, C = 0, D = 4
    assert row["threshold"] == pytest.approx(0.5)
    assert (row["A"], row["B"], row["C"], row["D"], row["excluded"]) == (4, 0, 0, 4, 4)
    assert row["noise_to_signal"] == 0.0


def test_composite_signal_weights_by_inverse_noise_to_signal() -> None:
    good = [0.1, 0.2, 0.9, 0.3, 0.2, 0.1, 0.8, 0.2, 0.3, 0.1, 0.2, 0.1]
    noisy = [0.9, 0.1, 0.8, 0.2, 0.9, 0.1, 0.7, 0.1, 0.9, 0.2, 0.1, 0.8]
    useless = [0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9]
    x = pd.DataFrame({"good": good, "noisy": noisy, "useless": useless}, index=LABELS)
    comp = systemic.composite_signal(x, ["2003", "2007"], horizon=1, percentiles=[70.0])
    t = comp.indicators
    # good: threshold 70th pct = 0.27; signals 2002, 2003, 2006, 2008: A = 3 (2002, 2003,
    # 2006), B = 1 (2008), C = 1 (2007), D = 7 -> NSR = (1/8)/(3/4) = 1/6
    assert t.at["good", "noise_to_signal"] == pytest.approx(1 / 6)
    assert t.at["good", "weight"] == pytest.approx(6.0)
    # noisy: threshold 0.8; signals 2000, 2004, 2008, 2011 (> 0.8): none ahead of a crisis
    assert t.at["noisy", "noise_to_signal"] == math.inf
    assert not bool(t.at["noisy", "used"])
    assert not bool(t.at["useless", "used"])
    expected = 6.0 * (np.array(good) > t.at["good", "threshold"])
    np.testing.assert_allclose(comp.composite.to_numpy(), expected)


def test_a_perfect_indicator_gets_a_finite_weight() -> None:
    x = pd.DataFrame({"a": [0.0, 1.0, 0.0, 0.0, 1.0, 0.0]}, index=LABELS[:6])
    comp = systemic.composite_signal(x, ["2001", "2004"], horizon=0, percentiles=[50.0])
    # NSR 0 (A = 2, B = 0, D = 4) is taken at half a false alarm: (0.5 / 4) / (2 / 2)
    assert comp.indicators.at["a", "weight"] == pytest.approx(1 / 0.125)


def test_markov_switching_on_the_quarterly_index() -> None:
    q = systemic.china_sample("quarterly")
    r = systemic.build_index(
        q, "equal", min_coverage=0.3, period_coverage=0.0, require_dimensions=False
    )
    assert len(r.composite) == 80
    ms = systemic.markov_switching(r.composite)
    high = set(ms.index[ms["high_stress"]])
    # the 2008 crash and the 2015 crash are high-stress quarters; 2013 and 2017 are calm
    assert {"2008Q1", "2008Q3", "2015Q3"} <= high
    assert not high & {"2013Q2", "2017Q2", "2017Q3"}
    with pytest.raises(DataError, match="argument require_dimensions: ciss needs every"):
        systemic.build_index(q, "ciss", require_dimensions=False)


def test_period_spans() -> None:
    assert period_span("2008") == (2008.0, 2009.0)
    assert period_span("2015Q3") == (2015.5, 2015.75)
    assert period_span("2020-03") == pytest.approx((2020 + 2 / 12, 2020.25))


def test_index_chart_draws_on_a_numeric_time_axis() -> None:
    r = systemic.build_index(systemic.china_sample(), "entropy")
    stress = pd.Series(False, index=r.composite.index)
    stress[["2008", "2009", "2015"]] = True
    fig = index_figure(r, stress)
    composite = fig.data[0]
    assert composite.name == "composite"
    # every year at its own place: the middle of the year, in order
    np.testing.assert_allclose(composite.x, [int(p) + 0.5 for p in r.composite.index])
    np.testing.assert_allclose(composite.y, r.composite.to_numpy())
    assert [t.name for t in fig.data[1:]] == list(r.sub_indices.columns)
    # one band per stressed year, covering exactly that year
    bands = sorted((s.x0, s.x1) for s in fig.layout.shapes)
    assert bands == [(2008.0, 2009.0), (2009.0, 2010.0), (2015.0, 2016.0)]
    assert fig.layout.xaxis.type == "linear"
    assert tuple(fig.layout.xaxis.range) == (2006.0, 2025.0)


def test_quarterly_chart_bands_cover_their_quarters() -> None:
    q = systemic.china_sample("quarterly")
    r = systemic.build_index(
        q, "equal", min_coverage=0.3, period_coverage=0.0, require_dimensions=False
    )
    stress = pd.Series(r.composite.index == "2015Q3", index=r.composite.index)
    fig = index_figure(r, stress)
    assert [(s.x0, s.x1) for s in fig.layout.shapes] == [(2015.5, 2015.75)]
    assert fig.data[0].x[0] == pytest.approx(2005.125)
    assert tuple(fig.layout.xaxis.range) == (2005.0, 2025.0)
