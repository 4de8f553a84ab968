"""The run store: every kind of run round trip through the command line, meta, concurrent
writers, a writer killed mid-write, migrations, damaged files, and ``greenabs runs``."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from greenabs.cli import app
from greenabs.meta import run_meta
from greenabs.store import (
    SCHEMA_VERSION,
    RunStore,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    UnknownRunError,
    default_path,
    derive_tables,
)
from greenabs.store.schema import MIGRATIONS
from tests.conftest import EXAMPLES
from tests.test_cli import cli

runner = CliRunner()
LOANS = EXAMPLES / "green_loans_2026_1.yaml"
IB = EXAMPLES / "ib_green_2014.yaml"
BANK = EXAMPLES / "bank_mid_sized.yaml"


def invoke(*args: str) -> Any:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, (res.output, res.exception)
    return res


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------- every kind of run

KINDS: dict[str, tuple[list[str], Path | None]] = {
    "run": (["run", str(LOANS), "--cdr", "0.02"], LOANS),
    "pool": (["pool", str(LOANS), "--scenarios", "20"], LOANS),
    "rate": (
        ["rate", str(LOANS), "--scenarios", "200", "--seed", "4", "--backend", "numpy"],
        LOANS,
    ),
    "size": (
        ["size", str(LOANS), "--scenarios", "200", "--target", "A=A", "--backend", "numpy"],
        LOANS,
    ),
    "breakeven": (["breakeven", str(LOANS), "--tranche", "B"], LOANS),
    "bank": (["bank", str(BANK)], None),
    "systemic": (["systemic", "china", "--frequency", "quarterly"], None),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_of_run_is_stored_whole(kind: str, tmp_path: Path) -> None:
    args, deal_file = KINDS[kind]
    out = tmp_path / "out.json"
    res = invoke(*args, "--json", str(out))
    written = json.loads(out.read_text())
    store = RunStore.open()
    [info] = store.list()
    assert f"run {info.id}; assumptions: " in res.output
    assert (info.kind, info.status) == (kind, "ok")
    run = store.get(info.id)
    assert run.payload == written  # the stored results are the --json output, meta included
    meta = written["meta"]
    assert meta["kind"] == kind
    assert run.meta == meta
    assert meta["greenabs_version"]
    assert meta["created"].endswith("Z")
    assert run.timings["seconds"] > 0
    if deal_file is not None:
        assert meta["inputs"]["deal_file"]["sha256"] == sha(deal_file)
        assert store.deal_text(run.deal_hash or "") == deal_file.read_text()
        assert run.deal == info.deal == "Example Green Loans 2026-1"
    else:
        assert run.deal is None
    if kind == "systemic":  # the shipped sample is named by its file and hash
        sample = Path(meta["inputs"]["data_file"]["path"])
        assert sample.name == "china_systemic_indicators_quarterly.csv"
        assert meta["inputs"]["data_file"]["sha256"] == sha(sample)
    names = {name: len(df) for name, df in run.tables().items()}
    assert names == {name: len(rows) for name, (_, rows) in derive_tables(written).items()}
    expected_table = {
        "run": "tranches",
        "pool": "screening",
        "rate": "loss_histograms.tranches.A",
        "size": "sizing",
        "bank": "repricing_gap",
        "systemic": "missing",
    }.get(kind)
    if expected_table is not None:
        assert names[expected_table] > 0


def test_flags_seed_and_backend_are_recorded(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    invoke(*KINDS["rate"][0], "--loan-level", "--json", str(out), "-q")
    meta = json.loads(out.read_text())["meta"]
    assert meta["assumptions"] == {
        "--scenarios": 200,
        "--seed": 4,
        "--backend": "numpy",
        "--loan-level": True,  # the off side of --large-pool/--loan-level, by its name
    }
    assert (meta["seed"], meta["backend"], meta["scenarios"]) == (4, "numpy", 200)
    run = RunStore.open().get("last")
    assert (run.seed, run.backend, run.params["scenarios"]) == (4, "numpy", 200)
    assert "json_file" not in run.params
    assert "quiet" not in run.params


def test_deal_and_tape_are_versioned_by_content(tmp_path: Path) -> None:
    deal = tmp_path / "deal.yaml"
    tape = tmp_path / "ib_green_2014_tape.csv"
    deal.write_text(IB.read_text())
    tape.write_bytes((EXAMPLES / "ib_green_2014_tape.csv").read_bytes())
    invoke("run", str(deal), "-q")
    invoke("run", str(deal), "-q", "--cpr", "0.1")  # same deal version, other flags
    store = RunStore.open()
    [version] = store.deals()
    assert (version.runs, version.tape_name) == (2, "ib_green_2014_tape.csv")
    assert store.deal_tape(version.hash) == ("ib_green_2014_tape.csv", tape.read_bytes())
    assert json.loads(json.dumps(store.get("last").meta))["inputs"]["tape"]["sha256"] == sha(tape)
    tape.write_bytes(tape.read_bytes().replace(b"\n", b"\r\n"))  # the tape alone changes
    invoke("run", str(deal), "-q")
    assert len(store.deals()) == 2
    assert len({r.deal_hash for r in store.list()}) == 2


def test_a_size_run_that_misses_its_target_is_kept_as_such() -> None:
    args = ["size", str(LOANS), "--target", "B=AAA", "--scenarios", "200", "--correlation"]
    res = runner.invoke(app, [*args, "0.9", "--backend", "numpy", "-q"])
    assert res.exit_code == 1
    assert "is not achievable" in str(res.exception)
    run = RunStore.open().get("last")
    assert (run.kind, run.status) == ("size", "target_missed")
    assert run.tables()["sizing"]["status"].tolist() != ["achieved"]


def test_a_bank_run_keeps_the_deal_it_paired_with_and_its_tape(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    invoke("bank", str(BANK), "--deal", str(IB), "--json", str(out))
    store = RunStore.open()
    run = store.get("last")
    assert (run.kind, run.deal) == ("bank", "Xingyuan 2014-2 Green Credit ABS (replica)")
    inputs = json.loads(out.read_text())["meta"]["inputs"]
    assert set(inputs) == {"bank_file", "deal", "tape"}
    assert inputs["bank_file"]["sha256"] == sha(BANK)
    assert (
        store.deal_tape(run.deal_hash or "")[1]
        == (EXAMPLES / "ib_green_2014_tape.csv").read_bytes()
    )
    assert "transaction.table" in run.tables()


def test_results_with_nan_are_stored_as_null() -> None:
    store = RunStore.open()
    run = store.get(store.record("run", {"rows": [{"x": float("nan"), "y": float("inf")}]}))
    assert run.payload == {"rows": [{"x": None, "y": None}]}


def test_no_store_writes_nothing_but_still_says_what_produced_it(
    tmp_path: Path, greenabs_home: Path
) -> None:
    out = tmp_path / "r.json"
    res = invoke("run", str(LOANS), "--no-store", "--json", str(out), "--cpr", "0.07")
    assert "run not stored; assumptions: deal prepayment cpr 0.07" in res.output
    assert "flags --cpr 0.07" in res.output
    assert json.loads(out.read_text())["meta"]["assumptions"] == {"--cpr": 0.07}
    invoke("breakeven", str(LOANS), "--tranche", "B", "--no-store", "-q")
    assert not default_path().exists()
    assert list(greenabs_home.iterdir()) == []


def test_quiet_prints_nothing_and_still_stores() -> None:
    res = invoke("breakeven", str(LOANS), "--tranche", "B", "-q")
    assert res.output == ""
    assert [r.kind for r in RunStore.open().list()] == ["breakeven"]


# ------------------------------------------------------------------------------ meta


def test_run_meta_names_inputs_by_hash(tmp_path: Path) -> None:
    f = tmp_path / "deal.yaml"
    f.write_bytes(b"name: x\n")
    meta = run_meta(
        "run",
        inputs={"deal_file": f, "tape": b"id,balance\n"},
        assumptions={"--cpr": 0.1, "out": tmp_path, "targets": ("A=AAA",)},
        seed=None,
        backend="numpy",
    )
    # SHA-256 of the bytes, as sha256sum prints it
    assert meta["inputs"]["deal_file"] == {
        "path": str(f),
        "sha256": hashlib.sha256(b"name: x\n").hexdigest(),
    }
    assert meta["inputs"]["tape"]["path"] is None
    assert meta["assumptions"] == {"--cpr": 0.1, "out": str(tmp_path), "targets": ["A=AAA"]}
    assert set(meta) == {
        "greenabs_version",
        "kind",
        "created",
        "inputs",
        "assumptions",
        "seed",
        "backend",
        "python",
        "platform",
    }
    json.dumps(meta)  # plain JSON data


def test_tables_are_records_columns_and_histograms_flattened() -> None:
    payload = {
        "meta": {"rows": [{"a": 1}]},
        "tranches": [{"name": "A", "q": {"0.99": 0.1}}, {"name": "B", "extra": [1, 2]}],
        "flows": {"A": [{"period": 1}], "B": []},
        "flags": [True, False],
        "series": {"period": ["2020", "2021"], "value": [0.5, 0.7]},
        "uneven": {"a": [1, 2], "b": [1]},
        "losses": {"A": {"edges": [0.0, 0.1, 0.2], "counts": [7, 3], "scenarios": 10}},
    }
    tables = derive_tables(payload)
    assert list(tables) == ["tranches", "flows.A", "series", "losses.A"]
    assert tables["tranches"] == (
        ["name", "q.0.99", "extra"],
        [["A", 0.1, None], ["B", None, "[1, 2]"]],
    )
    assert tables["series"] == (["period", "value"], [["2020", 0.5], ["2021", 0.7]])
    assert tables["losses.A"] == (["from", "to", "count"], [[0.0, 0.1, 7], [0.1, 0.2, 3]])


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=40, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=8), JSON, max_size=5))
def test_any_json_payload_comes_back_as_it_was_stored(payload: dict[str, Any]) -> None:
    store = RunStore.open()
    run = store.get(store.record("pool", payload))
    assert run.payload == payload
    tables = run.tables()
    assert list(tables) == list(derive_tables(payload))
    for name, (columns, rows) in derive_tables(payload).items():
        assert list(tables[name].columns) == columns
        assert len(tables[name]) == len(rows)
        assert all(len(r) == len(columns) for r in rows)


def test_run_ids_sort_by_creation() -> None:
    from greenabs.store.core import _new_id

    ids = [_new_id() for _ in range(5000)]  # many within one millisecond
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {len(i) for i in ids} == {14}


# ----------------------------------------------------------------------- concurrency


def _script(body: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(body)]


WRITER = """
import sys
from greenabs.store import RunStore
store = RunStore.open()
for i in range(int(sys.argv[1])):
    store.record("run", {"i": i, "rows": [{"x": i}]}, deal_text="name: d" + sys.argv[2],
                 deal_name="d", params={"writer": sys.argv[2]})
"""


def test_two_writers_at_once_lose_nothing() -> None:
    RunStore.open()  # created before, so both writers only write runs
    procs = [
        subprocess.Popen([*_script(WRITER), "15", name], stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    for p in procs:
        _, errors = p.communicate(timeout=120)
        assert p.returncode == 0, errors
    store = RunStore.open()
    runs = store.list(limit=100)
    assert len(runs) == 30
    assert len({r.id for r in runs}) == 30
    writers = sorted(store.get(r.id).params["writer"] for r in runs)
    assert writers == ["a"] * 15 + ["b"] * 15
    assert all(store.get(r.id).tables()["rows"].shape == (1, 1) for r in runs[:5])


def test_threads_of_one_process_read_and_write_together() -> None:
    """A web server's threads: readers and writers of the same new deal at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    store = RunStore.open()

    def write(i: int) -> str:
        return store.record("run", {"rows": [{"i": i}]}, deal_text="name: shared", deal_name="s")

    def read(_: int) -> int:
        return len(store.list(limit=1000)) + len(store.deals())

    with ThreadPoolExecutor(8) as pool:
        writes = [pool.submit(write, i) for i in range(24)]
        reads = [pool.submit(read, i) for i in range(24)]
        ids = [w.result() for w in writes]
        assert all(r.result() >= 0 for r in reads)
    assert len(set(ids)) == 24
    assert sorted(store.get(i).payload["rows"][0]["i"] for i in ids) == list(range(24))
    [deal] = store.deals()
    assert deal.runs == 24


def test_a_writer_waits_for_the_store_or_says_it_is_busy(tmp_path: Path) -> None:
    store = RunStore.open()
    holder = duckdb.connect(str(store.path))  # this process holds the file
    try:
        env = {**os.environ, "GREENABS_STORE_TIMEOUT": "0.5"}
        busy = subprocess.run(
            [
                sys.executable,
                "-m",
                "greenabs.cli",
                "breakeven",
                str(LOANS),
                "--tranche",
                "B",
                "--json",
                str(tmp_path / "b.json"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert busy.returncode == 1
        assert "the run store is in use by another process" in busy.stderr
        assert "waited 0.5 s" in busy.stderr
        assert "was not stored" in busy.stderr
        assert "Traceback" not in busy.stderr
        assert (tmp_path / "b.json").exists()  # the outputs were written all the same
        waiting = subprocess.Popen([*_script(WRITER), "1", "w"], stderr=subprocess.PIPE)
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting for the file
    finally:
        holder.close()
    assert waiting.wait(timeout=60) == 0
    assert [r.deal for r in store.list()] == ["d"]


def test_locked_store_error_names_the_file() -> None:
    store = RunStore.open(timeout=0.2)
    holder = subprocess.Popen(
        _script(
            f"""
            import duckdb, sys, time
            con = duckdb.connect({str(store.path)!r})
            print("holding", flush=True)
            time.sleep(30)
            """
        ),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(StoreLockedError, match=f"{store.path}: the run store is in use"):
            store.list()
    finally:
        holder.kill()
        holder.wait()


KILLED = """
import time
import greenabs.store.core as core
from greenabs.store import RunStore
store = RunStore.open()
store.record("run", {"rows": [{"x": 1}]}, deal_text="name: whole", deal_name="whole")
original = core.insert_tables
def stall(con, run_id, payload):
    original(con, run_id, payload)
    print("inside the transaction", flush=True)
    time.sleep(60)
core.insert_tables = stall
store.record("rate", {"rows": [{"x": 2}]}, deal_text="name: half", deal_name="half")
"""


def test_a_writer_killed_mid_write_leaves_only_whole_runs() -> None:
    proc = subprocess.Popen(_script(KILLED), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "inside the transaction"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    store = RunStore.open()
    [run] = store.list()  # the killed run left nothing: no run, deal, payload or table
    assert (run.kind, run.deal) == ("run", "whole")
    assert store.get(run.id).tables()["rows"]["x"].tolist() == [1]
    assert [d.name for d in store.deals()] == ["whole"]
    with duckdb.connect(str(store.path), read_only=True) as con:
        counts = [
            con.execute(f"SELECT count(*) FROM {t}").fetchone()
            for t in ("runs", "results", "result_tables", "deals")
        ]
    assert counts == [(1,), (1,), (1,), (1,)]
    store.record("run", {"rows": []})  # and the store takes new runs
    assert len(store.list()) == 2


KILLED_COMMAND = """
import sys, time
import greenabs.store.core as core
from greenabs.cli import main
original = core.insert_tables
def stall(con, run_id, payload):
    original(con, run_id, payload)
    print("inside the transaction", file=sys.stderr, flush=True)
    time.sleep(60)
core.insert_tables = stall
sys.argv = ["greenabs", "run", sys.argv[1], "--json", sys.argv[2]]
main()
"""


def test_a_command_killed_while_storing_its_run_leaves_the_store_as_it_was(
    tmp_path: Path,
) -> None:
    invoke("breakeven", str(LOANS), "--tranche", "B", "-q")
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        [*_script(KILLED_COMMAND), str(LOANS), str(out)], stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "inside the transaction"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert json.loads(out.read_text())["meta"]["kind"] == "run"  # written before the store
    store = RunStore.open()
    assert [r.kind for r in store.list()] == ["breakeven"]
    invoke("run", str(LOANS), "-q")
    assert [r.kind for r in store.list()] == ["run", "breakeven"]


# ------------------------------------------------------------- schema and damaged files


def test_a_store_of_schema_1_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER, applied TIMESTAMP)")
        MIGRATIONS[0](con)
        con.execute("INSERT INTO schema_version VALUES (1, now())")
        con.execute(
            "INSERT INTO runs VALUES ('r0000000000old', 'run', NULL, 'Old deal', "
            "TIMESTAMP '2025-01-02 03:04:05', 'ok', '{\"cpr\": 0.1}', NULL, 'numpy', '0.0.9', "
            "'{}', '{}')"
        )
        payload = {"tranches": [{"name": "A", "wal": 2.5}, {"name": "B", "wal": 4.0}]}
        con.execute("INSERT INTO results VALUES ('r0000000000old', ?)", [json.dumps(payload)])
    store = RunStore.open(path)
    assert store.schema_version() == SCHEMA_VERSION == 2
    run = store.get("r0000000000old")
    assert (run.created, run.params, run.greenabs_version) == (
        "2025-01-02T03:04:05Z",
        {"cpr": 0.1},
        "0.0.9",
    )
    assert run.tables()["tranches"]["wal"].tolist() == [2.5, 4.0]  # derived by migration 2
    RunStore.open(path)  # opening again changes nothing
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall() == [
            (1,),
            (2,),
        ]


def test_a_store_of_a_newer_greenabs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    RunStore.open(path)
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO schema_version VALUES (99, now())")
    with pytest.raises(StoreError, match=r"written by a newer greenabs \(store schema 99"):
        RunStore.open(path)


def test_a_damaged_store_file_is_named_not_a_traceback(greenabs_home: Path) -> None:
    default_path().write_bytes(b"this is not a database\n" * 500)
    with pytest.raises(StoreCorruptError, match="not a readable greenabs run store"):
        RunStore.open()
    proc = cli("runs", "list")
    assert proc.returncode == 1
    assert f"error: {default_path()}: not a readable greenabs run store" in proc.stderr
    assert "move the file away" in proc.stderr


def test_a_command_with_a_damaged_store_still_writes_its_outputs(tmp_path: Path) -> None:
    default_path().write_bytes(b"\0" * 5000)
    out = tmp_path / "b.json"
    proc = cli("breakeven", str(LOANS), "--tranche", "B", "--json", str(out))
    assert proc.returncode == 1
    assert "not a readable greenabs run store" in proc.stderr
    assert "the run's outputs were written; the run was not stored" in proc.stderr
    assert json.loads(out.read_text())["breakeven"]["tranche"] == "B"
    assert cli("breakeven", str(LOANS), "--tranche", "B", "--no-store").returncode == 0


def test_bad_store_settings_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENABS_STORE_TIMEOUT", "soon")
    with pytest.raises(StoreError, match="GREENABS_STORE_TIMEOUT: expected seconds >= 0"):
        RunStore.open()
    monkeypatch.delenv("GREENABS_STORE_TIMEOUT")
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("GREENABS_HOME", str(blocker))
    with pytest.raises(StoreError, match="cannot create the run store's folder"):
        RunStore.open()


def test_another_programs_database_is_not_taken_for_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(StoreCorruptError, match="a DuckDB database but not a greenabs run"):
        RunStore.open(path)


def test_unknown_and_ambiguous_run_ids() -> None:
    store = RunStore.open()
    with pytest.raises(UnknownRunError, match="no run is stored yet"):
        store.get("last")
    a = store.record("run", {})
    b = store.record("run", {})
    assert a < b  # ids sort by creation
    shared = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    unique = b[: shared + 1]  # the shortest prefix that is b's alone
    assert store.resolve(unique) == store.get(unique).id == b
    assert store.get("last").id == b
    with pytest.raises(UnknownRunError, match="no run 'nope'"):
        store.get("nope")
    with pytest.raises(UnknownRunError, match="is ambiguous"):
        store.get("r")
    proc = cli("runs", "show", "nope")
    assert proc.returncode == 1
    assert "error: no run 'nope' in " in proc.stderr


# --------------------------------------------------------------------- greenabs runs


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[str, str]:
    invoke("run", str(LOANS), "-q")
    invoke("run", str(LOANS), "-q", "--cdr", "0.08")
    invoke("breakeven", str(LOANS), "--tranche", "B", "-q")
    runs = RunStore.open().list(kind="run")
    return runs[1].id, runs[0].id


def test_runs_list_filters_and_writes_json(two_runs: tuple[str, str], tmp_path: Path) -> None:
    out = tmp_path / "l.json"
    res = invoke("runs", "list", "--json", str(out))
    data = json.loads(out.read_text())
    assert list(data) == ["runs"]
    assert [set(r) for r in data["runs"]] == [{"id", "kind", "deal", "created", "status"}] * 3
    assert [r["kind"] for r in data["runs"]] == ["breakeven", "run", "run"]  # newest first
    assert all(r["id"] in res.output for r in data["runs"])
    invoke("runs", "list", "--kind", "run", "--limit", "1", "--json", str(out))
    assert [r["id"] for r in json.loads(out.read_text())["runs"]] == [two_runs[1]]
    invoke("runs", "list", "--deal", "No such deal", "--json", str(out))
    assert json.loads(out.read_text()) == {"runs": []}
    invoke("runs", "list", "--deal", "Example Green Loans 2026-1", "--json", str(out))
    assert len(json.loads(out.read_text())["runs"]) == 3
    bad = runner.invoke(app, ["runs", "list", "--kind", "nonsense"])
    assert bad.exit_code == 1
    assert "--kind: unknown kind 'nonsense'" in str(bad.exception)


def test_runs_show_prints_and_writes_what_the_run_was(
    two_runs: tuple[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "s.json"
    res = invoke("runs", "show", two_runs[1], "--json", str(out))
    assert "Flags given" in res.output
    assert "--cdr" in res.output
    assert "deal.cumulative_loss" in res.output
    assert "Tables: " in res.output
    run = json.loads(out.read_text())["run"]
    assert run["id"] == two_runs[1]
    assert run["kind"] == "run"
    assert run["params"]["cdr"] == 0.08
    assert run["meta"]["assumptions"] == {"--cdr": 0.08}
    assert run["meta"]["deal_assumptions"]["default"] == {"cdr": 0.08}
    assert run["summary"]["deal.n_assets"] == 2
    assert run["tables"]["tranches"] == 3


def test_runs_diff_shows_parameters_and_tranches_side_by_side(
    two_runs: tuple[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "d.json"
    res = invoke("runs", "diff", *two_runs, "--json", str(out))
    assert "Same deal version" in res.output
    assert "Parameters that differ" in res.output
    assert "tranches: differences" in res.output
    d = json.loads(out.read_text())
    assert d["a"]["id"] == two_runs[0]
    assert d["b"]["id"] == two_runs[1]
    assert d["params"] == [{"name": "cdr", "a": None, "b": 0.08, "difference": None}]
    assert d["inputs"] == []  # the same deal file
    loss = {
        c["key"]: c for c in d["tables"]["tranches"]["cells"] if c["column"] == "principal_loss"
    }
    a, b = (RunStore.open().get(i).tables()["tranches"] for i in two_runs)
    sub_a = float(a.set_index("name").loc["Sub", "principal_loss"])
    sub_b = float(b.set_index("name").loc["Sub", "principal_loss"])
    assert sub_b > sub_a  # more defaults, more loss to the residual class
    assert loss["Sub"]["a"] == sub_a
    assert loss["Sub"]["difference"] == pytest.approx(sub_b - sub_a)
    assert d["tables"]["tranches"]["key"] == "name"
    same = invoke("runs", "diff", two_runs[0], two_runs[0], "--json", str(out))
    assert "Parameters: the same" in same.output
    assert all(t["differences"] == 0 for t in json.loads(out.read_text())["tables"].values())


def test_runs_export_writes_the_payload_and_every_table(
    two_runs: tuple[str, str], tmp_path: Path
) -> None:
    import openpyxl
    import pandas as pd

    folder, book, out = tmp_path / "x", tmp_path / "x.xlsx", tmp_path / "e.json"
    invoke(
        "runs", "export", two_runs[0], "--out", str(folder), "--xlsx", str(book), "--json", str(out)
    )
    run = RunStore.open().get(two_runs[0])
    files = json.loads(out.read_text())
    assert files["run"] == run.id
    assert json.loads((folder / f"{run.id}.json").read_text()) == run.payload
    tables = run.tables()
    assert sorted(p.stem for p in folder.glob("*.csv")) == sorted(tables)
    back = pd.read_csv(folder / "tranches.csv")
    assert back["name"].tolist() == tables["tranches"]["name"].tolist()
    assert back["principal_loss"].tolist() == pytest.approx(
        tables["tranches"]["principal_loss"].tolist()
    )
    assert str(book) in files["files"]
    assert len(openpyxl.load_workbook(book).sheetnames) > 1


def test_the_python_example_of_docs_store_runs() -> None:
    import re

    from tests.conftest import ROOT

    text = (ROOT / "docs/store.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    proc = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("run example {'cdr': 0.02}")
    assert not default_path().exists()  # the example kept its run in a folder of its own


def test_a_deal_edited_during_the_run_is_stored_as_it_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """meta's hash and the stored deal text are those of the file the command read, not of
    the file after an edit made while it ran."""
    from greenabs.cli.recording import Recording

    deal = tmp_path / "deal.yaml"
    original = (EXAMPLES / "green_loans_2026_1.yaml").read_bytes()
    deal.write_bytes(original)
    stamp = Recording.stamp

    def edited_mid_run(self: Recording, *args: Any, **kw: Any) -> dict[str, Any]:
        deal.write_bytes(original + b"\n# edited while the run went on\n")
        return stamp(self, *args, **kw)

    monkeypatch.setattr(Recording, "stamp", edited_mid_run)
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["run", str(deal), "-q", "--json", str(out)])
    assert res.exit_code == 0, res.output
    meta = json.loads(out.read_text())["meta"]
    assert meta["inputs"]["deal_file"]["sha256"] == hashlib.sha256(original).hexdigest()
    stored = RunStore.open().get("last")
    assert RunStore.open().deal_text(stored.deal_hash) == original.decode("utf-8")
