"""Partners: the organisations that embed a campaign, each known by the `ref` its pages pass.

A partner is a record organizers add and edit; its ref ties it to the submissions that came
through its pages (Submission.ref), to its figures and to the supporters who opted in to hear
from it (OptIn). Partners belong to no one campaign: one organisation may embed several.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select

from advocacy import audit
from advocacy.email_reasons import email_reason
from advocacy.extensions import db
from advocacy.models import Campaign, Organizer, Partner

# The same rule as intake.validation.valid_ref (a layer above this one): what pages pass.
_REF = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
NAME_MAX = 200


class PartnerError(ValueError):
    """A partner that cannot be saved; `errors` has a message per form field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class PartnerForm:
    """What the admin form sends, as typed."""

    name: str
    ref: str
    site_url: str
    contact_email: str


def _checked(form: PartnerForm, partner_id: int | None) -> PartnerForm:
    errors: dict[str, str] = {}
    name = " ".join(form.name.split())
    if not name or len(name) > NAME_MAX:
        errors["name"] = _("A name is needed (at most %(max)s characters).", max=NAME_MAX)
    ref = form.ref.strip()
    if not _REF.match(ref):
        errors["ref"] = _("A ref is 1 to 80 lowercase letters, digits and dashes.")
    elif db.session.scalar(select(Partner.id).where(Partner.ref == ref,
                                                    Partner.id != (partner_id or 0))):
        errors["ref"] = _("Another partner has this ref.")
    site = form.site_url.strip()
    parts = urlsplit(site)
    if site and (parts.scheme not in ("http", "https") or not parts.netloc or len(site) > 500):
        errors["site_url"] = _("The site is an http:// or https:// address (or left empty).")
    contact = form.contact_email.strip()
    if contact:
        try:
            contact = validate_email(contact, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors["contact_email"] = email_reason(str(exc))
    if errors:
        raise PartnerError(errors)
    return PartnerForm(name=name, ref=ref, site_url=site, contact_email=contact)


def add_partner(by: Organizer, form: PartnerForm) -> Partner:
    checked = _checked(form, None)
    partner = Partner(name=checked.name, ref=checked.ref, site_url=checked.site_url,
                      contact_email=checked.contact_email)
    db.session.add(partner)
    audit.record(by, "add partner", checked.ref, name=checked.name)
    db.session.commit()
    return partner


def edit_partner(by: Organizer, partner: Partner, form: PartnerForm) -> Partner:
    """Save the partner's fields. A changed ref is audited: past submissions keep the old one
    (it is what their pages sent), so the partner's figures start again from the new one."""
    checked = _checked(form, partner.id)
    changed = {field: {"before": getattr(partner, field), "after": getattr(checked, field)}
               for field in ("name", "ref", "site_url", "contact_email")
               if getattr(partner, field) != getattr(checked, field)}
    for field, change in changed.items():
        setattr(partner, field, change["after"])
    if changed:
        audit.record(by, "edit partner", partner.ref, changes=changed)
    db.session.commit()
    return partner


def all_partners() -> list[Partner]:
    return list(db.session.scalars(select(Partner).order_by(Partner.name, Partner.id)))


def partner_for_ref(ref: str | None) -> Partner | None:
    """The partner whose pages pass this ref, if one is recorded."""
    if not ref:
        return None
    return db.session.scalar(select(Partner).where(Partner.ref == ref))


def _base() -> str:
    return str(current_app.config["ADVOCACY_PUBLIC_URL"])


def widget_url(campaign: Campaign, partner: Partner, language: str = "en") -> str:
    """The campaign's form for a partner's frame, at the campaign's own address, counted
    for the partner."""
    return _widget_url(campaign, partner.ref, language)


def _widget_url(campaign: Campaign, ref: str, language: str) -> str:
    query = urlencode({"ref": ref, "lang": language})
    return f"{_base()}/c/{quote(campaign.slug)}/widget?{query}"


# The frame's height before its page says how tall it is (static/widget.js), and for good
# when a partner's site drops the script: the form's first fields and the letter's start.
FRAME_HEIGHT = "min(90vh, 56rem)"

# Sets the frame's height to what the widget reports. It takes a message only from our
# origin and from this very frame (a page may hold several), and only a sane height.
_RESIZE = Markup('addEventListener("message",function(e){{var f=document.getElementById("{id}");'
           'if(f&&e.origin==="{origin}"&&e.source===f.contentWindow&&e.data'
           '&&e.data.advocacyHeight>0&&e.data.advocacyHeight<30000)'
           '{{f.style.height=Math.ceil(e.data.advocacyHeight)+"px"}}}});')


def frame_snippet(campaign: Campaign, ref: str, language: str = "en") -> Markup:
    """The iframe to paste, with the few lines of script that size it to its content; the
    script is inline so that a partner pastes one thing and loads nothing from us but the
    frame. Escaped here, shown as text by the caller."""
    parts = urlsplit(_base())
    frame_id = f"advocacy-{campaign.slug}-{ref}"[:120]
    # Markup.format escapes the values (a slug, a ref and our origin hold nothing it changes).
    script = _RESIZE.format(id=frame_id, origin=f"{parts.scheme}://{parts.netloc}")
    return Markup(
        '<iframe id="{id}" src="{src}" title="{title}"'
        ' style="width:100%;max-width:42rem;height:{height};border:0"></iframe>\n'
        '<script>{script}</script>'
    ).format(id=frame_id, src=_widget_url(campaign, ref, language), title=campaign.name,
             height=FRAME_HEIGHT, script=script)


def embed_snippet(campaign: Campaign, partner: Partner, language: str = "en") -> Markup:
    """The iframe a partner pastes on its page, with its resizing script."""
    return frame_snippet(campaign, partner.ref, language)


def badge_snippet(campaign: Campaign, partner: Partner, language: str = "en") -> Markup:
    """The counter of delivered letters, linked to the partner's form."""
    query = urlencode({"lang": language})
    return Markup('<a href="{site}"><img src="{src}" alt="{alt}" height="20"></a>').format(
        site=partner.site_url or widget_url(campaign, partner, language),
        src=f"{_base()}/c/{quote(campaign.slug)}/badge.svg?{query}", alt=escape(campaign.name))
