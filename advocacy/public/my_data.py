"""A supporter's own data: ask for a link by email, then see, download or erase it."""

from __future__ import annotations

import json
import logging

from email_validator import EmailNotValidError
from flask import Response, abort, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from redis.exceptions import RedisError
from werkzeug.wrappers import Response as BaseResponse

from advocacy.crypto import lookup_hash
from advocacy.delivery import queue
from advocacy.extensions import request_limiter, submit_rate
from advocacy.intake.validation import normalise_email
from advocacy.links import ConfirmationError, supporter_for_data_token
from advocacy.models import Supporter
from advocacy.privacy.rights import erase, erased, everything_about, withdraw_opt_in
from advocacy.public import Page, bp

log = logging.getLogger(__name__)


def _supporter(token: str) -> Supporter:
    """The supporter a data link stands for; else the page says what is wrong with it."""
    try:
        return supporter_for_data_token(token)
    except ConfirmationError as exc:
        abort(make_response(render_template("public/message.html", title=_("Link not valid"),
                                            text=str(exc)), 404))


@bp.get("/my-data")
def my_data_request() -> str:
    return render_template("public/my_data_request.html", error=None, email="")


@bp.post("/my-data")
@request_limiter.shared_limit(submit_rate, scope="submissions")
def my_data_send_link() -> Page:
    """Email the link to the address given; the answer is the same whether we know it or not."""
    typed = request.form.get("email", "")[:320]
    try:
        address = normalise_email(typed.strip())
    except EmailNotValidError:
        return render_template("public/my_data_request.html", email=typed,
                               error=_("This is not a valid email address.")), 422
    # Queued whether or not the address wrote here, and looked up by the job: the request
    # does the same work either way, so neither its answer nor its time tells.
    try:
        queue.enqueue_data_link_request(lookup_hash(address), str(get_locale()))
    except RedisError:
        log.warning("a data link request was not queued")
    return render_template(
        "public/message.html", title=_("Check your inbox"),
        text=_("If this address wrote letters here, it will receive a link to its data within a"
               " few minutes. The link is valid for two days."))


@bp.get("/my-data/<token>")
def my_data(token: str) -> Page:
    supporter = _supporter(token)
    if erased(supporter):
        return render_template("public/message.html", title=_("Your data"),
                               text=_("We hold nothing more about you: it was erased.")), 410
    return render_template("public/my_data.html", token=token,
                           data=everything_about(supporter))


@bp.get("/my-data/<token>/download")
def my_data_download(token: str) -> Response:
    supporter = _supporter(token)
    body = json.dumps(everything_about(supporter), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="my-letters-data.json"',
        "Cache-Control": "no-store"})


@bp.post("/my-data/<token>/opt-ins/<int:opt_in_id>/withdraw")
def my_data_withdraw(token: str, opt_in_id: int) -> BaseResponse:
    """Withdraw one opt-in: its address and name are deleted at once; back to the page."""
    supporter = _supporter(token)
    withdraw_opt_in(supporter, opt_in_id)  # one not theirs, or gone already: nothing changes
    return redirect(url_for("public.my_data", token=token, lang=get_locale(), withdrawn=1),
                    303)


@bp.post("/my-data/<token>/erase")
def my_data_erase(token: str) -> Page:
    supporter = _supporter(token)
    if request.form.get("sure") != "yes":
        return render_template("public/my_data.html", token=token,
                               data=everything_about(supporter),
                               error=_("Tick the box to confirm that you want everything"
                                       " erased.")), 422
    done = erase(supporter.id)
    cancelled = ngettext(
        "Your name, address, city and words are deleted, and %(num)d letter not yet sent is"
        " cancelled.",
        "Your name, address, city and words are deleted, and %(num)d letters not yet sent are"
        " cancelled.", done.cancelled_letters)
    return render_template(
        "public/message.html", title=_("Your data is erased"),
        text=cancelled + " " + _("Letters already delivered stay with their officials; we only"
                                 " keep their count."))
