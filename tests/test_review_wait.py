"""Letters left `sending`: when they go to review follows the SMTP and job timeouts, and the
dashboard says how many wait for that decision, since when, and why."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from rq import SimpleWorker
from sqlalchemy import update

from advocacy import clock
from advocacy.connections import get_redis
from advocacy.delivery import mail
from advocacy.delivery.batch import worker_id
from advocacy.delivery.jobs import claim
from advocacy.delivery.queue import JOB_TIMEOUT, enqueue_letters, get_queue
from advocacy.delivery.reconcile import reconcile
from advocacy.extensions import db
from advocacy.models import Letter, LetterStatus

from helpers import PEOPLE, log_in, seed_queued


def stuck(ids: list[int], ago: timedelta, by: str = "gone-host:4242", on_wire: bool = True
          ) -> None:
    """Mark letters `sending` since `ago`, claimed by a worker named `by`, and (`on_wire`)
    with their message handed to the relay: those may have arrived, and wait for a person."""
    claimed = clock.now() - ago
    db.session.execute(update(Letter).where(Letter.id.in_(ids)).values(
        status=LetterStatus.SENDING, claimed_at=claimed, claimed_by=by,
        on_wire_at=claimed if on_wire else None))
    db.session.commit()


def status_of(letter_id: int) -> str:
    db.session.expire_all()
    letter = db.session.get(Letter, letter_id)
    assert letter is not None
    return letter.status


def test_the_job_timeout_bounds_how_long_a_worker_holds_a_claim(app: Any) -> None:
    # RQ stops a job after JOB_TIMEOUT: the bound the wait below counts on.
    enqueue_letters(seed_queued(1))
    [job] = get_queue().get_jobs()
    assert job.timeout == JOB_TIMEOUT == 180


def test_a_letter_goes_to_review_once_no_live_worker_can_still_be_sending_it(app: Any) -> None:
    shorter, longer, never_sent, _other = seed_queued(2)  # two letters to each of two offices
    assert claim([shorter, longer]) == [shorter, longer]
    # A job runs 3 minutes at most; recording what it did may take about a minute more
    # while the database restarts. Ten minutes was more than needed.
    stuck([shorter], timedelta(minutes=3))
    stuck([longer], timedelta(minutes=5))
    stuck([never_sent], timedelta(minutes=5), on_wire=False)  # its message never went
    assert reconcile()["needs_review"] == 1
    assert status_of(shorter) == LetterStatus.SENDING
    assert status_of(longer) == LetterStatus.NEEDS_REVIEW
    assert status_of(never_sent) == LetterStatus.QUEUED


def test_the_wait_follows_the_smtp_timeout_and_the_claim_size(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A one-second SMTP timeout and one letter a claim: a letter's send is over in under
    # 20 s (16 exchanges and a limiter wait), its recording in about 75 s more.
    monkeypatch.setattr(mail, "TIMEOUT", 1)
    app.config["CLAIM_SIZE"] = 1
    shorter, longer = seed_queued(1)
    stuck([shorter], timedelta(seconds=80))
    stuck([longer], timedelta(minutes=2))  # with the defaults it would still be sending
    assert reconcile()["needs_review"] == 1
    assert status_of(shorter) == LetterStatus.SENDING
    assert status_of(longer) == LetterStatus.NEEDS_REVIEW


def claimed_at(letter_id: int) -> datetime:
    db.session.expire_all()
    letter = db.session.get(Letter, letter_id)
    assert letter is not None and letter.claimed_at is not None
    return letter.claimed_at


def page_text(page: bytes) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page.decode())).split())


def hhmm(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def test_the_dashboard_says_how_many_letters_wait_for_the_decision_and_why(
    app: Any, people: Any
) -> None:
    ids = seed_queued(3)  # six letters
    live = SimpleWorker([get_queue()], connection=get_redis())
    live.register_birth()  # this process, as a worker alive on the test's queue
    try:
        assert f"{live.hostname}:{live.pid}" == worker_id()
        stuck(ids[:2], timedelta(minutes=2), by=worker_id())
        stuck(ids[2:5], timedelta(minutes=3))
        stuck(ids[5:], timedelta(seconds=5), by=worker_id())  # an ordinary claim: not shown
        client = app.test_client()
        log_in(client, PEOPLE["viewer"])
        text = page_text(client.get("/admin/").data)
    finally:
        live.register_death()
    stopped, working = claimed_at(ids[2]), claimed_at(ids[0])
    wait = timedelta(seconds=JOB_TIMEOUT + 75.5)
    assert (f"3 letters waiting for a decision on whether they were sent (sending since"
            f" {hhmm(stopped)}): the worker that was sending them has stopped. From"
            f" {(stopped + wait).strftime('%H:%M UTC')}, they wait for you in Letters waiting:"
            " check with the office whether they arrived before sending again.") in text, text
    assert (f"2 letters waiting for a decision on whether they were sent (sending since"
            f" {hhmm(working)}): their worker still counts as running (Redis saw it lately); the"
            " mail server may be slow."
            f" If it has not finished by {(working + wait).strftime('%H:%M UTC')}, they wait"
            " for you in Letters waiting") in text, text
    assert "6 letters" not in text and "1 letter waiting" not in text


def test_the_dashboard_says_so_when_it_cannot_tell_whether_a_worker_runs(
    app: Any, people: Any
) -> None:
    client = app.test_client()
    log_in(client, PEOPLE["viewer"])
    assert "No letter is waiting for a decision" in page_text(client.get("/admin/").data)
    [letter, _] = seed_queued(1)
    stuck([letter], timedelta(minutes=2))
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    app.extensions.pop("advocacy_redis", None)
    text = page_text(client.get("/admin/").data)
    assert ("1 letter waiting for a decision on whether it was sent (sending since"
            in text), text
    assert "whether its worker still runs cannot be told (Redis does not answer)" in text


def test_a_dead_workers_letters_followed_by_a_later_mark_are_recorded_sent(app: Any) -> None:
    # The worker writes every outcome but `sent` with the next letter's mark: a marked letter
    # with a later mark in its claim was accepted. Only the last one marked may have arrived.
    first, second, last, untried = seed_queued(2)
    other_claim = seed_queued(1)[0]
    claimed = clock.now() - timedelta(hours=1)
    for offset, letter_id in enumerate([first, second, last]):
        db.session.execute(update(Letter).where(Letter.id == letter_id).values(
            status=LetterStatus.SENDING, claimed_at=claimed, claimed_by="gone-host:1",
            on_wire_at=claimed + timedelta(seconds=offset)))
    db.session.execute(update(Letter).where(Letter.id.in_([untried])).values(
        status=LetterStatus.SENDING, claimed_at=claimed, claimed_by="gone-host:1"))
    # Another claim, marked later, proves nothing about this one's letters.
    db.session.execute(update(Letter).where(Letter.id == other_claim).values(
        status=LetterStatus.SENDING, claimed_at=claimed + timedelta(microseconds=1),
        claimed_by="gone-host:1", on_wire_at=claimed + timedelta(seconds=9)))
    db.session.commit()

    report = reconcile()

    assert report["sent_before_a_crash"] == 2 and report["needs_review"] == 2, report
    assert [status_of(i) for i in (first, second, last, untried, other_claim)] == [
        "sent", "sent", "needs_review", "queued", "needs_review"]
    db.session.expire_all()
    sent = db.session.get_one(Letter, second)
    assert sent.sent_at == claimed + timedelta(seconds=1) and sent.last_error is None
    assert sent.content_hash and len(sent.content_hash) == 64  # its text's hash, as sent
