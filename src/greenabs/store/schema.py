"""The store's schema and its migrations.

The schema is versioned: ``schema_version`` holds one row per migration applied.  Each
migration is a function of an open connection, applied in order inside one transaction with
its version row, so a store is always at one whole version.  A store written by a newer
greenabs (a version this one does not know) is refused rather than misread.

Versions:

1. ``deals`` (text and tape by content hash), ``runs`` (kind, deal, parameters, seed,
   backend, version, timings, status, meta) and ``results`` (each run's payload as JSON).
2. ``result_tables``: the tables of each payload (see :mod:`greenabs.store.tables`),
   derived for the runs stored at version 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from greenabs.store.tables import derive_tables

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "insert_tables"]

Connection = Any  # duckdb.DuckDBPyConnection (duckdb ships no type stubs for mypy's use)


def _v1(con: Connection) -> None:
    con.execute(
        """
        CREATE TABLE deals (
            hash VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            text VARCHAR NOT NULL,
            tape_name VARCHAR,
            tape BLOB,
            created TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE runs (
            id VARCHAR PRIMARY KEY,
            kind VARCHAR NOT NULL,
            deal_hash VARCHAR,
            deal_name VARCHAR,
            created TIMESTAMP NOT NULL,
            status VARCHAR NOT NULL,
            params VARCHAR NOT NULL,
            seed BIGINT,
            backend VARCHAR,
            greenabs_version VARCHAR NOT NULL,
            timings VARCHAR NOT NULL,
            meta VARCHAR NOT NULL
        )
        """
    )
    con.execute("CREATE TABLE results (run_id VARCHAR PRIMARY KEY, payload VARCHAR NOT NULL)")


def insert_tables(con: Connection, run_id: str, payload: dict[str, Any]) -> None:
    """Store the tables of ``payload`` for ``run_id`` (schema version 2 on)."""
    rows = [
        (run_id, name, i, len(body), json.dumps(columns), json.dumps(body))
        for i, (name, (columns, body)) in enumerate(derive_tables(payload).items())
    ]
    if rows:
        con.executemany("INSERT INTO result_tables VALUES (?, ?, ?, ?, ?, ?)", rows)


def _v2(con: Connection) -> None:
    con.execute(
        """
        CREATE TABLE result_tables (
            run_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            position INTEGER NOT NULL,
            n_rows BIGINT NOT NULL,
            columns VARCHAR NOT NULL,
            rows VARCHAR NOT NULL,
            PRIMARY KEY (run_id, name)
        )
        """
    )
    for run_id, payload in con.execute("SELECT run_id, payload FROM results").fetchall():
        insert_tables(con, run_id, json.loads(payload))


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1, _v2)
"""Migration ``i`` (from 0) brings a store from version ``i`` to ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The version of the schema this greenabs writes."""
