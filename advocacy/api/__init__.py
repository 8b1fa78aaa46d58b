"""The JSON API: submissions for the embeddable widget, and public counts."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from flask import Blueprint, current_app, request
from flask_babel import get_locale
from flask_babel import gettext as _

from advocacy.campaigns.settings import find_campaign
from advocacy.extensions import request_limiter, submit_rate
from advocacy.guards import accepted_only
from advocacy.intake.submit import SubmissionError, SubmitResult, submit
from advocacy.intake.validation import caught_in_honeypot, check_submission
from advocacy.officials import groups
from advocacy.reporting.dashboard import Filters
from advocacy.reporting.own_mail import sent_themselves
from advocacy.reporting.stats import letter_stats, stats_cache

bp = Blueprint("api", __name__, url_prefix="/api")

Reply = tuple[dict[str, Any], int]


@bp.post("/letters")
@request_limiter.shared_limit(submit_rate, scope="submissions", deduct_when=accepted_only)
def post_letters() -> Reply:
    data = request.get_json(silent=True)
    if data is None:
        return {"errors": {"_": _("Send a JSON object with Content-Type: application/json.")}}, 400
    if caught_in_honeypot(data):
        # A bot, as on the form: an answer like success, with no letters, and nothing more.
        return _accepted(SubmitResult(officials=[])), 202
    checked, errors = check_submission(data)
    if checked is None:
        return {"errors": errors}, 422
    try:
        result = submit(checked, locale=str(get_locale() or "en"))
    except SubmissionError as exc:
        return {"errors": exc.errors, **exc.extra}, exc.status
    return _accepted(result), 202


def _accepted(result: SubmitResult) -> dict[str, Any]:
    return {
        "officials": result.officials,
        "contact_only": result.contact_only,
        "next": _("Check your inbox: nothing is sent until you confirm by email."),
    }


@bp.get("/groups")
def get_groups() -> Reply:
    """The groups of offices a campaign offers, in its order: what a letter's `body` may be."""
    campaign = find_campaign(request.args.get("campaign"))
    if campaign is None:
        return {"errors": {"campaign": _("Unknown campaign.")}}, 404
    language = str(get_locale() or "en")
    return {"groups": [groups.described(b, language)
                       for b in groups.offered(campaign, reachable=True)]}, 200


@bp.get("/stats")
def get_stats() -> Reply:
    slug = request.args.get("campaign")
    campaign = find_campaign(slug) if slug else None
    if slug and campaign is None:
        return {"errors": {"campaign": _("Unknown campaign.")}}, 404
    # Letters supporters sent themselves (own mail, contact forms, post) are counted apart:
    # we cannot see them sent.
    everything = Filters(campaign.id if campaign else None)

    def figures() -> dict[str, Any]:
        own_mail, by_hand = sent_themselves(everything)
        return {**letter_stats(campaign), "own_mail": own_mail, "by_hand": by_hand}

    return stats_cache().get(slug or "", figures), 200


@cache
def _description() -> dict[str, Any]:
    text = files(__package__).joinpath("openapi.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


@bp.get("/openapi.json")
def openapi() -> Reply:
    """This API's OpenAPI description (advocacy/api/openapi.json), served from this site."""
    return {**_description(), "servers": [{"url": current_app.config["ADVOCACY_PUBLIC_URL"]}]}, 200
