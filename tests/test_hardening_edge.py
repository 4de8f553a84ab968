"""Hostile input at the edge (issue 13): YAML, tapes, the consoles and the flags of the CLI.

Every bad input must end in a SpecError/DataError naming the file, the field (or row and
column) and the reason: never a traceback, a hang or a silently wrong number.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from greenabs import load_deal
from greenabs.cli import app
from greenabs.errors import DataError, SpecError
from greenabs.spec import io
from greenabs.spec.io import load_tape, read_yaml
from tests.conftest import EXAMPLES, deal_dict

LOADERS = [io._PyLoader] + ([io._LOADER] if io._LOADER is not io._PyLoader else [])


@pytest.fixture(params=LOADERS, ids=lambda c: c.__name__)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """Run a test with libyaml's C parser and with the pure-Python fallback."""
    monkeypatch.setattr(io, "_LOADER", request.param)
    return request.param  # type: ignore[no-any-return]


def _write(tmp_path: Path, text: str | bytes, name: str = "deal.yaml") -> Path:
    f = tmp_path / name
    if isinstance(text, bytes):
        f.write_bytes(text)
    else:
        f.write_text(text, encoding="utf-8")
    return f


def _refused(f: Path, *needles: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        read_yaml(f)
    msg = str(info.value)
    assert msg.startswith(f"{f}: "), msg
    assert len(info.value.problems) == 1
    assert "SpecError" not in msg
    assert "cannot read the YAML" not in msg  # the last resort, for what nobody foresaw
    for n in needles:
        assert n in msg, msg
    return info.value


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "greenabs.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


# ------------------------------------------------------------------------------- 1. YAML
def test_the_fast_c_loader_is_used_where_present() -> None:
    if yaml.__with_libyaml__:
        assert io._LOADER.__name__ == "_CLoader"
        assert issubclass(io._LOADER, yaml.CSafeLoader.__mro__[1])  # libyaml's CParser


def test_duplicate_key_names_the_key_and_both_lines(tmp_path: Path, loader: type[Any]) -> None:
    f = _write(tmp_path, "name: a\ncurrency: CNY\nname: b\n")
    err = _refused(f, "line 3", "duplicate key 'name'", "first given on line 1")
    assert err.problems[0].where.startswith("line 3")
    nested = _write(tmp_path, "pool:\n  assets: []\n  tape: t.csv\n  assets: []\n", "n.yaml")
    _refused(nested, "line 4", "duplicate key 'assets'", "line 2")
    # keys that load as equal values are the same key
    _refused(_write(tmp_path, "{1: a, 0x1: b}\n", "i.yaml"), "duplicate key 1")


def test_merge_keys_may_be_overridden(tmp_path: Path, loader: type[Any]) -> None:
    text = (
        "base: &b {cpr: 0.05, cdr: 0.01}\n"
        "mid: &m {<<: *b, cdr: 0.02}\n"
        "top: {<<: [*m, *b], cpr: 0.1}\n"
    )
    data = read_yaml(_write(tmp_path, text))
    assert data["mid"] == {"cpr": 0.05, "cdr": 0.02}
    assert data["top"] == {"cpr": 0.1, "cdr": 0.02}
    _refused(_write(tmp_path, "a: {<<: {x: 1}, y: 2, y: 3}\n", "d.yaml"), "duplicate key 'y'")


BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_billion_laughs_is_refused_quickly(tmp_path: Path, loader: type[Any]) -> None:
    assert len(BILLION_LAUGHS) < 1000  # about 10**9 values once expanded
    f = _write(tmp_path, BILLION_LAUGHS)
    start = time.perf_counter()
    _refused(f, "aliases expand", f"{io.MAX_YAML_NODES:,}")
    assert time.perf_counter() - start < 1.0


def test_alias_expansion_is_limited_relative_to_the_file(tmp_path: Path, loader: type[Any]) -> None:
    # ~100 values written, 10**6 once expanded: under MAX_YAML_NODES, over ALIAS_FACTOR
    text = "a: &a [" + ", ".join(["x"] * 100) + "]\n"
    text += "b: &b [" + ", ".join(["*a"] * 100) + "]\n"
    text += "c: [" + ", ".join(["*b"] * 100) + "]\n"
    _refused(_write(tmp_path, text), "aliases expand the file", f"{io.ALIAS_FACTOR} times")
    # a modest reuse of anchors stays fine
    ok = "a: &a [" + ", ".join(["x"] * 100) + "]\nb: [" + ", ".join(["*a"] * 100) + "]\n"
    assert len(read_yaml(_write(tmp_path, ok, "ok.yaml"))["b"]) == 100


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path, loader: type[Any]) -> None:
    _refused(_write(tmp_path, "a: &a [1, *a]\n"), "line 1", "alias refers to a list or mapping")
    _refused(_write(tmp_path, "a: &a {b: *a}\n", "m.yaml"), "alias refers")


@pytest.mark.parametrize("levels", [101, 1000, 5000])
def test_deep_nesting_is_refused_without_recursion_error(
    tmp_path: Path, loader: type[Any], levels: int
) -> None:
    for text in ("[" * levels + "]" * levels, "{a: " * levels + "1" + "}" * levels):
        _refused(
            _write(tmp_path, "x: " + text + "\n"),
            f"nest deeper than {io.MAX_YAML_DEPTH} levels",
        )
    block = "".join(" " * i + "a:\n" for i in range(levels)) + " " * levels + "1\n"
    _refused(_write(tmp_path, block, "b.yaml"), f"nest deeper than {io.MAX_YAML_DEPTH}")


def test_nesting_through_aliases_counts_expanded(tmp_path: Path, loader: type[Any]) -> None:
    text = "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    _refused(_write(tmp_path, text), f"nest deeper than {io.MAX_YAML_DEPTH}")
    fine = "[" * io.MAX_YAML_DEPTH + "]" * io.MAX_YAML_DEPTH
    assert read_yaml(_write(tmp_path, fine, "ok.yaml")) is not None


def test_a_file_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert io.MAX_YAML_BYTES == 64 * 2**20
    monkeypatch.setattr(io, "MAX_YAML_BYTES", 1024)
    f = _write(tmp_path, "a: " + "x" * 1100 + "\n")
    _refused(f, "larger than 0 MiB", "loan tape")
    assert read_yaml(_write(tmp_path, "a: " + "x" * 1000 + "\n", "ok.yaml")) == {"a": "x" * 1000}


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("a: " + "9" * 5000 + "\n", ["line 1, column 4", "is not a valid integer", "digits"]),
        ("a: 2026-02-30\n", ["line 1, column 4", "'2026-02-30' is not a valid date (day is"]),
        ("a: !!int x\n", ["line 1, column 4", "'x' is not a valid integer"]),
        ("a: !!int ''\n", ["line 1, column 4", "'' is not a valid integer"]),
        ("a: !!float ''\n", ["'' is not a valid number"]),
        ("a: !!float 1.5x\n", ["'1.5x' is not a valid number"]),
        ("a: !!bool maybe\n", ["'maybe' is not a valid true/false value"]),
        ("a: !!timestamp x\n", ["'x' is not a valid date"]),
        ("a: !!timestamp 2026-13-01\n", ["is not a valid date (month must be in 1..12)"]),
        ("a: 1\n\x00\n", ["line 2, column 1", "#x0000 is not allowed"]),
        ("a: b: c\n", ["line 1", "not valid YAML"]),
        ("a: [1, 2\n", ["not valid YAML"]),
        ("? [a]\n: 1\n", ["line 1", "unhashable key"]),
        ("a: *nope\n", ["undefined alias"]),
        ("--- 1\n--- 2\n", ["not valid YAML"]),
        ("!!python/object/apply:os.system [echo hi]\n", ["could not determine a constructor"]),
        ("a: !!binary 'a'\n", ["line 1", "base64"]),
    ],
)
def test_bad_yaml_names_line_and_reason(
    tmp_path: Path, loader: type[Any], text: str, needles: list[str]
) -> None:
    _refused(_write(tmp_path, text), *needles)


def test_files_that_are_not_yaml_text(tmp_path: Path, loader: type[Any]) -> None:
    _refused(_write(tmp_path, b"name: \xff\xfe garbage\n"), "line 1", "not UTF-8")
    _refused(tmp_path, "a directory, not a file")
    _refused(tmp_path / "missing.yaml", "file not found")
    # a byte-order mark is fine; an empty file is no data
    assert read_yaml(_write(tmp_path, "\ufeffa: 1\n", "bom.yaml")) == {"a": 1}
    assert read_yaml(_write(tmp_path, "", "empty.yaml")) is None


@pytest.mark.parametrize(
    ("text", "got"),
    [
        ("", "an empty file"),
        ("- a\n- b\n", "a list"),
        ("just words\n", "a text"),
        ("7\n", "a number"),
        ("1.5\n", "a number"),
        ("yes\n", "true/false"),
        ("2026-01-01\n", "a date"),
    ],
)
def test_a_deal_file_that_is_not_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    with pytest.raises(SpecError, match=f"must be a mapping of fields \\(got {got}\\)"):
        load_deal(_write(tmp_path, text))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_any_input_gives_data_or_a_spec_error(tmp_path: Path, data: bytes | str) -> None:
    f = _write(tmp_path, data, "fuzz.yaml")
    try:
        read_yaml(f)
    except SpecError as exc:
        assert str(exc).startswith(str(f))


_YAML_ALPHABET = st.sampled_from([*"[]{}:,-&*!|>'\"#?%@` \n\tab01.~<", "&a ", "*a", "<<"])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.lists(_YAML_ALPHABET, max_size=60).map("".join))
def test_yaml_syntax_soup_gives_data_or_a_spec_error(
    tmp_path: Path, loader: type[Any], text: str
) -> None:
    with contextlib.suppress(SpecError):
        read_yaml(_write(tmp_path, text, "soup.yaml"))


# ------------------------------------------------------------------------------- 2. tapes
@pytest.mark.parametrize("tape", [None, 5, 1.5, True, ["a.csv"], {"f": 1}, "", "   "])
def test_pool_tape_must_be_a_file_name(tmp_path: Path, tape: Any) -> None:
    d = deal_dict()
    d["pool"] = {"tape": tape}
    f = _write(tmp_path, yaml.safe_dump(d))
    with pytest.raises(SpecError) as info:
        load_deal(f)
    assert not isinstance(info.value, DataError)
    assert [p.where for p in info.value.problems] == ["pool.tape"]
    assert "must be the file name of a loan tape" in str(info.value)
    assert str(info.value).startswith(str(f))


HEADER = "id,type,balance,rate,original_term,age,amortization\n"


@pytest.mark.parametrize(
    ("row", "column", "shown"),
    [
        ("L1,loan,inf,0.05,60,0,level", "balance", "'inf'"),
        ("L1,loan,-inf,0.05,60,0,level", "balance", "'-inf'"),
        ("L1,loan,nan,0.05,60,0,level", "balance", "'nan'"),
        ("L1,loan,1e400,0.05,60,0,level", "balance", "'1e400'"),
        ("L1,loan,100,NaN,60,0,level", "rate", "'NaN'"),
        ("L1,loan,100,0.05,1e400,0,level", "original_term", "'1e400'"),
        ("L1,loan,100,0.05,60,inf,level", "age", "'inf'"),
    ],
)
def test_non_finite_tape_cells_name_row_and_column(
    tmp_path: Path, row: str, column: str, shown: str
) -> None:
    tape = _write(tmp_path, HEADER + "L0,loan,100,0.05,60,0,level\n" + row + "\n", "t.csv")
    with pytest.raises(DataError) as info:
        load_tape(tape)
    assert [p.where for p in info.value.problems] == [f"row 3 (id L1), column {column}"]
    assert shown in str(info.value)


def test_tape_rows_keep_their_numbers_across_blank_lines(tmp_path: Path) -> None:
    text = HEADER + "L0,loan,100,0.05,60,0,level\n\n,,,,,,\nL1,loan,-5,0.05,60,0,level\n\n"
    with pytest.raises(DataError) as info:
        load_tape(_write(tmp_path, text, "t.csv"))
    assert [p.where for p in info.value.problems] == ["row 5 (id L1), column balance"]
    ok = HEADER + "\nL0,loan,100,0.05,60,0,level\n\n"
    assert [a.id for a in load_tape(_write(tmp_path, ok, "ok.csv"))] == ["L0"]
    with pytest.raises(DataError, match="no rows"):
        load_tape(_write(tmp_path, HEADER + "\n,,,,,,\n", "blank.csv"))


def test_a_row_longer_than_the_header_is_refused_not_shifted(tmp_path: Path) -> None:
    # pandas' default would take the first cells as an index and shift the row to the left
    text = HEADER + "L1,loan,100,0.05,60,0,level,extra\nL2,loan,100,0.05,60,0,level\n"
    with pytest.raises(DataError) as info:
        load_tape(_write(tmp_path, text, "t.csv"))
    assert [p.where for p in info.value.problems] == ["row 2"]
    assert "8 cells, but the header names 7 columns" in str(info.value)
    with pytest.raises(DataError, match="row 3: 3 cells"):
        load_tape(_write(tmp_path, "id,type\nL1,loan\n,,lease\n", "u.csv"))


def test_a_column_given_twice_is_refused(tmp_path: Path) -> None:
    text = "id,type,balance,rate,original_term,age,amortization,balance\n"
    with pytest.raises(DataError) as info:
        load_tape(_write(tmp_path, text + "L1,loan,100,0.05,60,0,level,200\n", "t.csv"))
    assert [(p.where, p.reason) for p in info.value.problems] == [
        ("column 'balance'", "given twice")
    ]


_CELLS = st.one_of(
    st.sampled_from(["", "loan", "lease", "level", "inf", "nan", "1e400", "-1", "2026-02-30"]),
    st.text(max_size=5),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.lists(st.sampled_from([*HEADER.strip().split(","), "due_date", "x", ""]), min_size=1),
    rows=st.lists(st.lists(_CELLS, max_size=9), max_size=4),
)
def test_any_csv_tape_gives_assets_or_a_data_error(
    tmp_path: Path, header: list[str], rows: list[list[str]]
) -> None:
    import csv
    import io as text_io

    buf = text_io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    f = _write(tmp_path, buf.getvalue(), "fuzz.csv")
    try:
        assets = load_tape(f)
    except DataError as exc:
        assert str(exc).startswith(str(f))
        return
    for a in assets:  # whatever loads is finite
        for v in a.model_dump().values():
            assert not isinstance(v, float) or math.isfinite(v)


def _workbook(tmp_path: Path, rows: list[list[Any]]) -> tuple[Path, Any]:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    return tmp_path / "tape.xlsx", wb


def test_excel_error_cells_name_row_and_column(tmp_path: Path) -> None:
    f, wb = _workbook(
        tmp_path,
        [
            HEADER.strip().split(","),
            ["L1", "loan", 100.0, 0.05, 60, 0, "level"],
            ["L2", "loan", "#DIV/0!", 0.05, 60, "#N/A", "level"],
        ],
    )
    ws = wb.active
    ws["C3"].data_type = "e"  # error values, as Excel saves =1/0 and a failed lookup
    ws["F3"].data_type = "e"
    wb.save(f)
    with pytest.raises(DataError) as info:
        load_tape(f)
    assert [p.where for p in info.value.problems] == ["row 3, column balance", "row 3, column age"]
    assert "an Excel error value '#DIV/0!'" in str(info.value)
    assert "'#N/A'" in str(info.value)


def test_excel_formulas_use_their_saved_values_or_are_refused(tmp_path: Path) -> None:
    # openpyxl writes formulas without a saved value, as a program (not Excel) would
    f, wb = _workbook(
        tmp_path,
        [
            HEADER.strip().split(","),
            ["L1", "loan", 100.0, 0.05, 60, "=2*3", "level"],
        ],
    )
    wb.save(f)
    with pytest.raises(DataError) as info:
        load_tape(f)
    assert [p.where for p in info.value.problems] == ["row 2, column age"]
    assert "formula with no saved value" in str(info.value)


def test_excel_blank_rows_keep_row_numbers(tmp_path: Path) -> None:
    f, wb = _workbook(
        tmp_path,
        [
            HEADER.strip().split(","),
            ["L1", "loan", 100.0, 0.05, 60, 0, "level"],
            [None] * 7,
            ["L2", "loan", -1.0, 0.05, 60, 0, "level"],
        ],
    )
    wb.save(f)
    with pytest.raises(DataError) as info:
        load_tape(f)
    assert [p.where for p in info.value.problems] == ["row 4 (id L2), column balance"]
    wb.active["C4"] = 5.0
    wb.active["H2"] = "stray"
    wb.save(f)
    with pytest.raises(DataError, match="column '#8': unknown column"):
        load_tape(f)
    wb.active["H2"] = None
    wb.save(f)
    assert [a.model_dump()["balance"] for a in load_tape(f)] == [100.0, 5.0]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("t.xlsx", b"PK\x03\x04 not really a workbook" * 20, "cannot read the tape"),
        ("t.xlsx", b"", "cannot read the tape"),
        ("t.xlsm", b"\x00" * 100, "cannot read the tape"),
        ("t.xls", b"garbage" * 20, "cannot read the tape"),
        ("t.csv", b"", "empty"),
        ("t.csv", b"id,type\n\xff\xfe,loan\n", "not UTF-8"),
        ("t.csv", b'id,type\n"L1,loan\n', "cannot read the tape"),
        ("t.parquet", b"x", "not a Parquet file"),
        ("t.json", b"x", "unsupported tape format"),
    ],
)
def test_unreadable_tapes(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(DataError) as info:
        load_tape(f)
    assert str(info.value).startswith(f"{f}: ")
    assert reason in str(info.value)


def test_tape_that_is_a_directory_or_missing(tmp_path: Path) -> None:
    folder = tmp_path / "tape.csv"
    folder.mkdir()
    with pytest.raises(DataError, match="a directory, not a tape file"):
        load_tape(folder)
    with pytest.raises(DataError, match="tape file not found"):
        load_tape(tmp_path / "missing.csv")


# ----------------------------------------------------------------------- 3. literal text
MARKUP = "[bold]deal[red].yaml [/] :smile: [link=x]"


def _markup_deal(tmp_path: Path, deal_name: str = MARKUP, tranche: str = "[/]") -> Path:
    d = deal_dict(name=deal_name)
    d["structure"]["tranches"][0]["name"] = tranche
    d["structure"]["waterfall"][1] = {"pay_interest": tranche}
    d["structure"]["waterfall"][3]["pay_principal"]["tranches"] = [tranche, "B"]
    return _write(tmp_path, yaml.safe_dump(d))


def test_run_and_validate_print_names_literally(tmp_path: Path) -> None:
    f = _markup_deal(tmp_path)
    proc = cli("run", str(f), "--price-at-yield", "[/]=0.03")
    assert proc.returncode == 0, proc.stderr
    assert MARKUP in proc.stdout
    assert "[/] " in proc.stdout  # the tranche, in the tranche and price tables
    proc = cli("validate", str(f))
    assert proc.returncode == 0, proc.stderr
    assert f"valid: {MARKUP}: 2 assets" in proc.stdout.replace("\n", "")


def test_errors_print_file_names_and_reasons_literally(tmp_path: Path) -> None:
    folder = tmp_path / "[red]x["
    folder.mkdir()
    missing = folder / "]deal[red].yaml"  # the path holds "[red]x[/]deal[red].yaml"
    assert "[red]x[/]deal" in str(missing)
    proc = cli("validate", str(missing))
    assert proc.returncode == 1
    assert f"error: {missing}: file not found" in proc.stderr
    d = deal_dict()
    d["structure"]["waterfall"][1] = {"pay_interest": "[/]:smile:"}
    f = _write(folder, yaml.safe_dump(d), "].yaml")
    proc = cli("run", str(f))
    assert proc.returncode == 1
    assert f"{f}: structure.waterfall[1].pay_interest: unknown tranche '[/]:smile:'" in (
        proc.stderr.replace("\n", "")
    )


def test_bank_and_systemic_tables_print_names_literally(tmp_path: Path) -> None:
    bank = yaml.safe_load((EXAMPLES / "bank_mid_sized.yaml").read_text())
    bank["name"] = MARKUP
    bank_file = _write(tmp_path, yaml.safe_dump(bank), "bank.yaml")
    deal_file = _markup_deal(tmp_path)
    proc = cli("bank", str(bank_file))
    assert proc.returncode == 0, proc.stderr
    assert MARKUP in proc.stdout
    assert "Regulatory minimums now: " in proc.stdout
    minimums = next(ln for ln in proc.stdout.splitlines() if ln.startswith("Regulatory"))
    assert "[" not in minimums
    proc = cli(
        "systemic",
        "china",
        "--stress-period",
        "2015",
        "--deal",
        str(deal_file),
        "--bank",
        str(bank_file),
    )
    assert proc.returncode == 0, proc.stderr
    flat = "".join(proc.stdout.split())  # titles wrap to the width of their table
    assert "".join(f"{MARKUP} at the stress of 2015".split()) in flat
    assert "".join(f"{MARKUP}: risk-taking".split()) in flat
    assert "│ [/] " in proc.stdout
    assert "[yellow]" not in proc.stdout


def test_control_characters_in_names_reach_no_terminal(tmp_path: Path) -> None:
    name = "\x1b[2J\x1b[31mred\rover\x07"  # clear screen, colour, carriage return, bell
    f = _markup_deal(tmp_path, deal_name=name, tranche="A\x1b[0m")
    assert "\\e[2J" in f.read_text()  # YAML writes the escape as \e
    for cmd in ("run", "validate"):
        proc = cli(cmd, str(f))
        assert proc.returncode == 0, proc.stderr
        assert "\x1b" not in proc.stdout
        assert "\r" not in proc.stdout
        assert "\\x1b[2J\\x1b[31mred\\x0dover\\x07" in proc.stdout
    d = deal_dict()
    d["structure"]["waterfall"][1] = {"pay_interest": "C\x1b[8m"}
    proc = cli("validate", str(_write(tmp_path, yaml.safe_dump(d), "bad.yaml")))
    assert proc.returncode == 1
    assert "\x1b" not in proc.stderr
    assert "unknown tranche 'C\\x1b[8m'" in proc.stderr


def test_numbers_print_compactly_however_large() -> None:
    from greenabs.cli.common import money, num, pct

    assert money(1234.5) == "1,234.50"
    assert money(2e300) == "2.000000e+300"
    assert num(3e300) == "3.00e+300"
    assert pct(1e300) == "1.000e+302%"
    assert pct(0.0325) == "3.250%"
    assert money(float("inf")) == "inf"
    assert num(float("nan")) == "-"


def test_the_consoles_take_no_markup() -> None:
    from greenabs.cli.common import err, out

    for console in (out, err):
        with console.capture() as cap:
            console.print(MARKUP)
        assert cap.get().strip() == MARKUP


# --------------------------------------------------------------------- 4. long names
LONG = 200_000


def test_a_long_deal_name_prints_in_linear_time(tmp_path: Path) -> None:
    d = deal_dict(name="x" * LONG)
    f = _write(tmp_path, yaml.safe_dump(d, width=LONG * 2))
    for cmd in ("validate", "run"):
        start = time.perf_counter()
        proc = cli(cmd, str(f), timeout=60)
        elapsed = time.perf_counter() - start
        assert proc.returncode == 0, proc.stderr
        assert "x" * 40 in proc.stdout
        assert "…" in proc.stdout  # shortened with an ellipsis
        assert len(proc.stdout) < 20_000
        assert elapsed < 8, elapsed  # 227 s before; a few tenths besides starting Python


def test_a_long_name_in_an_error_prints_in_linear_time(tmp_path: Path) -> None:
    d = deal_dict()
    d["structure"]["y" * LONG] = 1  # an unknown field: its name is the error's field path
    f = _write(tmp_path, yaml.safe_dump(d, width=LONG * 2))
    start = time.perf_counter()
    proc = cli("validate", str(f), timeout=60)
    assert time.perf_counter() - start < 8
    assert proc.returncode == 1
    assert f"structure.{'y' * LONG}: unknown field" in proc.stderr


def test_printing_a_long_word_is_fast() -> None:
    from rich.table import Table

    from greenabs.cli import _report
    from greenabs.cli.common import clip, err, out

    word = "z" * LONG
    start = time.perf_counter()
    with err.capture() as cap:
        _report(f"deal.yaml: name: {word}")
    assert word in cap.get()
    table = Table(title=clip(word))
    table.add_column("Class")
    table.add_row(clip(word))
    with out.capture() as cap:
        out.print(table)
        out.print(word)
    assert time.perf_counter() - start < 1.0


# --------------------------------------------------------------------- 5. warnings
def test_numpy_warnings_never_reach_the_terminal(tmp_path: Path) -> None:
    f = _write(tmp_path, yaml.safe_dump(deal_dict()))
    code = (
        "import sys, numpy as np, warnings\n"
        "import greenabs.engine as engine\n"
        "real = engine.run\n"
        "def noisy(*a, **k):\n"
        "    np.log(np.zeros(2)); np.ones(2) / np.zeros(2); np.sqrt(-np.ones(2))\n"
        "    warnings.warn('a pandas-like warning', FutureWarning)\n"
        "    return real(*a, **k)\n"
        "engine.run = noisy\n"
        f"sys.argv = ['greenabs', 'run', {str(f)!r}, '-q']\n"
        "from greenabs.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr
    assert proc.stderr == ""


# ------------------------------------------------------------------------ 6. flags
runner = CliRunner()


def _flag_error(args: list[str]) -> SpecError:
    result = runner.invoke(app, args)
    assert isinstance(result.exception, SpecError), (result.exception, result.output)
    return result.exception


@pytest.fixture(scope="module")
def small_deal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test deal with class B floating over an index, for the discount-margin flag."""
    d = deal_dict()
    d["assumptions"]["rates"] = {"LPR": 0.03}
    d["structure"]["tranches"][1]["coupon"] = {"index": "LPR", "margin": 0.015}
    f = tmp_path_factory.mktemp("flags") / "deal.yaml"
    f.write_text(yaml.safe_dump(d))
    return f


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e400", "-1e999"])
@pytest.mark.parametrize("flag", ["--cpr", "--psa", "--cdr", "--sda", "--recovery-rate"])
def test_float_flags_refuse_non_finite_numbers(small_deal: Path, flag: str, value: str) -> None:
    exc = _flag_error(["run", str(small_deal), "-q", f"{flag}={value}"])
    assert [p.where for p in exc.problems] == [flag]
    assert "finite" in str(exc)


@pytest.mark.parametrize(
    ("flag", "pair"),
    [
        ("--price-at-yield", "A=nan"),
        ("--price-at-yield", "A=inf"),
        ("--price-at-yield", "A=-inf"),
        ("--price-at-yield", "A=1e400"),
        ("--price-at-yield", "A=-12"),  # -100% a month
        ("--price-at-yield", "A=-100"),
        ("--price-at-dm", "B=nan"),
        ("--price-at-dm", "B=inf"),
        ("--price-at-dm", "B=-inf"),
        ("--price-at-dm", "B=-1e400"),
        ("--price-at-dm", "B=-1e6"),  # index plus margin far below -100% a period
    ],
)
def test_price_flags_refuse_numbers_without_a_price(small_deal: Path, flag: str, pair: str) -> None:
    exc = _flag_error(["run", str(small_deal), "-q", flag, pair])
    assert {p.where for p in exc.problems} == {flag}
    assert pair.split("=")[0] + ":" in str(exc)


def test_price_at_dm_on_a_fixed_tranche_names_the_flag(small_deal: Path) -> None:
    exc = _flag_error(["run", str(small_deal), "-q", "--price-at-dm", "A=0.01"])
    assert {p.where for p in exc.problems} == {"--price-at-dm"}
    assert "not floating" in str(exc)


def test_integer_flags_refuse_nan_as_usage_errors(small_deal: Path) -> None:
    for flag in ("--recovery-lag", "--receivable-delay"):
        for value in ("nan", "inf", "1.5"):
            result = runner.invoke(app, ["run", str(small_deal), "-q", flag, value])
            assert result.exit_code == 2, (flag, value, result.output)


def test_finite_prices_are_printed(small_deal: Path) -> None:
    result = runner.invoke(
        app,
        ["run", str(small_deal), "-q", "--price-at-yield", "A=0.03", "--price-at-dm", "B=0.01"],
    )
    assert result.exit_code == 0, result.output
    for cls in ("A", "B"):
        line = next(ln for ln in result.output.splitlines() if ln.startswith(f"│ {cls} "))
        assert math.isfinite(float(line.split("│")[-2]))
    # an extreme but finite yield has a price (zero) and prints compactly
    result = runner.invoke(app, ["run", str(small_deal), "-q", "--price-at-yield", "A=1e300"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("│ A "))
    assert "1.000e+302%" in line
    assert len(line) < 100


# ------------------------------------------------------------- other paths to a traceback
def test_output_paths_that_cannot_be_written(small_deal: Path, tmp_path: Path) -> None:
    proc = cli("run", str(small_deal), "-q", "--json", str(tmp_path))
    assert proc.returncode == 1
    assert f"error: {tmp_path}: Is a directory" in proc.stderr
    proc = cli("run", str(small_deal), "-q", "--report", str(tmp_path / "no" / "r.html"))
    assert proc.returncode == 1
    assert "No such file or directory" in proc.stderr


def test_a_directory_or_garbage_as_the_deal(tmp_path: Path) -> None:
    proc = cli("run", str(tmp_path))
    assert proc.returncode == 1
    assert f"error: {tmp_path}: a directory, not a file" in proc.stderr
    garbage = _write(tmp_path, bytes(range(256)) * 4, "g.yaml")
    proc = cli("validate", str(garbage))
    assert proc.returncode == 1
    assert "not UTF-8" in proc.stderr


def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    # ``greenabs systemic china | head -1``: a broken pipe is no traceback and no noise
    proc = subprocess.Popen(
        [sys.executable, "-m", "greenabs.cli", "systemic", "china"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert stderr == ""
    assert proc.returncode in (0, 1)  # 0 if it had written everything before the reader left
