"""Confirming a submission: its unconfirmed letters become queued, then go to the queue."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select, update

from advocacy import clock
from advocacy.campaigns.limits import campaign_limits
from advocacy.campaigns.opt_ins import record_opt_in
from advocacy.campaigns.partners import partner_for_ref
from advocacy.delivery import queue
from advocacy.delivery.alike import Confirmed, band_keys, count_alike
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.compose import official_label
from advocacy.letters.similarity import personalised
from advocacy.links import submission_for_token
from advocacy.models import Letter, LetterStatus, Official, Submission

log = logging.getLogger(__name__)


def confirm(token: str) -> Submission:
    """Move a submission's unconfirmed letters to queued, then enqueue them."""
    submission = submission_for_token(token)
    now = clock.now()
    rows = db.session.execute(
        select(Letter.id, Letter.target_id).where(
            Letter.submission_id == submission.id, Letter.status == LetterStatus.UNCONFIRMED
        )
    ).all()
    ids = [i for i, _target in rows]
    if ids:
        db.session.execute(
            update(Letter)
            .where(Letter.id.in_(ids), states.CONFIRM.where(Letter.status))
            .values(status=states.CONFIRM.to, queued_at=now)
        )
        _count_alike(submission, [Confirmed(i, target) for i, target in rows])
    if submission.confirmed_at is None:
        submission.confirmed_at = now
        _record_opt_ins(submission)
    db.session.commit()
    if ids:
        try:
            queue.enqueue_letters(ids)
        except RedisError:
            log.warning("letters of submission %s not queued; reconcile will", submission.id)
    return submission


def _count_alike(submission: Submission, letters: list[Confirmed]) -> None:
    """How many near-identical letters each office had before these (delivery.alike), kept
    with the letters in the confirmation's transaction; the worker reads it. Without Redis
    nothing is counted, and the letters go one by one as before."""
    limits = campaign_limits(submission.campaign.limits)
    own = (submission.personalised if submission.personalised is not None
           else personalised(submission.personal_note, []))
    try:
        keys = band_keys(submission.personal_note, own, limits)
        counts = count_alike(submission.campaign_id, letters, keys, limits,
                             clock.now().timestamp())
    except RedisError:
        log.warning("near-identical letters of submission %s not counted", submission.id)
        return
    if counts:
        db.session.execute(update(Letter), [{"id": i, "alike": n} for i, n in counts.items()])


def asked_opt_ins(submission: Submission) -> tuple[bool, str | None]:
    """What confirming this submission will also record: the campaign's news (True), and
    the name of the partner that may write (None: none). The confirmation page says so."""
    partner = partner_for_ref(submission.ref) if submission.partner_optin_at else None
    return submission.newsletter_at is not None, partner.name if partner else None


def _record_opt_ins(submission: Submission) -> None:
    """The submission's opt-ins, now that its address is proven (campaigns.opt_ins says why
    not before), in the confirmation's transaction: the newsletter's (no partner), and the
    partner's whose ref the submission came with, if that ref is a partner's."""
    if submission.newsletter_at is None and submission.partner_optin_at is None:
        return  # (most confirmations: no further query)
    email = submission.supporter.email
    if email is None:  # erased in the meantime
        return
    wanted: list[tuple[int | None, datetime]] = []
    if submission.newsletter_at is not None:
        wanted.append((None, submission.newsletter_at))
    partner = partner_for_ref(submission.ref)
    if submission.partner_optin_at is not None and partner is not None:
        wanted.append((partner.id, submission.partner_optin_at))
    for partner_id, consented_at in wanted:
        record_opt_in(submission.campaign_id, partner_id, email, submission.name,
                      consented_at, submission.privacy_version)


def channel_of(official: Official) -> str:
    """How an office is written to: "email", "form" (its web contact form) or "post".

    An office's own channel, where organizers set one, else what its contact data allows."""
    own = getattr(official, "channel", None)
    if isinstance(own, str) and own:
        return own
    return "email" if official.email else "form" if official.contact_page else "post"


def letter_states(submission: Submission, language: str) -> list[dict[str, Any]]:
    """Each letter of a submission with its official, channel, state and times, for pages
    and the API."""
    rows = db.session.execute(
        select(Letter, Official)
        .join(Official, Letter.target_id == Official.id)
        .where(Letter.submission_id == submission.id)
        .order_by(Letter.id)
    )
    return [{"id": letter.id, "official": official_label(t, language), "status": letter.status,
             "channel": channel_of(t), "written_at": letter.created_at,
             "confirmed_at": submission.confirmed_at, "sent_at": letter.sent_at,
             "not_before": letter.not_before}
            for letter, t in rows]
