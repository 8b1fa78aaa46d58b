"""Logging in and out, the optional second factor, and accepting an invitation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .. import accounts, audit
from ..extensions import db, limiter
from ..models import Organizer, Role, utcnow
from . import bp, public, requires
from .session import SignedIn

# Between the password and the code: who, and until when the code may be typed.
PENDING = "admin-second-factor"
PENDING_FOR = timedelta(minutes=5)


def _email_key() -> str:
    """Login attempts per account as well as per IP: a botnet cannot try one account forever."""
    email = request.form.get("email", "").strip().lower()[:320]
    return f"{current_app.config['QUEUE_NAME']}:login:{email}"


def _safe_next() -> str:
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/admin"):
        return url_for("admin.index")
    return target


def _start_session(organizer: Organizer) -> Any:
    session.clear()  # nothing from before the login survives it (session fixation)
    session.permanent = True
    login_user(SignedIn(organizer))
    organizer.last_login_at = utcnow()
    audit.record(organizer, "log in", organizer.email)
    db.session.commit()
    return redirect(_safe_next())


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute;60/hour", methods=["POST"])
@limiter.limit("10/hour", key_func=_email_key, methods=["POST"],
               deduct_when=lambda response: response.status_code == 401)  # failures only
@public
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    error = None
    if request.method == "POST":
        organizer = accounts.authenticate(request.form.get("email", ""),
                                          request.form.get("password", ""))
        if organizer is None:
            error = "The email or the password is wrong."
        elif organizer.totp_secret:
            session[PENDING] = {"id": organizer.id, "version": organizer.session_version,
                                "until": (utcnow() + PENDING_FOR).timestamp()}
            return redirect(url_for("admin.second_factor", next=request.args.get("next", "")))
        else:
            return _start_session(organizer)
    return render_template("admin/login.html", error=error), 401 if error else 200


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("10/minute;60/hour", methods=["POST"])
@public
def second_factor() -> Any:
    pending = session.get(PENDING)
    if not pending or pending["until"] < utcnow().timestamp():
        session.pop(PENDING, None)
        return redirect(url_for("admin.login"))
    error = None
    if request.method == "POST":
        organizer = accounts.from_session_id(f"{pending['id']}:{pending['version']}")
        if organizer and organizer.totp_secret and accounts.totp_ok(
                organizer.totp_secret, request.form.get("code", "")):
            return _start_session(organizer)
        error = "That code does not match."
    return render_template("admin/code.html", error=error), 401 if error else 200


@bp.post("/logout")
@requires(Role.VIEWER)
def logout() -> Any:
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))


@bp.post("/logout-everywhere")
@requires(Role.VIEWER)
def logout_everywhere() -> Any:
    accounts.log_out_everywhere(current_user.organizer)
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))


@bp.route("/account", methods=["GET", "POST"])
@requires(Role.VIEWER)
def account() -> Any:
    """The organizer's own account: the second factor on or off."""
    organizer = current_user.organizer
    secret = session.get("totp-setup") or accounts.new_totp_secret()
    error = None
    if request.method == "POST":
        try:
            if request.form.get("action") == "enable":
                accounts.enable_totp(organizer, secret, request.form.get("code", ""))
                session.pop("totp-setup", None)
                login_user(SignedIn(organizer))  # this session carries the new version
                flash("The second factor is on: each login now asks for a code.")
            elif request.form.get("action") == "disable":
                accounts.disable_totp(organizer, request.form.get("code", ""))
                flash("The second factor is off.")
            return redirect(url_for("admin.account"))
        except accounts.AccountError as exc:
            error = str(exc)
    session["totp-setup"] = secret
    uri = accounts.totp_uri(organizer, secret, issuer="advocacy")
    return render_template("admin/account.html", organizer=organizer, secret=secret, uri=uri,
                           error=error), 422 if error else 200


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
@public
def accept(token: str) -> Any:
    try:
        invitation = accounts.open_invitation(token)
    except accounts.AccountError as exc:
        return render_template("admin/message.html", title="Invitation", text=str(exc)), 404
    error = None
    if request.method == "POST":
        if request.form.get("password") != request.form.get("again"):
            error = "The two passwords differ."
        else:
            try:
                organizer = accounts.accept_invitation(token, request.form.get("password", ""))
            except accounts.AccountError as exc:
                error = str(exc)
            else:
                return _start_session(organizer)
    return render_template("admin/accept.html", invitation=invitation, error=error), \
        422 if error else 200
