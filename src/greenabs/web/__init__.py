"""The web workbench: ``greenabs serve`` (see docs/web.md).

A deal library (upload, the packaged examples), an editor that shows each problem next to the
line of YAML it names, the run / pool / rate / size / bank actions with live progress, result
pages with the reports' tables and charts, comparison of two runs and downloads of the
reports; every run is recorded in the run store as the command line records it.
"""

from __future__ import annotations

from greenabs.web.app import create_app
from greenabs.web.security import LOOPBACK_NAMES, check_bind

__all__ = ["create_app", "serve"]


def serve(host: str = "127.0.0.1", port: int = 8765, token: str | None = None) -> None:
    """Serve the workbench until interrupted; refuses a non-loopback ``host`` without a token."""
    import uvicorn

    check_bind(host, token)
    uvicorn.run(
        create_app(token=token, hosts=LOOPBACK_NAMES | {host.strip("[]").lower()}),
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
    )
