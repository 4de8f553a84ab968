"""The workbench's guards: where it may listen, the access token, request size, forgery.

- :func:`check_bind`: the server listens on the loopback interface unless given a token; any
  other ``--host`` without ``--token`` (or ``GREENABS_TOKEN``) is refused before it starts.
- :class:`Guard` (ASGI middleware, outermost): refuses a request body over the limit with
  413 (by its Content-Length, or while it streams); without a token, a request must name this
  machine in its ``Host`` header (so a web page cannot reach the workbench by pointing a
  domain of its own at 127.0.0.1, "DNS rebinding"); with a token, every request must carry
  it (``Authorization: Bearer``, ``X-Greenabs-Token``, or the cookie that ``?token=`` sets);
  gives each browser a session cookie; sets headers that keep pages from being framed,
  sniffed or leaking their address (Content-Security-Policy allows only the app's own
  scripts).
- :func:`csrf_token` / :func:`verify_csrf`: every form carries a token derived from the
  session cookie (HMAC with a per-server secret); every POST is refused without it.  The
  session cookie is ``SameSite=Strict`` as well.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import HTTPException, Request

from greenabs.errors import ARGUMENT, Problem, SpecError

__all__ = [
    "CSRF_FIELD",
    "LOOPBACK_NAMES",
    "MAX_BODY",
    "SESSION_COOKIE",
    "TOKEN_COOKIE",
    "Guard",
    "check_bind",
    "csrf_token",
    "verify_csrf",
]

#: Largest request body accepted (an uploaded deal with its tape), in bytes.
MAX_BODY = 10 * 1024 * 1024
#: The names a request to a loopback workbench may give in its ``Host`` header.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
SESSION_COOKIE = "greenabs_session"
TOKEN_COOKIE = "greenabs_token"
CSRF_FIELD = "csrf_token"

_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token (and a token too short to hold)."""
    if token is not None and len(token) < 16:
        why = "give a token of at least 16 characters (e.g. `python -c 'import secrets; "
        why += "print(secrets.token_urlsafe())'`)"
        raise SpecError(ARGUMENT, Problem("--token", why))
    if token is None and not is_loopback(host):
        why = (
            f"listening on {host!r} lets other machines reach the workbench: give --token "
            "(or set GREENABS_TOKEN), or keep the default 127.0.0.1"
        )
        raise SpecError(ARGUMENT, Problem("--host", why))


class _TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request is larger than the limit of {limit // 2**20} MB.")


class Guard:
    """The outermost middleware (see the module docstring).

    ``refuse(status, title, detail)`` renders the page a refused request gets."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        hosts: frozenset[str] | None,
        secret: bytes,
        max_body: int,
        refuse: Callable[[int, str, str], tuple[bytes, str]],
    ) -> None:
        self.app = app
        self.token = token
        self.hosts = hosts
        self.secret = secret
        self.max_body = max_body
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # a websocket: the workbench serves none, unguarded never
            if scope["type"] == "websocket":
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})
            return
        request = Request(scope)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            limit = self.max_body // 2**20
            await self._page(send, 413, "Too large", f"The upload is larger than {limit} MB.")
            return
        if self.hosts is not None and _host_name(request.headers.get("host", "")) not in self.hosts:
            await self._page(
                send,
                400,
                "Unknown host",
                "This workbench answers to 127.0.0.1 and localhost only; open it at "
                "http://127.0.0.1 with its port.",
            )
            return
        extra: list[tuple[bytes, bytes]] = []
        if self.token is not None:
            query = request.query_params.get("token")
            if query is not None and hmac.compare_digest(query.encode(), self.token.encode()):
                # log in: the token becomes a cookie, and leaves the address bar
                rest = [(k, v) for k, v in parse_qsl(request.url.query) if k != "token"]
                # one leading slash: ``//evil.example/x`` (or ``/\\evil...``) is another site
                target = (
                    "/" + request.url.path.lstrip("/\\") + ("?" + urlencode(rest) if rest else "")
                )
                cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                await self._redirect(send, target, cookie)
                return
            if not self._authorised(request):
                await self._page(
                    send,
                    401,
                    "Token required",
                    "This workbench needs its access token: open it with ?token=… once, or "
                    "send the header Authorization: Bearer ….",
                )
                return
        session = request.cookies.get(SESSION_COOKIE, "")
        if len(session) < 32:
            session = secrets.token_urlsafe(32)
            extra.append(
                (
                    b"set-cookie",
                    f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict".encode(),
                )
            )
        scope.setdefault("state", {})["session"] = session
        scope["state"]["csrf"] = csrf_token(self.secret, session)

        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise _TooLarge(self.max_body)
            return message

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS, *extra]
            await send(message)

        await self.app(scope, limited, headed)

    def _authorised(self, request: Request) -> bool:
        assert self.token is not None
        bearer = request.headers.get("authorization", "")
        given = [
            bearer[7:] if bearer.lower().startswith("bearer ") else "",
            request.headers.get("x-greenabs-token", ""),
            request.cookies.get(TOKEN_COOKIE, ""),
        ]
        want = self.token.encode()
        return any(g and hmac.compare_digest(g.encode(), want) for g in given)

    async def _page(self, send: Send, status: int, title: str, detail: str) -> None:
        body, ctype = self.refuse(status, title, detail)
        headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
        if status == 413:
            headers.append((b"connection", b"close"))
        start = {"type": "http.response.start", "status": status, "headers": [*headers, *_HEADERS]}
        await send(start)
        await send({"type": "http.response.body", "body": body})

    async def _redirect(self, send: Send, target: str, cookie: str) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", target.encode()),
                    (b"set-cookie", cookie.encode()),
                    (b"content-length", b"0"),
                    *_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _host_name(header: str) -> str:
    """The host of a ``Host`` header, without its port (``[::1]:8765`` is ``::1``)."""
    text = header.strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def csrf_token(secret: bytes, session: str) -> str:
    """The form token of a session: HMAC-SHA256 of the session cookie with the server secret."""
    return hmac.new(secret, session.encode(), hashlib.sha256).hexdigest()


async def verify_csrf(request: Request) -> None:
    """Refuse a POST whose form (or ``X-CSRF-Token`` header) lacks the session's token."""
    session = request.cookies.get(SESSION_COOKIE, "")
    expected = request.state.csrf
    given = request.headers.get("x-csrf-token", "")
    if not given:
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        given = value if isinstance(value, str) else ""
    if not session or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            403,
            "The form's security token is missing or out of date (the page was opened in "
            "another session, or by another site). Reload the page and send it again.",
        )
