"""Which offices answer: per office, of its sent letters, how many had a reply relayed to
the campaign (confirmed to come from the office, privacy.replies.authenticate, or not), and
what supporters answered when asked "did you get a reply?" (yes, no, not yet).

For the dashboard, the hand-over report and the organizers' follow-up rounds (the offices
that have not answered). Read from what stays after the retention's scrub deletes a reply
and a pasted text with its writer's data: Letter.relayed_reply and ReplyAnswer.answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select

from advocacy.extensions import db
from advocacy.letters.compose import official_label
from advocacy.models import Letter, LetterStatus, Official, ReplyAnswer, Submission
from advocacy.reporting.dashboard import Filters, in_range


@dataclass(frozen=True)
class OfficeReplies:
    """One office's figures over the letters counted."""

    target_id: int
    office: str
    letters: int  # sent
    relayed: int  # letters with a reply through the relay confirmed to come from the office
    unconfirmed: int  # letters with relayed replies none of which could be confirmed
    asked: int  # letters whose writer was asked "did you get a reply?"
    yes: int
    no: int
    not_yet: int

    @staticmethod
    def _percent(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def relayed_percent(self) -> float | None:
        return self._percent(self.relayed, self.letters)

    @property
    def yes_percent(self) -> float | None:
        """Of the answers yes or no (not yet is no answer either way)."""
        return self._percent(self.yes, self.yes + self.no)

    @property
    def answered(self) -> bool:
        """Whether the office is known to have answered: a confirmed reply, or a "yes"."""
        return bool(self.relayed or self.yes)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _rates(where: Any, language: str) -> list[OfficeReplies]:
    counts = where(
        select(Letter.target_id, func.count().label("letters"),
               _count(Letter.relayed_reply == "confirmed"),
               _count(Letter.relayed_reply == "unconfirmed"),
               _count(Submission.reply_asked_at.is_not(None)),
               _count(ReplyAnswer.answer == "yes"), _count(ReplyAnswer.answer == "no"),
               _count(ReplyAnswer.answer == "not_yet"))
        .join(Submission, Letter.submission_id == Submission.id)
        .outerjoin(ReplyAnswer, ReplyAnswer.letter_id == Letter.id)
        .group_by(Letter.target_id)).subquery()
    # One query: the offices joined to their counts (JSON columns cannot be grouped by).
    query: Select[Any] = select(Official, *list(counts.c)[1:]).join(
        counts, counts.c.target_id == Official.id)
    found = [OfficeReplies(official.id, official_label(official, language),
                           *(int(n) for n in figures))
             for official, *figures in db.session.execute(query)]
    return sorted(found, key=lambda o: (-o.letters, o.office))


def reply_rates(filters: Filters, language: str = "en") -> list[OfficeReplies]:
    """The dashboard's: letters sent in the date range (campaign, group and supporter
    country as chosen), per office."""

    def where(query: Select[Any]) -> Select[Any]:
        query = query.where(Letter.status == LetterStatus.SENT,
                            *in_range(Letter.sent_at, filters))
        if filters.campaign_id is not None:
            query = query.where(Letter.campaign_id == filters.campaign_id)
        if filters.body_id is not None:
            query = query.join(Official, Letter.target_id == Official.id).where(
                Official.body_id == filters.body_id)
        if filters.country:
            query = query.where(Submission.country == filters.country)
        return query

    return _rates(where, language)


def reply_rates_sent(where: Any, language: str = "en") -> list[OfficeReplies]:
    """The hand-over report's: the letters its scope lists (`where` is Scope.where)."""
    return _rates(where, language)


def unanswered(campaign_id: int) -> list[OfficeReplies]:
    """The campaign's offices that were sent letters and are not known to have answered."""
    return [o for o in reply_rates(Filters(campaign_id=campaign_id)) if not o.answered]
