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
from greenabs.errors import SpecError
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
