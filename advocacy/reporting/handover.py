"""The hand-over report: what was sent to one official or one body, to print and hand over.

Each letter is listed by its Message-ID (as in the email the office received) and a SHA-256
of its text (subject, a blank line, body, as rendered for sending), so that the office can
check the count against its inbox. The text is rendered again from the stored letter: if the
official's name or office was edited after sending, that letter's hash differs from the mail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.letters.addresses import sender_address
from advocacy.letters.compose import load, render
from advocacy.letters.emails import letter_message_id
from advocacy.letters.render import LetterRenderError
from advocacy.models import Letter, LetterStatus, Submission
from advocacy.reporting.dashboard import Filters, in_range
from advocacy.reporting.own_words import OwnWords, own_words_sent

CHUNK = 500


@dataclass(frozen=True)
class Scope:
    official_ids: list[int]
    start: date | None = None
    end: date | None = None  # included
    campaign_id: int | None = None

    def where(self, query: Any) -> Any:
        query = query.where(Letter.status == LetterStatus.SENT,
                            Letter.target_id.in_(self.official_ids))
        query = query.where(*in_range(Letter.sent_at, Filters(start=self.start, end=self.end)))
        if self.campaign_id is not None:
            query = query.where(Letter.campaign_id == self.campaign_id)
        return query


@dataclass(frozen=True)
class Summary:
    letters: int
    countries: int
    first: datetime | None
    last: datetime | None


def summary(scope: Scope) -> Summary:
    """N letters from M countries between two times, in one aggregate query."""
    letters, countries, first, last = db.session.execute(scope.where(
        select(func.count(), func.count(func.distinct(Submission.country)),
               func.min(Letter.sent_at), func.max(Letter.sent_at))
        .join(Submission, Letter.submission_id == Submission.id))).one()
    return Summary(int(letters), int(countries), _utc(first), _utc(last))


def own_words(scope: Scope) -> OwnWords:
    """The shares of these letters in their writers' own words, and of distinct ones."""
    return own_words_sent(scope.where)


def _utc(moment: datetime | None) -> datetime | None:
    """min() and max() come back without the column's type: naive on SQLite."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def letters(scope: Scope) -> Iterator[dict[str, Any]]:
    """Each letter sent, oldest first, rendered a chunk at a time (a long report streams)."""
    ids = db.session.scalars(scope.where(select(Letter.id)).order_by(Letter.sent_at, Letter.id)
                             .execution_options(yield_per=CHUNK))
    for chunk in ids.partitions(CHUNK):
        sent = {i: (at, digest) for i, at, digest in db.session.execute(
            select(Letter.id, Letter.sent_at, Letter.content_hash).where(Letter.id.in_(chunk)))}
        for row in sorted(load(list(chunk)), key=lambda r: (sent[r.id][0], r.id)):
            sender = sender_address(row.campaign_sender)
            # Kept when the letter was sent; letters sent before that was kept are rendered
            # again, which gives the same text until their writer's words are scrubbed.
            digest = sent[row.id][1]
            if digest is None:
                try:
                    digest = render(row).digest()
                except LetterRenderError:
                    digest = "(the text no longer renders)"
            yield {"id": row.id, "sent_at": sent[row.id][0], "official": row.official_key,
                   "country": row.country, "message_id": letter_message_id(row.id, sender),
                   "hash": digest}
