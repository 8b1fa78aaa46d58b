"""What supporters do: submit letters and confirm them. No request objects, no SMTP here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from redis.exceptions import RedisError
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from . import queue
from .campaigns import taking_letters
from .crypto import lookup_hash
from .extensions import db
from .mail import sender_address
from .models import (
    Body,
    Campaign,
    CampaignStatus,
    HoldReason,
    Letter,
    LetterStatus,
    LetterTemplate,
    Submission,
    Supporter,
    Target,
    utcnow,
)
from .privacy import notice_version
from .retention import forgotten
from .targets import chosen, office_name
from .validation import SubmissionInput

log = logging.getLogger(__name__)
CONFIRM_SALT = "advocacy-confirm"


class SubmissionError(Exception):
    """A submission that cannot be accepted, with messages per field and an HTTP status."""

    def __init__(self, errors: dict[str, str], status: int = 422, **extra: Any) -> None:
        super().__init__(errors)
        self.errors, self.status, self.extra = errors, status, extra


class ConfirmationError(Exception):
    """A confirmation link that is invalid or expired."""


@dataclass
class SubmitResult:
    """What a submission's answer may say: the same for every address (see submit)."""

    officials: list[dict[str, Any]]
    contact_only: list[dict[str, Any]] = field(default_factory=list)


def label_of(office: str, holder: str) -> str:
    return f"{office} ({holder})" if holder else office


def official_label(target: Target, language: str = "en") -> str:
    """The office in the language (English when it has no name in it), and who holds it."""
    return label_of(office_name(target.office, target.office_names, language), target.holder)


def official_data(target: Target, language: str) -> dict[str, Any]:
    """What a letter's template sees of an official, the office named in the letter's language."""
    return {"office": office_name(target.office, target.office_names, language),
            "holder": target.holder, "country": target.country,
            "salutations": target.salutations}


def envelope(campaign: Campaign, target: Target, language: str,
             supporter_name: str) -> dict[str, str]:
    """The To and From lines of a letter, as the official's mail program shows them."""
    sender = sender_address(campaign.sender)
    office = office_name(target.office, target.office_names, language)
    return {"to": f"{office} <{target.email}>" if target.email else "",
            "from": f"{supporter_name} via {campaign.name} <{sender}>"}


def find_campaign(slug: str | None) -> Campaign | None:
    """The campaign by slug, or the default campaign when no slug is given."""
    if slug:
        return db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    return db.session.scalar(select(Campaign).where(Campaign.is_default.is_(True)))


def _newest_template(campaign_id: int, body_id: int, language: str
                     ) -> Select[LetterTemplate]:
    return (
        select(LetterTemplate)
        .where(
            LetterTemplate.campaign_id == campaign_id,
            LetterTemplate.body_id == body_id,
            LetterTemplate.language == language,
        )
        .order_by(LetterTemplate.version.desc())
        .limit(1)
    )


def current_template(campaign: Campaign, body: Body, language: str) -> LetterTemplate | None:
    """The newest version of the letter for this campaign, body and language."""
    return db.session.scalar(_newest_template(campaign.id, body.id, language))


@dataclass(frozen=True)
class Official:
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
    template_id: int | None
    officials: list[Official]


def _setting_query(campaign: ColumnElement[bool]) -> Select[Any]:
    """One row per official of the body (one with no official when there is none): the
    campaign's columns, the body's, the newest template's id, the official's. The campaign's
    columns repeat on every row (a body has a handful of officials): its own privacy notice,
    up to NOTICE_MAX characters, is read apart, only when it has one."""
    newest = (select(LetterTemplate.id)
              .where(LetterTemplate.campaign_id == Campaign.id,
                     LetterTemplate.body_id == Body.id,
                     LetterTemplate.language == bindparam("language"))
              .order_by(LetterTemplate.version.desc()).limit(1).scalar_subquery())
    return (select(Campaign.id, Campaign.status, Campaign.opens_at, Campaign.closes_at,
                   Campaign.bodies, func.length(Campaign.privacy_notice), Campaign.reply_to,
                   Body.id, Body.slug, newest,
                   Target.id, Target.office, Target.office_names, Target.holder, Target.email,
                   Target.contact_page, Target.postal_address)
            .select_from(Campaign)
            .outerjoin(Body, Body.slug == bindparam("body"))
            .outerjoin(Target, and_(*chosen(Body.id, Body.slug, bindparam("country"))))
            .where(campaign)
            .order_by(Target.id))


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
        body_id=first[7], body_slug=first[8], template_id=first[9],
        officials=[Official(id=i, label=label_of(office_name(office, names, locale), holder),
                            email=email, contact_page=page, postal_address=postal)
                   for *_, i, office, names, holder, email, page, postal in rows
                   if i is not None])


# Statements built once (building one per request costs about as much as running it), run
# as Core on the session's connection: the ORM has nothing to track for these rows
# (bench/intake.py: 4.6 ms of CPU per submission with the ORM, 1.3 ms like this).
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


def submit(data: SubmissionInput, locale: str = "en") -> SubmitResult:
    """Store a supporter's letters as unconfirmed and queue the confirmation email.

    `locale` is the language of the supporter's pages: their emails are written in it. The
    writing is one short transaction that starts with an INSERT: on SQLite the write lock is
    held from there to the commit, and every other writer waits for it. The unique index on
    letters keeps "one letter per supporter per official per campaign" under concurrent
    requests.

    The answer, and the work done before it, never depend on whether the address wrote
    before: anyone can type anyone's address, and for a supporter of a political prisoner
    "has written" is a political opinion. The same statements run, the same one email job is
    queued, and the same answer comes back; the email (delivery.send_confirmation) tells
    the inbox's owner, and only them, what was new and what they had already written.
    """
    setting = submission_setting(data.campaign, data.body, data.language, data.target_country,
                                 locale)
    if setting is None:
        raise SubmissionError({"campaign": _("Unknown campaign.")}, 404)
    now = utcnow()
    if not taking_letters(setting, now):
        raise SubmissionError({"campaign": _("This campaign is not taking letters now.")}, 409)
    if setting.bodies and data.body not in setting.bodies:
        raise SubmissionError({"body": _("This campaign does not write to that body.")})
    if setting.body_id is None:
        raise SubmissionError({"body": _("This body has no officials set up yet.")})
    template_id = setting.template_id
    if template_id is None:
        raise SubmissionError({"language": _("The letter is not available in this language yet.")})
    officials = setting.officials
    if not officials:
        field_name = "country" if setting.body_slug == "gov" else "body"
        raise SubmissionError(
            {field_name: _("No official of this body is set up for letters yet.")})
    by_email = [t for t in officials if t.email]
    contact_only = [t.contact() for t in officials if not t.email]
    if not by_email:
        raise SubmissionError(
            {"body": _("These offices take no email yet: please write through their contact"
                       " pages.")},
            contact_only=contact_only,
        )
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
        "target_country": data.target_country, "name": data.name, "city": data.city,
        "country": data.country, "language": data.language, "locale": locale,
        "personal_note": data.personal_note, "sign_initials": data.sign_initials,
        "ref": data.ref, "consent_at": now,
        "privacy_version": privacy_version,
        "newsletter_at": now if data.newsletter else None, "created_at": now,
    }).scalar_one()
    sql.execute(_NEW_LETTERS[dialect], [
        {"campaign_id": campaign_id, "submission_id": submission_id,
         "supporter_id": supporter_id, "target_id": t.id, "template_id": template_id,
         "status": LetterStatus.UNCONFIRMED, "attempts": 0, "created_at": now}
        for t in by_email]).all()
    db.session.commit()

    # Mail only after the commit: if Redis is down now, `advocacy reconcile` sends it later.
    try:
        queue.enqueue_confirmation(submission_id)
    except RedisError:
        log.warning("confirmation of submission %s not queued; reconcile will", submission_id)
    return SubmitResult(officials=[{"official": t.label} for t in by_email],
                        contact_only=contact_only)


STATUS_SALT = "advocacy-status"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _link(path: str, salt: str, row_id: int) -> str:
    token = _serializer(salt).dumps(row_id)
    return f"{current_app.config['ADVOCACY_PUBLIC_URL']}/{path}/{token}"


def _signed_id(token: str, salt: str, max_age: int | None, expired: str) -> int:
    """The id a signed link stands for, or ConfirmationError saying what is wrong."""
    try:
        return int(_serializer(salt).loads(token, max_age=max_age))
    except SignatureExpired:
        raise ConfirmationError(expired) from None
    except (BadSignature, ValueError, TypeError):
        raise ConfirmationError(_("This link is not valid: please copy it whole.")) from None


def _submission_for(token: str, salt: str, max_age: int | None) -> Submission:
    submission_id = _signed_id(token, salt, max_age,
                               _("This link has expired: please write your letter again."))
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        raise ConfirmationError(_("These letters no longer exist."))
    return submission


DATA_SALT = "advocacy-my-data"
DATA_LINK_MAX_AGE = 2 * 24 * 3600


def data_link(supporter_id: int) -> str:
    """The supporter's page to download or erase their data; valid two days."""
    return _link("my-data", DATA_SALT, supporter_id)


def supporter_for_data_token(token: str) -> Supporter:
    supporter_id = _signed_id(token, DATA_SALT, DATA_LINK_MAX_AGE,
                              _("This link has expired: ask for a new one."))
    supporter = db.session.get(Supporter, supporter_id)
    if supporter is None:
        raise ConfirmationError(_("This link is not valid: please copy it whole."))
    return supporter


def confirmation_link(submission_id: int) -> str:
    """The link that confirms a submission; it expires with CONFIRM_MAX_AGE."""
    return _link("confirm", CONFIRM_SALT, submission_id)


def submission_for_token(token: str) -> Submission:
    return _submission_for(token, CONFIRM_SALT, current_app.config["CONFIRM_MAX_AGE"])


def status_link(submission_id: int) -> str:
    """The supporter's private page for these letters; it lives as long as their data."""
    return _link("status", STATUS_SALT, submission_id)


def submission_for_status(token: str) -> Submission:
    """The submission a status link stands for, while its personal data is kept: the link
    dies when the purge or an erasure scrubs it, or once it is past the retention period."""
    submission = _submission_for(token, STATUS_SALT, None)
    if forgotten(submission.id):
        raise ConfirmationError(_("This link has expired: the details of these letters were"
                                  " deleted, as the privacy notice says."))
    return submission


def confirm(token: str) -> Submission:
    """Move a submission's unconfirmed letters to queued, then enqueue them."""
    submission = submission_for_token(token)
    now = utcnow()
    ids = list(
        db.session.scalars(
            select(Letter.id).where(
                Letter.submission_id == submission.id, Letter.status == LetterStatus.UNCONFIRMED
            )
        )
    )
    if ids:
        db.session.execute(
            update(Letter)
            .where(Letter.id.in_(ids), Letter.status == LetterStatus.UNCONFIRMED)
            .values(status=LetterStatus.QUEUED, queued_at=now)
        )
    submission.confirmed_at = submission.confirmed_at or now
    db.session.commit()
    if ids:
        try:
            queue.enqueue_letters(ids)
        except RedisError:
            log.warning("letters of submission %s not queued; reconcile will", submission.id)
    return submission


def letter_states(submission: Submission, language: str) -> list[dict[str, Any]]:
    """Each letter of a submission with its official and state, for pages and the API."""
    rows = db.session.execute(
        select(Letter.id, Letter.status, Target)
        .join(Target, Letter.target_id == Target.id)
        .where(Letter.submission_id == submission.id)
        .order_by(Letter.id)
    )
    return [{"id": i, "official": official_label(t, language), "status": s}
            for i, s, t in rows]


def _campaign_or_error(slug: str | None) -> Campaign:
    campaign = find_campaign(slug)
    if campaign is None:
        raise LookupError(f"no campaign {slug!r}" if slug else "no default campaign: run init")
    return campaign


def _target_or_error(key: str) -> Target:
    target = db.session.scalar(select(Target).where(Target.key == key))
    if target is None:
        raise LookupError(f"no official with key {key!r}")
    return target


def set_paused(campaign_slug: str | None, official_key: str | None, paused: bool) -> dict[str, Any]:
    """Pause or resume a campaign or one official; resuming re-queues what the pause held."""
    held = select(Letter.id).where(Letter.status == LetterStatus.HELD,
                                   Letter.hold_reason == HoldReason.PAUSED)
    if official_key:
        target = _target_or_error(official_key)
        target.paused = paused
        held = held.where(Letter.target_id == target.id)
        what = {"official": target.key}
    else:
        campaign = _campaign_or_error(campaign_slug)
        campaign.status = CampaignStatus.PAUSED if paused else CampaignStatus.OPEN
        held = held.where(Letter.campaign_id == campaign.id)
        what = {"campaign": campaign.slug}
    released: list[int] = []
    if not paused:
        released = list(db.session.scalars(held))
        if released:
            db.session.execute(
                update(Letter)
                .where(Letter.id.in_(released), Letter.status == LetterStatus.HELD)
                .values(status=LetterStatus.QUEUED, hold_reason=None, not_before=None)
            )
    db.session.commit()
    if released:
        queue.enqueue_letters(released)
    return {**what, "paused": paused, "released": len(released)}


def set_limits(campaign_slug: str | None, settings: dict[str, Any] | None) -> dict[str, Any]:
    """Show a campaign's limits, or replace its settings (validated) and show the result."""
    from .ratelimit import campaign_limits

    campaign = _campaign_or_error(campaign_slug)
    if settings is not None:
        campaign_limits(settings)  # raises with the reason when a value is wrong
        campaign.limits = settings
        db.session.commit()
    return {"campaign": campaign.slug,
            "limits": campaign_limits(campaign.limits).model_dump(mode="json")}


def set_digest(official_key: str, on: bool) -> None:
    """The organizer's choice for an official: past the daily cap, one digest instead."""
    _target_or_error(official_key).digest = on
    db.session.commit()
