"""What keeps `i2i app` to its own business, as one ASGI layer in front of every route.

- The token: with one set (always when the app listens beyond this machine), every request must carry it, as
  ``?token=`` (which is swapped for an HttpOnly, SameSite=Strict cookie and taken out of the address), the
  cookie, or an ``Authorization: Bearer`` header; anything else gets 403.
- The Host check: an app that listens on 127.0.0.1 answers only to loopback names, so a web page that rebinds
  its own domain to 127.0.0.1 (DNS rebinding) cannot read it.
- The Origin check: a browser request that changes something (POST, WebSocket) from a page of another origin is
  refused, so another site cannot drive the app through the user's browser.
- Headers on every response: a Content-Security-Policy that lets the pages load nothing from another origin,
  and cross-origin isolation (COOP + COEP), which browsers require before they give WebAssembly threads.
"""

from __future__ import annotations

import ipaddress
import secrets
import urllib.parse

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' blob: data:; "
       "media-src 'self' blob: mediastream:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = ((b"cross-origin-opener-policy", b"same-origin"), (b"cross-origin-embedder-policy", b"require-corp"),
                    (b"cross-origin-resource-policy", b"same-origin"), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"))
LOOPBACK_NAMES = ("localhost",)
SAFE_METHODS = ("GET", "HEAD")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name, IPv6 with or without brackets) is this machine only."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _hostname(host_header: str) -> str:
    """The name part of a Host header value ('127.0.0.1:7860' -> '127.0.0.1', '[::1]:80' -> '::1')."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Guard:
    """The checks and headers above, around ``app``. ``loopback``: the app listens on this machine only."""

    def __init__(self, app: ASGIApp, token: str | None, loopback: bool) -> None:
        self.app, self.token, self.loopback = app, token, loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        problem = self._problem(scope, headers)
        if problem is not None:
            await _refuse(scope, send, problem)
            return
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if self.token and scope["type"] == "http" and scope["method"] in SAFE_METHODS and "token" in query:
            await self._to_cookie(scope, query, send)  # valid (checked above): a cookie from now on
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", CSP.encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)

    def _problem(self, scope: Scope, headers: Headers) -> str | None:
        host = headers.get("host", "")
        if self.loopback and not is_loopback(_hostname(host)):
            return f"this app answers only to localhost addresses, not to '{host}'"
        if scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and urllib.parse.urlsplit(origin).netloc != host:
                return f"a request from another site ({origin}) is not allowed"
        if self.token and not self._has_token(scope, headers):
            return "this app needs its token: open the address it printed when it started (with ?token=...)"
        return None

    def _has_token(self, scope: Scope, headers: Headers) -> bool:
        assert self.token is not None
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = [*query.get("token", []), *_cookies(headers).get(cookie_name(scope), [])]
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            given.append(authorization[7:].strip())
        return any(secrets.compare_digest(value.encode(), self.token.encode()) for value in given)

    async def _to_cookie(self, scope: Scope, query: dict[str, list[str]], send: Send) -> None:
        """Answer ``?token=`` with a redirect to the same address without it, setting the cookie."""
        rest = urllib.parse.urlencode([(k, v) for k, values in query.items() if k != "token" for v in values])
        location = scope["path"] + (f"?{rest}" if rest else "")
        cookie = f"{cookie_name(scope)}={self.token}; Path=/; HttpOnly; SameSite=Strict"
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                                (b"cache-control", b"no-store"), *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": b""})


def cookie_name(scope: Scope) -> str:
    """Cookies ignore ports: apps on two ports of one host each keep their own token."""
    server = scope.get("server") or ("", 0)
    return f"i2i_token_{server[1]}"


def _cookies(headers: Headers) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for header in headers.getlist("cookie"):
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name:
                found.setdefault(name, []).append(value)
    return found


async def _refuse(scope: Scope, send: Send, reason: str) -> None:
    """403 with a one-line reason (a WebSocket is refused before it opens, which browsers see as a 403)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
        return
    body = f"forbidden: {reason}\n".encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"content-security-policy", CSP.encode()), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})
