"""Hostile input to the bank and systemic modules (issue 13): every bad bank file, indicator
table, AHP matrix or flag ends in a SpecError/DataError naming the file (or the argument), the
field or cell, and the reason; never a traceback, a hang or a silent NaN."""

from __future__ import annotations

import copy
import math
import re
import sys
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenabs.bank import (
    RetainedPiece,
    Sale,
    apply_sale,
    load_bank,
    parse_bank,
    project,
    ratios,
    sec_erba_risk_weight,
    sec_irba_risk_weight,
    sec_sa_risk_weight,
)
from greenabs.errors import DataError, SpecError
from tests.conftest import EXAMPLES

SRC = Path(__file__).resolve().parents[1] / "src" / "greenabs"
BANK_FILE = EXAMPLES / "bank_mid_sized.yaml"
EXAMPLE: dict[str, Any] = yaml.safe_load(BANK_FILE.read_text())


def example(**edits: Any) -> dict[str, Any]:
    """A deep copy of the example bank's data with top-level fields replaced."""
    d = copy.deepcopy(EXAMPLE)
    d.update(copy.deepcopy(edits))
    return d


def write_yaml(tmp_path: Path, data: dict[str, Any], name: str = "bank.yaml") -> Path:
    f = tmp_path / name
    f.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return f


def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """Run ``greenabs ARGS`` in this process; an unexpected exception fails the test."""
    from greenabs.cli import main

    monkeypatch.setattr(sys, "argv", ["greenabs", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    flat = " ".join(captured.err.split())
    return code, captured.out, flat


# ----------------------------------------------------------------------------------- bank


def test_partial_regulation_tables_merge_over_the_defaults() -> None:
    bank = parse_bank(example(regulation={"runoff": {"corporate": 0.3}, "haircut": {"2B": 0.4}}))
    base = parse_bank(example())
    assert bank.regulation.runoff["corporate"] == 0.3
    assert bank.regulation.haircut == {"1": 0.0, "2A": 0.15, "2B": 0.4}
    for key, value in base.regulation.runoff.items():
        if key != "corporate":
            assert bank.regulation.runoff[key] == value
    assert bank.regulation.asf == base.regulation.asf
    # a lower corporate run-off lowers the outflows, so the LCR rises
    assert ratios(bank).lcr > ratios(base).lcr
    # a YAML integer key (haircut level 1) is the string key "1"
    assert parse_bank(example(regulation={"haircut": {1: 0.0}})).regulation.haircut["1"] == 0.0


def test_unknown_regulation_key_is_named() -> None:
    with pytest.raises(SpecError, match=r"bank.yaml: regulation.runoff: unknown key 'corprate'"):
        parse_bank(example(regulation={"runoff": {"corprate": 0.4}}), "bank.yaml")


def test_projection_records_insolvency_instead_of_crashing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    d = example()
    d["income"]["operating_expense"] = 30_000_000_000
    pr = project(parse_bank(d), quarters=20)
    for model, frame in (("OTH", pr.oth), ("OTD", pr.otd)):
        failure = pr.failure(model)
        assert failure is not None
        assert failure.kind == "failed"
        assert "CET1 capital after deductions would fall" in failure.reason
        # the path stops at the last quarter the bank stood
        assert frame["quarter"].iloc[-1] == failure.quarter - 1 < 20
        kinds = [e.kind for e in pr.events if e.model == model]
        assert kinds == ["below requirement", "below minimum", "failed"]
    cmp = pr.compare().set_index("metric")
    assert cmp.loc["quarter", "OTH"] == pr.failure("OTH").quarter - 1  # type: ignore[union-attr]
    code, out, err = cli(
        capsys, monkeypatch, "bank", str(write_yaml(tmp_path, d)), "--horizon-quarters", "20"
    )
    assert code == 0, err
    assert "OTD failed in quarter" in out
    assert "below minimum" in out


def test_breaches_are_recorded_and_the_path_continues() -> None:
    d = example()
    d["income"]["operating_expense"] = 9_000_000_000
    pr = project(parse_bank(d), quarters=12)
    assert len(pr.oth) == 13
    assert pr.failure("OTH") is None
    below = [e for e in pr.events if e.model == "OTH" and e.kind == "below requirement"]
    assert len(below) == 1
    q = below[0].quarter
    assert pr.oth["cet1_ratio"].iloc[q] < pr.oth["cet1_requirement"].iloc[q]
    assert pr.oth["cet1_ratio"].iloc[q - 1] >= pr.oth["cet1_requirement"].iloc[q - 1]


def test_a_healthy_bank_has_no_events() -> None:
    pr = project(parse_bank(example()), quarters=8)
    assert pr.events == ()
    assert len(pr.oth) == len(pr.otd) == 9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    opex=st.floats(0, 5e10),
    growth=st.floats(-0.5, 1.0),
    payout=st.floats(0, 1),
    pd_=st.floats(0, 1),
    share=st.floats(0, 1),
    every=st.integers(1, 8),
)
def test_any_projection_ends_in_a_result(
    opex: float, growth: float, payout: float, pd_: float, share: float, every: int
) -> None:
    d = example()
    d["income"]["operating_expense"] = opex
    d["income"]["payout_ratio"] = payout
    d["loans"][1]["pd"] = pd_
    d["projection"].update(loan_growth=growth, share_securitised=share, issue_every_quarters=every)
    pr = project(parse_bank(d), quarters=12)
    for model, frame in (("OTH", pr.oth), ("OTD", pr.otd)):
        failure = pr.failure(model)
        last = 12 if failure is None else failure.quarter - 1
        assert frame["quarter"].tolist() == list(range(last + 1))
        for col in ("total_assets", "rwa", "cet1_ratio", "net_income", "z_score", "lcr"):
            assert np.isfinite(frame[col].to_numpy(dtype=float)).all(), (model, col)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("cash_reserves",), math.inf),
        (("income", "other_income"), math.inf),
        (("income", "operating_expense"), math.nan),
        (("loans", 0, "yield"), math.nan),
        (("capital", "cet1"), -math.inf),
        (("projection", "loan_growth"), math.nan),
        (("securitisation", "price"), math.inf),
        (("regulation", "runoff", "corporate"), math.nan),
        (("regulation", "min_lcr"), math.inf),
    ],
)
def test_nan_and_infinite_numbers_are_refused(path: tuple[Any, ...], value: float) -> None:
    d = example()
    target: Any = d
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target[key]
    target[path[-1]] = value
    where = ".".join(str(k) for k in path).replace(".0.", "[0].")
    with pytest.raises(SpecError, match=rf"bank.yaml: .*{re.escape(where)}: .*finite"):
        parse_bank(d, "bank.yaml")


def test_infinite_assets_and_liabilities_do_not_balance() -> None:
    d = example(cash_reserves=math.inf, other_liabilities=math.inf)
    with pytest.raises(SpecError, match="cash_reserves: Input should be a finite number"):
        parse_bank(d, "bank.yaml")
    # huge but finite amounts are bounded, so no sum overflows to inf - inf
    d = example(cash_reserves=1e308, other_liabilities=1e308)
    with pytest.raises(SpecError, match="cash_reserves: Input should be less than or equal to"):
        parse_bank(d, "bank.yaml")


def test_an_all_zero_bank_is_refused() -> None:
    d = example(cash_reserves=0, hqla=[], securities=[], other_assets=0, wholesale=[])
    d["loans"] = [{**d["loans"][0], "balance": 0, "provisions": 0}]
    d["deposits"] = [{**d["deposits"][0], "balance": 0}]
    d["other_liabilities"] = 0
    d["capital"] = {"cet1": 0}
    d.pop("securitisation")
    with pytest.raises(SpecError, match=r"bank.yaml: balance sheet: total assets are zero"):
        parse_bank(d, "bank.yaml")


@pytest.mark.parametrize("when", ["9999-12-31", "2201-01-01", "1899-12-31"])
def test_dates_outside_the_calendar_are_refused(when: str) -> None:
    with pytest.raises(SpecError, match=r"bank.yaml: date: Input should be"):
        parse_bank(example(date=when), "bank.yaml")


def test_the_last_date_projects_the_longest_horizon() -> None:
    bank = parse_bank(example(date="2200-12-31"))
    pr = project(bank, quarters=200)
    assert str(pr.oth["date"].iloc[-1]) == "2250-12-31"
    with pytest.raises(SpecError, match="argument quarters: must be a whole number from 1 to 200"):
        project(bank, quarters=201)
    with pytest.raises(SpecError, match="argument quarters"):
        project(bank, quarters=2.5)  # type: ignore[arg-type]


def test_python_api_errors_name_the_argument() -> None:
    with pytest.raises(SpecError, match=r"^argument data: a bank file must be a mapping"):
        parse_bank([1, 2])
    bank = parse_bank(example())
    with pytest.raises(SpecError, match=r"^argument book: unknown loan book 'nope' \(known: "):
        bank.book("nope")
    sale = Sale(book="green loans", pool=math.nan, proceeds=1.0)
    with pytest.raises(SpecError, match=r"^argument sale: pool: must be a finite number"):
        apply_sale(bank, sale)
    sale = Sale(book="nope", pool=1.0, proceeds=1.0)
    with pytest.raises(SpecError, match=r"^argument sale: book: unknown loan book 'nope'"):
        apply_sale(bank, sale)
    sale = Sale(
        book="green loans",
        pool=1e9,
        proceeds=9e8,
        retained=(RetainedPiece("A", 1e8, 1e8, math.inf, 1.0),),
    )
    with pytest.raises(SpecError, match=r"retained\[0\].yield_: must be a finite number"):
        apply_sale(bank, sale)
    with pytest.raises(SpecError, match=r"^argument proceeds_to: unknown destination 'bank'"):
        apply_sale(bank, Sale(book="green loans", pool=1.0, proceeds=1.0), proceeds_to="bank")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sec_sa_risk_weight(math.nan, 0.0, 0.1, 0.2), "argument k_sa: must be a finite"),
        (lambda: sec_sa_risk_weight(0.08, 0.0, math.nan, 0.2), "argument attachment: must be"),
        (
            lambda: sec_erba_risk_weight("AAA", senior=True, maturity_years=math.nan, thickness=1),
            "argument maturity_years: must be a finite",
        ),
        (
            lambda: sec_irba_risk_weight(
                0.05, 0.1, 0.2, n=math.nan, lgd=0.4, maturity_years=1, retail=False, senior=True
            ),
            "argument n: must be a finite",
        ),
        (
            lambda: sec_irba_risk_weight(
                0.05, 0.1, 0.2, n=10, lgd=0.4, maturity_years=math.inf, retail=False, senior=True
            ),
            "argument maturity_years: must be a finite",
        ),
    ],
)
def test_capital_functions_refuse_nan(call: Any, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        call()


def test_no_placeholder_sources_in_bank() -> None:
    pattern = re.compile(r"""["']<[a-z_]+>["']""")
    files = [*sorted((SRC / "bank").glob("*.py")), SRC / "cli" / "bank.py"]
    found = [f"{f.name}: {m.group()}" for f in files for m in pattern.finditer(f.read_text())]
    assert found == []


def test_deal_results_are_typed() -> None:
    from greenabs.bank import projection, transaction
    from greenabs.results import RunResult

    ns = {"RunResult": RunResult}
    for fn in (transaction.sale_from_deal, transaction.securitise):
        assert typing.get_type_hints(fn, localns=ns)["result"] is RunResult
    assert typing.get_type_hints(projection.project, localns=ns)["result"] == RunResult | None


def test_cli_overrides_name_the_file_and_flag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(capsys, monkeypatch, "bank", str(BANK_FILE), "--npl-share", "2")
    assert code == 1
    assert f"{BANK_FILE} with --npl-share 2.0: securitisation.npl_share:" in err
    code, _, err = cli(capsys, monkeypatch, "bank", str(BANK_FILE), "--face-per-pool", "nan")
    assert code == 1
    assert "securitisation.face_per_pool" in err
    assert "<" not in err


def test_cli_pairing_a_deal_without_securitisation_names_the_bank_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    d = example()
    d.pop("securitisation")
    f = write_yaml(tmp_path, d)
    deal = EXAMPLES / "green_loans_2026_1.yaml"
    code, _, err = cli(capsys, monkeypatch, "bank", str(f), "--deal", str(deal))
    assert code == 1
    assert f"{f}: securitisation: pairing a deal needs a securitisation section" in err


def test_bank_csv_section_with_nan_names_row_and_column(tmp_path: Path) -> None:
    d = example()
    (tmp_path / "deposits.csv").write_text(
        "type,balance,rate\nretail_stable,60000000000,0.016\ncorporate,nan,0.01\n"
    )
    d["deposits"] = "deposits.csv"
    with pytest.raises(SpecError, match=r"deposits.csv: row 3, column balance: .*finite"):
        load_bank(write_yaml(tmp_path, d))


# ------------------------------------------------------------------------------- systemic

WIDE_HEADER = "year,gdp_growth,npl_ratio,sse_volatility,fx_reserves,cpi,car"


def wide_rows(n: int = 16, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [
        f"{2000 + i},{rng.normal(7, 1):.3f},{rng.normal(2, 0.3):.3f},{rng.normal(25, 5):.3f},"
        f"{rng.normal(3000, 100):.1f},{rng.normal(2, 1):.3f},{rng.normal(13, 1):.3f}"
        for i in range(n)
    ]


def write_csv(tmp_path: Path, rows: list[str], name: str = "data.csv") -> Path:
    f = tmp_path / name
    f.write_text("\n".join([WIDE_HEADER, *rows]) + "\n", encoding="utf-8")
    return f


def set_cell(rows: list[str], row: int, col: int, text: str) -> list[str]:
    out = list(rows)
    cells = out[row].split(",")
    cells[col] = text
    out[row] = ",".join(cells)
    return out


AHP_GOOD = "1,1/2,1,2\n2,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,1\n"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("1,1/0,1,2\n0,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,1\n", r"row 1, column 2: division by zero"),
        ("1,inf,1,2\n0,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,1\n", r"row 1, column 2: not a finite"),
        ("1,2,1,2\nnan,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,1\n", r"row 2, column 1: not a finite"),
        (
            "1,1e300,1,2\n1e-300,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,1\n",
            r"row 1, column 2: 1e\+300 is outside Saaty's scale",
        ),
        ("1,1/2,1,2\n2,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,x\n", r"row 4, column 4: not a number"),
        ("1,1/2,1,2\n2,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,2\n", r"row 4, column 4: the diagonal"),
        ("1,2,1,2\n2,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,1\n", r"row 1, column 2: not reciprocal"),
        ("1,2\n1/2,1\n1,1\n", r"the matrix must be square, got 3 rows and 2 columns"),
        ("", r"cannot read the matrix"),
    ],
)
def test_bad_ahp_matrix_files_name_the_cell(tmp_path: Path, text: str, match: str) -> None:
    from greenabs import systemic

    f = tmp_path / "ahp.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{re.escape(str(f))}: {match}"):
        systemic.load_ahp_matrix(f)


def test_ahp_matrix_with_division_by_zero_from_the_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    f = tmp_path / "ahp.csv"
    f.write_text("1,1/0,1,2\n0,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,1\n")
    code, _, err = cli(
        capsys, monkeypatch, "systemic", "china", "--method", "ahp", "--ahp-matrix", str(f)
    )
    assert code == 1
    assert f"{f}: row 1, column 2: division by zero: '1/0'" in err


def test_ahp_weights_refuse_infinite_and_name_the_source() -> None:
    from greenabs import systemic

    m = np.ones((3, 3))
    m[0, 1], m[1, 0] = np.inf, 0.0
    with pytest.raises(DataError, match=r"^argument matrix: cell \(0, 1\): must be a positive"):
        systemic.ahp_weights(m)
    with pytest.raises(DataError, match=r"^my.csv: the AHP matrix must be square"):
        systemic.ahp_weights(np.ones(3), source="my.csv")
    with pytest.raises(DataError, match=r"names: 2 names for a 3x3 matrix"):
        systemic.ahp_weights(np.ones((3, 3)), names=["a", "b"])


def test_huge_magnitudes_give_finite_weights_with_every_method(tmp_path: Path) -> None:
    from greenabs import systemic

    rows = wide_rows()
    rows = set_cell(rows, 2, 1, "1e308")
    rows = set_cell(rows, 5, 1, "-1e308")
    rows = set_cell(rows, 3, 2, "-1.7e308")
    rows = set_cell(rows, 7, 3, "1.7e308")
    data = systemic.load_indicators(write_csv(tmp_path, rows))
    for method in ("entropy", "critic", "pca", "equal", "ciss"):
        for norm in (None, "minmax", "zscore", "ecdf"):
            if method == "ciss" and norm is not None:
                continue
            r = systemic.build_index(data, method, normalisation=norm)
            for part in (r.composite, r.weights, r.contributions, r.sub_indices):
                assert np.isfinite(part.to_numpy(dtype=float)).all(), (method, norm)
            assert float(r.weights.sum()) == pytest.approx(1.0)
    m = np.array([[1e308, -1e308], [-1e308, 1e308], [1e308, 1e308], [-1e308, -1e308]])
    for fn in (systemic.entropy_weights, systemic.critic_weights, systemic.pca_weights):
        np.testing.assert_allclose(fn(m), [0.5, 0.5])
    np.testing.assert_allclose(systemic.zscore(m), np.sign(m))


def test_scaling_is_exact_on_ordinary_data() -> None:
    from greenabs import systemic

    rng = np.random.default_rng(5)
    x = rng.normal(size=(12, 4)) * [1.0, 1e3, 1e-3, 7.0]
    lo, hi = x.min(axis=0), x.max(axis=0)
    assert (systemic.minmax(x) == (x - lo) / (hi - lo)).all()


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.lists(
            st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=3, max_size=3
        ),
        min_size=4,
        max_size=8,
    )
)
def test_weights_of_any_finite_matrix_are_finite_or_refused(rows: list[list[float]]) -> None:
    from greenabs import systemic

    x = np.array(rows)
    for fn in (systemic.entropy_weights, systemic.critic_weights, systemic.pca_weights):
        try:
            w = fn(x)
        except DataError as exc:
            assert "constant" in str(exc)
            continue
        assert np.isfinite(w).all()
        assert (w >= 0).all()
        assert w.sum() == pytest.approx(1.0)
    for f in (systemic.minmax, systemic.zscore):
        assert np.isfinite(f(x)).all()


def test_repeated_period_in_a_wide_file_is_named(tmp_path: Path) -> None:
    from greenabs import systemic

    rows = wide_rows()
    rows[4] = "2001" + rows[4][4:]
    f = write_csv(tmp_path, rows)
    with pytest.raises(
        DataError, match=rf"^{re.escape(str(f))}: row 6, column year: period 2001 is given twice"
    ):
        systemic.load_indicators(f)


@pytest.mark.parametrize(
    ("cell", "match"),
    [
        ("nan", r"row 5, column 'npl_ratio': not a finite number: 'nan'"),
        ("inf", r"row 5, column 'npl_ratio': not a finite number: 'inf'"),
        ("1e400", r"row 5, column 'npl_ratio': not a finite number: '1e400'"),
    ],
)
def test_non_finite_cells_are_refused(tmp_path: Path, cell: str, match: str) -> None:
    from greenabs import systemic

    f = write_csv(tmp_path, set_cell(wide_rows(), 3, 2, cell))
    with pytest.raises(DataError, match=rf"^{re.escape(str(f))}: {match}"):
        systemic.load_indicators(f)


def test_empty_period_and_zero_denominators_are_named(tmp_path: Path) -> None:
    from greenabs import systemic

    f = write_csv(tmp_path, set_cell(wide_rows(), 2, 0, ""))
    with pytest.raises(DataError, match=r"row 4, column year: empty period"):
        systemic.load_indicators(f)
    # a zero FX reserve makes the next year's change infinite: named, not a silent NaN
    data = systemic.load_indicators(write_csv(tmp_path, set_cell(wide_rows(), 5, 4, "0")))
    with pytest.raises(
        DataError, match=r"period 2006, column 'fx_reserves': the risk measure is not a finite"
    ):
        systemic.build_index(data, "entropy")


def test_systemic_flags_are_checked_and_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ahp = tmp_path / "ahp.csv"
    ahp.write_text(AHP_GOOD)
    cases = [
        (("--threshold-k", "nan"), "--threshold-k: must be a finite number"),
        (("--min-coverage", "nan"), "--min-coverage: must lie between 0 and 1"),
        (("--combine", "5", "--ahp-matrix", str(ahp)), "--combine: must lie between 0 and 1"),
        (("--horizon", "-1"), "--horizon: must be 0 or more"),
        (("--crisis", ","), "--crisis: give crisis periods"),
        (("--crisis", "1999"), "--crisis: '1999' not among the index periods"),
        (("--stress-period", "1999"), "--stress-period: '1999' not among the index periods"),
        (("--fill", "magic"), "--fill: unknown fill method 'magic'"),
        (("--normalise", "rank"), "--normalise: unknown normalisation 'rank'"),
        (("--method", "ahp"), "--method: ahp needs --ahp-matrix"),
        (("--ahp-matrix", str(ahp)), "--ahp-matrix: is used by --method ahp or with --combine"),
        (("--period-coverage", "2"), "--period-coverage: must lie between 0 and 1"),
        (("--frequency", "monthly"), "--frequency: unknown frequency 'monthly'"),
        (("--trend", "both"), "--trend: unknown trend 'both'"),
        (("--post-crisis", "-1"), "--post-crisis: must be 0 or more"),
        (
            ("--frequency", "quarterly", "--method", "ciss"),
            "--frequency: no quarter of the China sample has all four dimensions",
        ),
    ]
    for args, match in cases:
        code, _, err = cli(capsys, monkeypatch, "systemic", "china", *args)
        assert code == 1, args
        assert f"error: command line: {match}" in err, (args, err)


def test_frequency_flag_is_for_the_china_sample_only(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    f = write_csv(tmp_path, wide_rows())
    code, _, err = cli(capsys, monkeypatch, "systemic", str(f), "--frequency", "quarterly")
    assert code == 1
    assert "--frequency: picks the China sample; a data file has its own" in err


def test_an_indicator_file_mixing_frequencies_or_currencies_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("year,indicator,value,unit\n2019,cpi,2.9,%\n2019Q4,cpi,4.5,%\n")
    code, _, err = cli(capsys, monkeypatch, "systemic", str(mixed))
    assert code == 1
    assert f"{mixed}: row 3, column year: '2019Q4' is quarterly, but row 2" in err
    money = tmp_path / "money.csv"
    money.write_text("year,indicator,value,unit\n2018,fdi,134.97,USD bn\n2019,fdi,941.5,RMB bn\n")
    code, _, err = cli(capsys, monkeypatch, "systemic", str(money))
    assert code == 1
    assert f"{money}: row 3, column unit: fdi mixes currencies (RMB bn, USD bn)" in err
    assert "no positive usdcny_avg" in err


def test_library_errors_name_the_data_file_or_argument(tmp_path: Path) -> None:
    from greenabs import systemic

    f = tmp_path / "flat.csv"
    f.write_text("year,gdp_growth,cpi\n" + "".join(f"{y},{y % 7},2\n" for y in range(2000, 2010)))
    data = systemic.load_indicators(f)
    with pytest.raises(DataError, match=rf"^{re.escape(str(f))}: cpi: is constant"):
        systemic.build_index(data, "entropy")
    with pytest.raises(DataError, match=r"^argument method: unknown method 'x'"):
        systemic.build_index(data, "x")
    with pytest.raises(DataError, match=r"^argument min_coverage: must lie in \[0, 1\]"):
        systemic.build_index(data, "ciss", min_coverage=math.nan)
    with pytest.raises(DataError, match=r"^argument alpha"):
        systemic.combine_weights([0.5, 0.5], [0.2, 0.8], alpha=2.0)
    with pytest.raises(DataError, match=r"^argument x: the series is constant"):
        systemic.markov_switching(__import__("pandas").Series([1.0] * 20))
    with pytest.raises(DataError, match=r"^argument level: must lie in \[0, 1\]"):
        systemic.StressMapping().shocks(math.nan)
    with pytest.raises(DataError, match=r"^argument max_prepayment_cut"):
        systemic.StressMapping(max_prepayment_cut=2.0)


def test_no_placeholder_sources_in_systemic() -> None:
    pattern = re.compile(r"""["']<[a-z_]+>["']""")
    files = [*sorted((SRC / "systemic").glob("*.py")), SRC / "cli" / "systemic.py"]
    found = [f"{f.name}: {m.group()}" for f in files for m in pattern.finditer(f.read_text())]
    assert found == []


def test_stress_functions_are_typed() -> None:
    from greenabs.bank.spec import BankSpec
    from greenabs.spec.deal import DealSpec
    from greenabs.systemic.link import StressMapping

    ns = {"BankSpec": BankSpec, "DealSpec": DealSpec}
    assert typing.get_type_hints(StressMapping.stressed_bank, localns=ns)["bank"] is BankSpec
    assert typing.get_type_hints(StressMapping.stressed_deal, localns=ns)["deal"] is DealSpec


_CELL = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["", "0", "-0", "1e308", "-1e308", "5e-324", "x", "nan", "inf", "1/2"]),
)
_COLS = ["gdp_growth", "npl_ratio", "fx_reserves", "cpi", "stock_market_cap", "gdp_nominal"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(_CELL, min_size=6, max_size=6), min_size=1, max_size=10),
    method=st.sampled_from(["entropy", "critic", "pca", "equal", "ciss"]),
    fill=st.sampled_from([None, "ffill", "interpolate", "mean"]),
    norm=st.sampled_from([None, "minmax", "zscore", "ecdf"]),
)
def test_any_indicator_table_gives_a_finite_index_or_a_named_error(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    method: str,
    fill: str | None,
    norm: str | None,
) -> None:
    from greenabs import systemic

    f = tmp_path_factory.mktemp("data") / "data.csv"
    body = "".join(f"{2000 + i}," + ",".join(r) + "\n" for i, r in enumerate(rows))
    f.write_text("year," + ",".join(_COLS) + "\n" + body, encoding="utf-8")
    try:
        data = systemic.load_indicators(f)
        r = systemic.build_index(
            data,
            method,
            fill=fill,
            normalisation=None if method == "ciss" else norm,
            min_coverage=0.0,
        )
    except DataError as exc:
        assert str(exc).startswith(str(f))
        return
    for part in (r.composite, r.weights, r.contributions, r.sub_indices):
        assert np.isfinite(part.to_numpy(dtype=float)).all()


_NUMERIC_FIELDS = [
    ("cash_reserves",),
    ("other_assets",),
    ("other_liabilities",),
    ("undrawn_commitments",),
    ("rwa_operational",),
    ("capital", "cet1"),
    ("capital", "deductions"),
    ("income", "other_income"),
    ("income", "operating_expense"),
    ("income", "tax_rate"),
    ("loans", 0, "balance"),
    ("loans", 0, "pd"),
    ("loans", 0, "provisions"),
    ("deposits", 0, "balance"),
    ("hqla", 0, "balance"),
    ("projection", "loan_growth"),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(_NUMERIC_FIELDS),
            st.one_of(
                st.floats(),
                st.sampled_from([0, -1, 1e18, 1e19, 1e308, "x", None, True, [1]]),
            ),
        ),
        min_size=1,
        max_size=3,
    ),
    rebalance=st.booleans(),
)
def test_any_bank_file_gives_finite_ratios_or_a_named_error(
    edits: list[tuple[tuple[Any, ...], Any]], rebalance: bool
) -> None:
    d = example()
    for path, value in edits:
        target: Any = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    if rebalance:  # keep the balance sheet balanced where the numbers allow it
        try:
            assets = (
                d["cash_reserves"]
                + sum(h["balance"] for h in d["hqla"])
                + sum(b["balance"] - b.get("provisions", 0) for b in d["loans"])
                + sum(s["balance"] for s in d["securities"])
            )
            claims = (
                sum(x["balance"] for x in d["deposits"])
                + sum(w["balance"] for w in d["wholesale"])
                + d["other_liabilities"]
                + d["capital"]["cet1"]
                + d["capital"].get("at1", 0)
                + d["capital"].get("tier2", 0)
            )
            d["other_assets"] = float(claims - assets)
        except (TypeError, KeyError):
            pass
    try:
        bank = parse_bank(d, "bank.yaml")
    except SpecError as exc:
        assert str(exc).startswith("bank.yaml: ")
        return
    r = ratios(bank).as_dict()
    for key in ("total_assets", "rwa", "net_income", "equity", "credit_cost", "delta_eve_up"):
        assert math.isfinite(r[key]), key


def test_volatility_refuses_non_positive_closes() -> None:
    import pandas as pd

    from greenabs import systemic

    closes = pd.Series([3000.0, 3010.0, 0.0, 2990.0], index=["d1", "d2", "d3", "d4"])
    with pytest.raises(DataError, match=r"^argument closes: d3: a close must be a positive"):
        systemic.annualised_volatility(closes)


def test_ciss_stress_levels_lie_in_the_unit_interval() -> None:
    from greenabs import systemic

    r = systemic.build_index(systemic.china_sample(), "ciss", fill="interpolate")
    levels = [systemic.stress_level(r, str(p)) for p in r.composite.index]
    assert all(0.0 <= v <= 1.0 for v in levels)
    for v in levels:
        systemic.StressMapping().shocks(v)


def test_a_path_outgrowing_the_model_stops_with_a_reason() -> None:
    d = example()
    d["projection"]["loan_growth"] = 1.0  # doubling every year for 50 years: beyond 10^18
    d["income"]["operating_expense"] = 0
    pr = project(parse_bank(d), quarters=200)
    end = pr.failure("OTH")
    assert end is not None
    assert end.kind == "stopped"
    assert "leaves the model's range" in end.reason
    assert len(pr.oth) == end.quarter
