"""Pages for supporters: the campaign page and the confirmation link."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import text

from ..extensions import db
from ..services import (
    ConfirmationError,
    confirm,
    find_campaign,
    letter_states,
    submission_for_token,
)
from ..stats import letter_stats

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    campaign = find_campaign(None)
    if campaign is None:
        abort(404, "No campaign is set up yet: run `advocacy init`.")
    sent = letter_stats(campaign)["letters"]["sent"]
    return render_template("public/index.html", campaign=campaign, sent=sent)


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> tuple[str, int] | str:
    # Opening the link only shows a button: mail scanners that prefetch links must not confirm.
    try:
        submission = submission_for_token(token)
    except ConfirmationError as exc:
        return render_template("public/message.html", title="Link not valid", text=str(exc)), 400
    letters = letter_states(submission)
    return render_template("public/confirm.html", token=token, letters=letters,
                           confirmed=submission.confirmed_at is not None)


@bp.post("/confirm/<token>")
def confirm_post(token: str) -> tuple[str, int] | str:
    try:
        submission = confirm(token)
    except ConfirmationError as exc:
        return render_template("public/message.html", title="Link not valid", text=str(exc)), 400
    return render_template("public/confirm.html", token=token, letters=letter_states(submission),
                           confirmed=True)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
