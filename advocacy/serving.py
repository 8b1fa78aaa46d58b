"""How the app sits behind its web servers: a reverse proxy's hops, and slow clients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


class ClientTimeout:
    """Under gunicorn, a client silent for this long while sending its body (or reading the
    answer) is dropped: gthread waits for a request's first byte without a thread, but then
    a thread reads the rest, and without a timeout a stalled client would hold it for good.
    Werkzeug turns the timeout into a 400 (ClientDisconnected)."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        client = environ.get("gunicorn.socket")
        if client is not None:
            client.settimeout(self.seconds)
        return self.app(environ, start_response)  # type: ignore[no-any-return]


def wrap(app: Flask) -> None:
    """Trust ADVOCACY_PROXIES hops of X-Forwarded-For/-Proto (the per-IP limits and /metrics'
    loopback rule then see the client, not the proxy); bound slow clients."""
    hops = int(app.config["PROXIES"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.wsgi_app = ClientTimeout(  # type: ignore[method-assign]
        app.wsgi_app, float(app.config["CLIENT_TIMEOUT_SECONDS"]))
