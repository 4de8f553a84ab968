"""The run store: one DuckDB file that keeps every deal, run and result.

The store is opened for each operation and closed after it, so no process holds it longer
than one write or read takes: a long Monte Carlo run holds nothing while it computes, and a
web server reading the store does not keep the command line from writing.  DuckDB lets one
process at a time open a file for writing; a process that finds it held waits, retrying
with a growing back-off, up to a timeout (``GREENABS_STORE_TIMEOUT``, 30 s by default), then
stops with :class:`StoreLockedError`.  A run is written in one transaction, so a process
killed while writing leaves either the whole run or nothing of it.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import math
import os
import random
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenabs.meta import sha256
from greenabs.store.errors import (
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    UnknownRunError,
)
from greenabs.store.schema import MIGRATIONS, SCHEMA_VERSION, Connection, insert_tables

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "KINDS",
    "DealInfo",
    "RunInfo",
    "RunStore",
    "StoredRun",
    "deal_hash",
    "default_path",
]

#: The kinds of run the store keeps (one per command that records).
KINDS = ("run", "pool", "rate", "size", "breakeven", "bank", "systemic")

#: Seconds a process waits for another that holds the store, unless GREENABS_STORE_TIMEOUT.
DEFAULT_TIMEOUT = 30.0

#: Times a run is written when threads of one process conflict (on the same new deal).
_CONFLICT_TRIES = 5

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def default_path() -> Path:
    """``$GREENABS_HOME/greenabs.duckdb``; ``GREENABS_HOME`` defaults to ``~/.greenabs``."""
    home = os.environ.get("GREENABS_HOME", "").strip()
    base = Path(home).expanduser() if home else Path.home() / ".greenabs"
    return base / "greenabs.duckdb"


def _timeout() -> float:
    text = os.environ.get("GREENABS_STORE_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise StoreError(f"GREENABS_STORE_TIMEOUT: expected seconds >= 0, got {text!r}")
    return value


def deal_hash(text: str, tape: bytes | None) -> str:
    """A deal's version: the SHA-256 of its text and its tape's bytes."""
    data = text.encode("utf-8")
    if tape is not None:
        data += b"\0tape\0" + tape
    return sha256(data)


_last_id = [0]  # the number of the last id made in this process


def _new_id() -> str:
    """``r`` + 9 base-32 digits of the time in milliseconds + 4 random ones: short, unique and
    sorted by creation time (within a process strictly, even within one millisecond)."""
    number = (time.time_ns() // 1_000_000) * 32**4 + random.randrange(32**4)
    number = max(number, _last_id[0] + 1)
    _last_id[0] = number
    digits = []
    for _ in range(13):
        number, d = divmod(number, 32)
        digits.append(_CROCKFORD[d])
    return "r" + "".join(reversed(digits))


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RunInfo:
    """One line of the run list."""

    id: str
    kind: str
    deal: str | None
    deal_hash: str | None
    created: str
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "deal": self.deal,
            "created": self.created,
            "status": self.status,
        }


@dataclass(frozen=True)
class DealInfo:
    """One version of a deal: its content hash, name, tape and runs."""

    hash: str
    name: str
    created: str
    tape_name: str | None
    runs: int


@dataclass(frozen=True)
class StoredRun:
    """A stored run: what produced it and its results."""

    id: str
    kind: str
    deal: str | None
    deal_hash: str | None
    created: str
    status: str
    params: dict[str, Any]
    seed: int | None
    backend: str | None
    greenabs_version: str
    timings: dict[str, Any]
    meta: dict[str, Any]
    payload: dict[str, Any]
    _tables: tuple[tuple[str, tuple[str, ...], str], ...] = field(repr=False, default=())

    def info(self) -> RunInfo:
        return RunInfo(self.id, self.kind, self.deal, self.deal_hash, self.created, self.status)

    def table_names(self) -> list[str]:
        """The names of the run's tables, in payload order."""
        return [name for name, _, _ in self._tables]

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the payload as a DataFrame, by its path in the payload."""
        import pandas as pd

        return {
            name: pd.DataFrame(json.loads(rows), columns=list(columns))
            for name, columns, rows in self._tables
        }


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as ``None`` (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(value: Any) -> str:
    """``value`` as strict JSON: NaN and infinities as ``null``, other objects as text."""
    try:
        return json.dumps(value, allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False, default=str)


def _write_run(
    con: Connection, deal_row: list[Any] | None, run_row: list[Any], payload_text: str
) -> str:
    """Insert a run (and its deal version when new) in one transaction; returns its id."""
    con.execute("BEGIN TRANSACTION")
    try:
        if deal_row is not None:
            known = con.execute("SELECT 1 FROM deals WHERE hash = ?", [deal_row[0]]).fetchone()
            if known is None:
                con.execute("INSERT INTO deals VALUES (?, ?, ?, ?, ?, ?)", deal_row)
        run_id = _new_id()
        while con.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone():
            run_id = _new_id()
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [run_id, *run_row]
        )
        con.execute("INSERT INTO results VALUES (?, ?)", [run_id, payload_text])
        insert_tables(con, run_id, json.loads(payload_text))
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")
        raise
    return run_id


class RunStore:
    """The run store file at ``path``; open it with :meth:`open`."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout

    # ------------------------------------------------------------------ opening and locking

    @classmethod
    def open(cls, path: Path | None = None, *, timeout: float | None = None) -> RunStore:
        """The store at ``path`` (default :func:`default_path`), created or migrated to this
        greenabs' schema; a damaged file, one of another program or of a newer greenabs is a
        :class:`StoreError` naming the file."""
        store = cls(
            Path(path) if path is not None else default_path(),
            _timeout() if timeout is None else timeout,
        )
        if store.path.is_dir():
            raise StoreError(f"{store.path}: a directory, not a run store file")
        try:
            store.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{store.path.parent}: cannot create the run store's folder "
                f"({exc.strerror or exc}); set GREENABS_HOME to a writable folder"
            ) from None
        store._migrate()
        return store

    def _connect_once(self) -> Connection:
        import duckdb

        try:
            return duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise
            if "not a valid DuckDB database" in text or "Corrupt" in text:
                raise self._corrupt(text) from None
            raise StoreError(f"{self.path}: cannot open the run store ({text})") from None
        except duckdb.Error as exc:
            raise self._corrupt(str(exc)) from None

    def _corrupt(self, reason: str) -> StoreCorruptError:
        reason = reason.removeprefix("IO Error: ").strip()
        return StoreCorruptError(
            f"{self.path}: not a readable greenabs run store ({reason}); move the file away "
            "(a new store is then created) or set GREENABS_HOME to another folder"
        )

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A connection, waiting with back-off while another process holds the file.

        Reads open the file for writing too: DuckDB refuses two configurations of one file
        in one process, so a reader and a writer thread (a web server's) must share one."""
        import duckdb

        deadline = time.monotonic() + self.timeout
        pause = 0.01
        while True:
            try:
                con = self._connect_once()
                break
            except duckdb.IOException as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    holder = re.search(r"\(PID (\d+)\)", str(exc))
                    who = f" (process {holder.group(1)})" if holder else ""
                    raise StoreLockedError(
                        f"{self.path}: the run store is in use by another process{who}; "
                        f"waited {self.timeout:g} s. Try again when it finishes, or set "
                        "GREENABS_STORE_TIMEOUT to wait longer"
                    ) from None
                time.sleep(min(pause * (0.5 + random.random()), left))
                pause = min(pause * 2, 0.5)
        try:
            yield con
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from None
        finally:
            con.close()

    def _version(self, con: Connection) -> int:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "schema_version" not in tables:
            if tables:
                raise StoreCorruptError(
                    f"{self.path}: a DuckDB database but not a greenabs run store (it has no "
                    "schema_version table); set GREENABS_HOME to another folder"
                )
            return 0
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _migrate(self) -> None:
        with self._connection() as con:
            version = self._version(con)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: written by a newer greenabs (store schema {version}, this "
                    f"greenabs knows up to {SCHEMA_VERSION}); upgrade greenabs"
                )
            if version == SCHEMA_VERSION:
                return
            con.execute("BEGIN TRANSACTION")
            try:
                if version == 0:
                    con.execute(
                        "CREATE TABLE schema_version "
                        "(version INTEGER NOT NULL, applied TIMESTAMP NOT NULL)"
                    )
                for number in range(version + 1, SCHEMA_VERSION + 1):
                    MIGRATIONS[number - 1](con)
                    con.execute(
                        "INSERT INTO schema_version VALUES (?, ?)",
                        [number, datetime.now(UTC).replace(tzinfo=None)],
                    )
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):  # the migration's error is the one to see
                    con.execute("ROLLBACK")
                raise

    def schema_version(self) -> int:
        """The schema version of the store file."""
        with self._connection() as con:
            return self._version(con)

    # ---------------------------------------------------------------------------- writing

    def record(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        deal_text: str | None = None,
        tape: bytes | None = None,
        tape_name: str | None = None,
        deal_name: str | None = None,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        backend: str | None = None,
        timings: Mapping[str, Any] | None = None,
        status: str = "ok",
    ) -> str:
        """Store a run (its deal version, parameters and payload) in one transaction; returns
        its id.  The payload's ``meta`` is kept as the run's meta."""
        import duckdb

        from greenabs import __version__

        if kind not in KINDS:
            raise StoreError(f"unknown kind of run {kind!r} (known: {', '.join(KINDS)})")
        body = dict(payload)
        meta = body["meta"] if isinstance(body.get("meta"), dict) else {}
        payload_text = _json(body)
        params_text = _json(dict(params or {}))
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        dhash = deal_hash(deal_text, tape) if deal_text is not None else None
        deal_row = (
            [dhash, deal_name or "", deal_text, tape_name, tape, now] if dhash is not None else None
        )
        run_row = [
            kind,
            dhash,
            deal_name,
            now,
            status,
            params_text,
            seed,
            backend,
            str(meta.get("greenabs_version") or __version__),
            _json(dict(timings or {})),
            _json(meta),
        ]
        # threads of one process share the database: two writing the same new deal at once
        # conflict, and the later one writes again (it then finds the deal stored)
        for attempt in range(_CONFLICT_TRIES):
            with self._connection() as con:
                try:
                    return _write_run(con, deal_row, run_row, payload_text)
                except (duckdb.TransactionException, duckdb.ConstraintException):
                    if attempt == _CONFLICT_TRIES - 1:
                        raise
            time.sleep(0.01 * (attempt + 1) * (0.5 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------------------- reading

    def _resolve(self, con: Connection, run_id: str) -> str:
        """The id a user means: the id itself, a unique prefix of one, or ``last``."""
        text = run_id.strip()
        if text == "last":
            row = con.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                raise UnknownRunError(f"{self.path}: no run is stored yet")
            return str(row[0])
        rows = con.execute(
            "SELECT id FROM runs WHERE starts_with(id, ?) ORDER BY id LIMIT 6", [text]
        ).fetchall()
        exact = [r[0] for r in rows if r[0] == text]
        if exact:
            return str(exact[0])
        if len(rows) == 1 and text:
            return str(rows[0][0])
        if not rows or not text:
            raise UnknownRunError(f"no run {run_id!r} in {self.path} (see greenabs runs list)")
        shown = ", ".join(r[0] for r in rows[:5])
        raise UnknownRunError(f"run id {run_id!r} is ambiguous: it begins {shown}, ...")

    def resolve(self, run_id: str) -> str:
        """The full id of the run ``run_id`` names (an id, a unique prefix, or ``last``)."""
        with self._connection() as con:
            return self._resolve(con, run_id)

    def get(self, run_id: str) -> StoredRun:
        """The stored run ``run_id`` names (an id, a unique prefix, or ``last``)."""
        with self._connection() as con:
            rid = self._resolve(con, run_id)
            row = con.execute(
                "SELECT r.id, r.kind, r.deal_name, r.deal_hash, r.created, r.status, r.params, "
                "r.seed, r.backend, r.greenabs_version, r.timings, r.meta, p.payload "
                "FROM runs r JOIN results p ON p.run_id = r.id WHERE r.id = ?",
                [rid],
            ).fetchone()
            if row is None:
                raise StoreCorruptError(f"{self.path}: run {rid} has no results")
            tables = con.execute(
                "SELECT name, columns, rows FROM result_tables WHERE run_id = ? ORDER BY position",
                [rid],
            ).fetchall()
        return StoredRun(
            id=row[0],
            kind=row[1],
            deal=row[2],
            deal_hash=row[3],
            created=_iso(row[4]),
            status=row[5],
            params=json.loads(row[6]),
            seed=row[7],
            backend=row[8],
            greenabs_version=row[9],
            timings=json.loads(row[10]),
            meta=json.loads(row[11]),
            payload=json.loads(row[12]),
            _tables=tuple((n, tuple(json.loads(c)), r) for n, c, r in tables),
        )

    def list(
        self,
        *,
        kind: str | None = None,
        deal: str | None = None,
        limit: int | None = None,
    ) -> list[RunInfo]:
        """Stored runs, newest first; ``deal`` matches a deal's name or a prefix of its hash."""
        where, args = [], []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if deal is not None:
            where.append("(deal_name = ? OR starts_with(deal_hash, ?))")
            args += [deal, deal]
        sql = "SELECT id, kind, deal_name, deal_hash, created, status FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._connection() as con:
            rows = con.execute(sql, args).fetchall()
        return [RunInfo(r[0], r[1], r[2], r[3], _iso(r[4]), r[5]) for r in rows]

    def deals(self) -> builtins.list[DealInfo]:
        """Every stored deal version, newest first, with its number of runs."""
        with self._connection() as con:
            rows = con.execute(
                "SELECT d.hash, d.name, d.created, d.tape_name, count(r.id) FROM deals d "
                "LEFT JOIN runs r ON r.deal_hash = d.hash "
                "GROUP BY d.hash, d.name, d.created, d.tape_name ORDER BY d.created DESC"
            ).fetchall()
        return [DealInfo(r[0], r[1], _iso(r[2]), r[3], int(r[4])) for r in rows]

    def _deal_row(self, hash_prefix: str) -> tuple[str, str, str | None, bytes | None]:
        with self._connection() as con:
            rows = con.execute(
                "SELECT hash, text, tape_name, tape FROM deals WHERE starts_with(hash, ?) LIMIT 2",
                [hash_prefix],
            ).fetchall()
        if len(rows) != 1 or not hash_prefix:
            what = "is ambiguous" if rows and hash_prefix else "is not stored"
            raise StoreError(f"deal version {hash_prefix!r} {what} in {self.path}")
        h, text, tape_name, tape = rows[0]
        return h, text, tape_name, bytes(tape) if tape is not None else None

    def deal_text(self, deal_hash: str) -> str:
        """The text of the deal file of a stored deal version (a hash or a unique prefix)."""
        return self._deal_row(deal_hash)[1]

    def deal_tape(self, deal_hash: str) -> tuple[str | None, bytes | None]:
        """The tape's file name and bytes of a stored deal version (``None`` without one)."""
        _, _, name, tape = self._deal_row(deal_hash)
        return name, tape
