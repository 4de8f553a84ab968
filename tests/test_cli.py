"""End-to-end through the command line on the shipped examples."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import EXAMPLES

CONTRACT = EXAMPLES / "green_loans_2026_1.yaml"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "greenabs.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_contract_deal_runs_and_writes_every_result(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    proc = cli(
        "run",
        str(CONTRACT),
        "--json",
        str(out),
        "--csv-dir",
        str(tmp_path / "csv"),
        "--report",
        str(tmp_path / "report.html"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Tranches" in proc.stdout
    assert "OK" in proc.stdout
    data = json.loads(out.read_text())
    row = data["pool_cashflows"][0]
    for key in (
        "period",
        "date",
        "begin_balance",
        "interest",
        "scheduled_principal",
        "prepayment",
        "default",
        "recovery",
        "loss",
        "end_balance",
    ):
        assert key in row
    names = [t["name"] for t in data["tranches"]]
    assert names == ["A", "B", "Sub"]
    for t in data["tranches"]:
        for key in (
            "name",
            "original_balance",
            "wal",
            "yield",
            "modified_duration",
            "principal_loss",
            "final_payment_date",
        ):
            assert key in t
    for name in names:
        r = data["tranche_cashflows"][name][0]
        for key in (
            "date",
            "begin_balance",
            "interest_paid",
            "principal_paid",
            "end_balance",
            "interest_shortfall",
        ):
            assert key in r
    # the pool's cash equals what the tranches and fees received
    cash = sum(
        r["interest"] + r["scheduled_principal"] + r["prepayment"] + r["recovery"]
        for r in data["pool_cashflows"]
    )
    paid = sum(
        r["interest_paid"] + r["principal_paid"] + r["residual_paid"]
        for rows in data["tranche_cashflows"].values()
        for r in rows
    )
    fees = sum(f["paid"] for f in data["fees"])
    assert cash == pytest.approx(paid + fees, abs=0.01)
    assert (tmp_path / "csv" / "tranche_A.csv").exists()
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>Deal and tranches</h2>" in page  # the report's tables beside its charts
    assert f"<td>{data['tranches'][0]['original_balance']:,.2f}</td>" in page


@pytest.mark.parametrize(
    "example", ["ib_green_2014.yaml", "renewable_subsidy_2021.yaml", "npl_disposal_2026.yaml"]
)
def test_examples_run(example: str, tmp_path: Path) -> None:
    proc = cli("run", str(EXAMPLES / example), "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["deal"]["max_audit_difference"] < 0.01


def test_ib_replica_tracks_published_wal(tmp_path: Path) -> None:
    # Published WALs of Industrial Bank's 2014 green credit ABS: A 0.69y, B 1.88y, Sub 2.07y
    proc = cli(
        "run", str(EXAMPLES / "ib_green_2014.yaml"), "-q", "--json", str(tmp_path / "r.json")
    )
    assert proc.returncode == 0
    wal = {t["name"]: t["wal"] for t in json.loads((tmp_path / "r.json").read_text())["tranches"]}
    assert wal["A"] == pytest.approx(0.69, abs=0.15)
    assert wal["B"] == pytest.approx(1.88, abs=0.15)
    assert wal["Sub"] == pytest.approx(2.07, abs=0.2)


def test_subsidy_two_years_late_costs_the_subordinated_class(tmp_path: Path) -> None:
    deal = str(EXAMPLES / "renewable_subsidy_2021.yaml")
    base, late = tmp_path / "base.json", tmp_path / "late.json"
    assert cli("run", deal, "-q", "--json", str(base)).returncode == 0
    assert cli("run", deal, "-q", "--receivable-delay", "24", "--json", str(late)).returncode == 0
    b = {t["name"]: t for t in json.loads(base.read_text())["tranches"]}
    lt = {t["name"]: t for t in json.loads(late.read_text())["tranches"]}
    assert lt["Senior"]["wal"] > b["Senior"]["wal"] + 1.5
    assert lt["Sub"]["principal_loss"] > b["Sub"]["principal_loss"]


def test_validate_and_schema(tmp_path: Path) -> None:
    proc = cli("validate", str(CONTRACT))
    assert proc.returncode == 0
    assert "valid" in proc.stdout
    proc = cli("schema")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for example in (
        "green_loans_2026_1.yaml",
        "ib_green_2014.yaml",
        "renewable_subsidy_2021.yaml",
        "npl_disposal_2026.yaml",
    ):
        doc = yaml.safe_load((EXAMPLES / example).read_text())
        doc = json.loads(json.dumps(doc, default=str))
        jsonschema.validate(doc, schema)
    bad = yaml.safe_load(CONTRACT.read_text())
    bad["structure"]["waterfall"][0] = {"pay_feez": ["servicing"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(json.dumps(bad, default=str)), schema)


def test_loan_level_csv(tmp_path: Path) -> None:
    proc = cli("run", str(CONTRACT), "-q", "--loan-level", "--csv-dir", str(tmp_path))
    assert proc.returncode == 0
    import pandas as pd

    ll = pd.read_csv(tmp_path / "loan_level.csv")
    pool = pd.read_csv(tmp_path / "pool_monthly.csv")
    assert set(ll["asset_id"]) == {"L1", "L2"}
    assert ll.groupby("month")["interest"].sum().to_numpy() == pytest.approx(
        pool["interest"].to_numpy(), abs=1e-6
    )


def test_price_at_yield_and_dm_flags(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = cli("run", str(CONTRACT), "-q", "--price-at-yield", "A=0.032", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Prices per 100" in proc.stdout
    prices = json.loads(out.read_text())["prices"]
    # a fixed 3.2% class discounted at its own coupon is worth about par
    assert prices[0]["price"] == pytest.approx(100.0, abs=0.01)
    bad = cli("run", str(CONTRACT), "-q", "--price-at-dm", "A=0.01")
    assert bad.returncode == 1
    assert "not floating" in bad.stderr
    bad = cli("run", str(CONTRACT), "-q", "--price-at-yield", "A:0.01")
    assert bad.returncode == 1
    assert "CLASS=NUMBER" in bad.stderr


def test_quickstart_example_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "A at 4.80%" in proc.stdout


def test_excel_workbook(tmp_path: Path) -> None:
    import openpyxl

    book = tmp_path / "r.xlsx"
    assert cli("run", str(CONTRACT), "-q", "--xlsx", str(book)).returncode == 0
    sheets = openpyxl.load_workbook(book, read_only=True).sheetnames
    assert {"deal", "pool_cashflows", "tranches", "tranche_A"} <= set(sheets)


BANK = EXAMPLES / "bank_mid_sized.yaml"


def test_bank_command_with_deal_and_projection(tmp_path: Path) -> None:
    out = tmp_path / "bank.json"
    proc = cli(
        "bank",
        str(BANK),
        "--deal",
        str(EXAMPLES / "ib_green_2014.yaml"),
        "--horizon-quarters",
        "8",
        "--json",
        str(out),
        "--chart",
        str(tmp_path / "bank.html"),
        "--csv-dir",
        str(tmp_path / "csv"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "After the deal" in proc.stdout
    assert "OTH versus OTD" in proc.stdout
    data = json.loads(out.read_text())
    assert data["transaction"]["derecognised"] is True
    rows = {r["metric"]: r for r in data["transaction"]["table"]}
    assert rows["lcr"]["after"] > rows["lcr"]["before"]
    assert {r["model"] for r in data["projection"]} == {"OTH", "OTD"}
    assert (tmp_path / "csv" / "projection.csv").exists()
    page = (tmp_path / "bank.html").read_text(encoding="utf-8")
    assert "<h2>Before and after the deal</h2>" in page
    assert page.count("<div class=chart ") == 3  # ratios, repricing gap, OTH versus OTD


def test_npl_disposal_example(tmp_path: Path) -> None:
    out = tmp_path / "npl.json"
    proc = cli(
        "bank",
        str(BANK),
        "--deal",
        str(EXAMPLES / "npl_disposal_2026.yaml"),
        "--book",
        "corporate loans",
        "--npl-share",
        "1",
        "--face-per-pool",
        "2.5",
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    rows = {r["metric"]: r for r in json.loads(out.read_text())["transaction"]["table"]}
    assert rows["npl"]["before"] - rows["npl"]["after"] == pytest.approx(1e9, rel=1e-9)
    assert rows["npl_ratio"]["after"] < rows["npl_ratio"]["before"]
    bad = cli(
        "bank", str(BANK), "--deal", str(EXAMPLES / "npl_disposal_2026.yaml"), "--book", "nope"
    )
    assert bad.returncode == 1
    assert "unknown loan book 'nope'" in bad.stderr


def test_bank_command_alone_and_bad_file(tmp_path: Path) -> None:
    proc = cli("bank", str(BANK))
    assert proc.returncode == 0
    # the example bank fails the IRRBB outlier test (Basel SRP31): shown, not "all met"
    assert "IRRBB outlier test" in proc.stdout
    bad = yaml.safe_load(BANK.read_text())
    bad["other_assets"] = 1
    f = tmp_path / "bank.yaml"
    f.write_text(yaml.safe_dump(bad))
    proc = cli("bank", str(f))
    assert proc.returncode == 1
    assert "balance sheet: does not balance" in proc.stderr


@pytest.mark.parametrize("method", ["entropy", "critic", "pca", "equal", "ciss"])
def test_systemic_methods_on_the_china_sample(method: str, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    proc = cli("systemic", "china", "--method", method, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Weights" in proc.stdout
    data = json.loads(out.read_text())
    assert data["index"]["method"] == method
    assert abs(sum(data["index"]["weights"].values()) - 1) < 1e-5  # JSON keeps 6 decimals


def test_systemic_ahp_stress_deal_bank_and_chart(tmp_path: Path) -> None:
    matrix = tmp_path / "ahp.csv"
    matrix.write_text("1,1/2,1,2\n2,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,1\n")
    proc = cli(
        "systemic",
        "china",
        "--method",
        "ahp",
        "--ahp-matrix",
        str(matrix),
        "--crisis",
        "2015,2020",
        "--horizon",
        "0",
        "--stress-period",
        "2015",
        "--deal",
        str(CONTRACT),
        "--bank",
        str(BANK),
        "--chart",
        str(tmp_path / "s.html"),
        "--json",
        str(tmp_path / "s.json"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "AHP consistency ratio" in proc.stdout
    assert "Signal extraction" in proc.stdout
    assert "Z-score" in proc.stdout
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["bank"]["stressed"]["z_score"] < data["bank"]["base"]["z_score"]
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert "<h2>Systemic-risk index</h2>" in page
    assert page.count("<div class=chart ") == 3  # index, contributions, weights


def test_systemic_quarterly_china_sample_with_coverage_regimes_and_signals(
    tmp_path: Path,
) -> None:
    out = tmp_path / "q.json"
    proc = cli(
        "systemic", "china", "--frequency", "quarterly", "--method", "equal",
        "--crisis", "2008Q1,2015Q2", "--post-crisis", "4", "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Markov switching skipped" not in proc.stdout
    assert "Composite signal" in proc.stdout
    data = json.loads(out.read_text())
    ix = data["index"]
    assert ix["frequency"] == "quarterly"
    assert ix["periods"][0] == "2005Q1"
    assert len(data["markov"]["prob_high"]) == len(ix["periods"]) == 80
    cover = {row["period"]: row for row in ix["coverage"]}
    assert cover["2013Q2"]["indicators"] == 2  # only index volatility and CPI that quarter
    assert cover["2013Q2"]["dimensions_without_data"] == "banking, international"
    assert all(row["included"] for row in ix["coverage"])
    assert data["signals"][0]["excluded"] >= 8  # four quarters after each crisis start
    assert {r["indicator"] for r in data["composite_signal"]["indicators"] if r["used"]}


def test_systemic_bad_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("year,gdp_growth,colour\n2020,5,red\n")
    proc = cli("systemic", str(bad))
    assert proc.returncode == 1
    assert "column 'colour': unknown indicator" in proc.stderr
    matrix = tmp_path / "ahp.csv"
    matrix.write_text("1,2,1,2\n2,1,2,3\n1,1/2,1,2\n1/2,1/3,1/2,1\n")
    proc = cli("systemic", "china", "--method", "ahp", "--ahp-matrix", str(matrix))
    assert proc.returncode == 1
    assert "not reciprocal" in proc.stderr
    proc = cli("systemic", "china", "--method", "magic")
    assert proc.returncode == 1
    assert "unknown method 'magic'" in proc.stderr


def test_settle_flag_prices_from_the_settlement_date(tmp_path: Path) -> None:
    import greenabs

    out = tmp_path / "r.json"
    proc = cli(
        "run", str(EXAMPLES / "ib_green_2014.yaml"), "-q", "--settle", "2015-01-10",
        "--price-at-yield", "A=0.05", "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = json.loads(out.read_text())["prices"][0]["price"]
    deal = greenabs.load_deal(EXAMPLES / "ib_green_2014.yaml")
    want = greenabs.run(deal, settle=date(2015, 1, 10)).price("A", 0.05)
    assert got == pytest.approx(want, abs=1e-4)
    assert got != pytest.approx(greenabs.run(deal).price("A", 0.05), abs=1e-3)
    for bad, why in (("2015-13-01", "YYYY-MM-DD"), ("2010-01-10", "before closing")):
        proc = cli("run", str(EXAMPLES / "ib_green_2014.yaml"), "-q", "--settle", bad)
        assert proc.returncode == 1
        assert why in proc.stderr
        assert "Traceback" not in proc.stderr
