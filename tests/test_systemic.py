"""Systemic-risk index: weighting methods by hand, invariances, CISS, early warning, data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenabs import systemic
from greenabs.errors import DataError

X = np.array([[1.0, 10.0, 3.0], [2.0, 30.0, 1.0], [4.0, 20.0, 2.0], [3.0, 40.0, 5.0]])


def test_entropy_weights_hand_worked() -> None:
    # min-max columns, p = z/sum z, e = -sum p ln p / ln n, w = (1-e)/sum(1-e) (shift 0)
    z = (X - X.min(0)) / (X.max(0) - X.min(0))
    p = z / z.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    e = -plogp.sum(0) / math.log(4)
    expected = (1 - e) / (1 - e).sum()
    # column 1: z = (0, 1/3, 1, 2/3), p = (0, 1/6, 1/2, 1/3) -> e = 0.7296...
    assert e[0] == pytest.approx(
        -(1 / 6 * math.log(1 / 6) + 0.5 * math.log(0.5) + 1 / 3 * math.log(1 / 3)) / math.log(4),
        rel=1e-12,
    )
    np.testing.assert_allclose(systemic.entropy_weights(X, shift=0.0), expected, rtol=1e-12)
    assert systemic.entropy_weights(X).sum() == pytest.approx(1.0)


def test_critic_weights_hand_worked() -> None:
    z = (X - X.min(0)) / (X.max(0) - X.min(0))
    sd = z.std(0, ddof=1)
    r = np.corrcoef(z, rowvar=False)
    c = sd * (1 - r).sum(0)
    np.testing.assert_allclose(systemic.critic_weights(X), c / c.sum(), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.01, 1000.0), st.floats(-1000.0, 1000.0), st.integers(0, 2))
def test_rescaling_an_indicator_changes_no_weight(scale: float, shift: float, col: int) -> None:
    y = X.copy()
    y[:, col] = y[:, col] * scale + shift
    np.testing.assert_allclose(systemic.entropy_weights(y), systemic.entropy_weights(X), rtol=1e-9)
    np.testing.assert_allclose(systemic.critic_weights(y), systemic.critic_weights(X), rtol=1e-9)


def test_reversing_direction_mirrors_contribution() -> None:
    # min-max of -x is 1 - minmax(x): the indicator's contribution mirrors within its range
    z = systemic.minmax(X)
    zr = systemic.minmax(-X)
    np.testing.assert_allclose(zr, 1 - z, atol=1e-15)
    # the entropy weights of the reversed column change, but the profile mirrors exactly
    assert not np.allclose(systemic.entropy_weights(-X), systemic.entropy_weights(X))


def test_ecdf() -> None:
    x = [3.0, 1.0, 4.0, 1.0, 5.0]
    # full sample: rank / n with ties at their highest rank
    np.testing.assert_allclose(systemic.ecdf(x, recursive=False), [0.6, 0.4, 0.8, 0.4, 1.0])
    # recursive: each value ranked only among those up to it (no look-ahead)
    np.testing.assert_allclose(systemic.ecdf(x), [1.0, 0.5, 1.0, 0.5, 1.0])
    out = systemic.ecdf([1.0, np.nan, 2.0])
    assert np.isnan(out[1])
    assert out[2] == 1.0


def test_ciss_with_known_correlations() -> None:
    t = np.linspace(0, 1, 50)
    s = 0.5 + 0.4 * np.sin(6 * t + 0.3)
    # identical sub-indices: correlation 1, CISS = (w . s)^2
    both = np.column_stack([s, s])
    idx, corr = systemic.ciss(both)
    np.testing.assert_allclose(corr[:, 0, 1], 1.0, atol=1e-12)
    np.testing.assert_allclose(idx, (0.5 * s + 0.5 * s) ** 2, rtol=1e-12)
    # mirror images around 0.5: correlation -1, CISS = (w1 s1 - w2 s2)^2
    anti = np.column_stack([s, 1 - s])
    idx2, corr2 = systemic.ciss(anti)
    np.testing.assert_allclose(corr2[:, 0, 1], -1.0, atol=1e-12)
    np.testing.assert_allclose(idx2, (0.5 * s - 0.5 * (1 - s)) ** 2, atol=1e-12)


def test_ahp_consistent_and_inconsistent() -> None:
    w = np.array([0.5, 0.3, 0.2])
    consistent = w[:, None] / w[None, :]
    got, cr = systemic.ahp_weights(consistent)
    np.testing.assert_allclose(got, w, rtol=1e-12)
    assert cr == pytest.approx(0.0, abs=1e-12)
    m = np.array([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]])
    lam = np.max(np.linalg.eigvals(m).real)
    _, cr = systemic.ahp_weights(m)
    assert cr == pytest.approx((lam - 3) / 2 / 0.58, rel=1e-12)  # Saaty RI(3) = 0.58
    bad = m.copy()
    bad[2, 0] = 4
    with pytest.raises(DataError, match=r"cell \(0, 2\): not reciprocal"):
        systemic.ahp_weights(bad)


def test_pca_weights() -> None:
    rng = np.random.default_rng(3)
    f = rng.normal(size=200)
    y = np.column_stack(
        [f + 0.1 * rng.normal(size=200), f + 0.1 * rng.normal(size=200), rng.normal(size=200)]
    )
    w = systemic.pca_weights(y)
    assert w.sum() == pytest.approx(1.0)
    assert w[0] == pytest.approx(w[1], rel=0.1)


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        (np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 3.0]]), "column 0.*constant"),
        (np.array([[1.0, 2.0]]), "at least 2 periods"),
        (np.array([[1.0, np.nan], [2.0, 3.0], [3.0, 1.0]]), "column 1.*missing"),
    ],
)
def test_weighting_rejects_bad_matrices(matrix: np.ndarray, match: str) -> None:
    with pytest.raises(DataError, match=match):
        systemic.entropy_weights(matrix)


def test_markov_switching_finds_simulated_regimes() -> None:
    rng = np.random.default_rng(7)
    regime = np.zeros(120, dtype=bool)
    regime[30:50] = True
    regime[80:95] = True
    y = np.where(regime, rng.normal(3.0, 0.8, 120), rng.normal(0.0, 0.5, 120))
    ms = systemic.markov_switching(pd.Series(y))
    assert (ms["high_stress"].to_numpy() == regime).mean() > 0.95


def test_signal_extraction_counts() -> None:
    x = pd.Series(
        [0.1, 0.2, 0.9, 0.3, 0.2, 0.8, 0.1, 0.2], index=[str(y) for y in range(2010, 2018)]
    )
    res = systemic.signal_extraction(x, ["2013", "2016"], horizon=1, percentiles=[80.0])
    row = res.table.iloc[0]
    # threshold = 80th percentile (0.44): signals at 2012 and 2015, a year before each crisis
    assert (row["A"], row["B"]) == (2, 0)
    assert row["noise_to_signal"] == 0.0
    with pytest.raises(DataError, match="not in the data"):
        systemic.signal_extraction(x, ["1999"])


def test_threshold_flags() -> None:
    x = pd.Series([1.0, 1.0, 1.0, 10.0])
    assert systemic.threshold_flags(x, k=1.0).tolist() == [False, False, False, True]
    assert systemic.threshold_flags(x, percentile=50).tolist() == [False, False, False, True]


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    f = tmp_path / name
    f.write_text(text)
    return f


def test_loading_wide_data_and_errors(tmp_path: Path) -> None:
    good = write(
        tmp_path,
        "period,gdp_growth,npl_ratio,sse_volatility,fx_reserves\n"
        "2020Q1,5,1.8,20,3000\n2020Q2,6,1.9,25,3100\n2020Q3,4,,30,3050\n"
        "2020Q4,7,1.7,18,3200\n2021Q1,6.5,1.6,22,3250\n",
    )
    d = systemic.load_indicators(good)
    assert d.frequency == "quarterly"
    miss = d.missing().set_index("indicator")
    assert miss.loc["npl_ratio", "missing_periods"] == "2020Q3"
    with pytest.raises(DataError, match="column 'gdp_grwth': unknown indicator"):
        systemic.load_indicators(write(tmp_path, "period,gdp_grwth\n2020,5\n"))
    with pytest.raises(DataError, match="row 3, column 'cpi': not a number: 'n/a'"):
        systemic.load_indicators(write(tmp_path, "year,cpi\n2020,2\n2021,n/a\n"))
    # missing values are dropped and reported unless a named fill is asked for
    r = systemic.build_index(d, "equal", min_coverage=0.5)
    assert "2020Q3" not in r.composite.index
    assert any("left out" in n for n in r.notes)
    filled = systemic.build_index(d, "equal", fill="interpolate")
    assert "2020Q3" in filled.composite.index
    assert any("filled by interpolate" in n for n in filled.notes)
    with pytest.raises(DataError, match="unknown method 'guess'"):
        systemic.build_index(d, "equal", fill="guess")


def test_constant_and_short_data(tmp_path: Path) -> None:
    flat = systemic.load_indicators(
        write(tmp_path, "year,gdp_growth,cpi\n2020,5,2\n2021,6,2\n2022,7,2\n2023,4,2\n")
    )
    with pytest.raises(DataError, match=r"cpi.*constant"):
        systemic.build_index(flat, "entropy")
    short = systemic.load_indicators(write(tmp_path, "year,gdp_growth,cpi\n2020,5,2\n2021,6,3\n"))
    with pytest.raises(DataError, match="needs at least 4 periods with enough data"):
        systemic.build_index(short, "pca")


def test_china_sample_methods_and_honest_gaps() -> None:
    data = systemic.china_sample()
    for method in ("entropy", "critic", "pca", "equal", "ciss"):
        r = systemic.build_index(data, method)
        assert r.weights.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(r.contributions.sum(axis=1), r.composite, atol=1e-12)
        assert set(r.sub_indices.columns) == set(systemic.DIMENSIONS)
    notes = " ".join(r.notes)
    # RMB rows are converted at the annual average USD/CNY rate, not excluded
    assert "fdi: 5 values converted to USD bn at usdcny_avg" in notes
    assert "trade_balance: 4 values converted to USD bn at usdcny_avg" in notes
    assert {"fdi", "trade_balance"} <= set(r.weights.index)
    ahp = np.array([[1, 1 / 2, 1, 2], [2, 1, 2, 3], [1, 1 / 2, 1, 2], [1 / 2, 1 / 3, 1 / 2, 1]])
    r = systemic.build_index(data, "ahp", ahp_matrix=ahp)
    assert r.dimension_weights.idxmax() == "banking"
    assert r.consistency_ratio is not None
    assert r.consistency_ratio < 0.1
    mixed = systemic.build_index(data, "entropy", subjective=[0.25, 0.25, 0.25, 0.25], alpha=0.5)
    assert mixed.weights.sum() == pytest.approx(1.0)


def test_stress_link_to_deal_and_bank() -> None:
    import greenabs
    from greenabs.bank import load_bank, ratios
    from tests.conftest import EXAMPLES, make_deal

    r = systemic.build_index(systemic.china_sample(), "entropy")
    top = r.composite.idxmax()
    level = systemic.stress_level(r, str(top))
    assert 0.5 < level < 1.0
    m = systemic.StressMapping()
    shocks = m.shocks(level)
    assert shocks["default_multiplier"] > 2
    assert shocks["factor_shift"] == pytest.approx(float(__import__("scipy").stats.norm.ppf(level)))
    deal = make_deal()
    hit = m.stressed_deal(deal, level)
    assert hit.assumptions.default.cdr == pytest.approx(0.01 * shocks["default_multiplier"])
    assert (
        greenabs.run(hit).summary()["cumulative_loss"]
        > greenabs.run(deal).summary()["cumulative_loss"]
    )
    bank = load_bank(EXAMPLES / "bank_mid_sized.yaml")
    assert ratios(m.stressed_bank(bank, level)).z_score < ratios(bank).z_score


def test_annualised_volatility() -> None:
    closes = pd.Series(
        100 * np.exp(np.cumsum(np.r_[0.0, np.full(252, 0.01) * (-1) ** np.arange(252)]))
    )
    vol = systemic.annualised_volatility(closes)
    assert vol.iloc[0] == pytest.approx(0.01 * math.sqrt(252), rel=0.01)


def test_normalisation_choice() -> None:
    data = systemic.china_sample()
    base = systemic.build_index(data, "entropy")
    on_ecdf = systemic.build_index(data, "entropy", normalisation="ecdf")
    pd.testing.assert_series_equal(base.weights, on_ecdf.weights)
    z = on_ecdf.normalised.to_numpy()
    seen = z[~np.isnan(z)]  # missing values stay missing
    assert seen.size > 0.8 * z.size
    assert ((seen > 0) & (seen <= 1)).all()
    with pytest.raises(DataError, match="unknown normalisation 'rank'"):
        systemic.build_index(data, "entropy", normalisation="rank")
