"""Delivery on real Redis, a real SMTP sink and the database: limits, windows, digests, errors."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rq import Worker
from sqlalchemy import func, select

from advocacy import clock
from advocacy.delivery import jobs as delivery
from advocacy.delivery.limits import Wait
from advocacy.delivery.queue import enqueue_letters, get_queue
from advocacy.delivery.reconcile import reconcile
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import HoldReason, Letter, LetterStatus, Official
from advocacy.organizers.controls import set_digest, set_limits, set_paused

from helpers import ROOT, seed_queued, work, worker_env


def states() -> Counter[str]:
    db.session.expire_all()
    return Counter(dict(db.session.execute(
        select(Letter.status, func.count()).group_by(Letter.status)).all()))


def letters_to(key: str) -> list[Letter]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(Letter).join(Official, Letter.target_id == Official.id).where(Official.key == key)))


def max_in_window(times: list[float], seconds: float) -> int:
    """The most arrivals inside any window of this length (two pointers over sorted times)."""
    times, best, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_limits_hold_across_two_worker_processes(
    app: Any, sink: Sink, tmp_path: Path
) -> None:
    """Two worker processes share every limit: each official gets exactly its hourly cap, the
    rest is held for that hour, and the relay's rate holds across both. Nothing here depends
    on how fast the machine is: a loaded machine only makes the run longer."""
    relay_rate, hourly = 10, 25
    set_limits(None, {"relay": f"{relay_rate}/second", "per_domain": None,
                      "per_official_hour": f"{hourly}/hour", "per_official_day": None,
                      "window": None})
    ids = seed_queued(40)  # 80 letters, 40 to each of the two UN offices
    env = worker_env(app, sink.url, tmp_path)
    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    started = time.time()
    workers = [subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env,
                                stdout=subprocess.DEVNULL, stderr=log.open("w"))
               for log in logs]

    def wait_for(what: str, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 120
        while not done():
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                pytest.fail(f"{what}: " + "\n".join(log.read_text()[-2000:] for log in logs))
            time.sleep(0.25)

    def settled() -> bool:
        db.session.rollback()  # a fresh snapshot each time
        return states() == Counter(sent=2 * hourly, held=2 * (40 - hourly))

    try:
        # Both listen before the work arrives, so each takes one of its two jobs at once
        # (one job per 20 supporters, as delivery splits them anyway).
        wait_for("workers did not start", lambda: sum(
            w.get_state() == "idle" for w in Worker.all(queue=get_queue())) == 2)
        app.config["LETTERS_PER_JOB"] = 40
        assert enqueue_letters(ids) == 2
        wait_for("letters not settled", settled)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
    ended = time.time()

    per_official = Counter(r for m in sink.received for r in m.rcpt_tos)
    assert len(per_official) == 2 and set(per_official.values()) == {hourly}
    db.session.expire_all()
    letters = list(db.session.scalars(select(Letter).where(Letter.id.in_(ids))))
    sent = [lt for lt in letters if lt.status == LetterStatus.SENT]
    # Both processes sent letters: the limits were shared, not kept by one of them alone.
    assert {int((lt.claimed_by or "").rpartition(":")[2]) for lt in sent} == {
        w.pid for w in workers}
    # A worker sends one letter at a time, and takes its next relay slot only once the last
    # letter has arrived; so of its letters that arrive within one second, all but the first
    # took their slots in that second. However late a loaded machine delivers them, one
    # second sees at most the relay's rate plus one letter per worker (two workers that each
    # kept the rate by themselves would deliver twice the rate).
    arrivals = [m.received_at for m in sink.received]
    assert max_in_window(arrivals, 1.0) <= relay_rate + len(workers), sorted(arrivals)
    held = [lt for lt in letters if lt.status == LetterStatus.HELD]
    assert {(lt.hold_reason, lt.last_error) for lt in held} == {
        (HoldReason.LIMIT, "rate limit: official_hour")}
    # Held until an hour after the official's first slot, which was taken during this run.
    for letter in held:
        assert letter.not_before is not None
        assert started + 3600 <= letter.not_before.timestamp() <= ended + 3602, letter.not_before


def test_a_hold_after_an_inline_wait_counts_from_the_limits_answer(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay makes a letter wait inline, then its official's hour turns out full: the
    letter is held for that hour counted from when the limiter said so, not from before the
    wait (else it comes back early, only to be held again)."""

    class Time:  # the worker's clock, moved by its sleeps alone
        value = 1_800_000_000.0

        def sleep(self, seconds: float) -> None:
            self.value += seconds

    fake = Time()
    monkeypatch.setattr(clock, "sleep", fake.sleep)
    monkeypatch.setattr(clock, "now", lambda: datetime.fromtimestamp(fake.value, UTC))
    answers = itertools.cycle([Wait(1.5, "relay"), Wait(3600, "official_hour")])
    asked_at: list[float] = []

    class Limiter:
        def acquire(self, limits: Any, official: str, domain: str, now: float) -> Wait:
            asked_at.append(now)
            return next(answers)

    app.extensions["advocacy_limiter"] = Limiter()
    ids = seed_queued(1)
    delivery.deliver_letters(ids)
    db.session.expire_all()
    letters = [db.session.get(Letter, i) for i in sorted(ids)]
    assert len(asked_at) == 4  # each letter: told to wait, waited, then told the hour is full
    for letter, full_at in zip(letters, asked_at[1::2], strict=True):
        assert letter is not None and letter.status == LetterStatus.HELD
        assert letter.hold_reason == HoldReason.LIMIT and letter.not_before is not None
        assert letter.not_before.timestamp() >= full_at + 3600, (letter.not_before, full_at)


def test_send_window_holds_until_the_officials_working_morning(
    app: Any, sink: Sink, fake_now: Any
) -> None:
    set_limits(None, {"window": {"start": "08:00", "end": "20:00", "days": [0, 1, 2, 3, 4]}})
    enqueue_letters(seed_queued(1))
    work(app)
    assert sink.received == []
    monday_8_geneva = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Europe/Zurich is UTC+1
    for letter in letters_to("un-wgad"):
        assert letter.status == LetterStatus.HELD and letter.hold_reason == HoldReason.WINDOW
        assert letter.not_before == monday_8_geneva

    fake_now.set(monday_8_geneva - timedelta(minutes=1))
    reconcile()
    work(app)
    assert sink.received == [] and states()["held"] == 2

    fake_now.set(monday_8_geneva + timedelta(seconds=5))
    assert reconcile()["released"] == 2
    work(app)
    assert len(sink.received) == 2 and states()["sent"] == 2


def test_past_the_daily_cap_an_official_gets_one_digest(
    app: Any, sink: Sink, fake_now: Any
) -> None:
    fake_now.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # Tuesday, 10:00 in Geneva
    set_limits(None, {"per_official_day": "2/day", "window": None})
    set_digest("un-sr-torture", True)
    enqueue_letters(seed_queued(5))
    work(app)
    digest_held = [lt for lt in letters_to("un-sr-torture") if lt.status == LetterStatus.HELD]
    assert len(digest_held) == 3
    assert {lt.hold_reason for lt in digest_held} == {HoldReason.DIGEST}
    assert {lt.not_before for lt in digest_held} == {datetime(2026, 11, 24, 19, 0, tzinfo=UTC)}
    # The other office has no digest: its overflow simply waits for tomorrow's quota.
    assert Counter(lt.hold_reason for lt in letters_to("un-wgad")) == {None: 2, "limit": 3}
    assert len(sink.received) == 4

    fake_now.set(datetime(2026, 11, 24, 19, 0, 1, tzinfo=UTC))
    assert reconcile()["digests"] == 1
    work(app)
    [digest] = [m for m in sink.received[4:]]
    assert digest.rcpt_tos == ["urgent-action@ohchr.org"]
    text = digest.message().get_content()
    assert "3 more supporters" in text and "France (3)" in text
    for lt in digest_held:
        assert lt.submission.name in text and lt.submission.personal_note in text
    assert "Lyon" in text
    assert {lt.status for lt in letters_to("un-sr-torture")} == {LetterStatus.SENT}
    # Running it again sends nothing twice.
    reconcile()
    work(app)
    assert len(sink.received) == 5


def test_temporary_refusals_are_retried_until_sent(app: Any, sink: Sink) -> None:
    app.config["RETRY_BASE_SECONDS"] = 0.05
    counter = itertools.count()
    sink.handler.reply = lambda item: "451 4.3.0 try again later" if next(counter) % 3 == 0 \
        else None
    ids = seed_queued(15)
    enqueue_letters(ids)
    deadline = time.monotonic() + 60
    while states()["sent"] < len(ids) and time.monotonic() < deadline:
        work(app)
        time.sleep(0.1)
        reconcile()
    assert states() == {"sent": len(ids)}
    accepted = [m.message()["Message-ID"] for m in sink.received]
    assert len(accepted) == len(set(accepted)) == len(ids)
    db.session.expire_all()
    retried = db.session.scalars(select(Letter).where(Letter.attempts > 1)).all()
    assert len(retried) >= len(ids) // 3


def test_refused_address_fails_the_letter_and_flags_the_official(
    app: Any, sink: Sink
) -> None:
    sink.handler.rcpt_reply = lambda address: (
        "550 5.1.1 mailbox unknown" if address == "urgent-action@ohchr.org" else None)
    enqueue_letters(seed_queued(1))
    work(app)
    [failed] = [lt for lt in letters_to("un-sr-torture")]
    assert failed.status == LetterStatus.FAILED and "550 5.1.1" in (failed.last_error or "")
    official = failed.official
    assert official.bounced_at is not None and "mailbox unknown" in (official.bounce_reason or "")
    # The next letters to that office wait for an organizer instead of bouncing again.
    enqueue_letters(seed_queued(1))
    work(app)
    statuses = sorted((lt.status, lt.hold_reason) for lt in letters_to("un-sr-torture"))
    assert statuses == [("failed", None), ("held", "bounced")]
    assert states()["sent"] == 2  # the other office got both


def test_pausing_stops_letters_at_the_next_claim_and_resuming_sends_them(
    app: Any, sink: Sink
) -> None:
    ids = seed_queued(3)
    assert set_paused(None, None, paused=True)["paused"] is True
    enqueue_letters(ids)
    work(app)
    assert sink.received == [] and states() == {"held": 6}
    assert set_paused(None, None, paused=False)["released"] == 6
    work(app)
    assert states() == {"sent": 6}

    more = seed_queued(2)
    set_paused(None, "un-wgad", paused=True)
    enqueue_letters(more)
    work(app)
    assert [lt.hold_reason for lt in letters_to("un-wgad") if lt.status == "held"] == ["paused"] * 2
    set_paused(None, "un-wgad", paused=False)
    work(app)
    assert states() == {"sent": 10}


def test_resuming_releases_only_what_nothing_else_holds(app: Any, sink: Sink) -> None:
    """The campaign resumed while one office stays paused: its letters stay held, counted and
    named as such, instead of "released" and held again at the next claim."""
    ids = seed_queued(2)
    set_paused(None, None, paused=True)
    set_paused(None, "un-wgad", paused=True)
    enqueue_letters(ids)
    work(app)
    assert states() == {"held": 4}
    resumed = set_paused(None, None, paused=False)
    assert (resumed["released"], resumed["still_held"]) == (2, {"office_paused": 2})
    work(app)
    assert states() == {"sent": 2, "held": 2}
    resumed = set_paused(None, "un-wgad", paused=False)
    assert (resumed["released"], resumed["still_held"]) == (2, {})
    work(app)
    assert states() == {"sent": 4}


def test_a_campaigns_own_sender_is_used(app: Any, sink: Sink) -> None:
    from advocacy.campaigns.settings import find_campaign

    campaign = find_campaign(None)
    assert campaign is not None
    campaign.sender = "appeal@freeazat.example"
    db.session.commit()
    enqueue_letters(seed_queued(1))
    work(app)
    assert {m.message()["From"].addresses[0].addr_spec for m in sink.received} == {
        "appeal@freeazat.example"}
    # The envelope sender: each letter's own bounce address, on the campaign's domain.
    assert all(re.fullmatch(r"bounce\+letter-\d+-[0-9a-f]{20}@freeazat\.example", m.mail_from)
               for m in sink.received)


def test_workers_reconcile_periodically_by_themselves(app: Any, sink: Sink) -> None:
    import threading

    from advocacy.delivery.queue import get_queue
    from advocacy.housekeeping import run_periodically

    app.config["RECONCILE_EVERY_SECONDS"] = 0.2
    ids = seed_queued(2)  # queued in the database, but no job in Redis: as after a flush
    assert get_queue().count == 0
    stop = threading.Event()
    thread = threading.Thread(target=run_periodically, args=(app, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while get_queue().count == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert get_queue().count == 1
    work(app)
    assert states() == {"sent": len(ids)}


def test_each_letter_is_marked_in_the_database_before_the_relay_takes_it(
    app: Any, sink: Sink, database_url: str
) -> None:
    """The on-wire mark is committed while the relay reads the envelope: by the time the
    message comes, another connection sees it. A letter taken back meanwhile (reconcile
    queued it again) is not sent: the relay had its envelope and DATA (pipelined), and is
    hung up on before any of the message goes."""
    from sqlalchemy import create_engine, update

    set_limits(None, {"relay": None, "per_domain": None, "per_official_hour": None,
                      "per_official_day": None, "window": None, "similar_after": None})
    ids = seed_queued(3)
    taken = ids[2]
    outside = create_engine(database_url)
    marked_at_message: list[list[int]] = []

    def arrived(item: Any) -> None:
        with outside.begin() as conn:
            marked_at_message.append(sorted(conn.scalars(select(Letter.id).where(
                Letter.id.in_(ids), Letter.on_wire_at.is_not(None)))))
            if len(marked_at_message) == 2:  # reconcile takes the third letter back now
                conn.execute(update(Letter).where(Letter.id == taken)
                             .values(claimed_by="another-host:1"))
        return None

    sink.handler.reply = arrived
    try:
        counts = delivery.deliver_letters(ids)
    finally:
        outside.dispose()
    sent = [i for i in ids if i != taken]
    assert marked_at_message == [sent[:n] for n in range(1, len(sent) + 1)]
    assert counts["sent"] == len(sent) and counts["taken back"] == 1
    assert sorted(int(str(m.message()["Message-ID"]).split("-")[1].split("@")[0])
                  for m in sink.received) == sent
    db.session.expire_all()
    assert db.session.get(Letter, taken).status == LetterStatus.SENDING  # reconcile's now


def test_a_letter_that_cannot_be_composed_fails_alone_when_composed_ahead(
    app: Any, sink: Sink
) -> None:
    """The next letter is composed while the relay answers the current one: what composing
    it raised is that letter's outcome, at its turn, and the others go."""
    from sqlalchemy import update

    set_limits(None, {"relay": None, "per_domain": None, "per_official_hour": None,
                      "per_official_day": None, "window": None, "similar_after": None})
    ids = seed_queued(3)
    [no_address] = db.session.scalars(select(Official.id).where(
        Official.key == "un-sr-torture"))
    db.session.execute(update(Official).where(Official.id == no_address).values(email=None))
    db.session.commit()
    counts = delivery.deliver_letters(ids)
    db.session.expire_all()
    outcomes = {(lt.target_id == no_address, lt.status, (lt.last_error or "")[:9])
                for lt in db.session.scalars(select(Letter).where(Letter.id.in_(ids)))}
    assert outcomes == {(True, "failed", "template:"), (False, "sent", "")}
    assert counts["sent"] == len(sink.received) == 3


def test_the_next_chunk_is_claimed_while_the_relay_answers_the_last_letter(
    app: Any, sink: Sink, database_url: str
) -> None:
    """A job's next chunk is claimed (and loaded) while the relay answers the chunk's last
    letter; claimed ahead and then not tried (the job broke off), its letters go back to
    the queue at once, the attempt not counted."""
    from sqlalchemy import create_engine

    set_limits(None, {"relay": None, "per_domain": None, "per_official_hour": None,
                      "per_official_day": None, "window": None, "similar_after": None})
    app.config["CLAIM_SIZE"] = 2
    ids = seed_queued(2)  # two chunks of two letters
    outside = create_engine(database_url)

    def claimed_ahead(item: Any) -> str | None:
        if len(sink.received) != 1:  # the first chunk's last letter: wait for the claim
            return None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with outside.connect() as conn:
                if conn.scalar(select(func.count()).where(
                        Letter.id.in_(ids[2:]), Letter.status == LetterStatus.SENDING)) == 2:
                    return None
            time.sleep(0.01)
        return "451 4.3.0 the next chunk was not claimed meanwhile"

    sink.handler.reply = claimed_ahead
    try:
        counts = delivery.deliver_letters(ids)
    finally:
        outside.dispose()
    assert counts == {"sent": 4, "skipped": 0}
    assert states()["sent"] == 4

    more = seed_queued(1)
    upcoming = delivery._Next()
    upcoming.take_ahead(more)
    assert {lt.status for lt in letters_to("un-sr-torture") if lt.id in more} == {"sending"}
    upcoming.put_back("not sent: its job broke off")
    db.session.expire_all()
    back = db.session.scalars(select(Letter).where(Letter.id.in_(more))).all()
    assert {(lt.status, lt.attempts, lt.on_wire_at) for lt in back} == {("queued", 0, None)}
