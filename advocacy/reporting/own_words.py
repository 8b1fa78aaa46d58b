"""How many letters carried words of their writers' own, and how many of those words were
distinct: for the dashboard and the hand-over report.

Read from two figures kept when a letter was written, never from the words themselves, so
they stay true after the words are scrubbed (privacy.retention): Submission.personalised
(not empty, not a suggestion unchanged) and Letter.alike (near-identical letters to the same
office before it, within the campaign's window; 0: distinct).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select

from advocacy.extensions import db
from advocacy.models import Letter, LetterStatus, Submission
from advocacy.reporting.dashboard import Filters, in_range


@dataclass(frozen=True)
class OwnWords:
    """Of `letters` confirmed, `personalised` had a paragraph of their own; of the `counted`
    ones (their likeness known), `distinct` were like no earlier letter to their office."""

    letters: int
    personalised: int
    counted: int
    distinct: int

    @staticmethod
    def _percent(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def personalised_percent(self) -> float | None:
        return self._percent(self.personalised, self.letters)

    @property
    def distinct_percent(self) -> float | None:
        return self._percent(self.distinct, self.counted)


def _figures(where: Any) -> OwnWords:
    query: Select[Any] = where(
        select(
            func.count(),
            func.coalesce(func.sum(case((Submission.personalised.is_(True), 1), else_=0)), 0),
            func.count(Letter.alike),
            func.coalesce(func.sum(case((Letter.alike == 0, 1), else_=0)), 0),
        ).join(Submission, Letter.submission_id == Submission.id)
    )
    letters, own, counted, distinct = db.session.execute(query).one()
    return OwnWords(int(letters), int(own), int(counted), int(distinct))


def own_words(filters: Filters) -> OwnWords:
    """The dashboard's: letters confirmed in the date range (campaign, group and supporter
    country as chosen), cancelled ones aside."""

    def where(query: Select[Any]) -> Select[Any]:
        query = query.where(
            Letter.queued_at.is_not(None),
            Letter.status != LetterStatus.CANCELLED,
            *in_range(Letter.queued_at, filters),
        )
        if filters.campaign_id is not None:
            query = query.where(Letter.campaign_id == filters.campaign_id)
        if filters.body_id is not None:
            query = query.where(Submission.body_id == filters.body_id)
        if filters.country:
            query = query.where(Submission.country == filters.country)
        return query

    return _figures(where)


def own_words_sent(where: Any) -> OwnWords:
    """The hand-over report's: the letters its scope lists (`where` is Scope.where)."""
    return _figures(where)
