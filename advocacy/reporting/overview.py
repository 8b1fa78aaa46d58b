"""The overview's first screen: headline figures, what the waiting letters wait for, the
organizers' follow-up letters that wait for a decision, and the offices that need an
organizer (unverified with letters waiting, bounced, paused). A handful of indexed counts;
the sent figures come from the rollup like the rest of the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, literal, select

from advocacy import clock
from advocacy.extensions import db
from advocacy.letters.states import (
    FOR_A_DECISION,
    FOR_ORGANIZERS,
    HELD,
    NEEDS_REVIEW,
    QUEUED,
    WAITING,
)
from advocacy.models import Campaign, FollowUpLetter, FollowUpRound, Letter, Official
from advocacy.reporting.dashboard import Filters, sent_by
from advocacy.reporting.rollup import Watermark

SHOWN = 10  # offices listed in one alert; the officials' page has the rest


@dataclass(frozen=True)
class Headline:
    sent_today: int
    sent_week: int  # since Monday (UTC), today included
    sent_total: int
    week_from: date
    # (status, hold reason or None) -> letters, for the letters not yet sent nor ended
    waiting: dict[tuple[str, str | None], int] = field(default_factory=dict)

    @property
    def waiting_total(self) -> int:
        return sum(self.waiting.values())

    @property
    def deciding(self) -> int:
        """Letters only an organizer can move: held for a pause, an address, a bounce, and
        those whose sending nobody can vouch for."""
        return sum(
            n
            for (status, reason), n in self.waiting.items()
            if status == NEEDS_REVIEW or (status == HELD and reason in FOR_A_DECISION)
        )


def waiting(filters: Filters) -> dict[tuple[str, str | None], int]:
    """Letters not sent yet and not ended, by state and (held) reason: campaign and group
    apply, dates do not (they are waiting now)."""
    query = (
        select(Letter.status, Letter.hold_reason, func.count())
        .where(Letter.status.in_(WAITING))
        .group_by(Letter.status, Letter.hold_reason)
    )
    if filters.campaign_id is not None:
        query = query.where(Letter.campaign_id == filters.campaign_id)
    if filters.body_id is not None:
        query = query.where(
            Letter.target_id.in_(select(Official.id).where(Official.body_id == filters.body_id))
        )
    order = {status: i for i, status in enumerate(WAITING)}
    rows = sorted(db.session.execute(query), key=lambda r: (order[r[0]], r[1] or ""))
    return {(str(status), reason): int(n) for status, reason, n in rows}


def headline(filters: Filters, sent_total: int, at: Watermark | None = None) -> Headline:
    today = clock.now().date()
    monday = today - timedelta(days=today.weekday())
    week = sent_by("day", Filters(filters.campaign_id, monday, today, filters.body_id), at)
    return Headline(week.get(today, 0), sum(week.values()), sent_total, monday, waiting(filters))


@dataclass(frozen=True)
class FollowUps:
    """A campaign's follow-up letters waiting for an organizer (organizers.follow_ups): held
    for their office, or perhaps sent already when their worker stopped."""

    slug: str
    name: str
    letters: int


def follow_ups_deciding(filters: Filters) -> list[FollowUps]:
    """Follow-up letters waiting for a decision, by campaign: campaign and group apply (a
    follow-up's group is its office's), dates do not."""
    letters = func.count(FollowUpLetter.id)
    query = (
        select(Campaign.slug, Campaign.name, letters)
        .join(FollowUpRound, FollowUpRound.campaign_id == Campaign.id)
        .join(FollowUpLetter, FollowUpLetter.round_id == FollowUpRound.id)
        .where(FollowUpLetter.status.in_(FOR_ORGANIZERS))
        .group_by(Campaign.slug, Campaign.name)
        .order_by(letters.desc(), Campaign.name)
    )
    if filters.campaign_id is not None:
        query = query.where(Campaign.id == filters.campaign_id)
    if filters.body_id is not None:
        query = query.where(FollowUpLetter.target_id.in_(
            select(Official.id).where(Official.body_id == filters.body_id)))
    return [FollowUps(slug, name, int(n)) for slug, name, n in db.session.execute(query)]


@dataclass(frozen=True)
class Office:
    id: int
    key: str
    office: str
    letters: int  # waiting for it (confirmed: queued or held)
    why: str = ""  # the pause's or the bounce's reason, when there is one


def _offices(condition: Any, why: Any = None) -> list[Office]:
    """Active offices meeting the condition, those with most confirmed letters waiting first."""
    letters = func.count(Letter.id)  # the join takes only waiting letters: the status index
    query = (
        select(
            Official.id,
            Official.key,
            Official.office,
            letters,
            func.max(why) if why is not None else literal(""),
        )
        .outerjoin(Letter, (Letter.target_id == Official.id) & Letter.status.in_((QUEUED, HELD)))
        .where(Official.active.is_(True), condition)
        .group_by(Official.id, Official.key, Official.office)
        .order_by(letters.desc(), Official.key)
        .limit(SHOWN)
    )
    return [
        Office(i, key, office, int(n), str(reason or ""))
        for i, key, office, n, reason in db.session.execute(query)
    ]


def unverified_with_letters() -> list[Office]:
    """Offices with an address nobody has verified and confirmed letters waiting for them: in
    live mode those letters wait until someone checks the address against its source."""
    return [
        o for o in _offices(Official.email.is_not(None) & Official.verified.is_(False)) if o.letters
    ]


def bounced() -> list[Office]:
    """Offices whose address bounced: their letters wait until the address is corrected."""
    return _offices(Official.bounced_at.is_not(None), Official.bounce_reason)


def paused() -> list[Office]:
    """Offices paused by an organizer (or the command line); complaints are listed apart."""
    return _offices(
        Official.paused.is_(True) & Official.complained_at.is_(None), Official.pause_reason
    )
