"""The dashboard's figures: sums over SentCount and SubmissionCount plus the letters sent,
and the submissions made or confirmed, since their watermark; indexed counts of the small
states. Nothing here loads letters into Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import func, select

from advocacy import clock
from advocacy.extensions import db
from advocacy.letters.states import SMALL
from advocacy.models import (
    Body,
    Letter,
    LetterStatus,
    Official,
    SentCount,
    Submission,
    SubmissionCount,
)
from advocacy.reporting.rollup import (
    ANY_COUNTRY,
    Watermark,
    as_date,
    day_of,
    dimension_value,
    hour_of,
    mark_upto,
    moment,
    recent,
    sent_letters,
)

VIEWS = ("day", "hour", "body", "target", "country", "language", "ref")  # the page's tables
COUNTED_BY = (*VIEWS, "campaign")  # what sent_by can count by
ROLLED_KEPT = 500  # sums of the rollup kept per app (a few kB each)
T = TypeVar("T")


@dataclass(frozen=True)
class Filters:
    campaign_id: int | None = None
    start: date | None = None  # first day, inclusive (UTC)
    end: date | None = None  # last day, inclusive
    body_id: int | None = None
    country: str = ""  # the supporter's

    def hours(self) -> Filters:
        """The hourly chart covers at most the last 7 days of the range."""
        end = self.end or clock.now().date()
        start = max(self.start or date.min, end - timedelta(days=6))
        return Filters(self.campaign_id, start, end, self.body_id, self.country)


def in_range(column: Any, filters: Filters) -> list[Any]:
    """The conditions that keep `column` within the filters' days (both ends included)."""
    conditions = []
    if filters.start:
        conditions.append(column >= moment(filters.start))
    if filters.end:
        conditions.append(column < moment(filters.end + timedelta(days=1)))
    return conditions


def _rolled(view: str, filters: Filters) -> Any:
    """The sum over SentCount for one view, grouped by its key."""
    source = {"hour": "hour", "language": "language", "ref": "ref", "target": "target"}.get(
        view, "day")
    if view != "country" and not filters.country:
        source += ANY_COUNTRY  # the same sums, a few times fewer rows
    keys: list[Any] = {  # type: ignore[assignment]
        "day": [SentCount.day], "hour": [SentCount.day, SentCount.value],
        "body": [SentCount.body_id], "country": [SentCount.country],
        "campaign": [SentCount.campaign_id],
    }.get(view, [SentCount.value])
    query = (select(*keys, func.sum(SentCount.letters)).where(SentCount.dimension == source)
             .group_by(*keys))
    if filters.campaign_id is not None:
        query = query.where(SentCount.campaign_id == filters.campaign_id)
    if filters.start:
        query = query.where(SentCount.day >= filters.start)
    if filters.end:
        query = query.where(SentCount.day <= filters.end)
    if filters.body_id is not None:
        query = query.where(SentCount.body_id == filters.body_id)
    if filters.country:
        query = query.where(SentCount.country == filters.country)
    return query


def _live(view: str, filters: Filters, since: datetime | None) -> Any:
    """The same view counted on the letters sent since the watermark (an indexed range)."""
    if view == "letters":
        query = sent_letters(Letter.id, Letter.sent_at, Official.key, Body.slug,
                             Submission.country, Submission.language,
                             func.coalesce(Submission.ref, "")).join(
                                 Body, Official.body_id == Body.id)
    else:
        keys: list[Any] = {  # type: ignore[assignment]
            "day": [day_of(Letter.sent_at)],
            "hour": [day_of(Letter.sent_at), hour_of(Letter.sent_at)],
            "body": [Official.body_id], "country": [Submission.country],
            "campaign": [Letter.campaign_id],
        }.get(view) or [dimension_value(view)]
        query = sent_letters(*keys, func.count()).group_by(*keys)
    if since is not None:
        query = query.where(recent(Letter.sent_at >= since))
    if filters.campaign_id is not None:
        query = query.where(Letter.campaign_id == filters.campaign_id)
    query = query.where(*in_range(Letter.sent_at, filters))
    if filters.body_id is not None:
        query = query.where(Official.body_id == filters.body_id)
    if filters.country:
        query = query.where(Submission.country == filters.country)
    return query


def _key(view: str, row: Any) -> Any:
    if view == "day":
        return as_date(row[0])
    if view == "hour":
        return (as_date(row[0]), str(row[1]))
    return row[0]


def sent_by(view: str, filters: Filters, at: Watermark | None = None) -> dict[Any, int]:
    """Sent letters by the view's key (a day, (day, hour), body id, country, target id,
    campaign id…)."""
    if view not in COUNTED_BY:
        raise ValueError(f"unknown view {view!r}")
    since = mark_upto(at)
    counts = dict(_rolled_sums(view, filters, since)) if since is not None else {}
    for key, n in _sums(view, _live(view, filters, since)).items():
        counts[key] = counts.get(key, 0) + n
    return counts


def _sums(view: str, query: Any) -> dict[Any, int]:
    sums: dict[Any, int] = {}
    for row in db.session.execute(query):
        key = int(row[0]) if view == "target" else _key(view, row)
        sums[key] = sums.get(key, 0) + int(row[-1] or 0)
    return sums


def _kept(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """A sum over the rollup, kept in this app until the watermark (in the key) moves: only
    then does it change."""
    cache: dict[Any, Any] = current_app.extensions.setdefault("advocacy_rollup_sums", {})
    if key in cache:
        return cache[key]  # type: ignore[no-any-return]
    # Returned from the local: another thread of this process may clear the dict meanwhile.
    value = compute()
    if len(cache) > ROLLED_KEPT:
        cache.clear()
    cache[key] = value
    return value


def _rolled_sums(view: str, filters: Filters, since: datetime) -> dict[Any, int]:
    return _kept((view, filters, since), lambda: _sums(view, _rolled(view, filters)))


def state_counts(filters: Filters, at: Watermark | None = None) -> dict[str, int]:
    """Letters by state now (campaign and body apply): the small states from an index, sent
    from the rollup."""
    query = (select(Letter.status, func.count()).where(Letter.status.in_(SMALL))
             .group_by(Letter.status))
    if filters.campaign_id is not None:
        query = query.where(Letter.campaign_id == filters.campaign_id)
    if filters.body_id is not None:
        query = query.where(Letter.target_id.in_(
            select(Official.id).where(Official.body_id == filters.body_id)))
    counts = {s.value: 0 for s in LetterStatus}
    counts.update({status: int(n) for status, n in db.session.execute(query)})
    everything = Filters(filters.campaign_id, body_id=filters.body_id)
    counts[LetterStatus.SENT] = sum(sent_by("body", everything, at).values())
    return counts


def _submissions(query: Any, filters: Filters) -> Any:
    """The query on submissions made in the filters' range, campaign, body and country."""
    if filters.campaign_id is not None:
        query = query.where(Submission.campaign_id == filters.campaign_id)
    if filters.body_id is not None:
        query = query.where(Submission.body_id == filters.body_id)
    if filters.country:
        query = query.where(Submission.country == filters.country)
    return query.where(*in_range(Submission.created_at, filters))


def _rolled_submissions(filters: Filters) -> tuple[int, int]:
    """(submitted, confirmed before the watermark) from SubmissionCount."""
    query = select(func.sum(SubmissionCount.submitted), func.sum(SubmissionCount.confirmed))
    for column, value in ((SubmissionCount.campaign_id, filters.campaign_id),
                          (SubmissionCount.body_id, filters.body_id),
                          (SubmissionCount.country, filters.country or None)):
        if value is not None:
            query = query.where(column == value)
    if filters.start:
        query = query.where(SubmissionCount.day >= filters.start)
    if filters.end:
        query = query.where(SubmissionCount.day <= filters.end)
    submitted, confirmed = db.session.execute(query).one()
    return int(submitted or 0), int(confirmed or 0)


def confirmation_rate(filters: Filters, at: Watermark | None = None) -> tuple[int, int]:
    """(confirmed, submitted): submissions made in the range, from the rollup plus those made,
    or confirmed, since its watermark (two indexed ranges)."""
    since = mark_upto(at)
    submitted = confirmed = late = 0
    made = select(func.count(), func.count(Submission.confirmed_at))
    if since is not None:  # else nothing is rolled up yet: all are counted here
        submitted, confirmed = _kept(("submissions", filters, since),
                                     lambda: _rolled_submissions(filters))
        made = made.where(recent(Submission.created_at >= since))
        late = int(db.session.scalar(_submissions(
            select(func.count()).where(recent(Submission.confirmed_at >= since),
                                       Submission.created_at < since), filters)) or 0)
    new, new_confirmed = db.session.execute(_submissions(made, filters)).one()
    return confirmed + late + int(new_confirmed), submitted + int(new)


def labels(view: str, language: str | None = None) -> dict[Any, str]:
    """Readable names for body and target keys (small tables); a group's in `language` where
    it has one, else its name (without a language: its name, as the CSV export has it)."""
    if view == "body":
        return {i: f"{language and (names or {}).get(language) or name} ({slug})"
                for i, slug, name, names
                in db.session.execute(select(Body.id, Body.slug, Body.name, Body.names))}
    if view == "target":
        return {i: f"{office} ({key})" for i, key, office
                in db.session.execute(select(Official.id, Official.key, Official.office))}
    return {}


def _days(days: Any) -> list[date]:
    """Every day from the first to the last given: a quiet day shows as a zero."""
    if not days:
        return []
    first, last = min(days), max(days)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def table(view: str, filters: Filters, at: Watermark | None = None,
          language: str | None = None) -> list[tuple[str, int]]:
    """One view as rows (label, letters): time in order, the rest largest first; groups named
    in `language` (the CSV export keeps English)."""
    counts = sent_by(view, filters.hours() if view == "hour" else filters, at)
    names = labels(view, language)
    if view == "day":
        return [(d.isoformat(), counts.get(d, 0)) for d in _days(counts)]
    if view == "hour":
        return [(f"{d.isoformat()} {h:02}:00", counts.get((d, f"{h:02}"), 0))
                for d in _days({d for d, _ in counts}) for h in range(24)]
    if view == "ref":
        names = {"": "(none)"}
    return sorted(((names.get(k, str(k)), n) for k, n in counts.items()),
                  key=lambda row: (-row[1], row[0]))


# One row per sent letter, nothing about the supporter beyond country and language.
LETTER_COLUMNS = ("letter", "sent_at", "official", "body", "supporter_country", "language",
                  "ref")


def sent_letter_rows(filters: Filters) -> Iterator[tuple[Any, ...]]:
    """Sent letters in the filters' range, read in chunks from a server-side cursor."""
    query = _live("letters", filters, None).order_by(Letter.id)
    for row in db.session.execute(query.execution_options(yield_per=2000)):
        yield tuple(row)
