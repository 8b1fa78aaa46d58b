"""/admin/campaigns/<slug>/follow-ups: the offices that have not answered a campaign's
letters, and dated rounds of one short follow-up each (organizers.follow_ups)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from advocacy import clock
from advocacy.admin import bp, requires, wording
from advocacy.admin.campaigns import _campaign
from advocacy.letters.versions import SOURCE_LANGUAGE
from advocacy.models import Role
from advocacy.organizers import follow_ups
from advocacy.organizers.moderation import ModerationError
from advocacy.reporting.reply_rates import unanswered


@bp.get("/campaigns/<slug>/follow-ups")
@requires(Role.VIEWER)
def follow_up_rounds(slug: str) -> Any:
    campaign = _campaign(slug)
    return render_template("admin/follow_ups.html", campaign=campaign,
                           unanswered=unanswered(campaign.id),
                           rounds=follow_ups.rounds(campaign.id), today=clock.now().date(),
                           waiting=follow_ups.waiting(campaign.id),
                           languages=follow_ups.languages(campaign), values=request.args)


@bp.post("/campaigns/<slug>/follow-ups")
@requires(Role.EDITOR)
def follow_up_start(slug: str) -> Any:
    campaign = _campaign(slug)
    try:
        day = date.fromisoformat(request.form.get("day", ""))
        started = follow_ups.start_round(current_user.organizer, campaign, day,
                                         request.form.get("subject", ""),
                                         request.form.get("text", ""),
                                         request.form.get("language", SOURCE_LANGUAGE))
        flash(ngettext("Follow-up round of %(day)s: %(num)d letter queued.",
                       "Follow-up round of %(day)s: %(num)d letters queued.",
                       len(follow_ups.rounds_letters(started.id)), day=started.day.isoformat()))
    except ValueError as exc:  # FollowUpError, or a date that is not one
        message = str(exc) if isinstance(exc, follow_ups.FollowUpError) else _(
            "Give the round's date as YYYY-MM-DD.")
        flash(message, "error")
    return redirect(url_for("admin.follow_up_rounds", slug=slug))


@bp.post("/campaigns/<slug>/follow-ups/<int:round_id>/queue")
@requires(Role.EDITOR)
def follow_up_queue_again(slug: str, round_id: int) -> Any:
    campaign = _campaign(slug)
    try:
        count = follow_ups.queue_again(current_user.organizer, campaign, round_id)
        flash(ngettext("%(num)d follow-up letter queued again.",
                       "%(num)d follow-up letters queued again.", count))
    except follow_ups.FollowUpError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.follow_up_rounds", slug=slug))


@bp.post("/campaigns/<slug>/follow-ups/waiting")
@requires(Role.EDITOR)
def follow_up_moderate(slug: str) -> Any:
    campaign = _campaign(slug)
    ids = [int(i) for i in request.form.getlist("follow_up") if i.isdigit()]
    reason, action = request.form.get("reason", ""), request.form.get("action")
    try:
        if action == "release":
            done = follow_ups.release(current_user.organizer, campaign, ids, reason)
            if done.released or not done.kept:
                flash(ngettext("%(num)d follow-up letter released.",
                               "%(num)d follow-up letters released.", done.released))
            for office in done.later:
                flash(wording.follow_ups_later(office))
            for office in done.kept:
                flash(wording.follow_ups_kept(office), "error")
        elif action == "cancel":
            count = follow_ups.cancel(current_user.organizer, campaign, ids, reason)
            flash(ngettext("%(num)d follow-up letter cancelled.",
                           "%(num)d follow-up letters cancelled.", count))
        else:
            flash(_("Choose release or cancel."), "error")
    except (ModerationError, follow_ups.FollowUpError) as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.follow_up_rounds", slug=slug))
