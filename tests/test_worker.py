"""Worker processes against faults: a Redis that is not there yet, a relay that says "later".

Real processes: `python worker.py` (or `advocacy worker` with config values), a redis-server
of the test's own on a free loopback port, and the project's SMTP sink.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rq.registry import FinishedJobRegistry

from advocacy.delivery.queue import enqueue_letters, get_queue
from advocacy.delivery.sink import Received, Sink, free_port
from advocacy.organizers.controls import set_limits
from advocacy.testing.stack import NO_LIMITS, RedisServer, Workers, wait_for

from helpers import seed_queued, worker_env

pytestmark = pytest.mark.slow


@pytest.fixture
def workers() -> Iterator[list[Workers]]:
    """Worker groups a test starts; each is stopped at the end."""
    groups: list[Workers] = []
    yield groups
    for group in groups:
        group.stop()


def test_a_worker_started_before_redis_waits_for_it_and_then_delivers(
    app: Any, sink: Sink, tmp_path: Path, workers: list[Workers]
) -> None:
    if not RedisServer.available():
        pytest.skip("no redis-server binary: this test starts a Redis of its own")
    set_limits(None, NO_LIMITS)
    ids = seed_queued(1)
    redis = RedisServer(tmp_path / "redis")
    redis.port = free_port()  # nothing listens there yet
    log = tmp_path / "worker.log"
    group = Workers({**worker_env(app, sink.url, tmp_path), "REDIS_URL": redis.url}, log=log)
    workers.append(group)
    group.start()
    # Three tries take over three seconds: longer than the old two-second restart, after
    # which the worker exited 1.
    wait_for(lambda: not group.alive or log.read_text().count("Redis does not answer") >= 3,
             30, "three tries at Redis")
    assert group.alive, f"the worker exited: {log.read_text()[-1500:]}"
    with redis:
        app.config["REDIS_URL"] = redis.url
        app.extensions.pop("advocacy_redis", None)
        enqueue_letters(ids)
        wait_for(lambda: len(sink.received) == len(ids), 60, "the letters in the sink")
        assert group.alive


def test_a_worker_outlives_redis_going_away_in_the_middle_of_a_job(
    app: Any, sink: Sink, tmp_path: Path, workers: list[Workers]
) -> None:
    if not RedisServer.available():
        pytest.skip("no redis-server binary: this test restarts a Redis of its own")
    set_limits(None, NO_LIMITS)
    first, then = seed_queued(1), seed_queued(1)
    on_the_wire, answer = threading.Event(), threading.Event()

    def slow(item: Received) -> None:  # the relay takes its time over the first letter
        on_the_wire.set()
        answer.wait(30)

    sink.handler.reply = slow
    log = tmp_path / "worker.log"
    with RedisServer(tmp_path / "redis") as redis:
        app.config["REDIS_URL"] = redis.url
        app.extensions.pop("advocacy_redis", None)
        group = Workers({**worker_env(app, sink.url, tmp_path), "REDIS_URL": redis.url},
                        log=log)
        workers.append(group)
        group.start()
        enqueue_letters(first)
        assert on_the_wire.wait(60), log.read_text()[-1500:]
        redis.stop()  # the job cannot record its end: RQ's loop ends
        answer.set()
        sink.handler.reply = None
        wait_for(lambda: "Redis does not answer" in log.read_text(), 30, "the worker's wait")
        time.sleep(3)  # past the old two-second restart, after which it exited 1
        assert group.alive, f"the worker exited: {log.read_text()[-1500:]}"
        redis.start()  # the same port, empty
        app.extensions.pop("advocacy_redis", None)
        enqueue_letters(then)
        wait_for(lambda: len(sink.received) == len(first) + len(then), 60, "the next letters")
        assert group.alive


def test_a_temporary_refusal_is_retried_when_due_not_at_the_next_reconcile(
    app: Any, sink: Sink, tmp_path: Path, workers: list[Workers]
) -> None:
    set_limits(None, NO_LIMITS)
    ids = seed_queued(4)  # 8 letters: each one refused once
    refused: dict[str, float] = {}

    def once(item: Received) -> str | None:
        message_id = str(item.message()["Message-ID"])
        if message_id in refused:
            return None
        refused[message_id] = item.received_at
        return "451 4.3.0 try again later"

    sink.handler.reply = once
    base = 2.0  # each retry waits 1 to 3 seconds (half to one and a half times this)
    # Reconcile every minute, as by default: a retry that ran early would wait for it.
    group = Workers(worker_env(app, sink.url, tmp_path),
                    {"RETRY_BASE_SECONDS": base, "RECONCILE_EVERY_SECONDS": 60},
                    log=tmp_path / "worker.log")
    workers.append(group)
    group.start()
    enqueue_letters(ids)
    wait_for(lambda: len(sink.received) == len(ids), 90, "every letter, once retried")
    delays = sorted(m.received_at - refused[str(m.message()["Message-ID"])]
                    for m in sink.received)
    # The scheduler looks once a second, and a job takes a moment: 3 s of slack on 1.5 base.
    assert delays[-1] < 1.5 * base + 3, delays
    # Every retry job found its letter due: none was skipped as not yet due.
    registry = FinishedJobRegistry(queue=get_queue())
    results = [job.return_value() for job in
               (get_queue().fetch_job(i) for i in registry.get_job_ids()) if job]
    assert len(results) == len(ids) + 1  # the first job and one retry per letter
    assert all(not r.get("skipped") for r in results), results
