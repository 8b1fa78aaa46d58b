"""Bringing Redis back in line with the database, which is the truth about every letter."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import or_, select, update
from sqlalchemy.orm import aliased

from advocacy import clock
from advocacy.config import PG_CONNECT_TIMEOUT
from advocacy.delivery import mail, notes, queue
from advocacy.delivery.batch import RECORD_ATTEMPTS, RECORD_RETRY_BASE, RECORD_RETRY_MAX
from advocacy.delivery.queue import Job
from advocacy.delivery.schedule import schedule_digest
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.compose import load, render
from advocacy.letters.states import Transition
from advocacy.models import Campaign, FollowUpLetter, HoldReason, Letter, LetterStatus, Submission
from advocacy.progress import Advance, nothing

log = logging.getLogger(__name__)
SCHEDULED_SOON = 5.0  # seconds
# A scheduled job overdue by more than this has no scheduler moving it (one died with Redis,
# or with its worker): its letters are queued again by a job of their own.
SCHEDULED_LATE = 30.0  # seconds
REMIND_AFTER = timedelta(hours=24)
# Jobs that will deliver queued letters (release jobs only concern held ones).
LETTER_JOBS = (str(Job.DELIVER_LETTERS),)
CONFIRM_JOB = str(Job.SEND_CONFIRMATION)
FOLLOW_UP_JOB = str(Job.SEND_FOLLOW_UPS)
STEPS = 6  # what a run reports to its Advance
# The blocking SMTP exchanges one letter's send may wait through, each for up to mail.TIMEOUT
# (smtplib's timeout holds for each exchange, not for the whole message): MAIL, RCPT, DATA
# and the text on the connection the worker had; then, when the relay had hung up, a fresh
# connection (connect, greeting, EHLO, STARTTLS and its handshake, EHLO, AUTH in two steps)
# and the same four again. A relay that does not answer at all ends the send sooner.
SMTP_EXCHANGES_PER_LETTER = 16


def longest_send(config: Mapping[str, Any]) -> float:
    """Seconds one claimed letter may take in a live worker: a limiter wait, then its SMTP."""
    return float(config["INLINE_WAIT_SECONDS"]) + SMTP_EXCHANGES_PER_LETTER * mail.TIMEOUT


def longest_record() -> float:
    """Seconds recording a claim's outcomes may take while the database restarts."""
    pauses = sum(min(RECORD_RETRY_MAX, RECORD_RETRY_BASE * 2.0 ** attempt)
                 for attempt in range(1, RECORD_ATTEMPTS))
    return float(pauses + RECORD_ATTEMPTS * PG_CONNECT_TIMEOUT)


def review_wait(config: Mapping[str, Any]) -> timedelta:
    """How long a letter stays `sending` before it goes to review: as long as a live worker
    may legitimately work on it (STALE_SENDING_SECONDS, when set, instead)."""
    # A claim's letters go one after the other, each up to the longest send, unless RQ stops
    # the job first (queue.JOB_TIMEOUT, counted from before the claim); then the outcomes are
    # recorded. Sooner, a slow relay's letters would go to review while their worker still
    # sends them, and an organizer's "send again" could write to an official twice.
    fixed = config.get("STALE_SENDING_SECONDS")
    if fixed is not None:
        return timedelta(seconds=float(fixed))
    working = min(float(queue.JOB_TIMEOUT), int(config["CLAIM_SIZE"]) * longest_send(config))
    return timedelta(seconds=working + longest_record())


def _jobs(job_ids: list[str], connection: Any) -> list[RQJob | None]:
    """The jobs, None for any that is gone or half there.

    After Redis lost its data, a running job's heartbeat writes a few fields back under its
    key: a hash with no job in it, which RQ refuses to load. Such a job counts as not in
    flight, so its letters are queued again (a second job for them is harmless).
    """
    try:
        return list(RQJob.fetch_many(job_ids, connection=connection))
    except NoSuchJobError:
        jobs: list[RQJob | None] = []
        for job_id in job_ids:
            try:
                jobs.append(RQJob.fetch(job_id, connection=connection))
            except NoSuchJobError:
                jobs.append(None)
        return jobs


class InFlight(NamedTuple):
    """What some job in Redis will still deal with, by id."""

    letters: set[int]
    submissions: set[int]  # their confirmation emails
    follow_ups: set[int]


def jobs_in_flight(stale_before: datetime) -> InFlight:
    """Letters, submissions and follow-ups that some job in Redis will still deal with.

    A job started before `stale_before` is not counted: its worker may have died with it.
    Nor is a job scheduled for later than the next few seconds (the database says when a
    letter is due), or one overdue for longer than SCHEDULED_LATE (nothing runs it). A
    second job for the same letters is harmless (each is claimed once).
    """
    q = queue.get_queue()
    job_ids = set(q.get_job_ids())
    job_ids |= set(StartedJobRegistry(queue=q).get_job_ids())
    scheduled = ScheduledJobRegistry(queue=q)  # type: ignore[no-untyped-call]
    soon = time.time() + SCHEDULED_SOON  # RQ scores its schedule by the real time, not ours
    due_soon = cast(list[bytes | str], q.connection.zrangebyscore(
        scheduled.key, soon - SCHEDULED_SOON - SCHEDULED_LATE, soon))
    job_ids |= {j.decode() if isinstance(j, bytes) else j for j in due_soon}
    covered = InFlight(set(), set(), set())
    for job in _jobs(sorted(job_ids), q.connection):
        if job is None or (job.started_at is not None and job.started_at < stale_before):
            continue
        if job.func_name in LETTER_JOBS:
            covered.letters.update(job.args[0])
        elif job.func_name == CONFIRM_JOB:
            covered.submissions.add(job.args[0])
        elif job.func_name == FOLLOW_UP_JOB:
            covered.follow_ups.update(job.args[0])
    return covered


# What a worker claims and marks on the wire: supporters' letters, organizers' follow-ups.
Claimed = type[Letter] | type[FollowUpLetter]


def _stale(model: Claimed, stale_before: datetime, step: Transition, *where: Any,
           **values: Any) -> list[int]:
    """Move letters (or follow-ups) left `sending` by a worker that stopped; their ids."""
    return list(db.session.execute(
        update(model)
        .where(step.where(model.status), model.claimed_at < stale_before, *where)
        .values(status=step.to, **values)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).scalars())


def accepted_before_a_crash(stale_before: datetime) -> int:
    """Letters left `sending`, marked on the wire, with a later mark in their claim: sent.

    The worker writes every outcome but `sent` with the next letter's mark (batch.on_wire),
    so such a letter's message was accepted by the relay; its `sent` died with the worker.
    It is recorded sent, at the time it went on the wire, with its text's hash.
    """
    later = aliased(Letter)
    sent = db.session.execute(
        update(Letter)
        .where(states.DELIVERED.where(Letter.status), Letter.claimed_at < stale_before,
               Letter.on_wire_at.is_not(None),
               select(later.id).where(later.claimed_by == Letter.claimed_by,
                                      later.claimed_at == Letter.claimed_at,
                                      later.on_wire_at > Letter.on_wire_at).exists())
        .values(status=states.DELIVERED.to, sent_at=Letter.on_wire_at, last_error=None,
                hold_reason=None)
        .returning(Letter.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    for row in load(list(sent)):
        db.session.execute(update(Letter).where(Letter.id == row.id)
                           .values(content_hash=render(row).digest()))
    return len(sent)


def bring_back_stale(stale_before: datetime, model: Claimed = Letter) -> tuple[list[int], int]:
    """Letters (or follow-ups) left `sending` by a dead worker: (the ids queued again, how
    many were put to review).

    A letter whose message never went to the relay (no `on_wire_at`) was not sent: it is
    queued again. One marked on the wire with a later mark in its claim was accepted
    (accepted_before_a_crash). The last one marked may have arrived: a person decides
    (needs_review), unless its campaign chose to send such letters again with the same
    Message-ID (a follow-up never is: organizers decide). A letter that has stopped a worker
    MAX_ATTEMPTS times waits for a person either way. Run after accepted_before_a_crash.
    """
    tries_left = model.attempts < current_app.config["MAX_ATTEMPTS"]
    queued = _stale(model, stale_before, states.REQUEUE, model.on_wire_at.is_(None), tries_left,
                    not_before=None,
                    last_error=notes.STOPPED_BEFORE)
    if model is Letter:
        resending = Letter.campaign_id.in_(select(Campaign.id).where(Campaign.resend_ambiguous))
        queued += _stale(Letter, stale_before, states.REQUEUE, Letter.on_wire_at.is_not(None),
                         tries_left, resending, not_before=None,
                         last_error=notes.STOPPED_WHILE_SENDING_RESENT)
    review = _stale(model, stale_before, states.TO_REVIEW, model.on_wire_at.is_(None),
                    last_error=notes.STOPPED_TOO_OFTEN)
    review += _stale(model, stale_before, states.TO_REVIEW,
                     last_error=notes.STOPPED_WHILE_SENDING)
    return queued, len(review)


def reconcile(advance: Advance = nothing) -> dict[str, int]:
    """Stale `sending` queued again or to review, due holds released, lost jobs queued again."""
    now = clock.now()
    stale_before = now - review_wait(current_app.config)
    accepted = accepted_before_a_crash(stale_before)
    requeued, stale = bring_back_stale(stale_before)
    # A follow-up is claimed alone, so no later mark tells that one marked was accepted.
    follow_ups, follow_ups_to_review = bring_back_stale(stale_before, FollowUpLetter)
    released = db.session.execute(
        update(Letter)
        .where(states.RELEASE.where(Letter.status),
               # PAUSED with a time: the office's own pause (an organizer's has none)
               Letter.hold_reason.in_([HoldReason.LIMIT, HoldReason.WINDOW, HoldReason.PAUSED]),
               Letter.not_before <= now)
        .values(status=states.RELEASE.to, hold_reason=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    # After the commit; nothing else queues these again (but an organizer, by hand).
    for chunk in queue.chunks(follow_ups, 50):
        queue.enqueue(Job.SEND_FOLLOW_UPS, chunk)
    advance(1)
    digests = list(db.session.scalars(
        select(Letter.digest_key).distinct().where(
            Letter.status == LetterStatus.HELD, Letter.hold_reason == HoldReason.DIGEST,
            Letter.not_before <= now)
    ))
    for key in digests:
        if key:
            schedule_digest(key, now)
    advance(1)
    covered = jobs_in_flight(stale_before)
    # Follow-ups due whose job is gone (Redis restarted empty, a retry's schedule lost): the
    # ones just queued again above have theirs.
    lost_follow_ups = sorted(set(db.session.scalars(
        select(FollowUpLetter.id).where(
            FollowUpLetter.status == states.QUEUED,
            or_(FollowUpLetter.not_before.is_(None), FollowUpLetter.not_before <= now))
    )) - covered.follow_ups - set(follow_ups))
    for chunk in queue.chunks(lost_follow_ups, 50):
        queue.enqueue(Job.SEND_FOLLOW_UPS, chunk)
    advance(1)
    due = db.session.scalars(
        select(Letter.id).where(
            Letter.status == LetterStatus.QUEUED,
            or_(Letter.not_before.is_(None), Letter.not_before <= now),
        )
    ).all()
    missing = sorted(set(due) - covered.letters)
    jobs = queue.enqueue_letters(missing)
    advance(1)
    life = timedelta(seconds=current_app.config["CONFIRM_MAX_AGE"])
    unconfirmed = db.session.scalars(
        select(Submission.id).where(
            Submission.confirmation_sent_at.is_(None),
            Submission.confirmed_at.is_(None),
            Submission.created_at < now - timedelta(minutes=1),
            Submission.created_at > now - life,
        )
    ).all()
    resend = sorted(set(unconfirmed) - covered.submissions)
    for submission_id in resend:
        queue.enqueue_confirmation(submission_id)
    advance(1)
    reminders, expired = remind_and_expire(now, life, covered.submissions)
    advance(1)
    return {"needs_review": stale, "requeued": len(requeued), "sent_before_a_crash": accepted,
            "follow_ups_requeued": len(follow_ups), "follow_ups_to_review": follow_ups_to_review,
            "follow_ups_lost": len(lost_follow_ups),
            "released": released,
            "digests": len(digests), "letters": len(missing), "letter_jobs": jobs,
            "confirmations": len(resend), "reminders": reminders, "expired": expired}


def remind_and_expire(now: datetime, life: timedelta, covered: set[int]) -> tuple[int, int]:
    """One reminder REMIND_AFTER the confirmation; unconfirmed letters end after the link's life."""
    due = db.session.scalars(
        select(Submission.id).where(
            Submission.confirmed_at.is_(None),
            Submission.reminder_sent_at.is_(None),
            Submission.confirmation_sent_at < now - REMIND_AFTER,
            Submission.created_at > now - life,
        )
    ).all()
    reminders = sorted(set(due) - covered)
    for submission_id in reminders:
        queue.enqueue_confirmation(submission_id, reminder=True)
    too_old = select(Submission.id).where(Submission.created_at <= now - life)
    expired = db.session.execute(
        update(Letter)
        .where(states.EXPIRE.where(Letter.status), Letter.submission_id.in_(too_old))
        .values(status=states.EXPIRE.to, last_error=notes.NOT_CONFIRMED)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    return len(reminders), int(expired)
