"""Breakeven default (greenabs.breakeven and ``greenabs breakeven``): the bisection against an
analytic case and an independent grid, consistency of the bracket on the shipped examples,
the command line end to end and every bad input as one clear error."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import greenabs
from greenabs import DealSpec, SpecError, parse_deal
from greenabs.breakeven import Breakeven, breakeven, loss_threshold, scaled_default
from greenabs.cli import app
from greenabs.cli.common import out
from greenabs.engine import with_assumptions
from greenabs.spec.deal import DefaultSpec
from tests.conftest import EXAMPLES, ROOT, make_deal

runner = CliRunner()


def bullet_deal(term: int, deferrable: bool = False) -> dict[str, Any]:
    """One zero-rate bullet loan of 100m, no prepayment, no recovery, a zero-coupon class A of
    90m: A loses exactly when fewer than 90% of the loan survives to maturity, so its
    breakeven CDR is ``1 - 0.9 ** (12 / term)``."""
    return {
        "name": "bullet",
        "dates": {
            "cutoff": "2026-03-31",
            "closing": "2026-03-31",
            "first_payment": "2026-04-30",
            "frequency": "monthly",
        },
        "pool": {
            "assets": [
                {
                    "id": "L1",
                    "type": "loan",
                    "balance": 100_000_000,
                    "rate": 0.0,
                    "original_term": term,
                    "amortization": "interest_only",
                }
            ]
        },
        "assumptions": {
            "prepayment": {"cpr": 0.0},
            "default": {"cdr": 0.01},
            "recovery": {"rate": 0.0, "lag_months": 0},
        },
        "structure": {
            "tranches": [
                {
                    "name": "A",
                    "balance": 90_000_000,
                    "coupon": {"fixed": 0.0},
                    "deferrable": deferrable,
                },
                {"name": "Sub", "balance": 10_000_000, "residual": True},
            ],
            "waterfall": [
                {"pay_interest": "A"},
                {"pay_principal": {"tranches": ["A"]}},
                {"pay_residual": "Sub"},
            ],
        },
    }


def loss(deal: DealSpec, tranche: str, on: str, default: dict[str, Any]) -> float:
    """A tranche's loss in an independent deterministic run with this default assumption."""
    rows = greenabs.run(with_assumptions(deal, default=default)).tranches().to_dict("records")
    row = next(r for r in rows if r["name"] == tranche)
    if on == "principal":
        return float(row["principal_loss"])
    if deal.tranche(tranche).deferrable:
        return float(row["interest_shortfall"])
    return float(row["max_interest_shortfall"])


def at(b: Breakeven, deal: DealSpec, x: float) -> dict[str, Any]:
    if b.measure == "cdr":
        return {"cdr": x}
    if b.measure == "sda":
        return {"sda": x}
    return scaled_default(deal.assumptions.default, x)


# ---------------------------------------------------------------- against known answers
@pytest.mark.parametrize("term", [12, 24, 36])
def test_bullet_breakeven_cdr_is_analytic(term: int) -> None:
    deal = parse_deal(bullet_deal(term))
    b = breakeven(deal, "A")
    expected = 1 - 0.9 ** (12 / term)
    assert b.status == "found"
    assert expected - 1e-9 <= b.value <= expected + b.tolerance + 1e-9
    assert b.iterations == math.ceil(math.log2(1.0 / 1e-6))


def test_bisection_agrees_with_an_independent_grid() -> None:
    """Independent runs on a CDR grid 0.05 apart, then on a grid 20 times finer over the cell
    below its first loss, and so on to 6.25e-6: the first grid point with a loss is within the
    grid step plus the tolerance of the bisection each time (a grid of 6.25e-6 over the whole
    range, searched in four passes)."""
    deal = make_deal()
    b = breakeven(deal, "B")
    thr = loss_threshold(deal.tranche("B").balance)

    def first_loss(grid: list[float]) -> float:
        return next(x for x in grid if loss(deal, "B", "principal", {"cdr": x}) > thr)

    first, step = 0.0, 1.0
    for _ in range(4):  # grids 0.05, 2.5e-3, 1.25e-4 and 6.25e-6 apart
        start, step = max(first - step, 0.0), step / 20
        first = first_loss([start + i * step for i in range(21)])
        assert abs(first - b.value) <= step + b.tolerance


# ---------------------------------------------------------------- consistency on examples
EXAMPLE_CASES = [
    ("green_loans_2026_1.yaml", "B", "cdr", "principal"),
    ("green_loans_2026_1.yaml", "A", "sda", "interest"),
    ("ib_green_2014.yaml", "A", "sda", "principal"),  # none: SDA's tail on short loans
    ("ib_green_2014.yaml", "A", "multiple", "principal"),
    ("ib_green_2014.yaml", "B", "cdr", "interest"),
    ("npl_disposal_2026.yaml", "Senior", "multiple", "interest"),
    ("npl_disposal_2026.yaml", "Senior", "sda", "principal"),
]


@pytest.mark.parametrize(("example", "tranche", "measure", "on"), EXAMPLE_CASES)
def test_no_loss_just_below_and_a_loss_at_the_breakeven(
    example: str, tranche: str, measure: str, on: str
) -> None:
    deal = greenabs.load_deal(EXAMPLES / example)
    try:
        b = breakeven(deal, tranche, measure=measure, on=on)
    except SpecError as exc:  # no breakeven in the range: said so, naming high
        assert [p.where for p in exc.problems] == ["high"]
        assert "does not exist" in str(exc)
        return
    thr = loss_threshold(deal.tranche(tranche).balance)
    assert b.status == "found"
    assert b.low < b.value <= b.high
    assert b.loss_below is not None
    assert b.loss_below <= thr < b.loss_at_value
    assert loss(deal, tranche, on, at(b, deal, b.value)) > thr
    below = max(b.value - b.tolerance, b.low)
    assert loss(deal, tranche, on, at(b, deal, below)) <= thr
    assert b.loss_at_value == pytest.approx(loss(deal, tranche, on, at(b, deal, b.value)))


def test_measures_agree_on_a_cdr_deal() -> None:
    """A multiple of a CDR assumption is that CDR: the two breakevens are the same point."""
    deal = greenabs.load_deal(EXAMPLES / "ib_green_2014.yaml")  # CDR 0.5%
    c = breakeven(deal, "B")
    m = breakeven(deal, "B", measure="multiple")
    assert m.value * 0.005 == pytest.approx(c.value, abs=c.tolerance + m.tolerance * 0.005)
    assert dict(m.default_at_value) == {"cdr": pytest.approx(m.value * 0.005)}


def test_interest_breakeven_of_a_deferrable_class_is_unpaid_interest_at_the_end() -> None:
    d = bullet_deal(12, deferrable=True)
    d["pool"]["assets"][0]["rate"] = 0.06
    d["structure"]["tranches"][0]["coupon"] = {"fixed": 0.08}
    deal = parse_deal(d)
    b = breakeven(deal, "A", on="interest")
    assert b.status == "found"
    thr = loss_threshold(90_000_000)
    assert loss(deal, "A", "interest", {"cdr": b.value}) > thr  # interest never paid
    assert loss(deal, "A", "interest", {"cdr": max(b.value - b.tolerance, 0.0)}) <= thr


def test_loses_at_the_bottom_of_the_range() -> None:
    deal = parse_deal(bullet_deal(12))
    b = breakeven(deal, "A", low=0.2)
    assert (b.status, b.value, b.iterations, b.loss_below) == ("at_low", 0.2, 0, None)
    assert b.loss_at_value > b.threshold
    assert b.to_dict()["status"] == "at_low"


def test_scaled_default_caps_each_form() -> None:
    assert scaled_default(DefaultSpec(cdr=0.3), 5) == {"cdr": 1.0}
    assert scaled_default(DefaultSpec(sda=5000), 4) == {"sda": 16666.0}
    v = scaled_default(DefaultSpec(vector=(0.1, 0.5), by="age"), 3)
    assert v == {"vector": [pytest.approx(0.3), 1.0], "by": "age"}


def test_multiple_of_a_vector_assumption() -> None:
    d = bullet_deal(12)
    d["assumptions"]["default"] = {"vector": [0.02] * 6 + [0.04] * 6}
    deal = parse_deal(d)
    b = breakeven(deal, "A", measure="multiple", tolerance=1e-3)
    thr = loss_threshold(90_000_000)
    assert loss(deal, "A", "principal", scaled_default(deal.assumptions.default, b.value)) > thr
    below = scaled_default(deal.assumptions.default, b.value - b.tolerance)
    assert loss(deal, "A", "principal", below) <= thr


# ---------------------------------------------------------------- bad input (Python)
@pytest.mark.parametrize(
    ("kwargs", "where", "words"),
    [
        ({"tranche": "Z"}, "tranche", "known: A, B, Sub"),
        ({"tranche": "Sub"}, "tranche", "residual"),
        ({"measure": "psa"}, "measure", "cdr, sda, multiple"),
        ({"on": "both"}, "on", "principal, interest"),
        ({"low": -0.1}, "low", ">= 0"),
        ({"low": math.nan}, "low", "finite"),
        ({"high": math.inf}, "high", "finite"),
        ({"high": 1.5}, "high", "at most 1"),
        ({"measure": "sda", "high": 20000.0}, "high", "at most 16666"),
        ({"low": 0.3, "high": 0.3}, "low", "below high"),
        ({"tolerance": 0.0}, "tolerance", "above 0"),
        ({"tolerance": math.nan}, "tolerance", "above 0"),
        ({"tolerance": 1e-60}, "tolerance", "more than 100"),
        ({"high": 0.01}, "high", "does not exist"),
        ({"backend": "gpu"}, "backend", "unknown backend"),
    ],
)
def test_bad_arguments_are_one_clear_error(kwargs: dict[str, Any], where: str, words: str) -> None:
    deal = make_deal()
    args = {"tranche": "B", **kwargs}
    with pytest.raises(SpecError) as info:
        breakeven(deal, **args)
    assert [p.where for p in info.value.problems] == [where]
    assert words in str(info.value)


def test_zero_default_assumption_has_no_multiple() -> None:
    deal = make_deal(assumptions={"default": {"cdr": 0.0}})
    with pytest.raises(SpecError, match="default assumption is zero"):
        breakeven(deal, "B", measure="multiple")


def test_sda_without_defaults_says_why() -> None:
    with pytest.raises(SpecError, match="last 12 months") as info:
        breakeven(parse_deal(bullet_deal(12)), "A", measure="sda")  # all in its last year
    assert info.value.problems[0].where == "high"


def test_no_breakeven_even_at_full_cdr_says_so() -> None:
    d = bullet_deal(12)
    d["assumptions"]["recovery"] = {"rate": 1.0, "lag_months": 0}  # every default recovered
    with pytest.raises(SpecError, match="even a 100% CDR leaves it whole") as info:
        breakeven(parse_deal(d), "A")
    assert info.value.problems[0].where == "high"


# ---------------------------------------------------------------- command line
@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    f = tmp_path_factory.mktemp("breakeven") / "deal.yaml"
    f.write_text(yaml.safe_dump(bullet_deal(36)), encoding="utf-8")
    return f


def test_cli_end_to_end_writes_json(small_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "b.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "greenabs.cli",
            "breakeven",
            str(small_file),
            "--tranche",
            "A",
            "--json",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Breakeven" in proc.stdout
    assert "% CDR" in proc.stdout
    data = json.loads(target.read_text())["breakeven"]
    for key in ("tranche", "measure", "value", "tolerance", "on", "low", "high", "status"):
        assert key in data
    assert data["iterations"] == 20
    assert (data["tranche"], data["measure"], data["on"], data["status"]) == (
        "A",
        "cdr",
        "principal",
        "found",
    )
    expected = breakeven(greenabs.load_deal(small_file), "A")
    assert data["value"] == expected.value
    assert 1 - 0.9 ** (12 / 36) <= data["value"] <= 1 - 0.9 ** (12 / 36) + 1e-6
    assert (data["low"], data["high"], data["tolerance"]) == (0.0, 1.0, 1e-6)


def test_cli_bad_flag_exits_1_with_one_message(small_file: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "greenabs.cli", "breakeven", str(small_file), "--tranche", "Sub"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: --tranche: tranche 'Sub' is the residual")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_table_fits_80_columns_and_json_for_other_measures(
    small_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "m.json"
    old = out.width
    out.width = 80
    try:
        res = runner.invoke(
            app,
            [
                "breakeven",
                str(small_file),
                "--tranche",
                "A",
                "--measure",
                "multiple",
                "--high",
                "50",
                "--tolerance",
                "0.001",
                "--json",
                str(target),
            ],
        )
    finally:
        out.width = old
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.output.splitlines()) <= 80
    data = json.loads(target.read_text())["breakeven"]
    assert (data["measure"], data["high"], data["tolerance"]) == ("multiple", 50.0, 0.001)
    expected = (1 - 0.9 ** (12 / 36)) / 0.01  # the analytic CDR over the deal's 1% CDR
    assert data["value"] == pytest.approx(expected, abs=0.002)
    res = runner.invoke(
        app, ["breakeven", str(small_file), "--tranche", "A", "--measure", "sda", "-q"]
    )
    assert res.exit_code == 0, res.output
    assert res.output == ""


def test_cli_at_low_is_reported(small_file: Path) -> None:
    res = runner.invoke(app, ["breakeven", str(small_file), "--tranche", "A", "--low", "0.5"])
    assert res.exit_code == 0, res.output
    assert "loses at the bottom of the range" in res.output


@pytest.mark.parametrize(
    ("args", "flag", "words"),
    [
        (["--tranche", "Z"], "--tranche", "unknown tranche 'Z'"),
        (["--tranche", "Sub"], "--tranche", "residual"),
        (["--tranche", "A", "--measure", "psa"], "--measure", "cdr, sda, multiple"),
        (["--tranche", "A", "--on", "coupon"], "--on", "principal, interest"),
        (["--tranche", "A", "--low", "-1"], "--low", ">= 0"),
        (["--tranche", "A", "--low", "nan"], "--low", "finite"),
        (["--tranche", "A", "--high", "inf"], "--high", "finite"),
        (["--tranche", "A", "--high", "2"], "--high", "at most 1"),
        (["--tranche", "A", "--low", "0.5", "--high", "0.1"], "--low", "below high"),
        (["--tranche", "A", "--tolerance", "-1"], "--tolerance", "above 0"),
        (["--tranche", "A", "--tolerance", "1e-300"], "--tolerance", "more than 100"),
        (["--tranche", "A", "--high", "0.02"], "--high", "does not exist"),
        (["--tranche", "A", "--backend", "gpu"], "--backend", "unknown backend"),
    ],
)
def test_cli_bad_flags_name_the_flag(
    small_file: Path, args: list[str], flag: str, words: str
) -> None:
    res = runner.invoke(app, ["breakeven", str(small_file), *args])
    exc = res.exception
    assert isinstance(exc, SpecError), (exc, res.output)
    assert [p.where for p in exc.problems] == [flag]
    assert words in str(exc)


def test_cli_missing_file_is_a_clean_error() -> None:
    res = runner.invoke(app, ["breakeven", "no_such_deal.yaml", "--tranche", "A"])
    assert isinstance(res.exception, SpecError)
    assert "not found" in str(res.exception)


# ---------------------------------------------------------------- documentation
def test_docs_python_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs/breakeven.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    monkeypatch.chdir(ROOT)
    exec(compile("\n".join(blocks), "docs/breakeven.md", "exec"), {})
