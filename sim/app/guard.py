"""Host and Origin checks in front of the web app (pure ASGI, no dependency on Solara's internals).

The app listens on 127.0.0.1, but a web page open in the facilitator's browser could still
reach it (a cross-site WebSocket or form post), and a DNS-rebinding page could reach it under
a name of its own. Every HTTP request and WebSocket handshake must therefore carry a ``Host``
the facilitator served the app under, and, if it has an ``Origin``, one of those hosts too;
anything else is refused with 403 before it reaches the app.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> set[str]:
    """``host:port`` values a request may name: loopback names, the listening address, and ``extra`` (facilitator's)."""
    names = set(LOOPBACK_NAMES)
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        unspecified = False
    if not unspecified:
        names.add(f"[{host}]" if ":" in host else host)
    names.update(x.strip().lower() for x in extra if x.strip())
    return {f"{n.lower()}:{port}" for n in names} | ({n.lower() for n in names} if port == 80 else set())


class HostOriginGuard:
    """ASGI middleware: refuse requests whose ``Host`` or ``Origin`` is not one of ``hosts``."""

    def __init__(self, app, hosts: Iterable[str]):
        self.app = app
        self.hosts = {h.lower() for h in hosts}
        self.origins = {f"{scheme}://{h}" for h in self.hosts for scheme in ("http", "https")}

    def permits(self, headers: dict[str, str]) -> bool:
        """Whether a request with these (lower-case) headers may pass."""
        if headers.get("host", "").lower() not in self.hosts:
            return False
        origin = headers.get("origin")
        return origin is None or origin.lower() in self.origins

    async def __call__(self, scope, receive, send):
        """Pass a request on to the app, or refuse it with 403."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.permits(headers):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            body = b"Forbidden: this app answers only requests for the host it is served under.\n"
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        else:  # refuse the handshake: the server answers 403
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
