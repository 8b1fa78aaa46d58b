"""Campaigns' public pages: viewers read them, editors write new versions, preview and roll
back, owners choose the home campaign."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from advocacy.admin import bp, requires
from advocacy.campaigns import pages
from advocacy.campaigns import settings as campaigns
from advocacy.extensions import db
from advocacy.letters.versions import DraftError, VersionConflict
from advocacy.models import Campaign, CampaignPage, Role
from advocacy.officials.files import LETTER_LANGUAGES
from advocacy.organizers.accounts import may

PAGE = "/campaigns/<slug>/page/<language>"


@bp.url_value_preprocessor
def _room_for_images(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Before CSRFProtect reads the form: the page editor's form may carry an image. Twice
    # the image limit, so that a large image gets store_image's clear message, not a 413.
    if endpoint == "admin.save_page":
        request.max_content_length = 2 * pages.IMAGE_MAX_BYTES


def _find(slug: str, language: str = "en") -> Campaign:
    """The campaign by its slug; 404 for an unknown one, or a language we do not speak."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None or language not in LETTER_LANGUAGES:
        abort(404)
    return campaign


def _editor(campaign: Campaign, language: str, draft: pages.PageDraft,
            base_version: int | None, problems: dict[str, str] | None = None,
            conflict: str | None = None, preview: bool = False) -> Any:
    shown = pages.Shown(pages.version_row(campaign, language, draft, 0, "organizer", None),
                        language, language) if preview else None
    return render_template(
        "admin/page.html", campaign=campaign, language=language, languages=LETTER_LANGUAGES,
        draft=draft, current=pages.current_page(campaign, language), base_version=base_version,
        history=pages.page_history(campaign, language), problems=problems or {},
        conflict=conflict, may_edit=may(current_user.organizer, Role.EDITOR),
        with_content=pages.languages_with_content(campaign), shown=shown,
        story=pages.story_html(draft.story) if preview else "", embed=False,
        language_names={language: language}, limits=pages.LIMITS)


def _with_upload(draft: pages.PageDraft) -> pages.PageDraft:
    """The draft with the uploaded image stored (DraftError if it is not one), or removed."""
    upload = request.files.get("image_file")
    if upload is not None and upload.filename:
        return pages.PageDraft(**{**draft.__dict__, "image": pages.store_image(upload.read())})
    if request.form.get("remove_image") == "yes":
        return pages.PageDraft(**{**draft.__dict__, "image": "", "image_alt": ""})
    return draft


@bp.get(PAGE)
@requires(Role.VIEWER)
def campaign_page(slug: str, language: str) -> Any:
    campaign = _find(slug, language)
    current = pages.current_page(campaign, language)
    draft = pages.PageDraft.of(current) if current else pages.PageDraft("", "")
    return _editor(campaign, language, draft, current.version if current else None,
                   preview=current is not None)


@bp.post(PAGE)
@requires(Role.EDITOR)
def save_page(slug: str, language: str) -> Any:
    """Save a new version, or (the Preview button) show the draft as the public page would."""
    campaign = _find(slug, language)
    draft = pages.PageDraft.from_form(request.form)
    base = request.form.get("base_version", type=int)
    try:
        draft = _with_upload(draft)
    except DraftError as exc:
        return _editor(campaign, language, draft, base, problems=exc.problems), 422
    if request.form.get("action") != "save":
        return _editor(campaign, language, draft, base, problems=pages.problems(draft),
                       preview=True)
    try:
        saved = pages.save_page(current_user.organizer, campaign, language, draft, base)
    except DraftError as exc:
        return _editor(campaign, language, draft, base, problems=exc.problems), 422
    except VersionConflict as exc:
        who = (exc.current.author or _("a file")) if exc.current else _("someone")
        message = _("Version %(version)s was saved by %(who)s since you opened this page. Your"
                    " text is below: compare it with the versions listed, then save again.",
                    version=exc.current.version if exc.current else "?", who=who)
        return _editor(campaign, language, draft,
                       exc.current.version if exc.current else None, conflict=message), 409
    flash(_("Saved as version %(version)s.", version=saved.version) if saved else
          _("Nothing changed, so no new version."))
    return redirect(url_for("admin.campaign_page", slug=slug, language=language))


@bp.post("/campaigns/page-versions/<int:page_id>/rollback")
@requires(Role.EDITOR)
def roll_back_page(page_id: int) -> Any:
    """A new version with an old one's content."""
    old = db.session.get(CampaignPage, page_id)
    if old is None:
        abort(404)
    campaign = db.session.get_one(Campaign, old.campaign_id)
    try:
        new = pages.roll_back_page(current_user.organizer, old)
    except (DraftError, VersionConflict) as exc:
        flash(_("Version %(version)s cannot come back: %(why)s", version=old.version, why=exc),
              "error")
    else:
        flash(_("Version %(old)s is back, as version %(new)s.", old=old.version, new=new.version)
              if new else
              _("Version %(version)s is already the current content.", version=old.version))
    return redirect(url_for("admin.campaign_page", slug=campaign.slug, language=old.language))


@bp.post("/campaigns/<slug>/home")
@requires(Role.OWNER)
def campaign_home(slug: str) -> Any:
    """Show this campaign on the home page, or (home=no) no campaign there."""
    campaign = _find(slug)
    home = request.form.get("home") == "yes"
    campaigns.set_home(current_user.organizer, campaign if home else None)
    flash(_("%(campaign)s is on the home page.", campaign=campaign.name) if home else
          _("No campaign is on the home page: it lists the campaigns taking letters."))
    return redirect(url_for("admin.campaign_settings", slug=slug))
