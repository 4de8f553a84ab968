"""The run store: every deal, run and result, kept in one DuckDB file.

``RunStore.open()`` opens ``$GREENABS_HOME/greenabs.duckdb`` (``~/.greenabs`` by default);
``record`` keeps a run in one transaction, ``get``, ``list`` and ``deals`` read them back.
See docs/store.md.
"""

from greenabs.store.core import (
    KINDS,
    DealInfo,
    RunInfo,
    RunStore,
    StoredRun,
    deal_hash,
    default_path,
)
from greenabs.store.errors import (
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    UnknownRunError,
)
from greenabs.store.schema import SCHEMA_VERSION
from greenabs.store.tables import derive_tables

__all__ = [
    "KINDS",
    "SCHEMA_VERSION",
    "DealInfo",
    "RunInfo",
    "RunStore",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "StoredRun",
    "UnknownRunError",
    "deal_hash",
    "default_path",
    "derive_tables",
]
