"""Command line: ``greenabs run | validate | schema | pool | rate | size | breakeven | bank |
systemic``.

Every error a user can cause ends in one clear message on stderr and exit code 1; usage errors
(an unknown flag) exit 2.  Each command lives in the module of its domain; importing this
package registers them all on :data:`app`.  Python warnings (numpy's RuntimeWarnings above all)
never reach the terminal: results that matter are checked and reported as errors instead.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings

from greenabs.cli.common import app, err, styled
from greenabs.errors import GreenabsError

for _module in (
    "deal",
    "pool",
    "rate",
    "breakeven",
    "bank",
    "systemic",
    "runs",
    "report",
    "serve",
):  # registers, in help order
    importlib.import_module(f"greenabs.cli.{_module}")

__all__ = ["app", "main"]


def _report(message: str) -> None:
    """``error: message`` on stderr, the message literally and unwrapped (a long file or deal
    name prints in linear time; the terminal wraps it)."""
    err.print(styled(("error", "bold red"), ": ", message), soft_wrap=True)


def main() -> None:
    """Entry point of the ``greenabs`` console script."""
    warnings.simplefilter("ignore")
    for stream in (sys.stdout, sys.stderr):
        # a name the terminal's encoding lacks is shown escaped, not a UnicodeEncodeError
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        app()
    except GreenabsError as exc:
        _report(str(exc))
        raise SystemExit(1) from None
    except BrokenPipeError:  # the reader of the output went away (| head): stop quietly
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except OSError as exc:  # an output file or folder that cannot be written
        reason = exc.strerror or str(exc)
        _report(f"{exc.filename}: {reason}" if exc.filename is not None else reason)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        _report("interrupted")
        raise SystemExit(130) from None
