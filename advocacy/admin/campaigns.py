"""Campaigns: list, create, copy, settings (dates, sender, limits, groups, privacy notice),
pause and resume."""

from __future__ import annotations

from typing import Any

from babel.dates import get_day_names
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from advocacy import audit, clock
from advocacy.admin import bp, requires, wording
from advocacy.campaigns import settings as campaigns
from advocacy.campaigns.limits import campaign_limits
from advocacy.extensions import db
from advocacy.models import Campaign, Role
from advocacy.officials import groups
from advocacy.officials.files import LANGUAGES
from advocacy.organizers.controls import set_paused


def _campaign(slug: str) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        abort(404)
    return campaign


def _list_page(errors: dict[str, str], values: Any, status: int = 200) -> Any:
    rows = db.session.scalars(select(Campaign).order_by(Campaign.created_at)).all()
    now = clock.now()
    return render_template("admin/campaigns.html", campaigns=rows,
                           taking={c.id: campaigns.taking_letters(c, now) for c in rows},
                           errors=errors, values=values), status


@bp.get("/campaigns")
@requires(Role.VIEWER)
def campaign_list() -> Any:
    return _list_page({}, {})


@bp.post("/campaigns")
@requires(Role.OWNER)
def campaign_create() -> Any:
    try:
        campaign = campaigns.create_campaign(current_user.organizer, request.form.get("slug", ""),
                                             request.form.get("name", ""))
    except campaigns.CampaignError as exc:
        return _list_page(exc.errors, request.form, 422)
    flash(_("Campaign %(slug)s created, paused: write its letters and settings first.",
            slug=campaign.slug))
    return redirect(url_for("admin.campaign_settings", slug=campaign.slug))


def _days() -> list[str]:
    """Monday to Sunday in the organizer's language (Babel's CLDR names)."""
    names = get_day_names("wide", locale=get_locale() or "en")
    return [str(names[day]) for day in range(7)]


def _settings_page(campaign: Campaign, errors: dict[str, str], status: int = 200) -> Any:
    limits = campaign_limits(campaign.limits)
    offered = groups.offered(campaign)
    rest = [b for b in groups.all_groups() if b not in offered]
    return render_template("admin/campaign.html", campaign=campaign, limits=limits,
                           errors=errors, form=request.form if errors else None,
                           offered=offered, groups=offered + rest,
                           reachable=groups.reachable(offered + rest), days=_days(),
                           languages=LANGUAGES), status


@bp.get("/campaigns/<slug>")
@requires(Role.VIEWER)
def campaign_settings(slug: str) -> Any:
    return _settings_page(_campaign(slug), {})


@bp.post("/campaigns/<slug>")
@requires(Role.OWNER)
def campaign_save(slug: str) -> Any:
    campaign = _campaign(slug)
    try:
        campaigns.update_campaign(current_user.organizer, campaign, request.form)
    except campaigns.CampaignError as exc:
        db.session.rollback()
        return _settings_page(campaign, exc.errors, 422)
    flash(_("Saved."))
    return redirect(url_for("admin.campaign_settings", slug=slug))


@bp.post("/campaigns/<slug>/copy")
@requires(Role.OWNER)
def campaign_copy(slug: str) -> Any:
    try:
        copy = campaigns.copy_campaign(current_user.organizer, _campaign(slug),
                                       request.form.get("slug", ""), request.form.get("name", ""))
    except campaigns.CampaignError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.campaign_settings", slug=slug))
    flash(_("Copied to %(slug)s (paused).", slug=copy.slug))
    return redirect(url_for("admin.campaign_settings", slug=copy.slug))


@bp.post("/campaigns/<slug>/sending")
@requires(Role.EDITOR)
def campaign_sending(slug: str) -> Any:
    """Pause (letters wait, held) or resume (what the pause held goes out)."""
    campaign = _campaign(slug)
    paused = request.form.get("paused") == "yes"
    # Recorded first: set_paused commits it with the change itself.
    audit.record(current_user.organizer, "pause campaign" if paused else "resume campaign",
                 campaign.slug)
    result = set_paused(campaign.slug, None, paused)
    wording.flash_pause(result, _("Paused: letters wait until you resume."))
    return redirect(url_for("admin.campaign_settings", slug=slug))
