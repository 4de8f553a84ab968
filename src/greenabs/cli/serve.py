"""``greenabs serve``: the web workbench (docs/web.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from greenabs.cli.common import app, out


@app.command("serve")
def serve_cmd(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8765,
    host: Annotated[
        str,
        typer.Option(help="Address to listen on; anything but 127.0.0.1 needs --token"),
    ] = "127.0.0.1",
    token: Annotated[
        str | None,
        typer.Option(
            envvar="GREENABS_TOKEN",
            help="Access token every request must carry (open the page once with ?token=…)",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Serve the web workbench: deal library, editor, runs with progress, reports."""
    from greenabs.web import serve

    token = token or None  # an empty GREENABS_TOKEN is no token
    shown = f"[{host}]" if ":" in host else host

    def started() -> None:
        out.print(f"greenabs workbench on http://{shown}:{port}/  (Ctrl-C stops it)")
        if token is not None:
            out.print(f"open http://{shown}:{port}/?token=… once with the token to log in")

    serve(host, port, token, started=started)
