"""Bad input: every malformed deal or tape ends in a SpecError naming the place and reason,
and the CLI prints one line and exits 1 (never a traceback)."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenabs import DataError, SpecError, load_deal, load_tape, parse_deal
from tests.conftest import deal_dict


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        keys = path.split(".")
        node: Any = d
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        last = keys[-1]
        if value is _DELETE:
            del node[int(last) if last.isdigit() else last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return edit


_DELETE = object()

BROKEN_DEALS = [
    (
        "negative balance",
        _set("pool.assets.0.balance", -5),
        "pool.assets[0].balance",
        "greater than 0",
    ),
    (
        "unparseable number",
        _set("pool.assets.0.balance", "12,0x"),
        "pool.assets[0].balance",
        "unable to parse",
    ),
    (
        "wrong type",
        _set("pool.assets.0.original_term", "sixty"),
        "pool.assets[0].original_term",
        "valid integer",
    ),
    ("unknown asset type", _set("pool.assets.0.type", "laon"), "pool.assets[0]", "unknown type"),
    ("misspelt field", _set("pool.assets.0.ratee", 0.05), "pool.assets[0].ratee", "unknown field"),
    ("matured loan", _set("pool.assets.0.age", 60), "pool.assets[0]", "has matured"),
    (
        "unknown tranche in step",
        _set("structure.waterfall.1", {"pay_interest": "C"}),
        "structure.waterfall[1].pay_interest",
        "unknown tranche 'C'",
    ),
    (
        "unknown step",
        _set("structure.waterfall.1", {"pay_intrest": "A"}),
        "structure.waterfall[1]",
        "got pay_intrest",
    ),
    (
        "unknown fee",
        _set("structure.waterfall.0", {"pay_fees": ["audit"]}),
        "structure.waterfall[0].pay_fees",
        "unknown fee 'audit'",
    ),
    ("closing before cutoff", _set("dates.closing", "2026-03-01"), "dates", "before cutoff"),
    (
        "first payment before closing",
        _set("dates.first_payment", "2026-04-01"),
        "dates",
        "must be after closing",
    ),
    ("impossible date", _set("dates.cutoff", "2026-02-30"), "dates.cutoff", "date"),
    (
        "tranches exceed pool",
        _set("structure.tranches.0.balance", 90_000_000),
        "structure.tranches",
        "more than the pool",
    ),
    (
        "duplicate tranche",
        _set("structure.tranches.1.name", "A"),
        "structure.tranches",
        "used twice",
    ),
    (
        "coupon missing",
        _set("structure.tranches.0.coupon", _DELETE),
        "structure.tranches[0]",
        "needs a coupon",
    ),
    (
        "two prepayment models",
        _set("assumptions.prepayment", {"cpr": 0.1, "psa": 100}),
        "assumptions.prepayment",
        "exactly one",
    ),
    (
        "rate above one",
        _set("assumptions.default", {"cdr": 1.5}),
        "assumptions.default.cdr",
        "less than or equal to 1",
    ),
    (
        "tranche never paid",
        _set("structure.waterfall.3", {"pay_principal": "A"}),
        "structure.tranches[1]",
        "never paid principal",
    ),
    (
        "fee never paid",
        _set("structure.waterfall.0", {"pay_interest": "A"}),
        "structure.fees[0]",
        "never paid",
    ),
    ("missing section", _set("structure", _DELETE), "structure", "required"),
    (
        "unknown index",
        _set("structure.tranches.0.coupon", {"index": "SHIBOR3M", "margin": 0.01}),
        "structure.tranches[0].coupon.index",
        "no path",
    ),
    (
        "residual not marked",
        _set("structure.waterfall.4", {"pay_residual": "B"}),
        "structure.waterfall[4].pay_residual",
        "not marked residual",
    ),
    (
        "reserve without account",
        _set("structure.waterfall.0", {"fund_reserve": "rsv"}),
        "structure.waterfall[0].fund_reserve",
        "unknown account",
    ),
]


@pytest.mark.parametrize(
    ("label", "edit", "where", "reason"), BROKEN_DEALS, ids=[c[0] for c in BROKEN_DEALS]
)
def test_broken_deal_names_field_and_reason(
    label: str, edit: Callable[[dict[str, Any]], None], where: str, reason: str
) -> None:
    d = deal_dict()
    d["structure"]["fees"] = [{"name": "trustee", "rate": 0.0002}]
    edit(d)
    with pytest.raises(SpecError) as info:
        parse_deal(d, "deal.yaml")
    text = str(info.value)
    assert text.startswith("deal.yaml: ")
    assert any(p.where == where for p in info.value.problems), text
    assert reason in text


TAPE_HEADER = "id,type,balance,rate,original_term,age,amortization\n"
BROKEN_TAPES = [
    (
        "missing column",
        "id,type,balance,rate,age\nL1,loan,100,0.05,0\n",
        "column 'original_term'",
        "missing column",
    ),
    (
        "unparseable number",
        TAPE_HEADER + "L1,loan,1O0,0.05,60,0,level\n",
        "row 2 (id L1), column balance",
        "unable to parse",
    ),
    (
        "negative balance",
        TAPE_HEADER + "L1,loan,100,0.05,60,0,level\nL2,loan,-1,0.05,60,0,level\n",
        "row 3 (id L2), column balance",
        "greater than 0",
    ),
    (
        "unknown column",
        TAPE_HEADER.strip() + ",colour\nL1,loan,100,0.05,60,0,level,red\n",
        "column 'colour'",
        "unknown column",
    ),
    (
        "unknown type",
        TAPE_HEADER + "L1,mortgage,100,0.05,60,0,level\n",
        "row 2 (id L1)",
        "unknown type 'mortgage'",
    ),
    (
        "bad amortisation",
        TAPE_HEADER + "L1,loan,100,0.05,60,0,balloon\n",
        "row 2 (id L1), column amortization",
        "level",
    ),
    ("empty", TAPE_HEADER, "", "no rows"),
]


@pytest.mark.parametrize(
    ("label", "text", "where", "reason"), BROKEN_TAPES, ids=[c[0] for c in BROKEN_TAPES]
)
def test_broken_tape_names_row_column_and_reason(
    tmp_path: Path, label: str, text: str, where: str, reason: str
) -> None:
    tape = tmp_path / "tape.csv"
    tape.write_text(text)
    with pytest.raises(DataError) as info:
        load_tape(tape)
    msg = str(info.value)
    assert msg.startswith(str(tape))
    assert any(p.where == where for p in info.value.problems), msg
    assert reason in msg


def test_tape_in_excel(tmp_path: Path) -> None:
    import pandas as pd

    good = tmp_path / "tape.xlsx"
    pd.DataFrame(
        [
            {
                "id": "L1",
                "type": "loan",
                "balance": 100.0,
                "rate": 0.05,
                "original_term": 12,
                "age": 0,
                "amortization": "level",
            }
        ]
    ).to_excel(good, index=False)
    assert load_tape(good)[0].balance == 100.0
    # dates arrive from Excel as timestamps
    rec = tmp_path / "rec.xlsx"
    pd.DataFrame(
        [{"id": "R1", "type": "receivable", "balance": 5.0, "due_date": pd.Timestamp("2027-03-31")}]
    ).to_excel(rec, index=False)
    assert str(load_tape(rec)[0].due_date) == "2027-03-31"


def test_missing_files_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_deal(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match=r"line \d+, column \d+: not valid YAML"):
        load_deal(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(SpecError, match="must be a mapping"):
        load_deal(listy)
    with_tape = tmp_path / "deal.yaml"
    d = deal_dict()
    d["pool"] = {"tape": "missing.csv"}
    with_tape.write_text(yaml.safe_dump(d))
    with pytest.raises(DataError, match="tape file not found"):
        load_deal(with_tape)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenabs.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_reports_bad_deal_without_traceback(tmp_path: Path) -> None:
    d = deal_dict()
    d["structure"]["waterfall"][1] = {"pay_interest": "C"}
    f = tmp_path / "deal.yaml"
    f.write_text(yaml.safe_dump(d))
    for cmd in ("run", "validate"):
        proc = _cli(cmd, str(f))
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert "structure.waterfall[1].pay_interest: unknown tranche 'C'" in proc.stderr


def test_cli_rejects_bad_flag_values(tmp_path: Path) -> None:
    f = tmp_path / "deal.yaml"
    f.write_text(yaml.safe_dump(deal_dict()))
    proc = _cli("run", str(f), "--cpr", "1.5")
    assert proc.returncode == 1
    assert "assumptions.prepayment.cpr" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _cli("run", str(f), "--backend", "gpu")
    assert proc.returncode == 1
    assert "unknown backend" in proc.stderr
    proc = _cli("run", str(f), "--cpr", "abc")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------- generated inputs
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.dates().map(str),
)


def _paths(d: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(deal_dict())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), _scalars), min_size=1, max_size=3))
def test_mutated_deals_are_valid_or_rejected_cleanly(
    edits: list[tuple[tuple[Any, ...], Any]],
) -> None:
    d = deal_dict()
    for path, value in edits:
        node: Any = d
        try:
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        deal = parse_deal(copy.deepcopy(d), "fuzz.yaml")
    except SpecError as exc:
        assert exc.problems
        assert all(p.reason for p in exc.problems)
        return
    # a deal that validates must run and conserve cash (or fail with a clear error)
    import greenabs

    try:
        greenabs.run(deal)
    except greenabs.GreenabsError as exc:  # pragma: no cover - reported, not a crash
        assert str(exc)
