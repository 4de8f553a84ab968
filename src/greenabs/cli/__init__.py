"""Command line: ``greenabs run | validate | schema | bank | systemic``.

Every error a user can cause ends in one clear message on stderr and exit code 1; usage errors
(an unknown flag) exit 2.  Each command lives in the module of its domain; importing this
package registers them all on :data:`app`.
"""

from __future__ import annotations

import importlib

from greenabs.cli.common import app, err
from greenabs.errors import GreenabsError

for _module in ("deal", "bank", "systemic"):  # registers the commands, in the help's order
    importlib.import_module(f"greenabs.cli.{_module}")

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``greenabs`` console script."""
    try:
        app()
    except GreenabsError as exc:
        err.print(f"[bold red]error[/]: {exc}", highlight=False, markup=True)
        raise SystemExit(1) from None
    except OSError as exc:
        err.print(f"[bold red]error[/]: {exc}", highlight=False)
        raise SystemExit(1) from None
