"""Confirming a submission: its unconfirmed letters become queued, then go to the queue."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select, update

from advocacy import clock
from advocacy.delivery import queue
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.compose import official_label
from advocacy.links import submission_for_token
from advocacy.models import Letter, LetterStatus, Official, Submission

log = logging.getLogger(__name__)


def confirm(token: str) -> Submission:
    """Move a submission's unconfirmed letters to queued, then enqueue them."""
    submission = submission_for_token(token)
    now = clock.now()
    ids = list(
        db.session.scalars(
            select(Letter.id).where(
                Letter.submission_id == submission.id, Letter.status == LetterStatus.UNCONFIRMED
            )
        )
    )
    if ids:
        db.session.execute(
            update(Letter)
            .where(Letter.id.in_(ids), states.CONFIRM.where(Letter.status))
            .values(status=states.CONFIRM.to, queued_at=now)
        )
    submission.confirmed_at = submission.confirmed_at or now
    db.session.commit()
    if ids:
        try:
            queue.enqueue_letters(ids)
        except RedisError:
            log.warning("letters of submission %s not queued; reconcile will", submission.id)
    return submission


def letter_states(submission: Submission, language: str) -> list[dict[str, Any]]:
    """Each letter of a submission with its official and state, for pages and the API."""
    rows = db.session.execute(
        select(Letter.id, Letter.status, Official)
        .join(Official, Letter.target_id == Official.id)
        .where(Letter.submission_id == submission.id)
        .order_by(Letter.id)
    )
    return [{"id": i, "official": official_label(t, language), "status": s}
            for i, s, t in rows]
