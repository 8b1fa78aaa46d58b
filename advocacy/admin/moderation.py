"""Held and needs-review letters: read them, release or cancel them with a reason."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request
from flask_login import current_user

from advocacy.admin import bp, requires
from advocacy.models import HoldReason, Role
from advocacy.organizers import moderation


@bp.get("/moderation")
@requires(Role.VIEWER)
def moderation_list() -> Any:
    filters = moderation.Filters(status=request.args.get("status", ""),
                                 reason=request.args.get("reason", ""),
                                 official_key=request.args.get("official", ""))
    letters = moderation.waiting_letters(filters)
    return render_template("admin/moderation.html", letters=letters, filters=filters,
                           counts=moderation.waiting_counts(), reasons=list(HoldReason),
                           page=moderation.PAGE)


@bp.post("/moderation")
@requires(Role.EDITOR)
def moderate() -> Any:
    ids = [int(i) for i in request.form.getlist("letter") if i.isdigit()]
    reason = request.form.get("reason", "")
    action = request.form.get("action")
    try:
        if action == "release":
            flash(f"{moderation.release(current_user.organizer, ids, reason)} letters released.")
        elif action == "cancel":
            flash(f"{moderation.cancel(current_user.organizer, ids, reason)} letters cancelled.")
        else:
            flash("Choose release or cancel.", "error")
    except moderation.ModerationError as exc:
        flash(str(exc), "error")
    return redirect(request.full_path)  # the same list, the same filters
