"""Faults during delivery, with real processes: nothing lost, nothing sent twice, nothing stuck.

A relay that hangs up after a whole letter went out (before its reply) or when DATA comes, a
Redis killed in the middle of a batch with the limits on, a worker SIGKILLed in the middle of
its claim, a PostgreSQL that crashes right after a batch was recorded. The workers are
`advocacy worker` processes; Redis and PostgreSQL are servers of these tests' own (a crash
of the machine's shared ones would break everyone else's tests).
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.delivery import jobs as delivery
from advocacy.delivery.queue import enqueue_letters
from advocacy.delivery.reconcile import reconcile
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.letters.emails import letter_message_id
from advocacy.models import Campaign, Letter
from advocacy.organizers.controls import set_limits
from advocacy.testing import ledger
from advocacy.testing.stack import NO_LIMITS, PrivatePostgres, RedisServer, Workers, postgres_bin

from helpers import seed_queued, worker_env

pytestmark = pytest.mark.slow
FAST = {"RECONCILE_EVERY_SECONDS": 1, "RETRY_BASE_SECONDS": 0.5}


# --- servers of these tests' own -------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres | None]:
    """A PostgreSQL cluster that loses in a crash what a real one loses."""
    if postgres_bin() is None:
        yield None
        return
    with PrivatePostgres(crash_faithful=True) as pg:
        yield pg


@pytest.fixture
def database_url(cluster: PrivatePostgres | None, tmp_path: Path) -> Iterator[str]:
    """Overrides conftest's: a database in the private cluster (SQLite without one)."""
    if cluster is None:
        yield f"sqlite:///{tmp_path / 'faults.db'}"
        return
    from advocacy.testing.stack import throwaway_database

    with throwaway_database(cluster.admin_url, "faults") as url:
        yield url


@pytest.fixture
def redis_url(own_redis_url: str) -> str:
    """Overrides conftest's: the app and its workers use the test's own Redis."""
    return own_redis_url


@pytest.fixture
def workers(app: Any, sink: Sink, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(worker_env(app, sink.url, tmp_path), FAST, log=tmp_path / "workers.log")
    yield group
    group.stop()


# --- what the tests look at --------------------------------------------------------------------

def wait_for(done: Callable[[Counter[str]], bool], ids: list[int], timeout: float = 90,
             reconciling: bool = False) -> Counter[str]:
    """The letters' states once `done` holds for them (reconciling each second if asked)."""
    deadline = time.monotonic() + timeout
    while True:
        if reconciling:
            reconcile()
        current = ledger.states(ids)
        if done(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"letters did not settle: {current}")
        time.sleep(0.5)


def settled(states: Counter[str]) -> bool:
    return states["queued"] + states["sending"] == 0


def arrivals(sink: Sink) -> Counter[str]:
    """How many times each Message-ID reached the sink."""
    return Counter(str(m.message()["Message-ID"]) for m in sink.received)


def message_id(app: Any, letter_id: int) -> str:
    return letter_message_id(letter_id, app.config["ADVOCACY_SENDER"])


def letters_in(status: str, ids: list[int]) -> list[Letter]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(Letter).where(Letter.id.in_(ids), Letter.status == status)))


def hang_up_every(nth: int, at: str, cuts: list[str]) -> Callable[[str], bool]:
    """The sink hangs up at `at` ("data" or "end") for every nth message, from the 2nd."""
    seen = itertools.count()

    def hang_up(point: str) -> bool:
        if point == at and next(seen) % nth == 1:
            cuts.append(point)
            return True
        return False
    return hang_up


# --- the relay hangs up -------------------------------------------------------------------------

def test_a_connection_cut_after_the_whole_letter_never_sends_it_again(
    app: Any, sink: Sink, workers: Workers
) -> None:
    """The relay may have taken a letter whose reply never came: it is not sent again, but
    put to review once, saying so; every other letter goes out once."""
    set_limits(None, NO_LIMITS)
    cuts: list[str] = []
    sink.handler.hang_up = hang_up_every(4, "end", cuts)
    ids = seed_queued(10)
    enqueue_letters(ids)
    workers.start()
    final = wait_for(settled, ids)
    seen = arrivals(sink)
    assert len(cuts) == 5 and max(seen.values()) == 1, seen  # nothing arrived twice
    assert final == {"sent": len(ids) - len(cuts), "needs_review": len(cuts)}
    review = letters_in("needs_review", ids)
    for letter in review:
        assert (letter.last_error or "").startswith("ambiguous: may have arrived"), letter
        assert message_id(app, letter.id) in seen  # it did arrive: a person should ask
    for letter in letters_in("sent", ids):
        assert seen[message_id(app, letter.id)] == 1


def test_a_connection_cut_before_the_letters_end_sends_it_again_at_once(
    app: Any, sink: Sink, workers: Workers
) -> None:
    """A drop before the end of DATA: nothing was delivered, so it is a plain retry."""
    set_limits(None, NO_LIMITS)
    cuts: list[str] = []
    sink.handler.hang_up = hang_up_every(4, "data", cuts)
    ids = seed_queued(10)
    enqueue_letters(ids)
    workers.start()
    final = wait_for(settled, ids)
    assert len(cuts) >= 5 and final == {"sent": len(ids)}
    seen = arrivals(sink)
    assert set(seen) == {message_id(app, i) for i in ids} and max(seen.values()) == 1


def test_a_campaign_may_choose_to_resend_ambiguous_letters_with_the_same_message_id(
    app: Any, sink: Sink, workers: Workers
) -> None:
    set_limits(None, NO_LIMITS)
    campaign = db.session.scalars(select(Campaign)).one()
    campaign.resend_ambiguous = True
    db.session.commit()
    cuts: list[str] = []
    sink.handler.hang_up = hang_up_every(4, "end", cuts)
    ids = seed_queued(10)
    enqueue_letters(ids)
    workers.start()
    final = wait_for(settled, ids)
    assert final == {"sent": len(ids)}
    seen = arrivals(sink)
    # Each cut letter went again with the very same Message-ID (a server that saw it drops it).
    assert set(seen) == {message_id(app, i) for i in ids}
    assert sum(n - 1 for n in seen.values()) == len(cuts) >= 5


# --- Redis dies in the middle of a batch ---------------------------------------------------------

def test_redis_killed_mid_batch_puts_the_unsent_letters_back_in_the_queue(
    app: Any, sink: Sink, workers: Workers, redis_server: RedisServer
) -> None:
    """With the limits on, Redis dying mid-batch stops the batch: the letters not sent go
    back to the queue at once (not to review ten minutes later), and go out when it is back."""
    set_limits(None, {"relay": "10/second", "window": None})  # the other limits: defaults
    ids = seed_queued(20)  # 40 letters: two claims, at 10 a second
    sink.handler.reply = lambda item: time.sleep(0.02)  # type: ignore[func-returns-value]
    enqueue_letters(ids)
    workers.start()
    deadline = time.monotonic() + 60
    while len(sink.received) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    redis_server.stop()
    try:
        # The worker sees it at its next letter: the rest of its claim goes back, at once.
        after = wait_for(lambda s: s["sending"] == 0, ids, timeout=10)
    finally:
        redis_server.start()  # empty, on the same port
    assert after["needs_review"] == 0 and after["queued"] > 0, after
    seen = arrivals(sink)
    assert after["sent"] == len(seen) and max(seen.values()) == 1
    for letter in letters_in("queued", ids):
        assert message_id(app, letter.id) not in seen
        assert letter.attempts <= 1  # a Redis away is no fault of the letter's
    # Redis back (empty): the worker's own reconcile queues them again, and out they go.
    final = wait_for(settled, ids, timeout=120)
    assert final == {"sent": len(ids)}
    seen = arrivals(sink)
    assert len(seen) == len(ids) and max(seen.values()) == 1


# --- a worker killed in the middle of its claim --------------------------------------------------

def test_a_worker_killed_mid_claim_leaves_at_most_one_letter_for_a_person(
    app: Any, sink: Sink, workers: Workers
) -> None:
    set_limits(None, NO_LIMITS)
    sink.handler.reply = lambda item: time.sleep(0.05)  # type: ignore[func-returns-value]
    ids = seed_queued(20)  # 40 letters: two claims of 20
    enqueue_letters(ids)
    workers.start()
    deadline = time.monotonic() + 60
    while len(sink.received) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    workers.kill_one()
    killed = ledger.states(ids)
    assert killed["sending"] >= 5, f"the kill fell outside a claim: {killed}"
    stale_after = app.config["STALE_SENDING_SECONDS"]
    app.config["STALE_SENDING_SECONDS"] = 0  # the dead worker's claim is stale at once
    report = reconcile()
    # The claim's letters the relay had accepted are recorded sent (a later mark follows
    # each), those never tried are queued again, and only the last marked one needs a person.
    assert report["needs_review"] <= 1, report
    assert report["sent_before_a_crash"] >= 1, report
    assert report["requeued"] + report["sent_before_a_crash"] >= killed["sending"] - 1, report
    app.config["STALE_SENDING_SECONDS"] = stale_after  # the next worker's claims are alive
    workers.start()
    final = wait_for(settled, ids, reconciling=True)
    assert final["needs_review"] <= 1 and final["sent"] + final["needs_review"] == len(ids)
    seen = arrivals(sink)
    assert max(seen.values()) == 1  # nothing sent twice
    assert {message_id(app, lt.id) for lt in letters_in("sent", ids)} <= set(seen)
    for letter in letters_in("needs_review", ids):
        assert (letter.last_error or "").startswith("ambiguous: may have arrived")


# --- PostgreSQL crashes right after a batch was recorded -----------------------------------------

def test_outcomes_recorded_before_a_database_crash_survive_it(
    app: Any, sink: Sink, cluster: PrivatePostgres | None
) -> None:
    """Letters the relay accepted are recorded `sent` for good: a crash of PostgreSQL
    right after cannot send them to review (which would ask a person about each)."""
    if cluster is None:
        pytest.skip("no /usr/lib/postgresql/*/bin/initdb: this test crashes a cluster of its own")
    set_limits(None, NO_LIMITS)
    ids = seed_queued(10)
    assert delivery.deliver_letters(ids)["sent"] == len(ids)
    cluster.stop("immediate")  # a crash: no checkpoint, what was only in memory is gone
    cluster.start()
    db.session.remove()
    db.engine.dispose()
    assert ledger.states(ids) == {"sent": len(ids)}
    app.config["STALE_SENDING_SECONDS"] = 0
    assert reconcile()["needs_review"] == 0
