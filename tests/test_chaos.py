"""Faults during a stream of submissions and deliveries: nothing lost, the backlog drains alone.

Each test runs supporters writing and confirming through the app (the JSON API, in a
thread), two worker processes delivering to the sink, and breaks something mid-run: Redis
restarted empty, PostgreSQL restarted, workers SIGKILLed, the relay down. The servers are
the test's own (a redis-server and a PostgreSQL cluster on free ports), never the machine's
shared ones. The workers run with short periods (reconcile every second, retries after half
a second) and nothing else helps them: no reconcile from the test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advocacy.delivery.batch import Batch
from advocacy.delivery.jobs import claim
from advocacy.delivery.sink import Sink, SinkHandler, free_port
from advocacy.letters.compose import load
from advocacy.organizers.controls import set_limits
from advocacy.testing import ledger
from advocacy.testing.stack import (
    NO_LIMITS,
    PrivatePostgres,
    RedisServer,
    Workers,
    postgres_bin,
    throwaway_database,
)
from advocacy.testing.stream import Stream, supporter_letter

from helpers import seed_queued, worker_env

pytestmark = pytest.mark.slow
FAST = {"RECONCILE_EVERY_SECONDS": 1, "RETRY_BASE_SECONDS": 0.5, "STALE_SENDING_SECONDS": 5}
NO_POSTGRES = "PRIVATE POSTGRESQL SKIPPED: no /usr/lib/postgresql/*/bin/initdb on this machine"


# --- the servers of these tests' own -------------------------------------------------------

@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres | None]:
    if postgres_bin() is None:
        yield None
        return
    with PrivatePostgres() as pg:
        yield pg


@pytest.fixture
def database_url(cluster: PrivatePostgres | None, tmp_path: Path) -> Iterator[str]:
    """Overrides conftest's: a database in the private cluster (SQLite without one)."""
    if cluster is None:
        yield f"sqlite:///{tmp_path / 'chaos.db'}"
        return
    with throwaway_database(cluster.admin_url, "chaos") as url:
        yield url


class Relay:
    """The sink as a mail relay that can go down and come back on the same port."""

    def __init__(self) -> None:
        self.handler, self.port = SinkHandler(), free_port()
        self._server: Sink | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def up(self) -> None:
        self._server = Sink(self.handler, port=self.port).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def message_ids(self) -> list[str]:
        with self.handler.lock:
            return [str(m.message()["Message-ID"]) for m in self.handler.received]


@pytest.fixture
def redis_url(own_redis_url: str) -> str:
    """Overrides conftest's: the app and its workers use the test's own Redis."""
    return own_redis_url


@pytest.fixture
def sink() -> Iterator[Relay]:
    """Overrides conftest's: the workers' relay, which the tests may bring down."""
    relay = Relay()
    relay.up()
    yield relay
    relay.down()


@pytest.fixture
def workers(app: Any, sink: Relay, tmp_path: Path) -> Iterator[Workers]:
    set_limits(None, NO_LIMITS)
    group = Workers(worker_env(app, sink.url, tmp_path), FAST, log=tmp_path / "workers.log")
    group.start(2)
    yield group
    group.stop()


# --- supporters writing while things break --------------------------------------------------

class ClientWeb:
    """The stream's way in: Flask's test client (each request with its own app context)."""

    def __init__(self, app: Any) -> None:
        self.client = app.test_client()

    def post(self, path: str, data: dict[str, Any] | None = None) -> tuple[int, Any]:
        reply = self.client.post(path, json=data)
        return reply.status_code, reply.get_json(silent=True)


def stream_of(app: Any) -> Stream:
    return Stream(app, lambda: ClientWeb(app))


def drained(stream: Stream, sink: Relay, app: Any, timeout: float = 60,
            review_allowed: int = 0) -> dict[str, Any]:
    """Wait until the workers alone deliver every confirmed letter; then audit the sink."""
    deadline = time.monotonic() + timeout
    while True:
        current = ledger.states(stream.accepted)
        waiting = sum(n for s, n in current.items() if s not in ("sent", "needs_review"))
        if waiting == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    report = ledger.audit(stream.accepted, sink.message_ids(), app.config["ADVOCACY_SENDER"])
    review = report["by_state"].get("needs_review", 0)
    assert review <= review_allowed, report
    assert report["lost"] - review == 0, report
    assert report["missing_from_database"] == report["received_twice"] == 0, report
    return report


def run_for(seconds: float) -> None:
    time.sleep(seconds)


# --- the faults -----------------------------------------------------------------------------

def test_redis_restarted_empty_mid_run(app: Any, sink: Relay, workers: Workers,
                                       redis_server: RedisServer) -> None:
    with stream_of(app) as stream:
        run_for(4)
        redis_server.restart(down_seconds=1)  # every job, registry and counter gone
        run_for(4)
    stream.finish()
    assert stream.accepted and not stream.server_errors()
    report = drained(stream, sink, app)
    assert report["delivered"] == len(stream.accepted)
    assert len(workers.alive) == 2, "a worker quit when Redis went away"


def test_postgresql_restarted_mid_run(app: Any, client: Any, sink: Relay, workers: Workers,
                                      cluster: PrivatePostgres | None) -> None:
    if cluster is None:
        pytest.skip(NO_POSTGRES)
    with stream_of(app) as stream:
        run_for(3)
        cluster.stop()
        try:
            # While it is down: a clear 503 everywhere, in JSON on the API, a page on the form.
            health = client.get("/healthz")
            assert health.status_code == 503 and health.json["database"] == "down"
            api = client.post("/api/letters", json=supporter_letter("down@example.org"))
            assert api.status_code == 503 and "database" in api.json["errors"]["_"]
            assert api.headers["Retry-After"]
            form = client.post("/", data={"body": "un", "name": "X"})
            assert form.status_code == 503 and b"nothing was saved" in form.data
            page = client.get("/?lang=fr")
            assert page.status_code == 503 and b"<html" in page.data
            run_for(2)
        finally:
            cluster.start()
        run_for(3)
    stream.finish()
    assert stream.statuses["submit", 503] > 0, "the database was never seen away"
    assert stream.accepted and not stream.server_errors({503})
    assert client.get("/healthz").json == {"status": "ok", "database": "ok", "redis": "ok"}
    report = drained(stream, sink, app)
    assert report["delivered"] == len(stream.accepted)
    assert len(workers.alive) == 2


def test_workers_sigkilled_again_and_again(app: Any, sink: Relay, workers: Workers) -> None:
    kills = 5
    with stream_of(app) as stream:
        for _ in range(kills):
            run_for(1.5)
            workers.kill_one()
            workers.start()
        run_for(2)
    stream.finish()
    assert stream.accepted and not stream.server_errors()
    # Only the letter each killed worker had on the wire may wait for a person.
    report = drained(stream, sink, app, review_allowed=kills)
    # Every accepted letter ended sent or, at most one per kill, in review.
    assert report["by_state"].get("sent", 0) + report["by_state"].get(
        "needs_review", 0) == len(stream.accepted), report


def test_relay_down_then_back(app: Any, sink: Relay, workers: Workers) -> None:
    with stream_of(app) as stream:
        run_for(3)
        sink.down()  # connections refused
        run_for(4)
        sink.up()
        run_for(3)
    stream.finish()
    assert stream.accepted and not stream.server_errors()
    report = drained(stream, sink, app)  # retried with backoff, then all out
    assert report["by_state"] == {"sent": len(stream.accepted)}


def test_outcomes_wait_for_the_database_to_come_back(app: Any,
                                                      cluster: PrivatePostgres | None) -> None:
    """Letters that went out while the database restarted are recorded sent, not sent to
    review (which would ask a person whether officials got them)."""
    if cluster is None:
        pytest.skip(NO_POSTGRES)
    ids = seed_queued(5)
    batch = Batch()
    for letter in load(claim(ids)):
        batch.record_sent(letter)  # as if the relay had taken each
    cluster.stop()
    back = threading.Timer(1.5, cluster.start)
    back.start()
    try:
        batch.commit()
    finally:
        back.join()
    assert ledger.states(ids) == {"sent": len(ids)}
