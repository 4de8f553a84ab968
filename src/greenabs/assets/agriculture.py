"""Placeholder: the agriculture families are being written."""

from __future__ import annotations

from typing import Any

FAMILIES: tuple[type[Any], ...] = ()
"""The families of this module, registered by :mod:`greenabs.assets`."""
