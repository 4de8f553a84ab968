"""Reading bank files (YAML), with errors that name the file, the field and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from greenabs.bank.spec import BankSpec
from greenabs.errors import Problem, SpecError
from greenabs.spec.io import _read_yaml, problems_from

__all__ = ["load_bank", "parse_bank"]


def parse_bank(data: Any, source: str = "<bank>") -> BankSpec:
    """A validated bank from parsed YAML/JSON data."""
    if not isinstance(data, dict):
        raise SpecError(source, Problem("", "a bank file must be a mapping of fields"))
    try:
        return BankSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(source, problems_from(exc)) from None


def load_bank(path: str | Path) -> BankSpec:
    """Read and validate a bank file."""
    p = Path(path)
    return parse_bank(_read_yaml(p), str(p))
