"""The hand-over report: what was sent to one official or one body, to print and hand over.

A dossier: who asks (the campaign and the partner organisations whose supporters wrote), what
the letters ask of each office, how many came from which countries and in which languages,
the share in their writers' own words with a few of them quoted (initials and city only, and
only from writers who ticked that box), and at the end the verification appendix:

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
from advocacy.letters.asks import ask_for
from advocacy.letters.compose import load, render
from advocacy.letters.emails import letter_message_id
from advocacy.letters.render import LetterRenderError, country_name, initials
from advocacy.letters.versions import current_template
from advocacy.models import (
    Campaign,
    Letter,
    LetterStatus,
    LetterTemplate,
    Official,
    Partner,
    Submission,
)
from advocacy.reporting.dashboard import Filters, in_range
from advocacy.reporting.own_words import OwnWords, own_words_sent

CHUNK = 500
QUOTES = 8  # own words quoted in the dossier, at most


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


@dataclass(frozen=True)
class Counts:
    """The letters by the writers' country (named), by the letters' language, by partner."""

    by_country: list[tuple[str, int]]
    by_language: list[tuple[str, int]]
    by_partner: list[tuple[str, int]]


def counts(scope: Scope, language: str) -> Counts:
    """The letters counted by country, language and partner, in one grouped query; names in
    `language`, the largest first."""
    rows = db.session.execute(scope.where(
        select(Submission.country, Submission.language, Partner.name, func.count())
        .select_from(Letter).join(Submission, Letter.submission_id == Submission.id)
        .outerjoin(Partner, Partner.ref == Submission.ref)
        .group_by(Submission.country, Submission.language, Partner.name))).all()
    country: dict[str, int] = {}
    lang: dict[str, int] = {}
    partner: dict[str, int] = {}
    for code, letter_language, partner_name, n in rows:
        name = country_name(code, language) or "—"
        country[name] = country.get(name, 0) + n
        lang[letter_language] = lang.get(letter_language, 0) + n
        if partner_name:
            partner[partner_name] = partner.get(partner_name, 0) + n

    def largest(counted: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))

    return Counts(largest(country), largest(lang), largest(partner))


def asks(campaign: Campaign | None, scope: Scope, language: str) -> list[tuple[Official, str]]:
    """What the campaign's letters asked each office that got letters in the scope: the ask
    paragraph of the newest letter in the dossier's language, else in the first language the
    office reads that has one, else English."""
    if campaign is None:
        return []
    offices = db.session.scalars(select(Official).where(Official.id.in_(
        scope.where(select(Letter.target_id)).distinct())).order_by(Official.id))
    asked = []
    newest: dict[tuple[int, str], LetterTemplate | None] = {}  # read once per group, language
    for official in offices:
        for candidate in dict.fromkeys([language, *official.languages, "en"]):
            key = (official.body_id, candidate)
            if key not in newest:
                newest[key] = current_template(campaign, official.body, candidate)
            template = newest[key]
            if template is not None:
                ask = ask_for(template.asks, official.key, official.country)
                if ask:
                    asked.append((official, ask))
                break
    return asked


def quotes(scope: Scope, limit: int = QUOTES) -> list[dict[str, str]]:
    """A few writers' own paragraphs, signed with initials and city: only from writers who
    chose to be quoted, only paragraphs of their own (not a suggestion unchanged), never the
    name or address; spread over the period (every n-th of the letters that qualify)."""
    query = scope.where(
        select(Submission.id).select_from(Letter)
        .join(Submission, Letter.submission_id == Submission.id)
        .where(Submission.quote_at.is_not(None), Submission.personalised.is_(True),
               Submission.scrubbed_at.is_(None))
        .distinct())
    ids = sorted(db.session.scalars(query))
    if not ids:
        return []
    step = max(1, len(ids) // limit)
    chosen = ids[::step][:limit]
    rows = db.session.scalars(select(Submission).where(Submission.id.in_(chosen))
                              .order_by(Submission.id))
    return [{"words": r.personal_note.strip(), "signed": initials(r.name),
             "city": r.city.strip()} for r in rows if r.personal_note.strip()]


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
