"""What supporters do: submit letters and confirm them. No request objects, no SMTP here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from . import queue
from .extensions import db
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
from .targets import choose_targets
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
    submission_id: int
    letters: list[dict[str, Any]]
    contact_only: list[dict[str, Any]] = field(default_factory=list)
    already_written: list[dict[str, Any]] = field(default_factory=list)


def official_label(target: Target) -> str:
    return f"{target.office} ({target.holder})" if target.holder else target.office


def contact_info(target: Target) -> dict[str, Any]:
    return {
        "official": official_label(target),
        "contact_page": target.contact_page,
        "postal_address": target.postal_address,
    }


def find_campaign(slug: str | None) -> Campaign | None:
    """The campaign by slug, or the default campaign when no slug is given."""
    if slug:
        return db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    return db.session.scalar(select(Campaign).where(Campaign.is_default.is_(True)))


def current_template(campaign: Campaign, body: Body, language: str) -> LetterTemplate | None:
    """The newest version of the letter for this campaign, body and language."""
    return db.session.scalar(
        select(LetterTemplate)
        .where(
            LetterTemplate.campaign_id == campaign.id,
            LetterTemplate.body_id == body.id,
            LetterTemplate.language == language,
        )
        .order_by(LetterTemplate.version.desc())
        .limit(1)
    )


def _supporter(email: str) -> Supporter:
    found = db.session.scalar(select(Supporter).where(Supporter.email == email))
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            found = Supporter(email=email)
            db.session.add(found)
        return found
    except IntegrityError:  # created by a concurrent request in the meantime
        return db.session.scalars(select(Supporter).where(Supporter.email == email)).one()


def submit(data: SubmissionInput) -> SubmitResult:
    """Store a supporter's letters as unconfirmed and queue the confirmation email."""
    campaign = find_campaign(data.campaign)
    if campaign is None:
        raise SubmissionError({"campaign": _("Unknown campaign.")}, 404)
    if campaign.status != CampaignStatus.OPEN:
        raise SubmissionError({"campaign": _("This campaign is not taking letters now.")}, 409)
    if campaign.bodies and data.body not in campaign.bodies:
        raise SubmissionError({"body": _("This campaign does not write to that body.")})
    body = db.session.scalar(select(Body).where(Body.slug == data.body))
    if body is None:
        raise SubmissionError({"body": _("This body has no officials set up yet.")})
    template = current_template(campaign, body, data.language)
    if template is None:
        raise SubmissionError({"language": _("The letter is not available in this language yet.")})
    officials = choose_targets(body, data.target_country)
    if not officials:
        field_name = "country" if body.slug == "gov" else "body"
        raise SubmissionError(
            {field_name: _("No official of this body is set up for letters yet.")})
    by_email = [t for t in officials if t.email]
    contact_only = [contact_info(t) for t in officials if not t.email]
    if not by_email:
        raise SubmissionError(
            {"body": _("These offices take no email yet: please write through their contact"
                       " pages.")},
            contact_only=contact_only,
        )

    supporter = _supporter(data.email)
    written = set(
        db.session.scalars(
            select(Letter.target_id).where(
                Letter.campaign_id == campaign.id,
                Letter.supporter_id == supporter.id,
                Letter.target_id.in_([t.id for t in by_email]),
                Letter.status != LetterStatus.CANCELLED,
            )
        )
    )
    fresh = [t for t in by_email if t.id not in written]
    already = [{"official": official_label(t)} for t in by_email if t.id in written]
    if not fresh:
        raise SubmissionError(
            {"body": _("You have already written to every official of this body. Thank you!")},
            409,
            already_written=already,
        )

    submission = Submission(
        campaign_id=campaign.id,
        supporter=supporter,
        body_id=body.id,
        target_country=data.target_country,
        name=data.name,
        city=data.city,
        country=data.country,
        language=data.language,
        personal_note=data.personal_note,
        ref=data.ref,
        consent_at=utcnow(),
    )
    letters = [
        Letter(
            campaign_id=campaign.id,
            submission=submission,
            supporter_id=supporter.id,
            target_id=t.id,
            template_id=template.id,
            status=LetterStatus.UNCONFIRMED,
        )
        for t in fresh
    ]
    db.session.add_all([submission, *letters])
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SubmissionError(
            {"body": _("You have already written to these officials. Thank you!")}, 409
        ) from None

    # Mail only after the commit: if Redis is down now, `advocacy reconcile` sends it later.
    try:
        queue.enqueue_confirmation(submission.id)
    except RedisError:
        log.warning("confirmation of submission %s not queued; reconcile will", submission.id)
    return SubmitResult(
        submission_id=submission.id,
        letters=[
            {"id": letter.id, "official": official_label(t), "status": letter.status}
            for letter, t in zip(letters, fresh, strict=True)
        ],
        contact_only=contact_only,
        already_written=already,
    )


STATUS_SALT = "advocacy-status"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _link(path: str, salt: str, submission_id: int) -> str:
    token = _serializer(salt).dumps(submission_id)
    return f"{current_app.config['ADVOCACY_PUBLIC_URL']}/{path}/{token}"


def _submission_for(token: str, salt: str, max_age: int | None) -> Submission:
    """The submission a signed link stands for, or ConfirmationError saying what is wrong."""
    try:
        submission_id = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ConfirmationError(
            _("This link has expired: please write your letter again.")) from None
    except BadSignature:
        raise ConfirmationError(_("This link is not valid: please copy it whole.")) from None
    submission = db.session.get(Submission, int(submission_id))
    if submission is None:
        raise ConfirmationError(_("These letters no longer exist."))
    return submission


def confirmation_link(submission_id: int) -> str:
    """The link that confirms a submission; it expires with CONFIRM_MAX_AGE."""
    return _link("confirm", CONFIRM_SALT, submission_id)


def submission_for_token(token: str) -> Submission:
    return _submission_for(token, CONFIRM_SALT, current_app.config["CONFIRM_MAX_AGE"])


def status_link(submission_id: int) -> str:
    """The supporter's private page for these letters (no expiry: it only shows states)."""
    return _link("status", STATUS_SALT, submission_id)


def submission_for_status(token: str) -> Submission:
    return _submission_for(token, STATUS_SALT, None)


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


def letter_states(submission: Submission) -> list[dict[str, Any]]:
    """Each letter of a submission with its official and state, for pages and the API."""
    rows = db.session.execute(
        select(Letter.id, Letter.status, Target)
        .join(Target, Letter.target_id == Target.id)
        .where(Letter.submission_id == submission.id)
        .order_by(Letter.id)
    )
    return [{"id": i, "official": official_label(t), "status": s} for i, s, t in rows]


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
