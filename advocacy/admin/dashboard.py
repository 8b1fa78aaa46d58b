"""/admin: the dashboard; every view also as a streamed CSV; failed letters retried."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_template,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from advocacy.admin import bp, requires
from advocacy.csv_safety import InertWriter
from advocacy.extensions import db
from advocacy.models import Body, Campaign, Official, Role
from advocacy.organizers import moderation
from advocacy.reporting import dashboard, handover, stuck
from advocacy.reporting.charts import bar_chart
from advocacy.reporting.dashboard import Filters
from advocacy.reporting.own_mail import sent_themselves
from advocacy.reporting.rollup import Watermark, steady

TITLES = {"day": "Sent per day (UTC)", "hour": "Sent per hour (the last 7 days of the range, UTC)",
          "body": "Sent per group", "target": "Sent per official",
          "country": "Sent per supporter country", "language": "Sent per language",
          "ref": "Sent per partner (ref)"}


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def chosen_filters() -> tuple[Filters, Campaign | None]:
    """The filters in the query string; unknown values are ignored (so: no filter)."""
    campaign = db.session.scalar(select(Campaign).where(
        Campaign.slug == request.args.get("campaign", "")))
    body_id = db.session.scalar(select(Body.id).where(Body.slug == request.args.get("body", "")))
    country = request.args.get("country", "").strip().upper()
    return Filters(campaign.id if campaign else None, _day("from"), _day("to"), body_id,
                   country if len(country) == 2 and country.isalpha() else ""), campaign


@bp.get("/")
@requires(Role.VIEWER)
def index() -> Any:
    filters, campaign = chosen_filters()

    def figures(at: Watermark) -> tuple[dict[str, Any], tuple[int, int], dict[str, int]]:
        return ({view: dashboard.table(view, filters, at) for view in dashboard.VIEWS},
                dashboard.confirmation_rate(filters, at), dashboard.state_counts(filters, at))

    # Every figure on one reading of the watermark (and once more if a roll-up moved it).
    tables, (confirmed, submitted), states = steady(figures)
    own_mail, by_hand = sent_themselves(filters)
    caps_for = campaign or db.session.scalar(select(Campaign).where(Campaign.is_default))
    return render_template(
        "admin/index.html", filters=filters, args=request.args, titles=TITLES, tables=tables,
        charts={"day": bar_chart(tables["day"]), "hour": bar_chart(tables["hour"], every=24)},
        states=states, confirmed=confirmed, submitted=submitted,
        own_mail=own_mail, by_hand=by_hand,
        queue=stuck.queue_state(filters.campaign_id),
        undecided=stuck.undecided(filters.campaign_id), complaints=stuck.complaints(),
        reasons=stuck.failure_reasons(filters.campaign_id),
        failures=stuck.failures(filters.campaign_id),
        near_caps=stuck.near_caps(caps_for) if caps_for else [],
        campaigns=db.session.scalars(select(Campaign).order_by(Campaign.name)).all(),
        bodies=db.session.scalars(select(Body).order_by(Body.name)).all())


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV text a line at a time, so a long export never sits in memory."""
    buffer = io.StringIO()
    writer = InertWriter(buffer)  # no cell runs as a formula (advocacy/csv_safety.py)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 16_384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@bp.get("/export.csv")
@requires(Role.VIEWER)
def export() -> Any:
    """?view=day|hour|body|…: that table; ?view=letters: one row per sent letter, streamed."""
    view = request.args.get("view", "day")
    filters, _ = chosen_filters()
    header: tuple[str, ...]
    rows: Iterable[Iterable[Any]]
    if view == "letters":
        header, rows = dashboard.LETTER_COLUMNS, dashboard.sent_letter_rows(filters)
    elif view in dashboard.VIEWS:
        header, rows = (view, "letters"), iter(dashboard.table(view, filters))
    else:
        return {"errors": {"view": "unknown view"}}, 404
    return Response(stream_with_context(csv_lines(header, rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="sent-{view}.csv"'})


@bp.post("/failures/retry")
@requires(Role.EDITOR)
def retry_failures() -> Any:
    ids = [int(i) for i in request.form.getlist("letter") if i.isdigit()]
    try:
        retried = moderation.retry(current_user.organizer, ids, request.form.get("reason", ""))
        flash(f"{retried} letters queued again.")
    except moderation.ModerationError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.index"))


@bp.get("/report")
@requires(Role.VIEWER)
def report() -> Any:
    """The hand-over report for one official (?official=KEY) or one body (?body=SLUG)."""
    filters, campaign = chosen_filters()
    key = request.args.get("official", "")
    official = db.session.scalar(select(Official).where(Official.key == key)) if key else None
    body = db.session.get(Body, filters.body_id) if filters.body_id is not None else None
    if official is None and body is None:
        return render_template("admin/report_choose.html", bodies=db.session.scalars(
            select(Body).order_by(Body.name)).all(), officials=db.session.scalars(
            select(Official).order_by(Official.key)).all(), args=request.args)
    ids = [official.id] if official else list(db.session.scalars(
        select(Official.id).where(Official.body_id == filters.body_id)))
    scope = handover.Scope(ids, filters.start, filters.end, filters.campaign_id)
    return Response(stream_template(
        "admin/report.html", official=official, body=body, campaign=campaign, scope=scope,
        summary=handover.summary(scope), letters=handover.letters(scope)))
