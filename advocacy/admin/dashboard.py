"""/admin: the dashboard; every view also as a streamed CSV; failed letters retried."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from babel import Locale, UnknownLocaleError
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
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from advocacy import clock
from advocacy.admin import bp, requires, wording
from advocacy.campaigns.settings import find_campaign
from advocacy.csv_safety import InertWriter
from advocacy.extensions import db
from advocacy.letters.compose import official_label
from advocacy.letters.render import country_name
from advocacy.letters.states import FOR_A_DECISION, HOLD_LABELS
from advocacy.models import Body, Campaign, LetterStatus, Official, Role
from advocacy.officials.countries import countries, sort_key
from advocacy.officials.files import COUNTRIES, LANGUAGES, LETTER_LANGUAGES
from advocacy.officials.groups import group_name
from advocacy.organizers import moderation
from advocacy.reporting import dashboard, handover, overview, stuck
from advocacy.reporting.charts import Chart, bar_chart, every
from advocacy.reporting.dashboard import Filters
from advocacy.reporting.own_mail import sent_themselves
from advocacy.reporting.own_words import own_words
from advocacy.reporting.reply_rates import reply_rates, reply_rates_sent
from advocacy.reporting.rollup import Watermark, steady
from advocacy.reporting.stats import stats_cache


def titles() -> dict[str, str]:
    """Each view's title, and (below) the name of its first column, in the page's language."""
    return {"day": _("Sent per day (UTC)"),
            "hour": _("Sent per hour, the last 7 days of the range (UTC)"),
            "body": _("Sent per group"), "target": _("Sent per office"),
            "country": _("Sent per supporter country"), "language": _("Sent per language"),
            "ref": _("Sent per partner (ref)")}


def heads() -> dict[str, str]:
    return {"day": _("Day (UTC)"), "hour": _("Hour (UTC)"), "body": _("Group"),
            "target": _("Office"), "country": _("Supporter country"),
            "language": _("Language"), "ref": _("Partner (ref)")}


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _country(asked: str) -> str:
    """A country's code from the filter: its code, or its name in the page's language or in
    English (a link typed by hand); "" when there is no such country."""
    asked = asked.strip()
    names = {sort_key(name): code for language in {page_language(), "en"}
             for code, name in countries(language)}
    if len(asked) == 2 and asked.upper() in COUNTRIES:
        return asked.upper()
    return names.get(sort_key(asked), "")


def page_language() -> str:
    return str(get_locale() or "en")


def chosen_filters() -> tuple[Filters, Campaign | None]:
    """The filters in the query string; unknown values are ignored (so: no filter), and the
    overview says so for a country it does not know."""
    campaign = db.session.scalar(select(Campaign).where(
        Campaign.slug == request.args.get("campaign", "")))
    body_id = db.session.scalar(select(Body.id).where(Body.slug == request.args.get("body", "")))
    return Filters(campaign.id if campaign else None, _day("from"), _day("to"), body_id,
                   _country(request.args.get("country", ""))), campaign


def _shown(view: str, rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """A table's rows as the page shows them: days and hours in words, countries and
    languages by name (the CSV export keeps the codes)."""
    language = page_language()
    if view == "day":
        return [(format_date(date.fromisoformat(d), "EEE d MMM y"), n) for d, n in rows]
    if view == "hour":
        return [(format_date(date.fromisoformat(at[:10]), "EEE d MMM")
                 + f", {at[11:13]}:00–{(int(at[11:13]) + 1) % 24:02}:00", n) for at, n in rows]
    if view == "country":
        return [(country_name(code, language) if code else _("(unknown)"), n) for code, n in rows]
    if view == "language":
        return [(language_name(code, language), n) for code, n in rows]
    if view == "ref":
        return [(ref if ref != "(none)" else _("(none)"), n) for ref, n in rows]
    return rows


def language_name(code: str, language: str) -> str:
    try:
        return str(Locale.parse(code).get_display_name(language) or code)
    except (ValueError, UnknownLocaleError):
        return code


def _charts(tables: dict[str, list[tuple[str, int]]]) -> dict[str, Chart]:
    """The two charts over time, with axis labels that say which day and which hour."""
    days = tables["day"]
    step = every(len(days), 7)  # about 50 px a label on a phone
    day_marks = [(i, format_date(date.fromisoformat(d), "d MMM"))
                 for i, (d, _n) in enumerate(days) if i % step == 0]
    hours = tables["hour"]
    spread = len(hours) // 24
    each = 3 if spread <= 2 else 6 if spread <= 4 else 12
    hour_marks = [(i, at[11:13]) for i, (at, _n) in enumerate(hours) if int(at[11:13]) % each == 0]
    day_names = [(i, format_date(date.fromisoformat(at[:10]), "EEE d"))
                 for i, (at, _n) in enumerate(hours) if at[11:13] == "00"]
    return {"day": bar_chart(_shown("day", days), [day_marks]),
            "hour": bar_chart(_shown("hour", hours), [hour_marks, day_names])}


@bp.get("/")
@requires(Role.VIEWER)
def index() -> Any:
    filters, campaign = chosen_filters()
    language = str(get_locale() or "en")

    def figures(at: Watermark) -> tuple[dict[str, Any], tuple[int, int], dict[str, int],
                                        overview.Headline]:
        tables = {view: dashboard.table(view, filters, at, language) for view in dashboard.VIEWS}
        states = dashboard.state_counts(filters, at)
        return (tables, dashboard.confirmation_rate(filters, at), states,
                overview.headline(filters, states[LetterStatus.SENT], at))

    # Every figure on one reading of the watermark (and once more if a roll-up moved it).
    tables, (confirmed, submitted), states, headline = steady(figures)
    shown = {view: _shown(view, rows) for view, rows in tables.items()}
    shown["hour"] = [(at, n) for at, n in shown["hour"] if n]  # the chart shows the quiet hours
    own_mail, by_hand = sent_themselves(filters)
    caps_for = campaign or db.session.scalar(select(Campaign).where(Campaign.is_default))
    asked_country = request.args.get("country", "").strip()
    return render_template(
        "admin/index.html", filters=filters, args=request.args, titles=titles(), heads=heads(),
        tables=shown,
        charts=_charts(tables), states=states, headline=headline,
        confirmed=confirmed, submitted=submitted, hold_labels=HOLD_LABELS,
        for_a_decision=FOR_A_DECISION,
        unknown_country=asked_country if asked_country and not filters.country else "",
        own_mail=own_mail, by_hand=by_hand, queue=stuck.queue_state(filters.campaign_id),
        undecided=stuck.undecided(filters.campaign_id), complaints=stuck.complaints(),
        reasons=stuck.failure_reasons(filters.campaign_id),
        failures=stuck.failures(filters.campaign_id),
        near_caps=stuck.near_caps(caps_for) if caps_for else [],
        # One aggregate over the confirmed letters (not rolled up yet): kept a few seconds.
        words=stats_cache().get(f"own-words:{filters!r}", lambda: own_words(filters)),
        replies=stats_cache().get(f"reply-rates:{filters!r}:{page_language()}",
                                  lambda: reply_rates(filters, page_language())),
        unverified=overview.unverified_with_letters(), bounced=overview.bounced(),
        paused=overview.paused(), follow_ups=overview.follow_ups_deciding(filters),
        countries=countries(page_language()),
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
        flash(wording.retried(retried))
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
    language = str(get_locale() or "en")
    # A dossier for the office: in its language (?lang=), the letters' campaign's asks.
    campaign = campaign or find_campaign(None)
    asked = handover.asks(campaign, scope, language)
    return Response(stream_template(
        "admin/report.html", official=official, body=body, campaign=campaign, scope=scope,
        official_name=official_label(official, language) if official else "",
        body_name=group_name(body, language) if body else "",
        office_names={o.id: official_label(o, language) for o, _ask in asked},
        asked=asked, counts=handover.counts(scope, language),
        quoted=handover.quotes(scope), today=format_date(clock.now().date(), "long"),
        languages=[(code, Locale.parse(code).get_display_name(code)) for code in LANGUAGES],
        language_names={code: Locale.parse(code).get_display_name(language)
                        for code in LETTER_LANGUAGES},
        args={k: v for k, v in request.args.items() if k != "lang"},
        summary=handover.summary(scope), words=handover.own_words(scope),
        replies=reply_rates_sent(scope.where),
        letters=handover.letters(scope)))
