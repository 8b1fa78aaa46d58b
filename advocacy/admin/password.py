"""A forgotten password: the link by email, and the page that sets a new one.

The answer to "send me a link" is the same page, in the same time, whether an account has
that address or not: the request only queues a job with the address's lookup hash, and the
worker looks for the account (delivery.notices.send_password_reset). The link is signed,
lives an hour and dies with the password it replaces (links.password_reset_link). A new
password ends every session and leaves the second factor on: logging in still asks for it.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from redis.exceptions import RedisError

from advocacy.admin import bp, public
from advocacy.crypto import lookup_hash
from advocacy.delivery import queue
from advocacy.extensions import request_limiter
from advocacy.links import ConfirmationError, organizer_for_reset_token
from advocacy.organizers import accounts

ADDRESS_FIELD = 320


def _typed_address() -> str:
    return request.form.get("email", "").strip()[:ADDRESS_FIELD]


def _address_hash() -> str | None:
    """The typed address's lookup hash (every spelling of one inbox alike), if it looks like
    an address. Not checked further: an account's address is whatever it was set to, and
    the answer is the same for every address anyway."""
    address = _typed_address()
    local, _at, domain = address.rpartition("@")
    return lookup_hash(address) if local and domain else None


def _per_address_key() -> str:
    """Links asked for one address are counted together, from wherever they are asked: its
    inbox gets a few an hour at most. Keyed by the hash: no typed address is kept in Redis."""
    return f"{current_app.config['QUEUE_NAME']}:password-link:{_address_hash() or 'none'}"


@bp.route("/forgot", methods=["GET", "POST"])
@request_limiter.limit("5/minute;20/hour", methods=["POST"])
@request_limiter.limit("3/hour", key_func=_per_address_key, methods=["POST"])
@public
def forgot_password() -> Any:
    if request.method == "GET":
        return render_template("admin/forgot.html", sent=False, error=None)
    email_hash = _address_hash()
    if email_hash is None:
        return render_template("admin/forgot.html", sent=False, error=_(
            "Type the email address of your organizer's account.")), 422
    try:
        queue.enqueue_password_reset(email_hash, str(get_locale() or "en"))
    except RedisError:
        return render_template("admin/forgot.html", sent=False, error=_(
            "The link cannot be sent just now: please try again in a few minutes.")), 503
    return render_template("admin/forgot.html", sent=True, error=None)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@request_limiter.limit("10/minute", methods=["POST"])
@public
def reset_password(token: str) -> Any:
    try:
        organizer = organizer_for_reset_token(token)
    except ConfirmationError as exc:
        return render_template("admin/message.html", title=_("New password"),
                               text=str(exc)), 404
    error = None
    if request.method == "POST":
        if request.form.get("password") != request.form.get("again"):
            error = _("The two passwords differ.")
        else:
            try:
                accounts.reset_password(organizer, request.form.get("password", ""))
            except accounts.AccountError as exc:
                error = str(exc)
            else:
                flash(_("Your new password is set, and every session of the account has"
                        " ended: log in with it."))
                return redirect(url_for("admin.login"))
    return render_template("admin/reset.html", organizer=organizer, error=error,
                           minimum=accounts.PASSWORD_MIN), 422 if error else 200
