"""Held and needs-review letters: read them, release or cancel them with a reason."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from advocacy.admin import bp, requires, wording
from advocacy.letters.states import HOLD_LABELS
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
                           hold_labels=HOLD_LABELS,
                           page=moderation.PAGE)


@bp.post("/moderation")
@requires(Role.EDITOR)
def moderate() -> Any:
    ids = [int(i) for i in request.form.getlist("letter") if i.isdigit()]
    reason = request.form.get("reason", "")
    action = request.form.get("action")
    try:
        if action == "release":
            done = moderation.release(current_user.organizer, ids, reason)
            flash(wording.released(done.released), "notice" if done.released else "error")
            for sentence in wording.kept_all(done.kept):
                flash(sentence, "error")
        elif action == "cancel":
            flash(wording.cancelled(moderation.cancel(current_user.organizer, ids, reason)))
        else:
            flash(_("Choose release or cancel."), "error")
    except moderation.ModerationError as exc:
        flash(str(exc), "error")
    return redirect(request.full_path)  # the same list, the same filters
