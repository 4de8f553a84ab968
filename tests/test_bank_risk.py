"""The bank's risk measures: the six IRRBB scenarios and the outlier test, bank files at the
command line (validate, schema), and the originate-to-distribute risk channel."""

from __future__ import annotations

import copy
import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from greenabs.bank import (
    IRRBB_SCENARIOS,
    irrbb,
    irrbb_shock,
    load_bank,
    parse_bank,
    project,
    ratios,
)
from greenabs.bank.projection import expected_loss_rates, migrate, migration_matrix
from greenabs.errors import SpecError
from tests.conftest import EXAMPLES
from tests.test_hardening_bank_systemic import cli as in_process

BANK_FILE = EXAMPLES / "bank_mid_sized.yaml"
EXAMPLE: dict[str, Any] = yaml.safe_load(BANK_FILE.read_text(encoding="utf-8"))

# Two items on each side: assets 700 repricing in 1 year and 200 in 3 years, deposits 375
# repricing in half a year and bonds 545 in 5 years; Tier 1 = CET1 80.
SMALL: dict[str, Any] = {
    "name": "small bank",
    "date": "2025-12-31",
    "cash_reserves": 0,
    "hqla": [{"name": "govt", "level": "1", "balance": 200, "yield": 0.02, "repricing_years": 3}],
    "loans": [
        {"name": "green", "segment": "green", "balance": 700, "yield": 0.05, "pd": 0.0},
    ],
    "other_assets": 100,
    "deposits": [{"type": "corporate", "balance": 375, "rate": 0.0, "repricing_years": 0.5}],
    "wholesale": [{"name": "bonds", "balance": 545, "rate": 0.0, "tenor_years": 5}],
    "capital": {"cet1": 80},
    "income": {"tax_rate": 0.0},
}


def example(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(EXAMPLE)
    d.update(changes)
    return d


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """``greenabs ARGS`` in this process through its entry point (errors as the user sees
    them): (exit status, stdout, stderr with whitespace collapsed)."""
    return functools.partial(in_process, capsys, monkeypatch)


# ------------------------------------------------------------------------------ IRRBB


def test_shock_shapes_follow_srp31() -> None:
    # Basel SRP31 Annex / BCBS d368 Annex 2, CNY sizes 250 / 300 / 150 bp; x = 4 years.
    p, s, lg = 0.025, 0.03, 0.015
    assert irrbb_shock("parallel_up", 7.0, p, s, lg) == 0.025
    assert irrbb_shock("parallel_down", 0.5, p, s, lg) == -0.025
    # at t = 0 only the short shock acts: S_short(0) = 1, S_long(0) = 0
    assert irrbb_shock("short_up", 0.0, p, s, lg) == pytest.approx(0.03)
    assert irrbb_shock("steepener", 0.0, p, s, lg) == pytest.approx(-0.65 * 0.03)
    assert irrbb_shock("flattener", 0.0, p, s, lg) == pytest.approx(0.8 * 0.03)
    # at t = 4: S_short = e^-1 = 0.367879, S_long = 0.632121
    assert irrbb_shock("short_down", 4.0, p, s, lg) == pytest.approx(-0.03 * 0.367879, abs=1e-7)
    assert irrbb_shock("steepener", 4.0, p, s, lg) == pytest.approx(
        -0.65 * 0.03 * 0.367879 + 0.9 * 0.015 * 0.632121, abs=1e-7
    )  # = 0.0013606
    assert irrbb_shock("flattener", 4.0, p, s, lg) == pytest.approx(
        0.8 * 0.03 * 0.367879 - 0.6 * 0.015 * 0.632121, abs=1e-7
    )  # = 0.0031402
    # far out the long shock dominates: steepener -> +0.9 x 150bp, flattener -> -0.6 x 150bp
    assert irrbb_shock("steepener", 200.0, p, s, lg) == pytest.approx(0.0135)
    assert irrbb_shock("flattener", 200.0, p, s, lg) == pytest.approx(-0.009)
    with pytest.raises(SpecError, match="unknown scenario 'twist'"):
        irrbb_shock("twist", 1.0, p, s, lg)


def test_six_scenarios_by_hand() -> None:
    bank = parse_bank(SMALL)
    rows = {r["scenario"]: r for r in irrbb(bank)}
    assert tuple(rows) == IRRBB_SCENARIOS

    def dpv(b: float, t: float, d: float) -> float:  # annual compounding from 2.5%
        return b * ((1.025 / (1.025 + d)) ** t - 1)

    # parallel up 250bp: assets 700 at 1y (loans reprice yearly by default), 200 at 3y;
    # liabilities 375 at 0.5y, 545 at 5y, Tier 2 of 0 at 5y
    up = dpv(700, 1, 0.025) + dpv(200, 3, 0.025) - dpv(375, 0.5, 0.025) - dpv(545, 5, 0.025)
    assert up == pytest.approx(35.7403, abs=1e-4)  # the long bonds gain more than assets lose
    assert rows["parallel_up"]["delta_eve"] == pytest.approx(up, rel=1e-12)
    # steepener: each item at its own maturity's shock
    st = {
        t: -0.65 * 0.03 * math.exp(-t / 4) + 0.9 * 0.015 * (1 - math.exp(-t / 4))
        for t in (1, 3, 0.5, 5)
    }
    steep = dpv(700, 1, st[1]) + dpv(200, 3, st[3]) - dpv(375, 0.5, st[0.5]) - dpv(545, 5, st[5])
    assert rows["steepener"]["delta_eve"] == pytest.approx(steep, rel=1e-12)
    # 12-month NII: only the deposits reprice within the year (the loans at exactly 1 year do
    # not): they cost 375 x 2.5% x (1 - 0.5) more
    assert rows["parallel_up"]["delta_nii"] == pytest.approx(-375 * 0.025 * 0.5)
    assert rows["short_down"]["delta_nii"] == pytest.approx(375 * 0.03 * math.exp(-0.5 / 4) * 0.5)
    # outlier measure: the largest loss over Tier 1 (80)
    worst = max(-r["delta_eve"] for r in rows.values())
    assert worst == pytest.approx(-rows["parallel_down"]["delta_eve"])
    assert ratios(bank).eve_outlier_ratio == pytest.approx(worst / 80)
    assert rows["parallel_down"]["delta_eve_tier1"] == pytest.approx(-worst / 80)


def test_the_example_bank_fails_the_outlier_test() -> None:
    # the example bank loses 16.3% of Tier 1 at +200bp and 20.1% at CNY's +250bp: above 15%
    bank = load_bank(BANK_FILE)
    r = ratios(bank)
    tier1 = 19e9 - 1e9 + 3e9
    assert r.delta_eve_up / tier1 == pytest.approx(-0.1628, abs=5e-5)
    assert r.eve_outlier_ratio == pytest.approx(0.2012, abs=5e-5)
    assert any(b.startswith("IRRBB outlier test") for b in r.breaches(bank))
    # a higher limit, or smaller shocks, pass
    lax = parse_bank(example(regulation={"max_eve_loss_tier1": 0.25}))
    assert not any("IRRBB" in b for b in ratios(lax).breaches(lax))
    eur = parse_bank(example(currency="EUR"))  # EUR: parallel 200bp
    assert ratios(eur).eve_outlier_ratio == pytest.approx(0.1628, abs=5e-5)


@pytest.mark.parametrize(
    ("shocks", "match"),
    [
        ({"parallel": 0.02, "short": 0.03}, r"regulation.irrbb_shocks: .*missing 'long'"),
        ({"parallel": 0.02, "short": 0.03, "long": 0.01, "twist": 0.01}, "unknown shock 'twist'"),
        ({"parallel": 2, "short": 0.03, "long": 0.01}, r"irrbb_shocks.parallel: .*less than"),
    ],
)
def test_bad_shock_tables_name_the_field(shocks: dict[str, float], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        parse_bank(example(regulation={"irrbb_shocks": shocks}), "bank.yaml")


def test_a_currency_without_standard_shocks_needs_a_table() -> None:
    with pytest.raises(SpecError, match=r"regulation.irrbb_shocks: SRP31 gives no .* 'NOK'"):
        parse_bank(example(currency="NOK"), "bank.yaml")
    bank = parse_bank(
        example(
            currency="NOK",
            regulation={"irrbb_shocks": {"parallel": 0.02, "short": 0.03, "long": 0.015}},
        )
    )
    assert ratios(bank).eve_outlier_ratio > 0


def test_cli_json_lists_scenarios_and_breaches(tmp_path: Path, cli: Any) -> None:
    out = tmp_path / "bank.json"
    code, stdout, err = cli("bank", str(BANK_FILE), "--json", str(out))
    assert code == 0, err
    assert "IRRBB outlier test" in stdout  # the breach is shown, not "all met"
    assert "all met" not in stdout
    data = json.loads(out.read_text())
    assert [r["scenario"] for r in data["irrbb"]] == list(IRRBB_SCENARIOS)
    assert {"delta_eve", "delta_nii"} <= set(data["irrbb"][0])
    assert data["ratios"]["eve_outlier_ratio"] == pytest.approx(0.2012, abs=5e-5)
    assert data["breaches"] == [b for b in data["breaches"] if b.startswith("IRRBB")] != []


# ------------------------------------------------------------------------- bank files


def test_validate_recognises_a_bank_file(tmp_path: Path, cli: Any) -> None:
    code, stdout, err = cli("validate", str(BANK_FILE))
    assert code == 0, err
    assert "valid bank file" in stdout
    assert "greenabs bank" in stdout
    # and a broken one is reported as a bank, by field
    f = tmp_path / "bank.yaml"
    f.write_text(yaml.safe_dump(example(regulation={"irrbb_shocks": {"parallel": 0.02}})))
    code, stdout, err = cli("validate", str(f))
    assert code == 1
    assert "bank.yaml: regulation.irrbb_shocks: missing 'short', 'long'" in err
    # a deal file is still a deal file
    code, stdout, err = cli("validate", str(EXAMPLES / "ib_green_2014.yaml"))
    assert code == 0, err
    assert stdout.startswith("valid: ")


def test_schema_of_bank_files(tmp_path: Path, cli: Any) -> None:
    out = tmp_path / "bank.schema.json"
    code, _, err = cli("schema", "--bank", "-o", str(out))
    assert code == 0, err
    schema = json.loads(out.read_text())
    assert schema["title"] == "greenabs bank file"
    assert {"loans", "deposits", "capital", "regulation"} <= set(schema["properties"])
    # a list section takes the rows or a CSV file
    kinds = [k.get("type") for k in schema["properties"]["loans"]["anyOf"]]
    assert kinds == ["array", "string"]
    loan = schema["$defs"]["LoanBookSpec"]["properties"]
    assert "yield" in loan
    assert "yield_" not in loan
    reg = schema["$defs"]["RegulationSpec"]["properties"]
    assert "irrbb_shocks" in reg
    assert "max_eve_loss_tier1" in reg
    deal = json.loads(cli("schema")[1])
    assert deal["title"] != "greenabs bank file"


def test_an_unbalanced_bank_file_names_the_amounts(tmp_path: Path, cli: Any) -> None:
    f = tmp_path / "bank.yaml"
    f.write_text(yaml.safe_dump(example(other_assets=EXAMPLE["other_assets"] + 5e8)))
    code, _, text = cli("bank", str(f))
    assert code == 1
    assert "balance sheet: does not balance" in text
    assert "assets 274,500,000,000.00" in text
    assert "liabilities + equity 274,000,000,000.00" in text
    assert "difference 500,000,000.00" in text


# ------------------------------------------------------- the originate-to-distribute risk channel

# China's five classes by PD: pd 4% a year, special mention rolls 15% and cures 15% a quarter
Q4 = 1 - 0.96**0.25  # quarterly PD = 0.0101536
U4 = Q4 * (0.15 + 0.15) / 0.15  # normal -> special mention = 0.0203072


def test_migration_matrix_by_hand() -> None:
    m = migration_matrix(0.04, 0.15, 0.15)
    assert m.sum(axis=1) == pytest.approx(np.ones(5))
    assert m[0, 1] == pytest.approx(0.0203072, abs=1e-7)
    assert m[1].tolist() == pytest.approx([0.15, 0.70, 0.15, 0.0, 0.0])
    # 2023 measures: > 90 days substandard, > 270 doubtful, > 360 loss
    assert m[2].tolist() == [0.0, 0.0, 0.5, 0.5, 0.0]
    assert m[3].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]
    # steady state: special mention = u N / (roll + cure), its roll into substandard = q N
    assert m[1, 2] * m[0, 1] / (m[1, 0] + m[1, 2]) == pytest.approx(Q4)
    assert pytest.approx(U4) == m[0, 1]
    # a PD of one cannot send more than everything to special mention
    assert migration_matrix(1.0, 0.15, 0.15)[0].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    assert expected_loss_rates(0.04, 0.45, 0.15, 0.15).tolist() == pytest.approx(
        [0.018, 0.225, 0.45, 0.45, 1.0]
    )


def test_one_quarter_of_migration_by_hand() -> None:
    m = migrate(np.array([100.0, 10, 4, 2, 1]), 0.04, 0.45, 0.15, 0.15, 0.5)
    # N 100 - 2.03072 + 10 x 0.15; SM 2.03072 + 10 x 0.7; SS 1.5 + 2; D 4 x 0.5;
    # the 2 doubtful reach loss: 1.1 recovered, 0.9 lost; loss 1 + 0.9, half written off
    assert m.classes.tolist() == pytest.approx([99.46928, 9.03072, 3.5, 2.0, 0.95], abs=1e-5)
    assert m.recovered == pytest.approx(1.1)
    assert m.written_off == pytest.approx(0.95)
    assert m.to_npl == pytest.approx(1.5)


TINY: dict[str, Any] = {
    "name": "tiny bank",
    "date": "2025-12-31",
    "cash_reserves": 100,
    "loans": [
        {
            "name": "book",
            "segment": "corporate",
            "balance": 1000,
            "yield": 0.05,
            "pd": 0.04,
            "lgd": 0.45,
            "provisions": 40,
            "classification": {
                "normal": 0.9,
                "special_mention": 0.05,
                "substandard": 0.03,
                "doubtful": 0.01,
                "loss": 0.01,
            },
        }
    ],
    "deposits": [{"type": "corporate", "balance": 980, "rate": 0.01}],
    "capital": {"cet1": 80},
    "regulation": {"min_provision_coverage": 0.8},  # the start's 40 / 50
    "projection": {"loan_growth": 0.0, "provision_coverage": 2.0},
}


@pytest.mark.parametrize(
    ("rule", "provisions"),
    [
        # coverage 200% of NPL 44.75 (the bank's rule, above the expected loss 52.118)
        ("coverage", 89.5),
        # expected loss: 889.2235 x 1.8% + 53.2765 x 22.5% + 37.5 x 45% + 7.25 = 52.1182
        ("expected_loss", 52.1182),
    ],
)
def test_provisions_replenished_by_rule(rule: str, provisions: float) -> None:
    d = copy.deepcopy(TINY)
    d["projection"]["provisioning"] = rule
    pr = project(parse_bank(d), quarters=1)
    row = pr.oth.iloc[1]
    # classes after a quarter: 889.2235, 53.2765, 22.5, 15, 7.25 (of 14.5, half written off)
    assert row["loans"] == pytest.approx(987.25, abs=1e-4)
    assert row["npl"] == pytest.approx(44.75, abs=1e-4)
    assert row["write_offs"] == pytest.approx(7.25)
    assert row["recoveries"] == pytest.approx(5.5)
    assert row["provisions"] == pytest.approx(provisions, abs=1e-4)
    # the charge refills what the write-offs used: 40 - 7.25 = 32.75 left
    assert row["provision_charge"] == pytest.approx(provisions - 32.75, abs=1e-4)
    # (so large a charge takes the tiny bank below its capital requirement, not its minimums
    # for provisions: 200% and 116% of NPLs, 9.1% and 5.3% of loans)
    assert not [e for e in pr.events if e.kind == "provisions below minimum"]


def test_expected_loss_provisioning_is_flagged_below_the_minimums() -> None:
    # the example bank holds 3.0% of its loans in provisions; provisioning to the expected
    # loss alone lets the write-offs run them down below the 2.5% minimum (quarter 3)
    d = example()
    d["projection"] = {**d["projection"], "provisioning": "expected_loss"}
    pr = project(parse_bank(d), quarters=20)
    flagged = [e for e in pr.events if e.kind == "provisions below minimum"]
    assert [e.model for e in flagged] == ["OTH", "OTD"]
    q = flagged[0].quarter
    lpr = pr.oth["loan_provision_ratio"]
    assert lpr.iloc[q] < 0.025 <= lpr.iloc[q - 1]
    assert flagged[0].reason.startswith("loan provision ratio 2.33% below 2.50%")
    # the default rule keeps the coverage the bank starts with, and the minimums: no flag
    base = project(parse_bank(example()), quarters=20)
    assert base.events == ()
    for frame in (base.oth, base.otd):
        assert frame["provision_coverage"].min() >= 1.5
        assert frame["loan_provision_ratio"].min() >= 0.025 - 1e-12


def test_provision_charge_goes_through_net_income() -> None:
    # one quarter's income statement: (NII + fees - costs) / 4 - charge, taxed at 25%
    d = copy.deepcopy(TINY)
    bank = parse_bank(d)
    r = ratios(bank)
    pr = project(bank, quarters=1)
    charge = 89.5 - 32.75
    ni = (r.net_interest_income / 4 - charge) * (1 if r.net_interest_income / 4 < charge else 0.75)
    # the row is the last four quarters: three of today's run rate and this one
    assert pr.oth.iloc[1]["net_income"] == pytest.approx(3 * r.net_income / 4 + ni)
    assert pr.oth.iloc[1]["credit_cost"] == pytest.approx(3 * r.credit_cost / 4 + charge)


def test_bad_migration_settings_name_the_field() -> None:
    with pytest.raises(SpecError, match=r"projection: .*special_mention_roll \+ special_mention"):
        parse_bank(example(projection={"special_mention_roll": 0.6, "special_mention_cure": 0.5}))
    with pytest.raises(SpecError, match=r"projection.special_mention_roll: .*greater than 0"):
        parse_bank(example(projection={"special_mention_roll": 0}))
    with pytest.raises(SpecError, match=r"projection.provisioning: "):
        parse_bank(example(projection={"provisioning": "whatever"}))


def _riskier_recycling(**projection: Any) -> Any:
    """The example bank recycling into SME-like lending: a 4% PD at a 75% risk weight."""
    d = example()
    d["projection"] = {
        **d["projection"],
        "new_lending_pd": 0.04,
        "new_lending_risk_weight": 0.75,
        **projection,
    }
    return project(parse_bank(d), quarters=20)


def test_otd_first_more_fees_lending_and_less_capital_then_more_npls() -> None:
    pr = _riskier_recycling()
    oth, otd = pr.oth.set_index("quarter"), pr.otd.set_index("quarter")
    # the first issuance (quarter 4): more fee income and lending, a gain, lower capital charges
    assert otd.loc[4, "gain_on_sale"] > 0
    assert otd.loc[4, "fee_income"] > oth.loc[4, "fee_income"]  # the structuring fee
    assert otd.loc[4, "managed_loans"] > oth.loc[4, "managed_loans"]
    assert otd.loc[4, "rwa_density"] < oth.loc[4, "rwa_density"]
    assert otd.loc[4, "cet1_ratio"] > oth.loc[4, "cet1_ratio"]
    # the NPL ratios are still close then ...
    gap_early = otd.loc[4, "npl_ratio"] - oth.loc[4, "npl_ratio"]
    assert abs(gap_early) < 0.0005
    # ... and apart later: the recycled loans migrate down the classes
    gap_late = otd.loc[20, "npl_ratio"] - oth.loc[20, "npl_ratio"]
    assert gap_late > 0.001
    assert gap_late > 2 * abs(gap_early)
    assert otd.loc[20, "npl_formation"] > oth.loc[20, "npl_formation"]
    assert otd.loc[20, "credit_cost"] > oth.loc[20, "credit_cost"]
    assert otd.loc[20, "z_score"] < oth.loc[20, "z_score"]


def test_the_recycled_lending_pd_drives_the_npl_gap() -> None:
    # recycled at the green book's own PD (1%) the late NPL gap vanishes
    same = _riskier_recycling(new_lending_pd=0.01)
    gap = same.otd["npl_ratio"].iloc[-1] - same.oth["npl_ratio"].iloc[-1]
    risky = _riskier_recycling()
    assert gap < 0.0005
    assert risky.otd["npl_ratio"].iloc[-1] - risky.oth["npl_ratio"].iloc[-1] > gap + 0.001


def test_gain_and_fees_show_in_the_profit_mix() -> None:
    d = example()
    d["securitisation"] = {**d["securitisation"], "structuring_fee": 0.01}
    pr = project(parse_bank(d), quarters=4)
    oth, otd = pr.oth.iloc[-1], pr.otd.iloc[-1]
    # quarter 4: the last four quarters' income includes the issuance's gain and fee
    assert otd["gain_on_sale"] > 0
    assert otd["fee_share"] > oth["fee_share"]
    assert otd["net_income"] - oth["net_income"] > 0.5 * otd["gain_on_sale"] * 0.75
    assert otd["roe"] > oth["roe"]


def test_the_gain_deducted_from_cet1_runs_off_with_the_pool() -> None:
    # Basel CAP30: the after-tax gain on sale is deducted from CET1; the projection releases
    # the deduction as the sold pool amortises (green loans: 5-year life, 5% a quarter)
    pr = project(parse_bank(example()), quarters=6)
    otd = pr.otd.set_index("quarter")
    assert otd.loc[3, "gain_on_sale_deduction"] == 0
    assert otd.loc[4, "gain_on_sale_deduction"] == pytest.approx(0.75 * otd.loc[4, "gain_on_sale"])
    assert otd.loc[6, "gain_on_sale_deduction"] == pytest.approx(
        otd.loc[4, "gain_on_sale_deduction"] * 0.95**2
    )
    assert (pr.oth["gain_on_sale_deduction"] == 0).all()


@settings(max_examples=200, deadline=None)
@given(
    classes=st.lists(st.floats(0, 1e12), min_size=5, max_size=5),
    pd_=st.floats(0, 1),
    lgd=st.floats(0, 1),
    roll=st.floats(1e-6, 0.6),
    cure=st.floats(0, 0.4),
    write_off=st.floats(0, 1),
)
def test_migration_keeps_every_loan_accounted_for(
    classes: list[float], pd_: float, lgd: float, roll: float, cure: float, write_off: float
) -> None:
    # what is in the classes after a quarter, plus what was recovered and written off, is
    # what was there before; nothing goes negative
    before = np.array(classes)
    m = migrate(before, pd_, lgd, roll, cure, write_off)
    assert (m.classes >= -1e-6).all()
    assert m.recovered >= 0
    assert m.written_off >= 0
    total = m.classes.sum() + m.recovered + m.written_off
    assert total == pytest.approx(before.sum(), rel=1e-9, abs=1e-3)
    matrix = migration_matrix(pd_, roll, cure)
    assert matrix.sum(axis=1) == pytest.approx(np.ones(5))
    assert np.tril(matrix, -1)[2:].sum() == 0  # non-performing loans never cure here


BAD_RISK_FIELDS = [
    (section, field, value)
    for section, field in (
        ("regulation", "min_provision_coverage"),
        ("regulation", "min_loan_provision_ratio"),
        ("regulation", "max_eve_loss_tier1"),
        ("projection", "special_mention_roll"),
        ("projection", "special_mention_cure"),
        ("projection", "write_off_share"),
        ("projection", "provision_coverage"),
        ("securitisation", "npl_share"),
    )
    for value in ("high", math.nan, math.inf, -0.1, 1e9)
] + [("projection", "provisioning", "sometimes"), ("regulation", "irrbb_shocks", "big")]


@pytest.mark.parametrize(("section", "field", "value"), BAD_RISK_FIELDS)
def test_every_risk_field_refuses_bad_values_by_name(section: str, field: str, value: Any) -> None:
    """Wrong types, NaN and infinities, values out of range: an error naming the field."""
    d = example()
    d[section] = {**d.get(section, {}), field: value}
    with pytest.raises(SpecError, match=rf"bank.yaml: .*{section}\.{field}"):
        parse_bank(d, "bank.yaml")
