"""The tables of a run's payload: every list of records in it, found by walking the payload.

A table is named by its path in the payload, ``tranches``, ``tranche_cashflows.A``,
``transaction.table``; nested records are flattened into dotted columns
(``loss_quantiles.0.99``) and lists inside a cell are kept as JSON text, so every table is
flat, ready for CSV and Excel.  ``meta`` is not a table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Table", "derive_tables"]

Table = tuple[list[str], list[list[Any]]]
"""A table as its column names and its rows (lists of JSON values)."""


def _flat(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            row.update(_flat(value, name + "."))
        elif isinstance(value, list):
            row[name] = json.dumps(value)
        else:
            row[name] = value
    return row


def _records(value: list[Any]) -> bool:
    return bool(value) and all(isinstance(x, Mapping) for x in value)


def _walk(path: str, value: Any) -> Iterator[tuple[str, list[Mapping[str, Any]]]]:
    if isinstance(value, list) and _records(value):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(f"{path}.{key}" if path else str(key), item)


def derive_tables(payload: Mapping[str, Any]) -> dict[str, Table]:
    """Every list of records in ``payload`` (but ``meta``) as a flat table, by its path."""
    tables: dict[str, Table] = {}
    for key, value in payload.items():
        if key == "meta":
            continue
        for path, records in _walk(str(key), value):
            rows = [_flat(r) for r in records]
            columns: dict[str, None] = {}
            for r in rows:
                columns.update(dict.fromkeys(r))
            names = list(columns)
            tables[path] = (names, [[r.get(c) for c in names] for r in rows])
    return tables
