"""Sent letters rolled up by day into SentCount, from a watermark on the indexed Letter.sent_at;
submissions by the day they were made into SubmissionCount, from the same watermark.

Each run counts, in SQL, the letters sent from the day before the watermark's up to the last
whole hour (a few minutes back), replaces those days' rows in SentCount and moves the
watermark, all in one transaction, once an hour. The dashboard adds the letters sent since
the watermark (an indexed range of about an hour) to the sums, so its figures are exact.
Submissions are counted the same way, with those confirmed before the watermark apart; a
day whose submissions were confirmed since the last run is counted again whole.
A sent letter that bounces later (delivery.bounces) is counted as sent no more: the day it
was sent is counted again whole at the next run, found by its `bounced_at`.
Run from reconcile. Runs may overlap (reconcile's lock can expire mid-run; `advocacy
reconcile` by hand takes none): each claims its work by moving the watermark before it
deletes anything, and one that finds it moved counts nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from advocacy.extensions import db
from advocacy.models import (
    LatencyCount,
    Letter,
    LetterStatus,
    Official,
    RollupMark,
    SentCount,
    Submission,
    SubmissionCount,
)
from advocacy.progress import Advance, nothing

T = TypeVar("T")

MARK = "sent"
LAG = timedelta(minutes=5)  # a worker's transaction open at the hour has committed by then
RECOUNT = timedelta(days=1)
# "day" (value "") is the narrowest: the views that need no official read it.
DIMENSIONS = ("day", "hour", "target", "language", "ref")
ANY_COUNTRY = "*"  # after a dimension's name: its counts summed over supporter countries
STEPS = len(DIMENSIONS) + 3  # what a run reports to its Advance
# Upper bounds, in seconds, of the send latency's buckets (from confirmation to sent): seconds
# in the queue, or days held for an official's send window or cap. Past the last: +Inf.
LATENCY_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 43200.0, 86400.0,
                   259200.0)


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def day_of(column: Any) -> ColumnElement[Any]:
    """The UTC day of a timestamp, in SQL (a date on PostgreSQL, 'YYYY-MM-DD' on SQLite)."""
    if _postgres():
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def hour_of(column: Any) -> ColumnElement[Any]:
    """The UTC hour of a timestamp as '00' to '23', in SQL."""
    if _postgres():
        return func.to_char(func.timezone("UTC", column), "HH24")
    return func.strftime("%H", column)


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def moment(day: date) -> datetime:
    """The day's first instant, UTC."""
    return datetime.combine(day, time(), tzinfo=UTC)


def dimension_value(dimension: str) -> Any:
    """What a sent letter counts under in one dimension, in SQL."""
    return {
        "day": literal_column("''"),
        "hour": hour_of(Letter.sent_at),
        "target": cast(Letter.target_id, String),
        "language": Submission.language,
        "ref": func.coalesce(Submission.ref, ""),
    }[dimension]


def is_sent() -> Any:
    """status = 'sent', written so that no planner takes the status index for it: sent
    letters are most of the table, and a range of sent_at is the condition that selects."""
    return func.coalesce(Letter.status, "") == LetterStatus.SENT.value


def seconds_between(start: Any, end: Any) -> Any:
    """end - start in seconds, in SQL."""
    if _postgres():
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def waited() -> Any:
    """Seconds from a letter's confirmation (queued_at) to its sending, in SQL."""
    return seconds_between(Letter.queued_at, Letter.sent_at)


def latency_bucket() -> Any:
    """The index of the first of LATENCY_BUCKETS at or above the wait (past them all: their
    number), in SQL."""
    wait = waited()
    return case(*((wait <= bound, i) for i, bound in enumerate(LATENCY_BUCKETS)),
                else_=len(LATENCY_BUCKETS))


def recent(condition: Any) -> Any:
    """A range of sent_at that selects few letters, said so to SQLite's planner, which keeps
    no statistics on ranges and would otherwise start from the small tables it joins."""
    if _postgres():
        return condition
    return func.likelihood(condition, literal_column("0.001"))


def sent_letters(*columns: Any) -> Any:
    """SELECT columns FROM sent letters with their official and submission."""
    return (select(*columns).select_from(Letter)
            .join(Official, Letter.target_id == Official.id)
            .join(Submission, Letter.submission_id == Submission.id)
            .where(is_sent()))


def mark() -> datetime | None:
    """The watermark: letters sent before it are counted in SentCount."""
    return db.session.scalar(select(RollupMark.upto).where(RollupMark.name == MARK))


@dataclass(frozen=True)
class Watermark:
    """The watermark as read once by a page or a scrape and handed to each of its figures:
    one query instead of one per figure, and every figure stands on the same reading."""

    upto: datetime | None  # None: nothing is rolled up yet


def watermark() -> Watermark:
    return Watermark(mark())


def steady(figures: Callable[[Watermark], T]) -> T:
    """Figures computed on one reading of the watermark, and again on a new reading if a
    roll-up committed meanwhile: its hours would count twice, in the rollup's sums and in
    the letters since the old watermark. Roll-ups are hourly: a second pass is rare."""
    at = watermark()
    value = figures(at)
    now = watermark()
    return value if now == at else figures(now)


def mark_upto(at: Watermark | None) -> datetime | None:
    """The watermark as the caller read it for all its figures, else as it is now."""
    return (at if at is not None else watermark()).upto


def _late_days(start: datetime, since: datetime) -> list[date]:
    """Days before `since` with a letter that bounced since the last run (`start`): each is
    counted again whole, as one of its letters counts as sent no more."""
    return sorted({as_date(d) for d in db.session.scalars(
        select(day_of(Letter.sent_at)).distinct()
        .where(Letter.bounced_at >= start, Letter.sent_at < since))})


def _sent_in(since: datetime, late: list[date]) -> Any:
    """Letters sent from `since` on, or on one of the `late` days."""
    return or_(recent(Letter.sent_at >= since), *(
        and_(Letter.sent_at >= moment(d), Letter.sent_at < moment(d + timedelta(days=1)))
        for d in late))


def _counts(dimension: str, start: datetime | None, upto: datetime,
            late: list[date]) -> list[dict[str, Any]]:
    value = dimension_value(dimension)
    day = day_of(Letter.sent_at)
    query = (sent_letters(Letter.campaign_id, day, Official.body_id, Submission.country, value,
                          func.count())
             .where(Letter.sent_at < upto)
             .group_by(Letter.campaign_id, day, Official.body_id, Submission.country,
                       *([] if dimension == "day" else [value])))
    if start is not None:
        query = query.where(_sent_in(start, late))
    return [{"dimension": dimension, "campaign_id": campaign, "day": as_date(day_),
             "body_id": body, "country": country, "value": str(val), "letters": n}
            for campaign, day_, body, country, val, n in db.session.execute(query)]


def _add_any_country(since: datetime | None, late: list[date]) -> None:
    """Each dimension's rows summed over supporter countries (country ""), as dimension "*":
    most views have no country filter, and read several times fewer rows from these."""
    keys = (SentCount.campaign_id, SentCount.day, SentCount.body_id, SentCount.value)
    query = (select(SentCount.dimension + ANY_COUNTRY, *keys, literal(""),
                    func.sum(SentCount.letters))
             .where(SentCount.dimension.in_(DIMENSIONS)).group_by(SentCount.dimension, *keys))
    if since is not None:
        query = query.where(or_(SentCount.day >= since.date(), SentCount.day.in_(late)))
    db.session.execute(insert(SentCount).from_select(
        ["dimension", "campaign_id", "day", "body_id", "value", "country", "letters"], query))


def _count_submissions(since: datetime | None, upto: datetime) -> None:
    """SubmissionCount for the days made from `since` on, and for each earlier day one of
    whose submissions was confirmed since (a link stays good for days)."""
    made = Submission.created_at
    where = [made < upto]
    if since is not None:
        late = (select(day_of(made)).distinct()
                .where(recent(Submission.confirmed_at >= since), Submission.confirmed_at < upto,
                       made < since))
        days = sorted({as_date(d) for d in db.session.scalars(late)})
        db.session.execute(delete(SubmissionCount).where(or_(
            SubmissionCount.day >= since.date(), SubmissionCount.day.in_(days))))
        where.append(or_(recent(made >= since), *(
            and_(made >= moment(d), made < moment(d + timedelta(days=1))) for d in days)))
    day = day_of(made)
    keys = (Submission.campaign_id, day, Submission.body_id, Submission.country)
    rows = [{"campaign_id": campaign, "day": as_date(day_), "body_id": body, "country": country,
             "submitted": n, "confirmed": confirmed}
            for campaign, day_, body, country, n, confirmed in db.session.execute(
                select(*keys, func.count(), func.count().filter(Submission.confirmed_at < upto))
                .where(*where).group_by(*keys))]
    if rows:
        db.session.execute(insert(SubmissionCount), rows)


def _count_latency(since: datetime | None, upto: datetime, late: list[date]) -> None:
    """LatencyCount for the letters sent from `since` up to `upto`."""
    day, bucket = day_of(Letter.sent_at), latency_bucket()
    query = (select(Letter.campaign_id, day, bucket, func.count(), func.sum(waited()))
             .where(is_sent(), Letter.queued_at.is_not(None), Letter.sent_at < upto)
             .group_by(Letter.campaign_id, day, bucket))
    if since is not None:
        query = query.where(_sent_in(since, late))
    rows = [{"campaign_id": campaign, "day": as_date(day_), "bucket": bucket_, "letters": n,
             "seconds": float(seconds or 0)}
            for campaign, day_, bucket_, n, seconds in db.session.execute(query)]
    if rows:
        db.session.execute(insert(LatencyCount), rows)


def _add(rows: list[dict[str, Any]]) -> None:
    """Insert one dimension's counts (one row per key) into SentCount. Nothing is there to add
    to: this run holds the watermark's claim and has deleted the days it counts (with no
    watermark yet, the table is empty), so no other run's rows can be there either."""
    db.session.execute(insert(SentCount), rows)


def move_mark(name: str, upto: datetime, *when: ColumnElement[bool]) -> bool:
    """Move the mark `name` to `upto` where `when` holds, or make it if there is none yet
    (the caller commits); of callers racing for the same move, one wins and gets True.

    One conditional UPDATE: on PostgreSQL a second caller waits for the first's row lock
    until it commits, then matches nothing (a read, then a write, would let both through).
    Without a mark, the primary key lets one INSERT through; RETURNING says whose, as an
    INSERT's rowcount is -1 on PostgreSQL, inserted or not."""
    moved = db.session.execute(
        update(RollupMark).where(RollupMark.name == name, *when).values(upto=upto)
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if moved:
        return True
    dialect = postgresql if _postgres() else sqlite
    return db.session.scalar(dialect.insert(RollupMark).values(name=name, upto=upto)
                             .on_conflict_do_nothing(index_elements=["name"])
                             .returning(RollupMark.name)) is not None


def roll_up(now: datetime | None = None, advance: Advance = nothing) -> int:
    """Count letters sent up to the last whole hour; returns how many are counted anew (none
    when another run has claimed those hours).

    The day before the watermark's is counted again from scratch each time (its rows are
    replaced): a worker whose transaction committed long after it stamped `sent_at` (a slow
    relay) still has its letters counted, at the next run.
    """
    # The wall clock, not advocacy.clock: tests move that one, and a watermark moved into
    # the future would leave letters sent before it uncounted.
    upto = ((now or datetime.now(UTC)) - LAG).replace(minute=0, second=0, microsecond=0)
    start = mark()
    if start is not None and upto <= start:
        advance(STEPS)  # nothing to count
        return 0
    # Claimed before anything is deleted: another run has counted, or is counting, these hours.
    if not move_mark(MARK, upto, RollupMark.upto == start):
        db.session.rollback()
        advance(STEPS)
        return 0
    since, late = None, []
    if start is not None:
        since = moment(start.date() - RECOUNT)
        late = _late_days(start, since)
        for counts in (SentCount, LatencyCount):
            db.session.execute(delete(counts).where(
                or_(counts.day >= since.date(), counts.day.in_(late))))
    counted = 0
    for dimension in DIMENSIONS:
        rows = _counts(dimension, since, upto, late)
        if dimension == "day":
            counted = sum(row["letters"] for row in rows)
        if rows:
            _add(rows)
        advance(1)
    _add_any_country(since, late)
    advance(1)
    _count_submissions(since, upto)
    advance(1)
    _count_latency(since, upto, late)
    advance(1)
    db.session.commit()
    return counted
