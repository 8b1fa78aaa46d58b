"""Pages for supporters: the campaign page and its form, confirmation, the status page."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import text

from ..extensions import csrf, db, limiter, submit_rate
from ..services import (
    ConfirmationError,
    SubmissionError,
    confirm,
    find_campaign,
    letter_states,
    submission_for_status,
    submission_for_token,
    submit,
)
from ..stats import sent_count
from ..targets import LANGUAGES
from ..validation import check_submission
from . import letter_form

bp = Blueprint("public", __name__)
Page = str | tuple[str, int]


def page_language() -> str:
    """?lang=... when given, else the best of the browser's languages, else English."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return str(asked)
    return request.accept_languages.best_match(LANGUAGES) or "en"


@bp.route("/", methods=["GET", "POST"])
@csrf.exempt  # type: ignore[untyped-decorator]  # checked below, to keep what was typed
@limiter.shared_limit(submit_rate, scope="submissions", methods=["POST"])
def index() -> Page:
    """The campaign page and its form; works without JavaScript."""
    campaign = find_campaign(None)
    if campaign is None:
        abort(404, "No campaign is set up yet: run `advocacy init`.")
    language = str(get_locale() or "en")
    values = letter_form.with_defaults(request.form) if request.method == "POST" else {
        "body": request.args.get("body", "un"), "language": language,
        "country": request.args.get("country", ""), "ref": request.args.get("ref", ""),
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and values.get("action") != "preview":
        if not FlaskForm().validate():  # the CSRF token
            errors, status = {"_": _("The form had expired. Please send it again.")}, 400
        elif request.form.get("website"):
            # The honeypot: a field people do not see. Bots get the same answer, nothing more.
            return render_template("public/sent.html", campaign=campaign, letters=[])
        else:
            checked, problems = check_submission(letter_form.payload(values, campaign))
            if checked is None:
                errors, status = letter_form.field_errors(problems), 422
            else:
                try:
                    result = submit(checked)
                except SubmissionError as exc:
                    errors, status = letter_form.field_errors(exc.errors), exc.status
                else:
                    return render_template("public/sent.html", campaign=campaign,
                                           letters=result.letters)
    page = render_template(
        "public/index.html", campaign=campaign, values=values, errors=errors,
        sent=sent_count(campaign),
        preview=letter_form.preview(campaign, values, {"name": _("[your name]"),
                                                       "city": _("[your city]"),
                                                       "country": _("[your country]")}),
        countries=letter_form.countries(language), **letter_form.choices(campaign, language),
    )
    return page, status


@bp.get("/status/<token>")
def status_page(token: str) -> Page:
    """A supporter's private page: each of their letters and its state."""
    try:
        submission = submission_for_status(token)
    except ConfirmationError as exc:
        return render_template("public/message.html", title=_("Link not valid"),
                               text=str(exc)), 404
    return render_template("public/status.html", letters=letter_states(submission),
                           confirmed=submission.confirmed_at is not None)


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> tuple[str, int] | str:
    # Opening the link only shows a button: mail scanners that prefetch links must not confirm.
    try:
        submission = submission_for_token(token)
    except ConfirmationError as exc:
        return render_template("public/message.html", title=_("Link not valid"),
                               text=str(exc)), 400
    letters = letter_states(submission)
    return render_template("public/confirm.html", token=token, letters=letters,
                           confirmed=submission.confirmed_at is not None)


@bp.post("/confirm/<token>")
@csrf.exempt  # type: ignore[untyped-decorator]  # the signed token in the link is the secret
def confirm_post(token: str) -> tuple[str, int] | str:
    try:
        submission = confirm(token)
    except ConfirmationError as exc:
        return render_template("public/message.html", title=_("Link not valid"),
                               text=str(exc)), 400
    return render_template("public/confirm.html", token=token, letters=letter_states(submission),
                           confirmed=True, share=share_links(submission.campaign.name))


def share_links(campaign_name: str) -> list[tuple[str, str]]:
    """Plain links to share the campaign page: no third-party script is ever loaded here."""
    url = current_app.config["ADVOCACY_PUBLIC_URL"] + "/"
    text = _("I wrote to the officials for %(campaign)s. Please write too:",
             campaign=campaign_name)
    both = quote(f"{text} {url}")
    return [
        (_("Email"), f"mailto:?subject={quote(campaign_name)}&body={both}"),
        ("WhatsApp", f"https://wa.me/?text={both}"),
        ("Telegram", f"https://t.me/share/url?url={quote(url)}&text={quote(text)}"),
        ("Bluesky", f"https://bsky.app/intent/compose?text={both}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={quote(url)}"),
        ("X", f"https://twitter.com/intent/tweet?text={both}"),
    ]


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
