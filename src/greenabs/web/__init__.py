"""The web workbench: ``greenabs serve`` (see docs/web.md).

A deal library (upload, the packaged examples), an editor that shows each problem next to the
line of YAML it names, the run / pool / rate / size / bank actions with live progress, result
pages with the reports' tables and charts, comparison of two runs and downloads of the
reports; every run is recorded in the run store as the command line records it.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from greenabs.errors import ARGUMENT, Problem, SpecError
from greenabs.web.app import create_app
from greenabs.web.security import LOOPBACK_NAMES, check_bind

__all__ = ["create_app", "serve"]


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, or a SpecError naming the flag (a port in use)."""
    name = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in name else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((name, port))
    except OSError as exc:
        sock.close()
        flag = "--port" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else "--host"
        why = f"cannot listen on {host}:{port} ({exc.strerror or exc})"
        raise SpecError(ARGUMENT, Problem(flag, why)) from None
    return sock


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    started: Callable[[], None] | None = None,
) -> None:
    """Serve the workbench until interrupted; refuses a non-loopback ``host`` without a token
    and a port that is taken (``started`` is called once it listens)."""
    import uvicorn

    check_bind(host, token)
    sock = _listen(host, port)
    if started is not None:
        started()
    app = create_app(token=token, hosts=LOOPBACK_NAMES | {host.strip("[]").lower()})
    config = uvicorn.Config(app, log_level="warning", server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
