"""Organizer accounts: passwords, the second factor, sessions, roles and invitations.

Passwords are hashed with scrypt (werkzeug). A session's id carries the account's
`session_version`, so raising it logs the account out everywhere at once, and a random value
whose hash is an OrganizerSession row: logging out deletes the row, so a copy of the cookie
(which is only signed, and outlives a logout in whoever's hands) opens nothing afterwards.
Second-factor secrets are encrypted at rest (models: Sealed), and each code is good once.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

import pyotp
import segno
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup
from pyotp.utils import strings_equal
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from advocacy import audit, clock
from advocacy.email_reasons import email_reason
from advocacy.extensions import db
from advocacy.models import Invitation, Organizer, OrganizerSession, Partner, Role
from advocacy.organizers import recovery_codes

PASSWORD_MIN = 12
INVITATION_LIFE = timedelta(days=7)  # whole days: the invitation's email states it in days
RANKS = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}
# Who an owner can invite: the ranks, and a partner's account (outside them: see may).
INVITABLE = (*RANKS, Role.PARTNER)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the email is unknown, so a wrong email costs as long as a wrong
    password; made on first use (scrypt is slow on purpose, and most processes never log in)."""
    return generate_password_hash("not a password", method="scrypt")


class AccountError(ValueError):
    """Something about an account that cannot be done; the message says why."""


class AlreadyAnAccount(AccountError):
    """An invitation to an address that has an account by now (another invitation, accepted)."""


def may(organizer: Organizer, role: Role | str) -> bool:
    """Whether the organizer's role includes `role`. A partner account has no rank: it is
    never granted a viewer's, an editor's or an owner's pages (only its own, partner_of)."""
    return organizer.active and RANKS.get(Role(organizer.role), 0) >= RANKS[Role(role)]


def partner_of(organizer: Organizer) -> int | None:
    """The partner an active partner account speaks for; None for every other account."""
    if organizer.active and organizer.role == Role.PARTNER:
        return organizer.partner_id
    return None


def normalise(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(_("This email address cannot be used: %(reason)s",
                             reason=email_reason(str(exc)))) from None


def hash_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise AccountError(_("A password needs at least %(num)d characters.", num=PASSWORD_MIN))
    return generate_password_hash(password, method="scrypt")


def authenticate(email: str, password: str) -> Organizer | None:
    """The active organizer with this email and password, else None (same cost either way)."""
    address = email.strip().lower()
    organizer = db.session.scalar(select(Organizer).where(Organizer.email == address))
    if organizer is None or not organizer.active:
        check_password_hash(_dummy_hash(), password)
        return None
    return organizer if check_password_hash(organizer.password_hash, password) else None


def _session_life() -> timedelta:
    return current_app.permanent_session_lifetime


def open_session(organizer: Organizer) -> str:
    """A new session's id, kept (hashed) until logout; the caller commits."""
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(OrganizerSession).where(  # this account's long-expired ones
        OrganizerSession.organizer_id == organizer.id,
        OrganizerSession.created_at < clock.now() - _session_life()))
    db.session.add(OrganizerSession(organizer_id=organizer.id, token_hash=_token_hash(token)))
    return f"{organizer.id}:{organizer.session_version}:{token}"


def still_current(organizer_id: int, version: int) -> Organizer | None:
    """The account, if it is active and nothing has logged it out everywhere since `version`."""
    organizer = db.session.get(Organizer, organizer_id)
    if organizer is None or not organizer.active or organizer.session_version != version:
        return None
    return organizer


def from_session_id(value: str) -> Organizer | None:
    """The organizer a session stands for, if the account is active and was not logged out."""
    ident, version, token = (value.split(":", 2) + ["", ""])[:3]
    if not ident.isdigit() or not version.isdigit() or not token:
        return None  # ids from before sessions were kept here ("id:version") among them
    organizer = still_current(int(ident), int(version))
    if organizer is None:
        return None
    kept = db.session.scalar(select(OrganizerSession.id).where(
        OrganizerSession.token_hash == _token_hash(token),
        OrganizerSession.organizer_id == organizer.id,
        OrganizerSession.created_at >= clock.now() - _session_life()))
    return organizer if kept else None


def end_session(value: str) -> None:
    """Log this session out on the server: its cookie, wherever a copy is, opens nothing."""
    token = value.split(":", 2)[-1]
    db.session.execute(delete(OrganizerSession).where(
        OrganizerSession.token_hash == _token_hash(token)))
    db.session.commit()


def _end_all_sessions(organizer: Organizer) -> None:
    organizer.session_version += 1
    db.session.execute(delete(OrganizerSession).where(
        OrganizerSession.organizer_id == organizer.id))


def log_out_everywhere(organizer: Organizer) -> None:
    _end_all_sessions(organizer)
    audit.record(organizer, "log out everywhere", organizer.email)
    db.session.commit()


def pending_totp_secret(organizer: Organizer) -> str:
    """The secret being set up: made once, kept (encrypted) with the account until used."""
    if not organizer.totp_pending:
        organizer.totp_pending = pyotp.random_base32()
        db.session.commit()
    return organizer.totp_pending


def totp_uri(organizer: Organizer, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=organizer.email, issuer_name=issuer)


def totp_qr(uri: str) -> Markup:
    """The setup link as a QR code, inline SVG made here, so nobody types 32 characters by
    hand and no third party sees the secret. segno: small, pure Python, maintained, and
    writes SVG itself (no Pillow, no image service). Its SVG holds only paths: nothing of
    the link is in it as text, so it is safe to put in the page as it is."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                omitsize=True)
    return Markup(svg)  # noqa: S704  # segno's own markup, made from modules alone


def _matching_step(secret: str, code: str) -> int | None:
    """The time step whose code this is; one step of clock drift either way is allowed."""
    code = code.replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(clock.now())
    for step in (now - 1, now, now + 1):
        if strings_equal(totp.generate_otp(step), code):
            return step
    return None


def use_totp_code(organizer: Organizer, secret: str, code: str) -> bool:
    """Whether the code is right and its time step later than the last one used; the step is
    then taken, in the caller's transaction (so a code seen once, over a shoulder or in a
    proxy's log, cannot be typed again). The conditional UPDATE makes two requests racing
    with one code take it once: the second waits for the first's row lock, then finds the
    step used."""
    step = _matching_step(secret, code)
    if step is None:
        return False
    taken = db.session.execute(
        update(Organizer)
        .where(Organizer.id == organizer.id,
               or_(Organizer.totp_last_step.is_(None), Organizer.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False))
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def use_second_factor(organizer: Organizer, code: str) -> str | None:
    """A code from the app, or one of the account's recovery codes (each good once): which
    it was ("app" or "recovery code"), or None. Taken in the caller's transaction."""
    secret = organizer.totp_secret
    if not secret:
        return None
    if use_totp_code(organizer, secret, code):
        return "app"
    if recovery_codes.use_recovery_code(organizer, code):
        return "recovery code"
    return None


def enable_totp(organizer: Organizer, code: str) -> tuple[str, list[str]]:
    """Turn the second factor on with the pending secret: this session's new id, and the
    recovery codes (their only plain copies, shown once)."""
    secret = organizer.totp_pending
    if not secret or not use_totp_code(organizer, secret, code):
        db.session.rollback()
        raise AccountError(_("That code does not match: check the app's clock and try again."))
    organizer.totp_secret, organizer.totp_pending = secret, None
    _end_all_sessions(organizer)  # other sessions were opened without the second factor
    audit.record(organizer, "enable second factor", organizer.email)
    codes = recovery_codes.make_codes(organizer)
    session = open_session(organizer)
    db.session.commit()
    return session, codes


def disable_totp(organizer: Organizer, code: str) -> None:
    """Off, with a current code or a recovery code (the phone may be what was lost)."""
    if use_second_factor(organizer, code) is None:
        db.session.rollback()
        raise AccountError(_("That code does not match."))
    organizer.totp_secret, organizer.totp_last_step = None, None
    recovery_codes.forget_codes(organizer)
    audit.record(organizer, "disable second factor", organizer.email)
    db.session.commit()


def new_recovery_codes(organizer: Organizer, code: str) -> list[str]:
    """A new set of recovery codes for a current code (or an unused recovery code); the old
    set stops working."""
    if use_second_factor(organizer, code) is None:
        db.session.rollback()
        raise AccountError(_("That code does not match."))
    codes = recovery_codes.make_codes(organizer)
    db.session.commit()
    return codes


def reset_password(organizer: Organizer, password: str) -> None:
    """A new password, chosen through the emailed link: every session ends, the link dies
    with the old password's hash, and the second factor stays as it was."""
    organizer.password_hash = hash_password(password)
    _end_all_sessions(organizer)
    audit.record(organizer, "reset password by email", organizer.email)
    db.session.commit()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(by: Organizer, email: str, role: str,
           partner_id: int | None = None) -> tuple[Invitation, str]:
    """A new invitation and its token (the only copy: it goes out in the email). A partner
    account's invitation names its partner; no other role's does."""
    if role not in INVITABLE:
        raise AccountError(_("The role must be one of %(roles)s.", roles=", ".join(INVITABLE)))
    if role == Role.PARTNER:
        if partner_id is None or db.session.get(Partner, partner_id) is None:
            raise AccountError(_("Choose the partner this account is for."))
    else:
        partner_id = None
    address = normalise(email)
    if db.session.scalar(select(Organizer.id).where(Organizer.email == address)):
        raise AccountError(_("There is already an account with this email."))
    token = secrets.token_urlsafe(32)
    now = clock.now()  # one instant for both: the email states the life as their difference
    invitation = Invitation(email=address, role=role, partner_id=partner_id,
                            token_hash=_token_hash(token), invited_by=by.id, created_at=now,
                            expires_at=now + INVITATION_LIFE)
    db.session.add(invitation)
    audit.record(by, "invite", address, role=role,
                 **({"partner_id": partner_id} if partner_id else {}))
    db.session.commit()
    return invitation, token


def _has_account(address: str) -> AlreadyAnAccount | None:
    if db.session.scalar(select(Organizer.id).where(Organizer.email == address)) is None:
        return None
    return AlreadyAnAccount(_(
        "There is already an account for %(address)s (another invitation to it was accepted):"
        " log in with it instead. If you do not know its password, ask an owner of the"
        " campaign to reset it.", address=address))


def open_invitation(token: str) -> Invitation:
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _token_hash(token)))
    if invitation is None:
        raise AccountError(_("This invitation is not valid."))
    if invitation.accepted_at is not None:
        raise AccountError(_("This invitation was already used: log in instead."))
    if problem := _has_account(invitation.email):  # (accepting another revoked this one)
        raise problem
    if invitation.revoked_at is not None:
        raise AccountError(_("This invitation is not valid."))
    if invitation.expires_at < clock.now():
        raise AccountError(_("This invitation has expired: ask for a new one."))
    return invitation


def accept_invitation(token: str, password: str) -> Organizer:
    """The new account; other open invitations to its address are revoked with it."""
    invitation = open_invitation(token)
    organizer = Organizer(email=invitation.email, role=invitation.role,
                          partner_id=invitation.partner_id,
                          password_hash=hash_password(password))
    db.session.add(organizer)
    invitation.accepted_at = clock.now()
    db.session.execute(
        update(Invitation)
        .where(Invitation.email == invitation.email, Invitation.id != invitation.id,
               Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False))
    try:
        db.session.flush()
    except IntegrityError:  # the same address accepted a moment ago, by another invitation
        db.session.rollback()
        raise _has_account(invitation.email) or AccountError(
            _("This invitation could not be accepted: try again.")) from None
    audit.record(organizer, "accept invitation", organizer.email, role=organizer.role)
    db.session.commit()
    return organizer


def revoke_invitation(by: Organizer, invitation_id: int) -> None:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None:
        raise AccountError(_("No open invitation with this id."))
    invitation.revoked_at = clock.now()
    audit.record(by, "revoke invitation", invitation.email)
    db.session.commit()


def _owners_left_without(organizer: Organizer) -> int:
    others = select(Organizer.id).where(Organizer.role == Role.OWNER, Organizer.active.is_(True),
                                        Organizer.id != organizer.id)
    return len(db.session.scalars(others).all())


def set_role(by: Organizer, organizer_id: int, role: str) -> Organizer:
    organizer = db.session.get(Organizer, organizer_id)
    if organizer is None:
        raise AccountError(_("No such account."))
    if role not in RANKS:
        raise AccountError(_("The role must be one of %(roles)s.", roles=", ".join(RANKS)))
    if organizer.role == Role.OWNER and role != Role.OWNER and not _owners_left_without(organizer):
        raise AccountError(_("The campaign needs at least one owner."))
    before, organizer.role = organizer.role, role
    organizer.partner_id = None  # (a role from the ranks: a partner account no longer)
    organizer.session_version += 1  # the new role applies from the next login
    audit.record(by, "change role", organizer.email, before=before, after=role)
    db.session.commit()
    return organizer


def set_active(by: Organizer, organizer_id: int, active: bool) -> Organizer:
    organizer = db.session.get(Organizer, organizer_id)
    if organizer is None:
        raise AccountError(_("No such account."))
    if not active and organizer.role == Role.OWNER and not _owners_left_without(organizer):
        raise AccountError(_("The campaign needs at least one owner."))
    organizer.active = active
    organizer.session_version += 1
    audit.record(by, "reactivate account" if active else "deactivate account", organizer.email)
    db.session.commit()
    return organizer


def set_organizer(email: str, password: str, role: str = "owner") -> Organizer:
    """Create the organizer, or reset their password (which logs them out everywhere)."""
    email = email.strip().lower()
    organizer = db.session.scalar(select(Organizer).where(Organizer.email == email))
    if organizer is None:
        organizer = Organizer(email=email, role=role, password_hash="", session_version=1)
        db.session.add(organizer)
    else:
        organizer.session_version += 1
    organizer.password_hash = hash_password(password)
    audit.record(None, "set password from the command line", email, role=organizer.role)
    db.session.commit()
    return organizer
