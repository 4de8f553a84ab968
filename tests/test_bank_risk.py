"""The bank's risk measures: the six IRRBB scenarios and the outlier test, bank files at the
command line (validate, schema), and the originate-to-distribute risk channel."""

from __future__ import annotations

import copy
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenabs.bank import IRRBB_SCENARIOS, irrbb, irrbb_shock, load_bank, parse_bank, ratios
from greenabs.cli import main
from greenabs.errors import SpecError
from tests.conftest import EXAMPLES

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

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["greenabs", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, " ".join(captured.err.split())

    return run


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
