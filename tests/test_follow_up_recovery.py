"""Organizers' follow-ups left `sending` by a worker that died: claimed and marked on the wire
as letters are, brought back by reconcile (queued again when their message never went, to the
organizers when it may have arrived), never stuck and never sent twice by themselves; the
follow-ups page lists those waiting, with why, to release or cancel.

The crash tests SIGKILL real `python worker.py` processes at a moment the test chooses: while
the worker waits on the database between the claim and the mark (a lock the test holds), or
while the sink holds the message's DATA (the mark is made by then)."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from advocacy import clock
from advocacy.campaigns.settings import find_campaign
from advocacy.delivery.batch import worker_id
from advocacy.delivery.follow_ups import send_follow_up
from advocacy.delivery.notes import AMBIGUOUS
from advocacy.delivery.queue import Job, enqueue, get_queue
from advocacy.delivery.reconcile import reconcile
from advocacy.delivery.sink import Received, Sink
from advocacy.extensions import db
from advocacy.models import AuditEntry, FollowUpLetter, FollowUpRound, Official
from advocacy.organizers.controls import set_limits
from advocacy.testing.stack import NO_LIMITS, Workers

from helpers import PEOPLE, csrf, log_in, work, worker_env

SENDER_DOMAIN = "campaign.test"  # conftest's ADVOCACY_SENDER


def a_round(offices: int) -> list[int]:
    """A follow-up round of the default campaign to this many offices with an address."""
    campaign = find_campaign(None)
    assert campaign is not None
    officials = db.session.scalars(
        select(Official).where(Official.active.is_(True), Official.email.is_not(None))
        .order_by(Official.id).limit(offices)).all()
    round_ = FollowUpRound(campaign_id=campaign.id, day=date(2026, 12, 18),
                           subject="Follow-up: Azat Miftakhov",
                           text="We wrote to you about Azat Miftakhov a month ago and have had"
                                " no answer. Could you tell us what you did?")
    db.session.add(round_)
    db.session.flush()
    rows = [FollowUpLetter(round_id=round_.id, target_id=o.id) for o in officials]
    db.session.add_all(rows)
    db.session.commit()
    set_limits(None, NO_LIMITS)
    return [r.id for r in rows]


def follow_up(follow_up_id: int) -> FollowUpLetter:
    db.session.expire_all()
    return db.session.get_one(FollowUpLetter, follow_up_id)


def message_id(follow_up_id: int) -> str:
    return f"<follow-up-{follow_up_id}@{SENDER_DOMAIN}>"


def arrivals(sink: Sink) -> Counter[str]:
    """How many times each follow-up's Message-ID reached the sink."""
    return Counter(m.message()["Message-ID"] for m in sink.received
                   if str(m.message()["Message-ID"]).startswith("<follow-up-"))


def stuck(follow_up_id: int, ago: timedelta, on_wire: bool) -> None:
    """Left `sending` since `ago` by a worker that is gone, its message on the wire or not."""
    claimed = clock.now() - ago
    db.session.execute(update(FollowUpLetter).where(FollowUpLetter.id == follow_up_id).values(
        status="sending", attempts=1, claimed_at=claimed, claimed_by="gone-host:4242",
        on_wire_at=claimed if on_wire else None))
    db.session.commit()


def jobs_for(follow_up_id: int) -> int:
    return sum(1 for job in get_queue().get_jobs()
               if job.func_name == str(Job.SEND_FOLLOW_UPS) and follow_up_id in job.args[0])


# --- the claim, the mark and reconcile, in this process ----------------------------------------

def test_a_follow_up_is_claimed_and_marked_on_the_wire_as_a_letter_is(
    app: Any, sink: Sink
) -> None:
    [one] = a_round(1)
    before = clock.now()
    assert send_follow_up(one) == "sent"
    row = follow_up(one)
    assert row.claimed_by == worker_id() and row.attempts == 1
    assert row.claimed_at is not None and row.claimed_at >= before.replace(microsecond=0)
    assert row.on_wire_at is not None and row.claimed_at <= row.on_wire_at <= row.sent_at
    assert arrivals(sink) == {message_id(one): 1}


def test_a_follow_up_taken_back_by_reconcile_is_not_sent_by_its_late_worker(
    app: Any, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker so slow that reconcile thought it dead finds at its mark that the follow-up is
    no longer its claim's: it does not send it (the claim that took it over will)."""
    from advocacy.delivery import follow_ups as delivery

    [one] = a_round(1)
    mark = delivery._on_wire

    def reconcile_first(row: FollowUpLetter) -> bool:  # the worker stalls right before it
        app.config["STALE_SENDING_SECONDS"] = 0
        assert reconcile()["follow_ups_requeued"] == 1
        return mark(row)

    monkeypatch.setattr(delivery, "_on_wire", reconcile_first)
    assert send_follow_up(one) == "taken back"
    assert arrivals(sink) == {}
    assert follow_up(one).status == "queued" and jobs_for(one) == 1


def test_reconcile_queues_again_an_unmarked_stale_follow_up_and_hands_a_marked_one_over(
    app: Any, sink: Sink
) -> None:
    never_went, may_have_arrived, still_working = a_round(3)
    stuck(never_went, timedelta(minutes=10), on_wire=False)
    stuck(may_have_arrived, timedelta(minutes=10), on_wire=True)
    stuck(still_working, timedelta(seconds=20), on_wire=True)  # a live worker may be on it

    report = reconcile()

    assert (report["follow_ups_requeued"], report["follow_ups_to_review"]) == (1, 1), report
    assert report["needs_review"] == 0  # the letters' count is the letters' own
    queued = follow_up(never_went)
    assert queued.status == "queued" and queued.not_before is None
    assert queued.last_error == "its worker stopped before sending it: queued again"
    assert jobs_for(never_went) == 1  # nothing else would queue it again
    review = follow_up(may_have_arrived)
    assert review.status == "needs_review"
    assert (review.last_error or "").startswith(f"{AMBIGUOUS}: its worker stopped while")
    assert follow_up(still_working).status == "sending"

    work(app)  # the queued one goes, once; the one to review does not
    assert arrivals(sink) == {message_id(never_went): 1}
    assert follow_up(never_went).status == "sent"
    assert reconcile()["follow_ups_requeued"] == 0
    assert follow_up(may_have_arrived).status == "needs_review"


def test_reconcile_gives_a_job_again_to_a_queued_follow_up_whose_job_redis_lost(
    app: Any, sink: Sink
) -> None:
    """Queued and due, but Redis restarted empty (or a retry's schedule was lost): reconcile
    queues it again, once; one already covered by a job, or not yet due, is left alone."""
    lost, covered, later = a_round(3)
    db.session.execute(update(FollowUpLetter).where(FollowUpLetter.id == later).values(
        not_before=clock.now() + timedelta(hours=1)))
    db.session.commit()
    enqueue(Job.SEND_FOLLOW_UPS, [covered])

    report = reconcile()

    assert report["follow_ups_lost"] == 1, report
    assert (jobs_for(lost), jobs_for(covered), jobs_for(later)) == (1, 1, 0)
    assert reconcile()["follow_ups_lost"] == 0  # its job is in the queue now
    work(app)
    assert arrivals(sink) == {message_id(lost): 1, message_id(covered): 1}
    assert follow_up(later).status == "queued"


def test_the_follow_ups_page_lists_those_waiting_and_lets_an_editor_decide(
    app: Any, sink: Sink, people: Any
) -> None:
    resend, drop = a_round(2)
    for one in (resend, drop):
        stuck(one, timedelta(minutes=10), on_wire=True)
    reconcile()
    campaign = find_campaign(None)
    assert campaign is not None
    url = f"/admin/campaigns/{campaign.slug}/follow-ups"

    viewer = app.test_client()
    log_in(viewer, PEOPLE["viewer"])
    page = viewer.get(url).data.decode()
    table = re.search(r'<table class="cards" id="table-waiting-follow-ups">(.*?)</table>',
                      page, re.S)
    assert table, page
    for one in (resend, drop):
        row = re.search(rf'<tr data-follow-up="{one}">(.*?)</tr>', table.group(1), re.S)
        assert row
        assert "Sent or not? Waiting for your decision" in row.group(1)
        # Why it waits, in the organizer's words (admin.reasons), not the worker's note.
        assert ("It may have arrived: its worker stopped while sending it. Check whether the"
                " office got it.") in row.group(1)
    rounds = re.search(r'<table class="figures cards" id="table-rounds">(.*?)</table>', page,
                       re.S)
    assert rounds and "Sent or not? Waiting for your decision: 2" in rounds.group(1)
    assert "needs_review" not in page  # states in the organizers' words, not the code's
    assert 'value="release"' not in page  # a viewer sees, an editor decides
    assert viewer.post(f"{url}/waiting", data={
        "csrf_token": csrf(viewer, url), "follow_up": [str(resend)], "reason": "x",
        "action": "release"}).status_code == 403

    editor = app.test_client()
    log_in(editor, PEOPLE["editor"])
    token = csrf(editor, url)
    no_reason = editor.post(f"{url}/waiting", data={
        "csrf_token": token, "follow_up": [str(resend)], "action": "release", "reason": " "},
        follow_redirects=True).data.decode()
    assert "Say why" in no_reason and follow_up(resend).status == "needs_review"

    released = editor.post(f"{url}/waiting", data={
        "csrf_token": token, "follow_up": [str(resend)], "action": "release",
        "reason": "their office says it never came"}, follow_redirects=True).data.decode()
    assert "1 follow-up letter released." in released
    cancelled = editor.post(f"{url}/waiting", data={
        "csrf_token": token, "follow_up": [str(drop)], "action": "cancel",
        "reason": "they answered by phone"}, follow_redirects=True).data.decode()
    assert "1 follow-up letter cancelled." in cancelled
    assert follow_up(drop).status == "cancelled"
    work(app)
    assert follow_up(resend).status == "sent"
    assert arrivals(sink) == {message_id(resend): 1}  # the organizers chose to send it again
    actions = {e.action: e.details["reason"] for e in db.session.scalars(select(AuditEntry))
               if e.action.endswith("follow-ups")}
    assert actions["release follow-ups"] == "their office says it never came"
    assert actions["cancel follow-ups"] == "they answered by phone"
    assert 'id="table-waiting-follow-ups"' not in editor.get(url).data.decode()


# --- real workers, SIGKILLed -----------------------------------------------------------------

@pytest.fixture
def workers(app: Any, sink: Sink, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(worker_env(app, sink.url, tmp_path), {"RETRY_BASE_SECONDS": 0.5},
                    log=tmp_path / "workers.log")
    yield group
    group.stop()


def until(what: str, done: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} after {seconds:.0f} s")
        time.sleep(0.05)


def status_of(follow_up_id: int) -> str:
    return follow_up(follow_up_id).status


@pytest.mark.slow
def test_a_worker_killed_before_the_mark_leaves_the_follow_up_to_be_sent_once(
    app: Any, sink: Sink, workers: Workers
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the worker is stopped between the claim and the mark by a table lock,"
                    " which only PostgreSQL's readers wait for (SQLite's WAL never blocks one)")
    first, second = a_round(2)
    workers.start()
    enqueue(Job.SEND_FOLLOW_UPS, [first])
    until("sent", lambda: status_of(first) == "sent")  # the worker is up and working
    # The worker claims the next one, then reads its office: it waits there, unmarked.
    lock = db.engine.connect()
    try:
        lock.execute(text("LOCK TABLE target IN ACCESS EXCLUSIVE MODE"))
        enqueue(Job.SEND_FOLLOW_UPS, [second])
        until("claimed", lambda: status_of(second) == "sending")
        time.sleep(0.5)  # it stays there: nothing reaches the relay
        workers.kill_one()
    finally:
        lock.rollback()
        lock.close()
    killed = follow_up(second)
    assert killed.status == "sending" and killed.on_wire_at is None
    assert arrivals(sink) == {message_id(first): 1}

    app.config["STALE_SENDING_SECONDS"] = 0  # the dead worker's claim is stale at once
    report = reconcile()
    assert (report["follow_ups_requeued"], report["follow_ups_to_review"]) == (1, 0), report
    app.config["STALE_SENDING_SECONDS"] = None
    workers.start()
    until("sent again", lambda: status_of(second) == "sent")
    assert arrivals(sink) == {message_id(first): 1, message_id(second): 1}
    sent = follow_up(second)
    assert sent.attempts == 2 and sent.last_error is None


@pytest.mark.slow
def test_a_worker_killed_with_the_message_on_the_wire_leaves_it_to_the_organizers(
    app: Any, sink: Sink, workers: Workers
) -> None:
    [one] = a_round(1)
    on_the_wire, let_go = threading.Event(), threading.Event()

    def stall(item: Received) -> None:  # the whole message came; the reply waits
        on_the_wire.set()
        let_go.wait(60)

    sink.handler.reply = stall  # type: ignore[assignment]
    workers.start()
    enqueue(Job.SEND_FOLLOW_UPS, [one])
    try:
        assert on_the_wire.wait(60), "the follow-up never reached the sink"
        marked = follow_up(one)
        assert marked.status == "sending" and marked.on_wire_at is not None
        workers.kill_one()
    finally:
        let_go.set()  # the sink keeps it: it arrived, though the worker never knew
    sink.handler.reply = None
    until("kept", lambda: arrivals(sink) == {message_id(one): 1})

    app.config["STALE_SENDING_SECONDS"] = 0
    report = reconcile()
    assert (report["follow_ups_requeued"], report["follow_ups_to_review"]) == (0, 1), report
    review = follow_up(one)
    assert review.status == "needs_review"
    assert (review.last_error or "").startswith("ambiguous: may have arrived")

    # Nothing sends it again by itself: another reconcile, a live worker, a stray job.
    app.config["STALE_SENDING_SECONDS"] = None
    workers.start()
    stray = get_queue().enqueue(str(Job.SEND_FOLLOW_UPS), [one])
    until("run", lambda: stray.get_status(refresh=True) == "finished")
    assert reconcile()["follow_ups_requeued"] == 0
    assert status_of(one) == "needs_review"
    assert arrivals(sink) == {message_id(one): 1}
