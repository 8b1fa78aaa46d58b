"""Owners manage the organizers: invitations, roles, deactivation; and read the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import select

from advocacy.admin import audit_words, bp, requires
from advocacy.campaigns.partners import all_partners
from advocacy.delivery import queue
from advocacy.extensions import db
from advocacy.models import AuditEntry, Invitation, Organizer, Role
from advocacy.organizers import accounts

AUDIT_PAGE = 100


@bp.get("/organizers")
@requires(Role.OWNER)
def organizers() -> Any:
    people = db.session.scalars(select(Organizer).order_by(Organizer.email)).all()
    invitations = db.session.scalars(
        select(Invitation).where(Invitation.accepted_at.is_(None),
                                 Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc())).all()
    partners = {p.id: p for p in all_partners()}
    return render_template("admin/organizers.html", people=people, invitations=invitations,
                           roles=list(accounts.RANKS), invitable=list(accounts.INVITABLE),
                           partners=partners)


@bp.post("/organizers/invite")
@requires(Role.OWNER)
def invite() -> Any:
    try:
        invitation, token = accounts.invite(current_user.organizer, request.form.get("email", ""),
                                            request.form.get("role", ""),
                                            request.form.get("partner", type=int))
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.organizers"))
    link = f"{current_app.config['ADVOCACY_PUBLIC_URL']}/admin/invitation/{token}"
    try:
        queue.enqueue(queue.Job.SEND_INVITATION, invitation.id, link)
    except RedisError:
        flash(_("The invitation is saved but its email could not be queued: revoke it and try"
                " again when the queue is back."), "error")
    else:
        flash(_("Invitation sent to %(email)s.", email=invitation.email))
    return redirect(url_for("admin.organizers"))


def _then_back(action: Callable[[], object]) -> Any:
    """Do an account action; say why when it cannot be done; back to the list either way."""
    try:
        action()
    except accounts.AccountError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.organizers"))


@bp.post("/organizers/invitations/<int:invitation_id>/revoke")
@requires(Role.OWNER)
def revoke(invitation_id: int) -> Any:
    return _then_back(lambda: accounts.revoke_invitation(current_user.organizer, invitation_id))


@bp.post("/organizers/<int:organizer_id>/role")
@requires(Role.OWNER)
def change_role(organizer_id: int) -> Any:
    return _then_back(lambda: accounts.set_role(current_user.organizer, organizer_id,
                                                request.form.get("role", "")))


@bp.post("/organizers/<int:organizer_id>/active")
@requires(Role.OWNER)
def change_active(organizer_id: int) -> Any:
    return _then_back(lambda: accounts.set_active(current_user.organizer, organizer_id,
                                                  request.form.get("active") == "yes"))


@bp.get("/audit")
@requires(Role.OWNER)
def audit_log() -> Any:
    before = request.args.get("before", type=int)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE)
    if before:
        query = query.where(AuditEntry.id < before)
    entries = db.session.scalars(query).all()
    return render_template("admin/audit.html", entries=[audit_words.readable(e) for e in entries],
                           more=entries[-1].id if len(entries) == AUDIT_PAGE else None)
