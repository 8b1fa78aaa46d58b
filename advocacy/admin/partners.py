"""/admin: partners (editors add and edit them; each with its snippet and figures), the
campaign's own newsletter opt-ins (owners download them), and a partner account's own page."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from advocacy.admin import bp, requires
from advocacy.campaigns.partners import (
    PartnerError,
    PartnerForm,
    add_partner,
    all_partners,
    badge_snippet,
    edit_partner,
    embed_snippet,
)
from advocacy.campaigns.settings import find_campaign
from advocacy.extensions import db
from advocacy.models import Campaign, OptIn, Partner, Role, Submission
from advocacy.organizers.opt_in_export import opt_ins_csv
from advocacy.reporting.partners import campaign_figures

SHOWN_OPT_INS = 200  # on the partner's page; the download has them all


def _form() -> PartnerForm:
    return PartnerForm(name=request.form.get("name", ""), ref=request.form.get("ref", ""),
                       site_url=request.form.get("site_url", ""),
                       contact_email=request.form.get("contact_email", ""))


def _campaign(choices: list[Campaign]) -> Campaign:
    """The campaign in ?campaign=slug among `choices`, else the home one (or the first)."""
    slug = request.args.get("campaign", "")
    campaign = next((c for c in choices if c.slug == slug), None) or next(
        (c for c in choices if c.is_default), None) or (choices[0] if choices else None)
    if campaign is None:
        abort(404, _("No campaign is set up yet."))
    return campaign


def _all_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.name)))


def _csv(body: str, name: str) -> Response:
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.get("/partners")
@requires(Role.EDITOR)
def partner_list() -> Any:
    campaigns = _all_campaigns()
    campaign = _campaign(campaigns)
    return render_template("admin/partners.html", partners=all_partners(), campaign=campaign,
                           campaigns=campaigns, figures=campaign_figures(campaign.id),
                           values={}, errors={})


@bp.post("/partners")
@requires(Role.EDITOR)
def partner_add() -> Any:
    try:
        partner = add_partner(current_user.organizer, _form())
    except PartnerError as exc:
        db.session.rollback()
        campaigns = _all_campaigns()
        campaign = _campaign(campaigns)
        return render_template("admin/partners.html", partners=all_partners(),
                               campaign=campaign, campaigns=campaigns,
                               figures=campaign_figures(campaign.id),
                               values=request.form, errors=exc.errors), 422
    flash(_("Partner %(partner)s added.", partner=partner.name))
    return redirect(url_for("admin.partner_edit", partner_id=partner.id))


def _partner_page(partner: Partner, errors: dict[str, str], values: Any) -> str:
    campaigns = _all_campaigns()
    campaign = _campaign(campaigns)
    return render_template(
        "admin/partner.html", partner=partner, campaign=campaign, campaigns=campaigns,
        figures=campaign_figures(campaign.id, partner.ref).of(partner),
        snippet=embed_snippet(campaign, partner), badge=badge_snippet(campaign, partner),
        errors=errors, values=values)


@bp.get("/partners/<int:partner_id>")
@requires(Role.EDITOR)
def partner_edit(partner_id: int) -> Any:
    partner = db.get_or_404(Partner, partner_id)
    return _partner_page(partner, {}, partner)


@bp.post("/partners/<int:partner_id>")
@requires(Role.EDITOR)
def partner_save(partner_id: int) -> Any:
    partner = db.get_or_404(Partner, partner_id)
    try:
        edit_partner(current_user.organizer, partner, _form())
    except PartnerError as exc:
        db.session.rollback()
        return _partner_page(partner, exc.errors, request.form), 422
    flash(_("Saved."))
    return redirect(url_for("admin.partner_edit", partner_id=partner.id))


@bp.get("/newsletter.csv")
@requires(Role.OWNER)
def newsletter_download() -> Response:
    """The campaign's own newsletter opt-ins (no partner's), for owners."""
    campaign = find_campaign(request.args.get("campaign") or None)
    if campaign is None:
        abort(404)
    return _csv(opt_ins_csv(current_user.organizer, campaign, None),
                f"newsletter-{campaign.slug}.csv")


# --- a partner account's own page ---------------------------------------------------------

def _own_partner() -> Partner:
    """The partner the logged-in partner account speaks for (requires(Role.PARTNER) checked
    that it is one)."""
    return db.get_or_404(Partner, current_user.organizer.partner_id)


def _partner_campaigns(partner: Partner) -> list[Campaign]:
    """The campaigns a partner sees: the home one, and those its ref or its opt-ins are in."""
    came = select(Submission.campaign_id).where(Submission.ref == partner.ref)
    opted = select(OptIn.campaign_id).where(OptIn.partner_id == partner.id)
    return list(db.session.scalars(select(Campaign).where(or_(
        Campaign.is_default.is_(True), Campaign.id.in_(came), Campaign.id.in_(opted)))
        .order_by(Campaign.name)))


@bp.get("/partner")
@requires(Role.PARTNER)
def partner_home() -> Any:
    partner = _own_partner()
    campaigns = _partner_campaigns(partner)
    campaign = _campaign(campaigns)
    opt_ins = db.session.execute(
        select(OptIn.name, OptIn.email, OptIn.consented_at)
        .where(OptIn.campaign_id == campaign.id, OptIn.partner_id == partner.id,
               OptIn.withdrawn_at.is_(None))
        .order_by(OptIn.id.desc()).limit(SHOWN_OPT_INS)).all()
    return render_template(
        "admin/partner_home.html", partner=partner, campaign=campaign, campaigns=campaigns,
        figures=campaign_figures(campaign.id, partner.ref).of(partner), opt_ins=opt_ins,
        shown=SHOWN_OPT_INS, snippet=embed_snippet(campaign, partner),
        badge=badge_snippet(campaign, partner))


@bp.get("/partner/opt-ins.csv")
@requires(Role.PARTNER)
def partner_download() -> Response:
    """The partner's own opt-ins in one campaign: no one else's, nothing of the letters."""
    partner = _own_partner()
    campaign = _campaign(_partner_campaigns(partner))
    return _csv(opt_ins_csv(current_user.organizer, campaign, partner),
                f"opt-ins-{partner.ref}-{campaign.slug}.csv")
