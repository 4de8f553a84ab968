"""Parquet loan tapes: the same assets, checks and messages as CSV tapes, read in chunks.

A Parquet tape's rows are numbered as a CSV tape's: the header is row 1, so record ``i``
(counted from 0) is row ``i + 2`` and the same tape written both ways names the same rows.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from greenabs import DataError, SpecError, load_deal, load_tape, parse_deal, run
from greenabs.assets.projected import ProjectedSpec
from greenabs.spec.io import TAPE_CHUNK_ROWS
from tests.conftest import BASE, ROOT, deal_dict

LOANS = [dict(a) for a in BASE["pool"]["assets"]]


def _frame() -> pd.DataFrame:
    """A mixed tape: loans with optional fields partly given, and receivables (dates)."""
    rows: list[dict[str, Any]] = [
        {**LOANS[0], "frequency": "monthly", "obligor": "Borrower 1", "region": "Jiangsu"},
        {**LOANS[1], "green_category": "3.2.2.1", "impact_mwh": 12_500.5},
        {
            "id": "L3",
            "type": "loan",
            "balance": 1_250_000.25,
            "index": "LPR1Y",
            "margin": 0.004,
            "original_term": 120,
            "age": 13,
            "amortization": "interest_only",
            "frequency": "quarterly",
        },
        {"id": "R1", "type": "receivable", "balance": 5_000.0, "due_date": dt.date(2027, 3, 31)},
        {
            "id": "R2",
            "type": "receivable",
            "balance": 7_500.0,
            "due_date": dt.date(2026, 9, 30),
            "collection_lag_months": 2,
        },
    ]
    return pd.DataFrame(rows)


def _both(tmp_path: Path, frame: pd.DataFrame, name: str = "tape") -> tuple[Path, Path]:
    csv, parquet = tmp_path / f"{name}.csv", tmp_path / f"{name}.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet, index=False)
    return csv, parquet


def _deal_on(tape: str) -> dict[str, Any]:
    d = deal_dict()
    d["pool"] = {"tape": tape}
    return d


def _problems(path: Path, **kw: Any) -> list[tuple[str, str]]:
    with pytest.raises(DataError) as info:
        load_tape(path, **kw)
    assert str(info.value).startswith(f"{path}: "), str(info.value)
    return [(p.where, p.reason) for p in info.value.problems]


def _write(tmp_path: Path, columns: dict[str, Any], name: str = "t.parquet", **kw: Any) -> Path:
    f = tmp_path / name
    pq.write_table(pa.table(columns), f, **kw)
    return f


def _loan_columns(n: int = 3) -> dict[str, Any]:
    return {
        "id": pa.array([f"L{i}" for i in range(1, n + 1)]),
        "type": pa.array(["loan"] * n),
        "balance": pa.array([100.0 * (i + 1) for i in range(n)]),
        "rate": pa.array([0.05] * n),
        "original_term": pa.array([60] * n, pa.int64()),
        "age": pa.array([0] * n, pa.int64()),
        "amortization": pa.array(["level"] * n),
    }


# ------------------------------------------------------------------------------ same as CSV


def test_parquet_gives_the_assets_of_the_same_csv_tape(tmp_path: Path) -> None:
    csv, parquet = _both(tmp_path, _frame())
    assets = load_tape(parquet)
    assert assets == load_tape(csv)
    assert [a.id for a in assets] == ["L1", "L2", "L3", "R1", "R2"]
    assert assets[3].model_dump()["due_date"] == dt.date(2027, 3, 31)
    pq_short = tmp_path / "tape.pq"
    pq_short.write_bytes(parquet.read_bytes())
    assert load_tape(pq_short) == assets


def test_a_deal_on_a_parquet_tape_runs_as_on_the_csv_tape(tmp_path: Path) -> None:
    frame = pd.DataFrame([{**LOANS[0], "region": "Jiangsu"}, {**LOANS[1], "obligor": "B2"}])
    _both(tmp_path, frame, "loans")
    results = []
    for name in ("loans.csv", "loans.parquet"):
        deal = tmp_path / f"{name}.yaml"
        deal.write_text(yaml.safe_dump(_deal_on(name)))
        spec = load_deal(deal)
        results.append((spec.pool.assets, run(spec)))
    (csv_assets, csv_run), (pq_assets, pq_run) = results
    assert pq_assets == csv_assets
    pd.testing.assert_frame_equal(pq_run.tranches(), csv_run.tranches())
    pd.testing.assert_frame_equal(pq_run.pool_cashflows(), csv_run.pool_cashflows())


BAD_VALUES = [
    ("negative balance", 1, "balance", -5.0, "greater than 0"),
    ("fractional term", 2, "original_term", 60.5, "valid integer"),
    ("unknown type", 0, "type", "mortgage", "unknown type 'mortgage'"),
    ("bad amortisation", 1, "amortization", "balloon", "Input should be 'level'"),
    ("rate of 100%", 2, "rate", 1.0, "less than 1"),
]


@pytest.mark.parametrize(
    ("label", "row", "column", "value", "reason"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES]
)
def test_a_bad_value_names_the_same_row_and_column_as_csv(
    tmp_path: Path, label: str, row: int, column: str, value: Any, reason: str
) -> None:
    frame = pd.DataFrame([{**LOANS[0], "id": f"L{i}"} for i in range(1, 4)])
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    csv, parquet = _both(tmp_path, frame)
    problems = _problems(parquet)
    assert [w for w, _ in problems] == [w for w, _ in _problems(csv)]
    [(where, why)] = problems
    assert where.startswith(f"row {row + 2} (id L{row + 1})")
    assert reason in why  # the CSV's reason but for 60.5 given as text, not as a number


def test_parquet_rows_are_numbered_like_csv_rows(tmp_path: Path) -> None:
    cols = _loan_columns(5)
    cols["balance"] = pa.array([100.0, 100.0, -1.0, 100.0, -2.0])
    f = _write(tmp_path, cols)
    assert [w for w, _ in _problems(f)] == [
        "row 4 (id L3), column balance",
        "row 6 (id L5), column balance",
    ]


# ------------------------------------------------------------------------------ chunks


def test_chunked_reading_equals_whole_reading(tmp_path: Path) -> None:
    n = 50
    frame = pd.DataFrame(
        {
            "id": [f"L{i}" for i in range(n)],
            "type": "loan",
            "balance": [1000.0 + i for i in range(n)],
            "rate": [0.03 + i / 10_000 for i in range(n)],
            "original_term": [12 + i for i in range(n)],
            "age": [i % 12 for i in range(n)],
            "amortization": ["level", "linear"] * (n // 2),
            "obligor": [None if i % 3 else f"B{i}" for i in range(n)],
        }
    )
    good = tmp_path / "good.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), good, row_group_size=13)
    bad_frame = frame.copy()
    bad_frame.loc[[3, 8, 41], "balance"] = -1.0
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pandas(bad_frame, preserve_index=False), bad, row_group_size=13)
    whole = load_tape(good, chunk_rows=10 * n)
    whole_problems = _problems(bad, chunk_rows=10 * n)
    assert [w for w, _ in whole_problems] == [
        f"row {i + 2} (id L{i}), column balance" for i in (3, 8, 41)
    ]
    for chunk in (1, 7, 1000, TAPE_CHUNK_ROWS):
        assert load_tape(good, chunk_rows=chunk) == whole
        assert _problems(bad, chunk_rows=chunk) == whole_problems


@pytest.mark.parametrize("chunk", [0, -3, 2.5, True, "100"])
def test_chunk_rows_must_be_a_positive_whole_number(tmp_path: Path, chunk: Any) -> None:
    f = _write(tmp_path, _loan_columns())
    with pytest.raises(SpecError, match="chunk_rows: must be a whole number of rows"):
        load_tape(f, chunk_rows=chunk)


# ------------------------------------------------------------------------------ types, nulls


def test_typed_columns(tmp_path: Path) -> None:
    cols = _loan_columns(2)
    cols.update(
        id=pa.array([1001, 1002], pa.int64()),  # an integer id reads as its digits
        balance=pa.array([Decimal("100.25"), Decimal("200.50")], pa.decimal128(12, 2)),
        rate=pa.array([0.05, 0.04], pa.float64()),
        original_term=pa.array([60, 120], pa.int32()),
        age=pa.array([3.0, 0.0], pa.float64()),  # pandas' ints with a null are floats
        amortization=pa.array(["level", "linear"]).dictionary_encode(),  # a categorical
        obligor=pa.array(["B1", "B2"], pa.large_string()),
    )
    a, b = load_tape(_write(tmp_path, cols))
    assert (a.id, b.id) == ("1001", "1002")
    dumped = a.model_dump()
    assert (dumped["balance"], dumped["original_term"], dumped["age"]) == (100.25, 60, 3)
    assert str(b.model_dump()["amortization"].value) == "linear"
    assert dumped["obligor"] == "B1"


def test_dates_as_dates_timestamps_or_text(tmp_path: Path) -> None:
    want = dt.date(2027, 3, 31)
    for i, due in enumerate(
        (
            pa.array([want], pa.date32()),
            pa.array([dt.datetime(2027, 3, 31)], pa.timestamp("ns")),
            pa.array([dt.datetime(2027, 3, 31)], pa.timestamp("us", tz="UTC")),
            pa.array(["2027-03-31"]),
        )
    ):
        cols = {"id": ["R1"], "type": ["receivable"], "balance": [5.0], "due_date": due}
        (asset,) = load_tape(_write(tmp_path, cols, f"r{i}.parquet"))
        assert asset.model_dump()["due_date"] == want
    cols = {
        "id": ["R1"],
        "type": ["receivable"],
        "balance": [5.0],
        "due_date": pa.array([dt.datetime(2027, 3, 31, 12)], pa.timestamp("s")),
    }
    [(where, reason)] = _problems(_write(tmp_path, cols, "noon.parquet"))
    assert where == "row 2 (id R1), column due_date"
    assert "zero time" in reason


def test_lists_records_and_booleans(tmp_path: Path) -> None:
    # Parquet holds what a CSV cell cannot: a projected asset's cash flows and a lease's rentals
    flows = [
        {"date": dt.date(2026, 6, 30), "principal": 60.0, "interest": 3.0},
        {"date": dt.date(2026, 12, 31), "principal": 40.0, "interest": 1.0},
    ]
    cols = {
        "id": ["P1", "S1"],
        "type": ["projected", "lease"],
        "cashflows": [flows, None],
        "prepayable": pa.array([True, None]),
        "rentals": [None, [10.0, 10.0, 10.0]],
        "balance": [None, 29.0],
    }
    projected, lease = load_tape(_write(tmp_path, cols))
    assert projected == ProjectedSpec.model_validate(
        {"id": "P1", "cashflows": flows, "prepayable": True}
    )
    assert lease.model_dump()["rentals"] == (10.0, 10.0, 10.0)


def test_nulls_are_values_not_given(tmp_path: Path) -> None:
    cols = _loan_columns(3)
    cols.update(
        rate=pa.array([0.05, None, 0.05]),  # L2 floats: index and margin instead
        index=pa.array([None, "LPR1Y", None]),
        margin=pa.array([None, 0.01, None]),
        age=pa.array([None, 2, None], pa.int64()),  # default 0
        obligor=pa.array(["B1", "  ", ""]),  # blank text, as an empty CSV cell
        region=pa.nulls(3),  # a column of nulls only
    )
    a, b, c = load_tape(_write(tmp_path, cols))
    assert (a.model_dump()["age"], b.model_dump()["age"]) == (0, 2)
    assert (b.model_dump()["rate"], b.model_dump()["index"]) == (None, "LPR1Y")
    assert [x.model_dump()["obligor"] for x in (a, b, c)] == ["B1", None, None]
    assert all(x.model_dump()["region"] is None for x in (a, b, c))


def test_an_empty_row_is_skipped_and_keeps_its_number(tmp_path: Path) -> None:
    cols = {
        k: pa.array([*v.to_pylist()[:1], None, *v.to_pylist()[1:]], v.type)
        for k, v in _loan_columns(2).items()
    }
    cols["balance"] = pa.array([100.0, None, -1.0])
    assert [w for w, _ in _problems(_write(tmp_path, cols))] == ["row 4 (id L2), column balance"]
    cols["balance"] = pa.array([100.0, None, 5.0])
    assert [a.id for a in load_tape(_write(tmp_path, cols, "ok.parquet"))] == ["L1", "L2"]


# ------------------------------------------------------------------------------ bad tapes


WRONG_TYPES = [
    ("text in balance", "balance", pa.array(["100", "x", "300"]), 2, "balance takes a number"),
    ("booleans in balance", "balance", pa.array([True, False, True]), 2, "a number"),
    ("numbers in amortization", "amortization", pa.array([1, 2, 3]), 2, "takes text"),
    ("floats in id", "id", pa.array([1.0, 2.0, 3.0]), 2, "id takes text"),
    ("dates in age", "age", pa.array([dt.date(2026, 1, 1)] * 3), 2, "age takes a number"),
    ("bytes in term", "original_term", pa.array([b"60"] * 3), 2, "not binary values"),
    ("first value later", "rate", pa.array([None, "0.05", "0.05"]), 3, "takes a number"),
]


@pytest.mark.parametrize(
    ("label", "column", "values", "row", "reason"), WRONG_TYPES, ids=[c[0] for c in WRONG_TYPES]
)
def test_a_column_of_the_wrong_type_names_column_and_row(
    tmp_path: Path, label: str, column: str, values: Any, row: int, reason: str
) -> None:
    cols = _loan_columns(3)
    cols[column] = values
    [(where, why)] = _problems(_write(tmp_path, cols))
    rid = {"id": f"{row - 1}.0"}.get(column, f"L{row - 1}")
    assert where == f"row {row} (id {rid}), column {column}"
    assert reason in why


def test_columns_unknown_missing_or_twice(tmp_path: Path) -> None:
    cols = _loan_columns()
    cols["colour"] = pa.array(["red"] * 3)
    [(where, why)] = _problems(_write(tmp_path, cols, "unknown.parquet"))
    assert (where, why.split(" (")[0]) == ("column 'colour'", "unknown column")
    cols = _loan_columns()
    del cols["original_term"], cols["id"]
    assert _problems(_write(tmp_path, cols, "missing.parquet")) == [
        ("column 'id'", "missing column")
    ]
    cols = _loan_columns()
    del cols["original_term"]
    assert _problems(_write(tmp_path, cols, "required.parquet")) == [
        ("column 'original_term'", "missing column (required for type 'loan')")
    ]
    table = pa.table(_loan_columns())
    twice = table.append_column("balance", pa.array([1.0, 2.0, 3.0]))
    f = tmp_path / "twice.parquet"
    pq.write_table(twice, f)
    assert _problems(f) == [("column 'balance'", "given twice")]


def test_empty_and_corrupt_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    assert _problems(empty) == [("", "the tape is empty (0 bytes, not a Parquet file)")]
    no_rows = tmp_path / "no_rows.parquet"
    pq.write_table(pa.table(_loan_columns(0)), no_rows)
    assert _problems(no_rows) == [("", "the tape has no rows")]
    cols = {k: pa.nulls(2, v.type) for k, v in _loan_columns(2).items()}
    assert _problems(_write(tmp_path, cols, "blank.parquet")) == [("", "the tape has no rows")]
    text = tmp_path / "text.parquet"
    text.write_text("id,type\nL1,loan\n")
    [(_, why)] = _problems(text)
    assert why.startswith("not a Parquet file")
    good = _write(tmp_path, _loan_columns(), "good.parquet").read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good[: len(good) // 2])
    [(_, why)] = _problems(cut)
    assert why.startswith("not a Parquet file")
    cut.write_bytes(b"x")
    [(_, why)] = _problems(cut)
    assert why.startswith("not a Parquet file")
    footer = int.from_bytes(good[-8:-4], "little") + 8
    cut.write_bytes(good[:4] + good[-footer:])  # the footer kept, the data cut out
    [(_, why)] = _problems(cut)
    assert why.startswith("cannot read the Parquet tape (")
    assert "\n" not in why
    reasons = set()
    for at in range(4, len(good) // 2, 13):  # broken pages, headers, dictionaries
        page = bytearray(good)
        page[at : at + 8] = b"\xff" * 8
        (tmp_path / "damaged.parquet").write_bytes(page)
        try:
            load_tape(tmp_path / "damaged.parquet")
        except DataError as exc:
            reasons.add(exc.problems[0].reason.split(" (")[0])
    assert "cannot read the Parquet tape" in reasons
    assert _problems(tmp_path / "absent.parquet") == [("", "tape file not found")]
    (tmp_path / "folder.parquet").mkdir()
    assert _problems(tmp_path / "folder.parquet") == [("", "a directory, not a tape file")]


# ------------------------------------------------------------------------------ docs, command line


def test_the_docs_example_writes_a_tape_that_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / "docs" / "deal-file.md").read_text(encoding="utf-8")
    section = text.split("### Loan tapes", 1)[1].split("\n### ", 1)[0]
    [block] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    monkeypatch.chdir(tmp_path)
    exec(block, {})  # the documentation's own example
    deal = tmp_path / "deal.yaml"
    deal.write_text(yaml.safe_dump(_deal_on("loans.parquet")))
    assets = load_deal(deal).pool.assets
    assert [a.model_dump(exclude={"region"}) for a in assets] == [
        a.model_dump(exclude={"region"}) for a in parse_deal(deal_dict()).pool.assets
    ]
    assert [a.region for a in assets] == ["Jiangsu", None]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "greenabs.cli", *args], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_validate_a_deal_on_a_parquet_tape(tmp_path: Path) -> None:
    pd.DataFrame(LOANS).to_parquet(tmp_path / "loans.parquet", index=False)
    deal = tmp_path / "deal.yaml"
    deal.write_text(yaml.safe_dump(_deal_on("loans.parquet")))
    proc = _cli("validate", str(deal))
    assert proc.returncode == 0, proc.stderr
    assert "2 assets" in proc.stdout
    (tmp_path / "loans.parquet").write_text("id,type\nL1,loan\n")
    proc = _cli("validate", str(deal))
    assert proc.returncode == 1
    assert "loans.parquet: not a Parquet file" in proc.stderr
