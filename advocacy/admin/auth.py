"""Logging in and out, the optional second factor, and accepting an invitation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from advocacy import audit, clock
from advocacy.admin import bp, public, requires
from advocacy.admin.session import SignedIn
from advocacy.extensions import client_key, db, request_limiter
from advocacy.models import Organizer, Role
from advocacy.organizers import accounts, recovery_codes

# Between the password and the code: who, and until when the code may be typed.
PENDING = "admin-second-factor"
PENDING_FOR = timedelta(minutes=5)
# How authenticator apps name this site's accounts (beside the organizer's email).
ISSUER = "advocacy"


def _account_and_source_key() -> str:
    """Failed logins are counted per account and source together, not per account alone:
    whoever guesses from one place is stopped there, and cannot lock the organizer out by
    failing on purpose (the right password from a source that has not failed still works).
    The per-source limit on every attempt (below) bounds guessing across accounts."""
    email = request.form.get("email", "").strip().lower()[:320]
    return f"{client_key()}:login:{email}"


def _pending_account_key() -> str:
    """Codes are counted per account: whoever has the password tries few codes, from anywhere.
    (Only someone who has the password can reach this, so it locks out no one else.)"""
    pending = session.get(PENDING) or {}
    return f"{current_app.config['QUEUE_NAME']}:second-factor:{pending.get('id', '')}"


def _own_account_key() -> str:
    """Codes typed on the account page (turning the factor off), per logged-in account."""
    who = current_user.organizer.id if current_user.is_authenticated else ""
    return f"{current_app.config['QUEUE_NAME']}:second-factor:{who}"


def _refused(status: int) -> Any:
    """Count a response against a limit only when it refused what was typed."""
    return lambda response: response.status_code == status


def _landing(organizer: Organizer) -> str:
    """Where an account starts: a partner account on its own partner's page."""
    return url_for("admin.partner_home" if organizer.role == Role.PARTNER else "admin.index")


def _safe_next(organizer: Organizer) -> str:
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/admin")
            or organizer.role == Role.PARTNER):  # (every other page refuses it)
        return _landing(organizer)
    return target


def _start_session(organizer: Organizer) -> Any:
    session.clear()  # nothing from before the login survives it (session fixation)
    session.permanent = True
    login_user(SignedIn(organizer, accounts.open_session(organizer)))
    organizer.last_login_at = clock.now()
    audit.record(organizer, "log in", organizer.email)
    db.session.commit()
    return redirect(_safe_next(organizer))


@bp.route("/login", methods=["GET", "POST"])
@request_limiter.limit("10/minute;60/hour", methods=["POST"])
@request_limiter.limit("10/hour", key_func=_account_and_source_key, methods=["POST"],
               deduct_when=_refused(401))  # failures only
@public
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(_landing(current_user.organizer))
    error = None
    if request.method == "POST":
        organizer = accounts.authenticate(request.form.get("email", ""),
                                          request.form.get("password", ""))
        if organizer is None:
            error = _("The email or the password is wrong.")
        elif organizer.totp_secret:
            session[PENDING] = {"id": organizer.id, "version": organizer.session_version,
                                "until": (clock.now() + PENDING_FOR).timestamp()}
            return redirect(url_for("admin.second_factor", next=request.args.get("next", "")))
        else:
            return _start_session(organizer)
    return render_template("admin/login.html", error=error), 401 if error else 200


@bp.route("/login/code", methods=["GET", "POST"])
@request_limiter.limit("10/minute;60/hour", methods=["POST"])
@request_limiter.limit("10/hour", key_func=_pending_account_key, methods=["POST"],
               deduct_when=_refused(401))
@public
def second_factor() -> Any:
    pending = session.get(PENDING)
    if not pending or pending["until"] < clock.now().timestamp():
        session.pop(PENDING, None)
        return redirect(url_for("admin.login"))
    error = None
    if request.method == "POST":
        organizer = accounts.still_current(pending["id"], pending["version"])
        used = organizer and accounts.use_second_factor(organizer, request.form.get("code", ""))
        if organizer and used:
            if used != "recovery code":
                return _start_session(organizer)
            left = recovery_codes.remaining(organizer)
            audit.record(organizer, "log in with a recovery code", organizer.email,
                         remaining=left)
            started = _start_session(organizer)  # (which clears the session: flash after)
            flash(ngettext("You logged in with a recovery code: %(num)d is left. If your"
                           " phone is lost, turn the second factor off and on again with the"
                           " new one; else make new codes.",
                           "You logged in with a recovery code: %(num)d are left. If your"
                           " phone is lost, turn the second factor off and on again with the"
                           " new one; else make new codes.", left), "error")
            return started
        db.session.rollback()
        error = _("That code does not match, or it was used already: type the next one your"
                  " app shows, or an unused recovery code.")
    return render_template("admin/code.html", error=error), 401 if error else 200


@bp.post("/logout")
@requires(Role.VIEWER, partner_accounts=True)
def logout() -> Any:
    accounts.end_session(current_user.session)  # a copy of the cookie is worth nothing now
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))


@bp.post("/logout-everywhere")
@requires(Role.VIEWER, partner_accounts=True)
def logout_everywhere() -> Any:
    accounts.log_out_everywhere(current_user.organizer)
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))


@bp.route("/account", methods=["GET", "POST"])
@request_limiter.limit("10/hour", key_func=_own_account_key, methods=["POST"],
               deduct_when=_refused(422))
@requires(Role.VIEWER, partner_accounts=True)
def account() -> Any:
    """The organizer's own account: the second factor on or off; sessions."""
    organizer = current_user.organizer
    error = None
    if request.method == "POST":
        action, code = request.form.get("action"), request.form.get("code", "")
        try:
            if action == "enable":
                # The other sessions end; this one goes on with a new id.
                session_id, codes = accounts.enable_totp(organizer, code)
                login_user(SignedIn(organizer, session_id))
                return _recovery_codes_page(codes, _("The second factor is on: each login now"
                                                     " asks for a code."))
            if action == "new codes":
                return _recovery_codes_page(accounts.new_recovery_codes(organizer, code),
                                            _("New recovery codes: the old ones no longer"
                                              " work."))
            if action == "disable":
                accounts.disable_totp(organizer, code)
                flash(_("The second factor is off."))
            return redirect(url_for("admin.account"))
        except accounts.AccountError as exc:
            error = str(exc)
    secret = uri = qr = None
    if not organizer.totp_secret:
        secret = accounts.pending_totp_secret(organizer)  # kept on the server, not the cookie
        uri = accounts.totp_uri(organizer, secret, issuer=ISSUER)
        qr = accounts.totp_qr(uri)
    return render_template("admin/account.html", organizer=organizer, secret=secret, uri=uri,
                           qr=qr, grouped=_grouped(secret or ""), error=error,
                           codes_left=recovery_codes.remaining(organizer)), \
        422 if error else 200


def _grouped(secret: str) -> str:
    """The key in groups of four, as authenticator apps ask for it to be typed."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _recovery_codes_page(codes: list[str], done: str) -> Any:
    """The codes, shown this once: the answer to the form itself (no redirect to a page that
    would have to keep them somewhere), never stored by the browser or a proxy."""
    page = make_response(render_template("admin/recovery_codes.html", codes=codes, done=done))
    page.headers["Cache-Control"] = "no-store"
    return page


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@request_limiter.limit("10/minute", methods=["POST"])
@public
def accept(token: str) -> Any:
    try:
        invitation = accounts.open_invitation(token)
    except accounts.AlreadyAnAccount as exc:
        return render_template("admin/message.html", title=_("Invitation"), text=str(exc)), 409
    except accounts.AccountError as exc:
        return render_template("admin/message.html", title=_("Invitation"), text=str(exc)), 404
    error = None
    if request.method == "POST":
        if request.form.get("password") != request.form.get("again"):
            error = _("The two passwords differ.")
        else:
            try:
                organizer = accounts.accept_invitation(token, request.form.get("password", ""))
            except accounts.AlreadyAnAccount as exc:  # accepted by another invitation just now
                return render_template("admin/message.html", title=_("Invitation"),
                                       text=str(exc)), 409
            except accounts.AccountError as exc:
                error = str(exc)
            else:
                return _start_session(organizer)
    return render_template("admin/accept.html", invitation=invitation, error=error), \
        422 if error else 200
