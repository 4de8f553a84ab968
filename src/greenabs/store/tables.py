"""The tables of a run's payload, found by walking the payload.

A table is a list of records (``tranches``: ``[{"name": "A", ...}, ...]``), a record of
columns of one length (``{"period": [...], "value": [...]}``) or a histogram (``{"edges":
[n + 1 bounds], "counts": [n]}``, as the loss distributions are kept), with columns ``from``,
``to``, ``count``.  It is named by its path in the payload: ``tranches``,
``tranche_cashflows.A``, ``loss_histograms.tranches.A``.  Nested records are flattened into
dotted columns (``loss_quantiles.0.99``) and lists inside a cell are kept as JSON text, so
every table is flat, ready for CSV and Excel.  ``meta`` is not a table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
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


def _scalars(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(x, Mapping | list) for x in value)


def _as_records(value: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """A histogram or a record of equally long columns as records; otherwise ``None``."""
    lists = {k: v for k, v in value.items() if isinstance(v, list)}
    if not lists or not all(_scalars(v) for v in lists.values()):
        return None
    others_scalar = all(not isinstance(v, Mapping) for v in value.values())
    if set(lists) == {"edges", "counts"} and others_scalar:  # other keys: the sample size...
        edges, counts = lists["edges"], lists["counts"]
        if len(edges) != len(counts) + 1 or not counts:
            return None
        return [
            {"from": lo, "to": hi, "count": n}
            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
        ]
    lengths = {len(v) for v in lists.values()}
    if len(lists) != len(value) or len(lengths) != 1 or lengths == {0}:
        return None
    return [{k: v[i] for k, v in lists.items()} for i in range(lengths.pop())]


def _walk(path: str, value: Any) -> Iterator[tuple[str, Sequence[Mapping[str, Any]]]]:
    if isinstance(value, list) and _records(value):
        yield path, value
    elif isinstance(value, Mapping):
        records = _as_records(value)
        if records is not None:
            yield path, records
            return
        for key, item in value.items():
            yield from _walk(f"{path}.{key}" if path else str(key), item)


def derive_tables(payload: Mapping[str, Any]) -> dict[str, Table]:
    """Every table in ``payload`` (but in ``meta``) as a flat table, by its path."""
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
