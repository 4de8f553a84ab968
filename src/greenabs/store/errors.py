"""Errors of the run store: each names the store file and says what to do."""

from __future__ import annotations

from greenabs.errors import GreenabsError

__all__ = ["StoreCorruptError", "StoreError", "StoreLockedError", "UnknownRunError"]


class StoreError(GreenabsError):
    """The run store cannot be read or written."""


class StoreCorruptError(StoreError):
    """The store file is not a greenabs run store (damaged, or another program's file)."""


class StoreLockedError(StoreError):
    """Another process held the store longer than this one was willing to wait."""


class UnknownRunError(StoreError):
    """No stored run has the given id (or a prefix matches several)."""
