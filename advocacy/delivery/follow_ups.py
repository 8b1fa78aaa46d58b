"""Organizers' follow-up letters to offices that have not answered (organizers.follow_ups
makes a round of them): sent by the worker through the same queue, limits and send windows
as supporters' letters, one email per office per round.

A follow-up is claimed as a letter is: one conditional UPDATE (queued -> sending) with the
time and the worker, committed before it goes, so a duplicated job cannot send it twice; and
just before its message goes to the relay, a durable mark that it is on the wire
(batch.on_wire_mark). One left `sending` by a dead worker is brought back by reconcile: queued
again without the mark (it never went), to the organizers with it (it may have arrived).

Over a limit or outside the office's window it goes back to the queue with the time it may
go, and a job is scheduled for that moment (so too until the end of a pause the office asked
for). An office that is paused, bounced or unverified (in live mode) holds it for the
organizers, as it holds letters."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Table, or_, update

from advocacy import clock
from advocacy.campaigns.limits import campaign_limits, window_opens
from advocacy.delivery import mail, notes
from advocacy.delivery.batch import mark_params, on_wire_mark, worker_id
from advocacy.delivery.gate import delivery_limiter
from advocacy.delivery.mail import Unconfirmed, smtp_refusal
from advocacy.delivery.queue import Job
from advocacy.delivery.schedule import run_at
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.addresses import bounce_address, sender_address
from advocacy.letters.emails import follow_up_message
from advocacy.models import CampaignStatus, FollowUpLetter
from advocacy.officials.files import office_name

log = logging.getLogger(__name__)

# A follow-up's states (FollowUpLetter.status) are a letter's (letters.states).
QUEUED, SENDING, SENT, HELD, FAILED, REVIEW, CANCELLED = (
    states.QUEUED, states.SENDING, states.SENT, states.HELD, states.FAILED,
    states.NEEDS_REVIEW, states.CANCELLED)
_MARK = on_wire_mark(cast(Table, FollowUpLetter.__table__))


def _claim(follow_up_id: int, now: datetime) -> bool:
    result = cast(CursorResult[Any], db.session.execute(
        update(FollowUpLetter)
        .where(FollowUpLetter.id == follow_up_id, states.CLAIM.where(FollowUpLetter.status),
               or_(FollowUpLetter.not_before.is_(None), FollowUpLetter.not_before <= now))
        .values(status=states.CLAIM.to, claimed_at=now, claimed_by=worker_id(),
                attempts=FollowUpLetter.attempts + 1, on_wire_at=None)))
    db.session.commit()
    return result.rowcount == 1


def _on_wire(row: FollowUpLetter) -> bool:
    """Mark the follow-up as going to the relay, committed before its first byte; False when
    the claim is no longer this worker's (reconcile took it back): it must not go."""
    marked = cast(CursorResult[Any], db.session.execute(
        _MARK, mark_params(row.id, row.attempts))).rowcount == 1
    db.session.commit()
    return marked


def _later(row: FollowUpLetter, when: datetime, why: str, tried: bool = False) -> None:
    """Back to the queue until `when`, and a job for that moment (after the commit). Kept
    back before any try (a limit, the window, the office's pause), the claim's attempt is
    not counted, as a letter's is not: attempts count the tries that reached the relay."""
    row.status, row.not_before, row.last_error = QUEUED, when, why
    if not tried:
        row.attempts -= 1
    db.session.commit()
    run_at(when, Job.SEND_FOLLOW_UPS, [row.id])


def _stop(row: FollowUpLetter, status: str, why: str) -> None:
    row.status, row.last_error = status, why
    db.session.commit()


def send_follow_up(follow_up_id: int) -> str:
    """Send one follow-up if its office's limits allow now; the state it is left in."""
    now = clock.now()
    if not _claim(follow_up_id, now):
        return "not due"
    row = db.session.get_one(FollowUpLetter, follow_up_id)
    official, campaign = row.official, row.round.campaign
    if not official.active:
        _stop(row, CANCELLED, notes.DEACTIVATED)
        return row.status
    if campaign.status != CampaignStatus.OPEN or official.paused:
        _stop(row, HELD, notes.PAUSED)
        return row.status
    if current_app.config["ADVOCACY_MODE"] == "live" and not official.verified:
        _stop(row, HELD, notes.UNVERIFIED)
        return row.status
    if official.bounced_at is not None or not official.email:
        _stop(row, HELD, notes.BOUNCED if official.email else notes.NO_ADDRESS)
        return row.status
    if official.paused_until is not None and official.paused_until > now:
        # The office's own pause (its link): released by time, as its letters are.
        _later(row, official.paused_until, notes.paused_by_office(official.paused_until))
        return row.status
    limits = campaign_limits(campaign.limits)
    opens = window_opens(limits.window, official.timezone, now)
    if opens is not None:
        _later(row, opens, notes.OUTSIDE_WINDOW)
        return row.status
    domain = official.email.rpartition("@")[2].lower()
    wait = delivery_limiter().acquire(limits, official.key, domain, now.timestamp())
    if wait is not None:
        until = (now + timedelta(seconds=wait.seconds + 1)).replace(microsecond=0)
        _later(row, until, notes.with_detail(notes.RATE_LIMIT, wait.scope))
        return row.status
    language = row.round.language  # the organizers' words are in it, whatever the office's
    sender = sender_address(campaign.sender)
    msg = follow_up_message(
        follow_up_id=row.id, to_email=official.email,
        office=office_name(official.office, official.office_names, language),
        campaign_name=campaign.name, sender=sender, subject=row.round.subject,
        text=row.round.text, language=language)
    if not _on_wire(row):
        return "taken back"  # queued again by reconcile: another claim sends it
    try:
        mail.shared_transport().send(msg, resend_unconfirmed=False,
                                     return_path=bounce_address("followup", row.id, sender))
    except Unconfirmed as exc:
        _stop(row, REVIEW, notes.with_detail(notes.AMBIGUOUS, exc)[:500])
    except (smtplib.SMTPException, mail.RelayError) as exc:
        refusal = smtp_refusal(exc)
        if refusal is not None and refusal[0] >= 500:
            _stop(row, FAILED, notes.refusal(*refusal)[:500])
        else:  # a deferral or a lost line: once more later
            retry = now + timedelta(seconds=float(current_app.config["RETRY_BASE_SECONDS"]))
            _later(row, retry.replace(microsecond=0), notes.exception_note(exc)[:500],
                   tried=True)
    else:
        row.status, row.sent_at, row.last_error = SENT, clock.now(), None
        db.session.commit()
    return row.status


def send_follow_ups(follow_up_ids: list[int]) -> int:
    """The job: send these follow-ups as their limits allow; how many went."""
    return sum(send_follow_up(i) == SENT for i in follow_up_ids)
