"""Campaigns as organizers set them up: create, copy, dates, sender, limits, the groups they
offer, notice."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any, Protocol

from email_validator import EmailNotValidError, validate_email
from flask_babel import format_datetime
from flask_babel import gettext as _
from pydantic import ValidationError
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from advocacy import audit
from advocacy.campaigns.limits import campaign_limits
from advocacy.email_reasons import email_reason
from advocacy.extensions import db
from advocacy.models import Campaign, CampaignStatus, LetterTemplate, Organizer
from advocacy.officials import groups
from advocacy.officials.files import error_message, is_country

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}$")
RATE_FIELDS = ("relay", "per_domain", "per_official_hour", "per_official_day")
NOTICE_MAX = 20_000
REPLY_MODES = ("supporter", "relay")
# Whether supporters must, should or may write a paragraph of their own (Campaign.note_mode).
NOTE_MODES = ("optional", "encouraged", "required")


class CampaignError(ValueError):
    """Settings that cannot be saved; `errors` has a message per form field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class Schedule(Protocol):
    """What says whether a campaign takes letters: a Campaign, or a row with these columns."""

    @property
    def status(self) -> str: ...
    @property
    def opens_at(self) -> datetime | None: ...
    @property
    def closes_at(self) -> datetime | None: ...


def taking_letters(campaign: Schedule, now: datetime) -> bool:
    """Open, and within its dates when it has any."""
    return (campaign.status == CampaignStatus.OPEN
            and (campaign.opens_at is None or campaign.opens_at <= now)
            and (campaign.closes_at is None or now < campaign.closes_at))


def campaign_state(campaign: Schedule, now: datetime) -> str:
    """Why a campaign takes letters or not, for its page and for refusals: "open" exactly
    when taking_letters (the one rule), else "closed", "paused" or "not_yet_open"."""
    if taking_letters(campaign, now):
        return "open"
    if campaign.status == CampaignStatus.CLOSED or (
            campaign.closes_at is not None and campaign.closes_at <= now):
        return "closed"
    if campaign.status == CampaignStatus.OPEN and campaign.opens_at is not None:
        return "not_yet_open"
    return "paused"


def refusal(campaign: Schedule, now: datetime) -> str:
    """What a supporter is told when the campaign takes no letters, in their language."""
    state = campaign_state(campaign, now)
    if state == "closed":
        return str(_("This campaign is closed: it takes no more letters."))
    if state == "not_yet_open" and campaign.opens_at is not None:
        return str(_("This campaign opens on %(date)s: letters can be written from then.",
                     date=format_datetime(campaign.opens_at, "long")))
    return str(_("This campaign is paused: it takes no letters for now."))


def set_home(actor: Organizer, campaign: Campaign | None) -> None:
    """Show this campaign on the home page (`/`), or none (`/` then lists the open ones).
    One home at most: it is the campaign the home page, /widget, /badge.svg, /embed and the
    API without a campaign mean (Campaign.is_default, which always meant that)."""
    for other in db.session.scalars(select(Campaign).where(Campaign.is_default.is_(True))):
        other.is_default = False
    db.session.flush()
    if campaign is not None:
        campaign.is_default = True
    audit.record(actor, "set home campaign", campaign.slug if campaign else "(none)")
    db.session.commit()


def open_campaigns(now: datetime) -> list[Campaign]:
    """The campaigns taking letters now, for the home page when none is chosen."""
    rows = db.session.scalars(select(Campaign).order_by(Campaign.created_at)).all()
    return [c for c in rows if taking_letters(c, now)]


def _new(slug: str, name: str) -> Campaign:
    errors = {}
    if not _SLUG.match(slug):
        errors["slug"] = _("A slug is 2 to 79 lowercase letters, digits and dashes.")
    elif db.session.scalar(select(Campaign.id).where(Campaign.slug == slug)):
        errors["slug"] = _("Another campaign has this slug.")
    if not name.strip() or len(name) > 200:
        errors["name"] = _("A name is needed (at most 200 characters).")
    if errors:
        raise CampaignError(errors)
    return Campaign(slug=slug, name=name.strip(), status=CampaignStatus.PAUSED, bodies=[],
                    limits={}, is_default=False)


def create_campaign(actor: Organizer, slug: str, name: str) -> Campaign:
    """A new campaign, paused until its letters and settings are ready."""
    campaign = _new(slug.strip(), name)
    db.session.add(campaign)
    db.session.flush()
    audit.record(actor, "create campaign", campaign.slug)
    db.session.commit()
    return campaign


def copy_campaign(actor: Organizer, source: Campaign, slug: str, name: str) -> Campaign:
    """A paused copy: settings, and the current letter of each body and language."""
    campaign = _new(slug.strip(), name)
    campaign.sender, campaign.limits = source.sender, dict(source.limits or {})
    campaign.bodies, campaign.privacy_notice = list(source.bodies or []), source.privacy_notice
    campaign.reply_to, campaign.detaining_country = source.reply_to, source.detaining_country
    campaign.resend_ambiguous, campaign.note_mode = source.resend_ambiguous, source.note_mode
    db.session.add(campaign)
    db.session.flush()
    newest = (select(LetterTemplate.body_id, LetterTemplate.language,
                     func.max(LetterTemplate.version).label("version"))
              .where(LetterTemplate.campaign_id == source.id)
              .group_by(LetterTemplate.body_id, LetterTemplate.language).subquery())
    current = db.session.scalars(select(LetterTemplate).join(
        newest, (LetterTemplate.body_id == newest.c.body_id)
        & (LetterTemplate.language == newest.c.language)
        & (LetterTemplate.version == newest.c.version))
        .where(LetterTemplate.campaign_id == source.id)).all()
    for t in current:
        db.session.add(LetterTemplate(
            campaign_id=campaign.id, body_id=t.body_id, language=t.language, version=1,
            subject=t.subject, subject_variants=list(t.subject_variants or []), text=t.text,
            default_salutation=t.default_salutation, suggested_note=t.suggested_note,
            origin="organizer", content_hash=t.content_hash, author=actor.email))
    audit.record(actor, "copy campaign", campaign.slug, source=source.slug,
                 letters=len(current))
    db.session.commit()
    return campaign


def _when(value: str, field: str, errors: dict[str, str]) -> datetime | None:
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=UTC)
    except ValueError:
        errors[field] = _("A date and time such as 2026-12-01T09:00 (UTC).")
        return None


def _limits(form: MultiDict[str, str], errors: dict[str, str]) -> dict[str, Any] | None:
    """The rate-limit fields as stored settings; an empty rate switches that limit off."""
    settings: dict[str, Any] = {f: (form.get(f, "").strip() or None) for f in RATE_FIELDS}
    domains = {}
    for number, line in enumerate(form.get("domains", "").splitlines(), start=1):
        if not line.strip():
            continue
        domain, sep, rate = line.partition("=")
        if not sep:
            errors["domains"] = _("Line %(number)s: write domain = rate, e.g. example.org ="
                                  " 5/minute.", number=number)
            return None
        domains[domain.strip()] = rate.strip()
    settings["domains"] = domains
    if form.get("window_on") == "yes":
        settings["window"] = {"start": form.get("window_start", ""),
                              "end": form.get("window_end", ""),
                              "days": [int(d) for d in form.getlist("window_days") if d.isdigit()]}
    else:
        settings["window"] = None
    settings["digest_at"] = form.get("digest_at", "") or time(20, 0).isoformat()
    # Near-identical letters: an empty count switches the routing to the digest off.
    for name in ("similar_after", "similar_window", "similar_threshold"):
        settings[name] = form.get(name, "").strip() or None
    if settings["similar_window"] is None:
        del settings["similar_window"]
    if settings["similar_threshold"] is None:
        del settings["similar_threshold"]
    try:
        campaign_limits(settings)
    except ValidationError as exc:
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "limits"
            field = "window" if field == "window" else field
            errors.setdefault(field, error_message(problem))
        return None
    return settings


def update_campaign(actor: Organizer, campaign: Campaign, form: MultiDict[str, str]) -> None:
    """Save the settings form, or raise CampaignError with a message per field."""
    errors: dict[str, str] = {}
    name = form.get("name", "").strip()
    if not name or len(name) > 200:
        errors["name"] = _("A name is needed (at most 200 characters).")
    sender = form.get("sender", "").strip()
    if sender:
        try:
            sender = validate_email(sender, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors["sender"] = email_reason(str(exc))
    opens, closes = _when(form.get("opens_at", ""), "opens_at", errors), \
        _when(form.get("closes_at", ""), "closes_at", errors)
    if opens and closes and closes <= opens:
        errors["closes_at"] = _("The campaign must close after it opens.")
    bodies = chosen_groups(form, errors)
    notice = form.get("privacy_notice", "").replace("\r\n", "\n").strip()
    if len(notice) > NOTICE_MAX:
        errors["privacy_notice"] = _("At most %(max)s characters.", max=NOTICE_MAX)
    reply_to = form.get("reply_to", "supporter")
    if reply_to not in REPLY_MODES:
        errors["reply_to"] = _("Choose the supporter or the relay.")
    detaining = form.get("detaining_country", "").strip().upper()
    if detaining and not is_country(detaining):
        errors["detaining_country"] = _("A two-letter country code such as RU, or nothing.")
    note_mode = form.get("note_mode", "optional")
    if note_mode not in NOTE_MODES:
        errors["note_mode"] = _("Choose optional, encouraged or required.")
    limits = _limits(form, errors)
    if errors or limits is None:
        raise CampaignError(errors or {"limits": _("Check the limits.")})
    before = {"name": campaign.name, "sender": campaign.sender, "bodies": campaign.bodies,
              "opens_at": str(campaign.opens_at), "closes_at": str(campaign.closes_at),
              "limits": campaign.limits, "notice changed": False,
              "reply_to": campaign.reply_to, "detaining_country": campaign.detaining_country,
              "resend_ambiguous": campaign.resend_ambiguous, "note_mode": campaign.note_mode}
    campaign.name, campaign.sender = name, sender or None
    campaign.opens_at, campaign.closes_at = opens, closes
    # The groups offered by default, in their order, are stored as none: a group organizers
    # add later and offer by default then reaches this campaign too.
    by_default = [b.slug for b in groups.all_groups() if b.offered]
    campaign.bodies = [] if bodies == by_default else bodies
    before["notice changed"] = (campaign.privacy_notice or "") != notice
    campaign.privacy_notice = notice or None
    campaign.limits = limits
    campaign.reply_to, campaign.detaining_country = reply_to, detaining
    campaign.resend_ambiguous = form.get("resend_ambiguous") == "yes"
    campaign.note_mode = note_mode
    audit.record(actor, "change campaign", campaign.slug, before=before)
    db.session.commit()


def chosen_groups(form: MultiDict[str, str], errors: dict[str, str]) -> list[str]:
    """The groups ticked (`bodies`), in the order of their `position-<slug>` numbers (ties and
    blanks keep the order the form listed them in)."""
    known = groups.known_slugs()
    ticked = list(dict.fromkeys(b for b in form.getlist("bodies") if b in known))
    order: dict[str, int] = {}
    for slug in ticked:
        typed = form.get(f"position-{slug}", "").strip()
        if not typed:
            continue
        if not re.fullmatch(r"-?\d{1,4}", typed):
            errors["bodies"] = _("The position of %(group)s must be a whole number, such as 1.",
                                 group=slug)
            continue
        order[slug] = int(typed)
    if not ticked:
        errors["bodies"] = _("Offer at least one group.")
    last = max(order.values(), default=0) + 1
    return sorted(ticked, key=lambda slug: order.get(slug, last))


def find_campaign(slug: str | None) -> Campaign | None:
    """The campaign by slug, or the default campaign when no slug is given."""
    if slug:
        return db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    return db.session.scalar(select(Campaign).where(Campaign.is_default.is_(True)))
