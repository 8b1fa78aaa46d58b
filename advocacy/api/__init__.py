"""The JSON API: submissions for the embeddable widget, and public counts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from ..extensions import limiter, submit_rate
from ..services import SubmissionError, find_campaign, submit
from ..stats import letter_stats
from ..validation import check_submission

bp = Blueprint("api", __name__, url_prefix="/api")

Reply = tuple[dict[str, Any], int]


@bp.post("/letters")
@limiter.shared_limit(submit_rate, scope="submissions")
def post_letters() -> Reply:
    data = request.get_json(silent=True)
    if data is None:
        return {"errors": {"_": "Send a JSON object with Content-Type: application/json."}}, 400
    checked, errors = check_submission(data)
    if checked is None:
        return {"errors": errors}, 422
    try:
        result = submit(checked)
    except SubmissionError as exc:
        return {"errors": exc.errors, **exc.extra}, exc.status
    return {
        "letters": result.letters,
        "contact_only": result.contact_only,
        "already_written": result.already_written,
        "next": "Check your inbox: nothing is sent until you confirm by email.",
    }, 202


@bp.get("/stats")
def get_stats() -> Reply:
    slug = request.args.get("campaign")
    campaign = find_campaign(slug) if slug else None
    if slug and campaign is None:
        return {"errors": {"campaign": "Unknown campaign."}}, 404
    return letter_stats(campaign), 200
