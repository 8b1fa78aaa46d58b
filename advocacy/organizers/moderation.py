"""Organizers' hand on letters that wait for them: held and needs-review letters are released
or cancelled, one by one or in bulk, always with a reason. A supporter's words are never
edited here: a letter goes as written, or not at all.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import Row, func, select, update

from advocacy import audit
from advocacy.delivery import queue
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.states import FOR_ORGANIZERS, Transition
from advocacy.models import Letter, Official, Organizer, Submission
from advocacy.organizers import holds

PAGE = 200


class ModerationError(ValueError):
    """A moderation request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Filters:
    status: str = ""  # held or needs_review; empty for both
    reason: str = ""  # a hold reason
    official_key: str = ""


def waiting_letters(filters: Filters, limit: int = PAGE) -> list[Row[Any]]:
    """The waiting letters the filters choose, oldest first, with their official and writer."""
    query = (
        select(Letter.id, Letter.status, Letter.hold_reason, Letter.not_before,
               Letter.last_error, Letter.attempts, Letter.created_at, Official.key, Official.office,
               Letter.target_id,
               Submission.name, Submission.city, Submission.country, Submission.personal_note)
        .join(Official, Letter.target_id == Official.id)
        .join(Submission, Letter.submission_id == Submission.id)
        .where(Letter.status.in_(FOR_ORGANIZERS))
        .order_by(Letter.id)
    )
    if filters.status in FOR_ORGANIZERS:
        query = query.where(Letter.status == filters.status)
    if filters.reason:
        query = query.where(Letter.hold_reason == filters.reason)
    if filters.official_key:
        query = query.where(Official.key == filters.official_key)
    return list(db.session.execute(query.limit(limit)))


def waiting_counts() -> dict[tuple[str, str | None], int]:
    rows = db.session.execute(
        select(Letter.status, Letter.hold_reason, func.count(Letter.id))
        .where(Letter.status.in_(FOR_ORGANIZERS)).group_by(Letter.status, Letter.hold_reason))
    return {(status, reason): count for status, reason, count in rows}


def checked(ids: list[int], reason: str) -> str:
    """The organizer's reason, trimmed; refused without a choice or a reason."""
    reason = reason.strip()
    if not ids:
        raise ModerationError(_("Choose at least one letter."))
    if not reason:
        raise ModerationError(_("Say why: the reason is kept with each letter."))
    if len(reason) > 500:
        raise ModerationError(_("The reason is too long (at most 500 characters)."))
    return reason


def _move(actor: Organizer, ids: list[int], reason: str, action: str, verb: str,
          step: Transition, **values: Any) -> list[int]:
    """Move the chosen letters that still wait (one conditional UPDATE), note why, audit."""
    reason = checked(ids, reason)
    moved = db.session.execute(
        update(Letter)
        .where(Letter.id.in_(ids), step.where(Letter.status))
        .values(status=step.to, hold_reason=None, moderation_note=f"{verb}: {reason}",
                **values)
        .returning(Letter.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    audit.record(actor, action, f"{len(moved)} letters", reason=reason,
                 letters=sorted(moved)[:100])
    db.session.commit()
    return list(moved)


@dataclass(frozen=True)
class Released:
    """What a release did: the letters queued again, and those kept back, by why."""

    released: int
    kept: dict[str, int]  # holds.Blocker -> letters


def release(actor: Organizer, ids: list[int], reason: str) -> Released:
    """Queue the chosen waiting letters again, but for those the worker would hold again at
    once (their campaign or office paused, their address unverified…): those stay as they
    are, and the answer says why, so that "released" means released.

    A needs-review letter was being sent when its worker died: it may have reached the
    official already. Releasing it sends it again; the page says so before anyone does.
    """
    checked(ids, reason)
    blocked = holds.blockers(ids)
    free = [i for i in ids if i not in blocked]
    released = _requeue(_move(actor, free, reason, "release letters", "released",
                              states.RELEASE_BY_HAND, not_before=None)) if free else 0
    return Released(released, holds.counted(blocked))


def retry(actor: Organizer, ids: list[int], reason: str) -> int:
    """Queue the chosen failed letters once more (the last error stays until it is sent)."""
    return _requeue(_move(actor, ids, reason, "retry letters", "retried",
                          states.RETRY_BY_HAND, not_before=None))


def _requeue(ids: list[int]) -> int:
    if ids:
        with suppress(RedisError):  # queued in the database: reconcile enqueues them
            queue.enqueue_letters(ids)
    return len(ids)


def cancel(actor: Organizer, ids: list[int], reason: str) -> int:
    """Cancel the chosen waiting letters for good; returns how many were cancelled."""
    return len(_move(actor, ids, reason, "cancel letters", "cancelled",
                     states.CANCEL_BY_HAND))
