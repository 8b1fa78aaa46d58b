"""Follow-up rounds: organizers write once more, in their own short words, to the offices of
a campaign that have not answered its letters (reporting.reply_rates.unanswered: no reply
through the relay confirmed to come from the office, no supporter saying "yes").

A round is dated; a campaign has at most one round a day (the database's unique key), and a
round has at most one letter per office (another). Its letters go through the same queue,
limits and send windows as supporters' letters (delivery.follow_ups), queued only after the
round is committed with its audit entry.

A follow-up that waits for the organizers (held: its office paused, unverified or bounced;
needs_review: its worker stopped while sending it, so it may have arrived) is listed with
why, and released (queued again: sent, perhaps once more) or cancelled with a reason, as
letters are (moderation); one that would only be held again is kept back, and said why."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, Row, func, select, update
from sqlalchemy.exc import IntegrityError

from advocacy import audit, clock
from advocacy.delivery import notes, queue
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.states import FOR_ORGANIZERS, Transition
from advocacy.letters.versions import SOURCE_LANGUAGE
from advocacy.models import (
    Campaign,
    FollowUpLetter,
    FollowUpRound,
    LetterTemplate,
    Official,
    Organizer,
)
from advocacy.organizers.holds import Blocker, first_blocker
from advocacy.organizers.moderation import checked
from advocacy.reporting.reply_rates import unanswered

SUBJECT_MAX = 300
TEXT_MAX = 5_000  # a short letter: the organizers' reminder, not a new appeal


log = logging.getLogger(__name__)


class FollowUpError(ValueError):
    """A round that cannot be started; the message says why."""


def languages(campaign: Campaign) -> list[str]:
    """The languages a round may be written in: those the campaign has letters in (English,
    the shipped letters' own, always), the default first."""
    found = set(db.session.scalars(select(LetterTemplate.language).distinct().where(
        LetterTemplate.campaign_id == campaign.id)))
    return [SOURCE_LANGUAGE, *sorted(found - {SOURCE_LANGUAGE})]


def start_round(actor: Organizer, campaign: Campaign, day: date, subject: str,
                text: str, language: str = SOURCE_LANGUAGE) -> FollowUpRound:
    """Write the round and one follow-up per unanswered office, audited, then queue them."""
    subject, text, language = " ".join(subject.split()), text.strip(), language.strip()
    if not subject or not text:
        raise FollowUpError(_("A follow-up needs a subject and a text."))
    if language not in languages(campaign):
        raise FollowUpError(_("“%(language)s” is not one of this campaign's letter languages:"
                              " choose the round's language from the list.",
                              language=language[:20]))
    if len(subject) > SUBJECT_MAX or len(text) > TEXT_MAX:
        raise FollowUpError(_("A follow-up is short: a subject of at most %(subject)d"
                              " characters and a text of at most %(text)d.",
                              subject=SUBJECT_MAX, text=TEXT_MAX))
    if db.session.scalar(select(FollowUpRound.id).where(
            FollowUpRound.campaign_id == campaign.id, FollowUpRound.day == day)) is not None:
        raise FollowUpError(_("This campaign already has a follow-up round dated %(day)s.",
                              day=day.isoformat()))
    offices = [o.target_id for o in unanswered(campaign.id)]
    with_address = list(db.session.scalars(select(Official.id).where(
        Official.id.in_(offices), Official.active.is_(True), Official.email.is_not(None))))
    if not with_address:
        raise FollowUpError(_("Every office written to has answered: nobody to follow up."))
    round_ = FollowUpRound(campaign_id=campaign.id, day=day, subject=subject, text=text,
                           language=language, created_by=actor.id)
    db.session.add(round_)
    db.session.flush()
    letters = [FollowUpLetter(round_id=round_.id, target_id=target) for target in with_address]
    db.session.add_all(letters)
    audit.record(actor, "follow-up round", f"{campaign.slug} {day.isoformat()}",
                 offices=len(letters), letter_subject=subject, language=language)
    try:
        db.session.commit()
    except IntegrityError:  # another organizer's round of the same day, committed meanwhile
        db.session.rollback()
        raise FollowUpError(_("This campaign already has a follow-up round dated %(day)s.",
                              day=day.isoformat())) from None
    _enqueue([f.id for f in letters])  # after the commit
    return round_


def _enqueue(ids: list[int]) -> None:
    try:
        for chunk in queue.chunks(ids, 50):
            queue.enqueue(queue.Job.SEND_FOLLOW_UPS, chunk)
    except RedisError:  # reconcile gives them jobs again once Redis answers (lost jobs)
        raise FollowUpError(_("The round is recorded, but its letters could not be queued:"
                              " the queue is away. Queue them again later.")) from None


def rounds_letters(round_id: int) -> list[int]:
    """The ids of a round's letters."""
    return list(db.session.scalars(select(FollowUpLetter.id).where(
        FollowUpLetter.round_id == round_id)))


def queue_again(actor: Organizer, campaign: Campaign, round_id: int) -> int:
    """Queue a round's letters that wait in the queue (a queue lost, say); how many. A
    duplicate job does no harm: each letter is claimed once."""
    ids = list(db.session.scalars(select(FollowUpLetter.id).join(FollowUpRound).where(
        FollowUpRound.campaign_id == campaign.id, FollowUpLetter.round_id == round_id,
        FollowUpLetter.status == "queued")))
    audit.record(actor, "follow-up round queued again", str(round_id), letters=len(ids))
    db.session.commit()
    _enqueue(ids)
    return len(ids)


def rounds(campaign_id: int) -> list[tuple[FollowUpRound, dict[str, int]]]:
    """The campaign's rounds, newest first, each with its letters counted by state."""
    found = list(db.session.scalars(select(FollowUpRound).where(
        FollowUpRound.campaign_id == campaign_id).order_by(FollowUpRound.day.desc())))
    counts: dict[int, dict[str, int]] = {r.id: {} for r in found}
    for round_id, status, n in db.session.execute(
            select(FollowUpLetter.round_id, FollowUpLetter.status, func.count())
            .where(FollowUpLetter.round_id.in_(list(counts)))
            .group_by(FollowUpLetter.round_id, FollowUpLetter.status)):
        counts[round_id][status] = int(n)
    return [(r, counts[r.id]) for r in found]


def waiting(campaign_id: int) -> list[Row[Any]]:
    """The campaign's follow-ups that wait for an organizer, oldest first, with their round's
    date, their office and why they wait."""
    return list(db.session.execute(
        select(FollowUpLetter.id, FollowUpLetter.status, FollowUpLetter.last_error,
               FollowUpLetter.target_id, FollowUpRound.day, Official.office)
        .join(FollowUpRound, FollowUpLetter.round_id == FollowUpRound.id)
        .join(Official, FollowUpLetter.target_id == Official.id)
        .where(FollowUpRound.campaign_id == campaign_id,
               FollowUpLetter.status.in_(FOR_ORGANIZERS))
        .order_by(FollowUpLetter.id)))


def _move(actor: Organizer, campaign: Campaign, ids: list[int], reason: str, action: str,
          step: Transition, **values: Any) -> list[int]:
    """Move the chosen follow-ups of this campaign that still wait (one conditional UPDATE)
    and audit it with the reason."""
    reason = checked(ids, reason)
    mine = select(FollowUpLetter.id).join(FollowUpRound).where(
        FollowUpRound.campaign_id == campaign.id, FollowUpLetter.id.in_(ids))
    moved = list(db.session.execute(
        update(FollowUpLetter)
        .where(FollowUpLetter.id.in_(mine), step.where(FollowUpLetter.status))
        .values(status=step.to, **values)
        .returning(FollowUpLetter.id)
        .execution_options(synchronize_session=False)).scalars())
    audit.record(actor, action, f"{len(moved)} letters", campaign=campaign.slug, reason=reason,
                 letters=sorted(moved)[:100])
    db.session.commit()
    return moved


@dataclass(frozen=True)
class Office:
    """An office some of the chosen follow-ups are to: why they were kept back, or until when
    the office paused its letters (they go then, by themselves)."""

    target_id: int
    office: str
    letters: int
    blocker: Blocker | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Released:
    """What a release did: how many went back to the queue; the offices whose follow-ups were
    kept back (the worker would only hold them again), and those that go later."""

    released: int
    kept: list[Office] = field(default_factory=list)
    later: list[Office] = field(default_factory=list)


def _with_blockers(*where: ColumnElement[bool]) -> list[tuple[Any, Blocker | None]]:
    """Follow-ups (id, their office's id, name and own pause's end) with what would hold each
    again at once: holds.first_blocker's answer, or no address; None when nothing would."""
    live = current_app.config["ADVOCACY_MODE"] == "live"
    rows = db.session.execute(
        select(FollowUpLetter.id, Official.id.label("target_id"), Official.office,
               Official.paused_until, Official.email, Campaign.status, Official.active,
               Official.paused, Official.verified, Official.bounced_at)
        .join(FollowUpRound, FollowUpLetter.round_id == FollowUpRound.id)
        .join(Campaign, FollowUpRound.campaign_id == Campaign.id)
        .join(Official, FollowUpLetter.target_id == Official.id)
        .where(*where))
    return [(row, first_blocker(row.status, row.active, row.paused, row.verified,
                                row.bounced_at, live=live)
             or (None if row.email else Blocker.NO_ADDRESS)) for row in rows]


def release(actor: Organizer, campaign: Campaign, ids: list[int], reason: str) -> Released:
    """Queue the chosen waiting follow-ups again (one that needs review may have reached the
    office already: the page says so), but for those the worker would hold again at once (the
    campaign or their office paused, its address unverified, bounced or missing): those stay
    as they are, and the answer says why and what to do, so that "released" means released."""
    checked(ids, reason)
    now = clock.now()
    kept: Counter[tuple[int, str, Blocker]] = Counter()
    later: Counter[tuple[int, str, datetime]] = Counter()
    free = []
    for row, blocker in _with_blockers(FollowUpLetter.id.in_(ids), Campaign.id == campaign.id,
                                       FollowUpLetter.status.in_(FOR_ORGANIZERS)):
        if blocker is not None:
            kept[(row.target_id, row.office, blocker)] += 1
            continue
        free.append(row.id)
        if row.paused_until is not None and row.paused_until > now:  # released by time
            later[(row.target_id, row.office, row.paused_until)] += 1
    moved = _move(actor, campaign, free, reason, "release follow-ups",
                  states.RELEASE_BY_HAND, not_before=None) if free else []
    try:
        _enqueue(moved)  # after the commit
    except FollowUpError:
        raise FollowUpError(_("Released, but the queue is away: queue their round again"
                              " later.")) from None
    return Released(
        len(moved),
        [Office(t, office, n, blocker=b) for (t, office, b), n in sorted(kept.items())],
        [Office(t, office, n, until=u) for (t, office, u), n in sorted(later.items())])


def release_paused(*, campaign_id: int | None = None, target_id: int | None = None
                   ) -> list[int]:
    """On a resume: the follow-ups of this campaign or to this office that its pause held,
    back to the queue (uncommitted; enqueue them after the commit), but for those something
    else would hold again (the campaign or the office still paused, its address unverified,
    bounced or missing): those wait for an editor, as before."""
    scope = [FollowUpLetter.status == states.HELD, FollowUpLetter.last_error == notes.PAUSED]
    if campaign_id is not None:
        scope.append(Campaign.id == campaign_id)
    if target_id is not None:
        scope.append(Official.id == target_id)
    free = [row.id for row, blocker in _with_blockers(*scope) if blocker is None]
    if not free:
        return []
    return list(db.session.execute(
        update(FollowUpLetter)
        .where(FollowUpLetter.id.in_(free), states.RELEASE.where(FollowUpLetter.status))
        .values(status=states.RELEASE.to, not_before=None, last_error=None)
        .returning(FollowUpLetter.id)
        .execution_options(synchronize_session=False)).scalars())


def enqueue_released(ids: list[int]) -> None:
    """Jobs for follow-ups queued again by a resume; with Redis away, reconcile gives them
    jobs once it answers (lost jobs), so the resume itself does not fail."""
    try:
        _enqueue(ids)
    except FollowUpError:
        log.warning("%d follow-up letters not queued: reconcile will", len(ids))


def cancel(actor: Organizer, campaign: Campaign, ids: list[int], reason: str) -> int:
    """Cancel the chosen waiting follow-ups for good; how many."""
    return len(_move(actor, campaign, ids, reason, "cancel follow-ups",
                     states.CANCEL_BY_HAND))
