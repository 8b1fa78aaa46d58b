"""What is stuck or near a limit: the queue in Redis, failed letters, officials near their caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from limits import parse
from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy import Row, func, select

from advocacy import clock
from advocacy.campaigns.limits import campaign_limits
from advocacy.delivery import queue
from advocacy.delivery.reconcile import review_wait
from advocacy.extensions import db
from advocacy.models import Campaign, Letter, LetterStatus, Official
from advocacy.reporting.rollup import is_sent, recent

FAILURES_SHOWN = 50
NEAR = 0.8  # the share of a cap from which an official is "near" it
# A claim to a relay that answers takes well under a second (seconds with a limit waited for):
# letters `sending` for longer are worth an organizer's eye.
UNDECIDED_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class QueueState:
    depth: int | None  # jobs waiting in RQ; None when Redis does not answer
    workers: int | None
    oldest_queued: datetime | None  # the oldest letter waiting in the database


def queue_state(campaign_id: int | None = None) -> QueueState:
    query = select(func.min(Letter.queued_at)).where(Letter.status == LetterStatus.QUEUED)
    if campaign_id is not None:
        query = query.where(Letter.campaign_id == campaign_id)
    oldest = db.session.scalar(query)
    depth: int | None
    workers: int | None
    try:
        q = queue.get_queue()
        depth, workers = q.count, Worker.count(queue=q)
    except RedisError:
        depth = workers = None
    return QueueState(depth, workers, oldest)


@dataclass(frozen=True)
class Undecided:
    """Letters `sending` for a while, for one reason: whether they were sent is not yet known."""

    reason: str  # "working" (their worker is registered in RQ), "stopped", "unknown"
    letters: int
    since: datetime  # the oldest of their claims
    review_at: datetime  # when that oldest goes to review if its worker has not finished


def _running_workers() -> set[str] | None:
    """The workers alive on this queue, named as they mark a claim; None if Redis is away."""
    try:
        return {f"{w.hostname}:{w.pid}" for w in Worker.all(queue=queue.get_queue())}
    except RedisError:
        return None


def undecided(campaign_id: int | None = None) -> list[Undecided]:
    """Letters waiting for the decision whether they were sent, grouped by why."""
    now = clock.now()
    query = (select(Letter.claimed_by, func.count(), func.min(Letter.claimed_at))
             .where(Letter.status == LetterStatus.SENDING,
                    Letter.claimed_at < now - UNDECIDED_AFTER)
             .group_by(Letter.claimed_by))  # one row per worker: a handful
    if campaign_id is not None:
        query = query.where(Letter.campaign_id == campaign_id)
    rows = db.session.execute(query).all()
    if not rows:
        return []
    running = _running_workers()
    groups: dict[str, tuple[int, datetime]] = {}
    for claimed_by, n, since in rows:
        if since is None:  # not so: the query compared it
            continue
        reason = ("unknown" if running is None else "working" if claimed_by in running
                  else "stopped")
        count, oldest = groups.get(reason, (0, since))
        groups[reason] = (count + int(n), min(oldest, since))
    wait = review_wait(current_app.config)
    return [Undecided(reason, n, since, since + wait)
            for reason, (n, since) in sorted(groups.items(), key=lambda g: g[1][1])]


def held_by_reason() -> dict[str, int]:
    """Held letters by why (limit and window are the rate-limit holds)."""
    return {reason or "none": int(n) for reason, n in db.session.execute(
        select(Letter.hold_reason, func.count()).where(Letter.status == LetterStatus.HELD)
        .group_by(Letter.hold_reason))}


def failure_reasons(campaign_id: int | None = None) -> list[tuple[str | None, int]]:
    """Failed letters by reason (None: none was kept), most frequent first."""
    query = (select(Letter.last_error, func.count()).where(Letter.status == LetterStatus.FAILED)
             .group_by(Letter.last_error).order_by(func.count().desc()))
    if campaign_id is not None:
        query = query.where(Letter.campaign_id == campaign_id)
    return [(reason or None, int(n)) for reason, n in db.session.execute(query)]


def failures(campaign_id: int | None = None) -> list[Row[Any]]:
    """The most recent failed letters, with their official: nothing about the supporter."""
    query = (select(Letter.id, Letter.created_at, Letter.attempts, Letter.last_error,
                    Official.key, Official.office)
             .join(Official, Letter.target_id == Official.id)
             .where(Letter.status == LetterStatus.FAILED)
             .order_by(Letter.id.desc()).limit(FAILURES_SHOWN))
    if campaign_id is not None:
        query = query.where(Letter.campaign_id == campaign_id)
    return list(db.session.execute(query))


@dataclass(frozen=True)
class Complaint:
    """An office paused because it complained about our mail (delivery.bounces)."""

    id: int
    key: str
    office: str
    at: datetime
    reason: str


def complaints() -> list[Complaint]:
    """Offices paused by a complaint, newest first, until an organizer resumes them."""
    return [Complaint(i, key, office, at, reason or "")
            for i, key, office, at, reason in
            db.session.execute(
                select(Official.id, Official.key, Official.office, Official.complained_at,
                       Official.pause_reason)
                .where(Official.paused.is_(True), Official.complained_at.is_not(None))
                .order_by(Official.complained_at.desc()))
            if at is not None]


@dataclass(frozen=True)
class NearCap:
    key: str
    office: str
    last_hour: int
    hour_cap: int | None
    last_day: int
    day_cap: int | None


def _cap(rate: str | None) -> int | None:
    return parse(rate).amount if rate else None


def near_caps(campaign: Campaign) -> list[NearCap]:
    """Officials that received at least NEAR of an hourly or daily cap (sent in the last hour
    or day: an indexed range of sent_at)."""
    limits = campaign_limits(campaign.limits)
    hour_cap, day_cap = _cap(limits.per_official_hour), _cap(limits.per_official_day)
    now = clock.now()
    hour_ago = now - timedelta(hours=1)
    rows = db.session.execute(
        select(Official.key, Official.office, func.count(),
               func.count().filter(Letter.sent_at >= hour_ago))
        .join(Official, Letter.target_id == Official.id)
        .where(recent(Letter.sent_at >= now - timedelta(days=1)), is_sent(),
               Letter.campaign_id == campaign.id)
        .group_by(Official.key, Official.office))
    near = [NearCap(key, office, int(hour), hour_cap, int(day), day_cap)
            for key, office, day, hour in rows
            if (hour_cap and hour >= NEAR * hour_cap) or (day_cap and day >= NEAR * day_cap)]
    return sorted(near, key=lambda n: (-n.last_day, n.key))
