"""A supporter submits: the letters are stored unconfirmed and a confirmation email is queued.

No request objects and no SMTP here; the answer is the same whether or not the address
wrote before."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite

from advocacy import clock
from advocacy.campaigns.settings import refusal, taking_letters
from advocacy.crypto import lookup_hash
from advocacy.delivery import queue
from advocacy.extensions import db
from advocacy.intake.consent import notice_version
from advocacy.intake.validation import SubmissionInput
from advocacy.letters import states
from advocacy.letters.compose import label_of
from advocacy.letters.similarity import ideas, personalised
from advocacy.models import Body, Campaign, Letter, LetterTemplate, Official, Submission, Supporter
from advocacy.officials import groups
from advocacy.officials.choose import chosen
from advocacy.officials.files import office_name

log = logging.getLogger(__name__)


class SubmissionError(Exception):
    """A submission that cannot be accepted, with messages per field and an HTTP status."""

    def __init__(self, errors: dict[str, str], status: int = 422, **extra: Any) -> None:
        super().__init__(errors)
        self.errors, self.status, self.extra = errors, status, extra


@dataclass
class SubmitResult:
    """What a submission's answer may say: the same for every address (see submit)."""

    officials: list[dict[str, Any]]
    contact_only: list[dict[str, Any]] = field(default_factory=list)
    submission_id: int | None = None  # for "send the email again" only: never shown


@dataclass(frozen=True)
class Addressee:
    """What a submission needs of an official: plain values, read in one query."""

    id: int
    label: str
    email: str | None
    contact_page: str | None
    postal_address: str | None

    def contact(self) -> dict[str, Any]:
        return {"official": self.label, "contact_page": self.contact_page,
                "postal_address": self.postal_address}


@dataclass(frozen=True)
class SubmissionSetting:
    """What a submission needs to know before it writes: the campaign's state, the body, the
    newest letter in the language and the officials, read in one query (`_SETTING`)."""

    campaign_id: int
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    bodies: list[str]
    privacy_notice: str | None
    reply_to: str
    body_id: int | None
    body_slug: str | None
    by_country: bool
    body_languages: list[str]
    offered_by_default: bool
    template_id: int | None
    note_mode: str
    suggested_note: str
    officials: list[Addressee]


def _setting_query(campaign: ColumnElement[bool]) -> Select[Any]:
    """One row per official of the body (one with no official when there is none): the
    campaign's columns, the body's, the newest template's id, the official's. The campaign's
    columns repeat on every row (a body has a handful of officials): its own privacy notice,
    up to NOTICE_MAX characters, is read apart, only when it has one."""
    def newest(column: Any) -> Any:
        return (select(column)
                .where(LetterTemplate.campaign_id == Campaign.id,
                       LetterTemplate.body_id == Body.id,
                       LetterTemplate.language == bindparam("language"))
                .order_by(LetterTemplate.version.desc()).limit(1).scalar_subquery())

    return (select(Campaign.id, Campaign.status, Campaign.opens_at, Campaign.closes_at,
                   Campaign.bodies, func.length(Campaign.privacy_notice), Campaign.reply_to,
                   Body.id, Body.slug, Body.by_country, Body.languages, Body.offered,
                   newest(LetterTemplate.id), Campaign.note_mode,
                   newest(LetterTemplate.suggested_note),
                   Official.id, Official.office, Official.office_names, Official.holder,
                   Official.email, Official.contact_page, Official.postal_address)
            .select_from(Campaign)
            .outerjoin(Body, Body.slug == bindparam("body"))
            .outerjoin(Official, and_(*chosen(Body.id, Body.by_country, bindparam("country"))))
            .where(campaign)
            .order_by(Official.id))


_SETTING = {
    True: _setting_query(Campaign.slug == bindparam("slug")),
    False: _setting_query(Campaign.is_default.is_(True)),
}


def submission_setting(slug: str | None, body: str, language: str, country: str,
                       locale: str) -> SubmissionSetting | None:
    """A submission's setting, or None when the campaign does not exist. Officials are named
    in `locale`, the language of the supporter's pages."""
    rows = db.session.execute(_SETTING[bool(slug)], {
        "slug": slug, "body": body, "language": language, "country": country}).all()
    if not rows:
        return None
    first = rows[0]
    notice = (db.session.scalar(select(Campaign.privacy_notice).where(Campaign.id == first[0]))
              if first[5] else None)
    return SubmissionSetting(
        campaign_id=first[0], status=first[1], opens_at=first[2], closes_at=first[3],
        bodies=first[4] or [], privacy_notice=notice, reply_to=first[6],
        body_id=first[7], body_slug=first[8], by_country=bool(first[9]),
        body_languages=list(first[10] or []), offered_by_default=bool(first[11]),
        template_id=first[12], note_mode=first[13], suggested_note=first[14] or "",
        officials=[Addressee(id=i, label=label_of(office_name(office, names, locale), holder),
                            email=email, contact_page=page, postal_address=postal)
                   for *_, i, office, names, holder, email, page, postal in rows
                   if i is not None])


# Statements built once (building one per request costs about as much as running it), run
# as Core on the session's connection: the ORM has nothing to track for these rows, and its
# bookkeeping was a large share of a submission's CPU (measured: docs/benchmarks.md, "Intake").
def _upsert_supporter(insert_: Any) -> Any:
    # ON CONFLICT DO UPDATE (of the hash, to itself) so that the one statement returns the
    # id of a new and of a known address alike: the same statement either way (see submit).
    return insert_.on_conflict_do_update(
        index_elements=["email_hash"], set_={"email_hash": insert_.excluded.email_hash}
    ).returning(Supporter.id)


_SUPPORTER = {
    "postgresql": _upsert_supporter(postgresql.insert(Supporter)),
    "sqlite": _upsert_supporter(sqlite.insert(Supporter)),
}
_NEW_SUBMISSION = insert(cast(Table, Submission.__table__)).returning(Submission.id)


def _insert_letters(insert_: Any) -> Any:
    # One multi-row INSERT; a letter to an official this supporter already writes to is
    # skipped by the unique index (uq_letter_once_per_official), not by a read before, and
    # only the new ones come back (in no promised order, hence the target ids).
    return insert_.on_conflict_do_nothing(
        index_elements=["campaign_id", "supporter_id", "target_id"],
        index_where=text("status != 'cancelled'"),
    ).returning(Letter.target_id, Letter.id)


_NEW_LETTERS = {
    "postgresql": _insert_letters(postgresql.insert(Letter)),
    "sqlite": _insert_letters(sqlite.insert(Letter)),
}


def _check_group(setting: SubmissionSetting, slug: str, data: SubmissionInput,
                 locale: str) -> None:
    """The group is one the campaign offers; its letter language is one it takes.

    Its choices are read only when they are to be listed: the usual submission reads its
    whole setting in one query."""
    offered = (slug in setting.bodies if setting.bodies else setting.offered_by_default)
    if setting.body_id is None or not offered:
        campaign = db.session.get_one(Campaign, setting.campaign_id)
        choices = [b.slug for b in groups.offered(campaign, reachable=True)]
        raise SubmissionError({"body": _("Choose one of: %(choices)s.",
                                         choices=", ".join(choices))})
    if not groups.accepts(setting.body_languages, data.language):
        group = db.session.get_one(Body, setting.body_id)
        raise SubmissionError({"language": groups.languages_message(group, locale)})


def _check_own_words(settings: list[SubmissionSetting], note: str) -> bool:
    """Whether the paragraph is the writer's own (not any group's suggestion unchanged);
    refused when the campaign requires it."""
    # Any one of the ideas, or all of them together, taken unchanged is not one's own words.
    own = personalised(note, [text for s in settings
                              for text in (s.suggested_note, *ideas(s.suggested_note))])
    if settings[0].note_mode == "required" and not own:
        raise SubmissionError({"personal_note": _(
            "The suggested paragraph is an idea to start from: please change it into your"
            " own words.") if note.strip() else _(
            "This campaign asks every supporter for a few words of their own: please write"
            " your personal paragraph.")})
    return own


def _check_country(settings: list[SubmissionSetting], data: SubmissionInput) -> None:
    """A country of the offices is given when, and only when, a group chosen by country is."""
    by_country = any(s.by_country for s in settings)
    if by_country and not data.target_country:
        raise SubmissionError({"country": _("%(label)s is required.",
                                            label=_("Country of the offices"))})
    if not by_country and data.target_country:
        raise SubmissionError({"country": _(
            "A country is only chosen for a group of offices chosen by country.")})


def _group_label(setting: SubmissionSetting, locale: str) -> str:
    return groups.group_name(db.session.get_one(Body, setting.body_id), locale)


def _settings(data: SubmissionInput, locale: str) -> list[SubmissionSetting]:
    """The setting of each group written to, checked: the campaign takes letters, each group
    is offered, takes the language, has a letter in it and officials to write to."""
    settings: list[SubmissionSetting] = []
    several = len(data.groups()) > 1
    for slug in data.groups():
        setting = submission_setting(data.campaign, slug, data.language,
                                     data.target_country, locale)
        if setting is None:
            raise SubmissionError({"campaign": _("Unknown campaign.")}, 404)
        now = clock.now()
        if not taking_letters(setting, now):
            raise SubmissionError({"campaign": refusal(setting, now)}, 409)
        _check_group(setting, slug, data, locale)
        settings.append(setting)
    _check_country(settings, data)
    for setting in settings:
        if setting.template_id is None:
            message = (_("The letter to %(group)s is not available in this language yet.",
                         group=_group_label(setting, locale)) if several
                       else _("The letter is not available in this language yet."))
            raise SubmissionError({"language": message})
        if not setting.officials:
            field_name = "country" if setting.by_country else "body"
            raise SubmissionError({field_name: _(
                "No official of this body is set up for letters yet.")})
    return settings


def submit(data: SubmissionInput, locale: str = "en") -> SubmitResult:
    """Store a supporter's letters as unconfirmed and queue the confirmation email.

    One submission writes to every group ticked (`data.groups()`), with one confirmation
    email for them all; each group's rules hold as if it were written to alone (its
    language, its letter, its officials; one letter per official). `locale` is the language
    of the supporter's pages: their emails are written in it. The writing is one short
    transaction that starts with an INSERT: on SQLite the write lock is held from there to
    the commit, and every other writer waits for it. The unique index on letters keeps "one
    letter per supporter per official per campaign" under concurrent requests.

    The answer, and the work done before it, never depend on whether the address wrote
    before: anyone can type anyone's address, and for a supporter of a political prisoner
    "has written" is a political opinion. The same statements run, the same one email job is
    queued, and the same answer comes back; the email (delivery.send_confirmation) tells
    the inbox's owner, and only them, what was new and what they had already written.
    """
    settings = _settings(data, locale)
    # Each letter with its group's letter; a group whose offices take no email yet is left
    # to its contact pages (named in the answer), unless no group ticked takes email.
    letters = [(t, s.template_id) for s in settings for t in s.officials if t.email]
    contact_only = [t.contact() for s in settings for t in s.officials if not t.email]
    if not letters:
        raise SubmissionError(
            {"body": _("These offices take no email: send them the letter yourself, through"
                       " their contact pages or by post.")},
            contact_only=contact_only,
        )
    setting = settings[0]
    now = clock.now()
    own = _check_own_words(settings, data.personal_note)
    campaign_id, body_id = setting.campaign_id, setting.body_id
    privacy_version = notice_version(setting)

    sql = db.session.connection()
    dialect = sql.dialect.name
    # The address is stored encrypted and found by its keyed hash (crypto.py). A submission
    # whose letters were all written before keeps no letter: the confirmation job tells the
    # inbox so and removes it.
    supporter_id = sql.execute(_SUPPORTER[dialect], {
        "email": data.email, "email_hash": lookup_hash(data.email), "created_at": now,
    }).scalar_one()
    submission_id = sql.execute(_NEW_SUBMISSION, {
        "campaign_id": campaign_id, "supporter_id": supporter_id, "body_id": body_id,
        "bodies": list(data.groups()) if len(settings) > 1 else None,
        "target_country": data.target_country, "name": data.name, "city": data.city,
        "country": data.country, "language": data.language, "locale": locale,
        "personal_note": data.personal_note, "personalised": own,
        "sign_initials": data.sign_initials,
        "ref": data.ref, "consent_at": now,
        "privacy_version": privacy_version,
        "newsletter_at": now if data.newsletter else None,
        "partner_optin_at": now if data.partner_optin and data.ref else None,
        "quote_at": now if data.quote and data.personal_note.strip() else None,
        "reply_check_at": now if data.ask_reply else None,
        "created_at": now,
    }).scalar_one()
    sql.execute(_NEW_LETTERS[dialect], [
        {"campaign_id": campaign_id, "submission_id": submission_id,
         "supporter_id": supporter_id, "target_id": t.id, "template_id": template_id,
         "status": states.INITIAL, "attempts": 0, "created_at": now}
        for t, template_id in letters]).all()
    db.session.commit()

    # Mail only after the commit: if Redis is down now, `advocacy reconcile` sends it later.
    try:
        queue.enqueue_confirmation(submission_id)
    except RedisError:
        log.warning("confirmation of submission %s not queued; reconcile will", submission_id)
    return SubmitResult(officials=[{"official": t.label} for t, _template in letters],
                        contact_only=contact_only, submission_id=submission_id)
