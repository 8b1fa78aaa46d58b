"""Organizer accounts: passwords, the second factor, sessions, roles and invitations.

Passwords are hashed with scrypt (werkzeug). A session's id carries the account's
`session_version`, so raising it logs the account out everywhere at once.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

import pyotp
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .extensions import db
from .models import Invitation, Organizer, Role, utcnow

PASSWORD_MIN = 12
INVITATION_LIFE = timedelta(days=7)
RANKS = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the email is unknown, so a wrong email costs as long as a wrong
    password; made on first use (scrypt is slow on purpose, and most processes never log in)."""
    return generate_password_hash("not a password", method="scrypt")


class AccountError(ValueError):
    """Something about an account that cannot be done; the message says why."""


def may(organizer: Organizer, role: Role | str) -> bool:
    """Whether the organizer's role includes `role`."""
    return organizer.active and RANKS.get(Role(organizer.role), 0) >= RANKS[Role(role)]


def normalise(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(str(exc)) from None


def hash_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"A password needs at least {PASSWORD_MIN} characters.")
    return generate_password_hash(password, method="scrypt")


def authenticate(email: str, password: str) -> Organizer | None:
    """The active organizer with this email and password, else None (same cost either way)."""
    address = email.strip().lower()
    organizer = db.session.scalar(select(Organizer).where(Organizer.email == address))
    if organizer is None or not organizer.active:
        check_password_hash(_dummy_hash(), password)
        return None
    return organizer if check_password_hash(organizer.password_hash, password) else None


def session_id(organizer: Organizer) -> str:
    return f"{organizer.id}:{organizer.session_version}"


def from_session_id(value: str) -> Organizer | None:
    """The organizer a session stands for, if the account is active and was not logged out."""
    ident, _sep, version = value.partition(":")
    if not ident.isdigit() or not version.isdigit():
        return None
    organizer = db.session.get(Organizer, int(ident))
    if organizer is None or not organizer.active or organizer.session_version != int(version):
        return None
    return organizer


def log_out_everywhere(organizer: Organizer) -> None:
    organizer.session_version += 1
    audit.record(organizer, "log out everywhere", organizer.email)
    db.session.commit()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(organizer: Organizer, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=organizer.email, issuer_name=issuer)


def totp_ok(secret: str, code: str) -> bool:
    """A six-digit code from the authenticator app; one step of clock drift is allowed."""
    code = code.replace(" ", "")
    return code.isdigit() and pyotp.TOTP(secret).verify(code, valid_window=1)


def enable_totp(organizer: Organizer, secret: str, code: str) -> None:
    if not totp_ok(secret, code):
        raise AccountError("That code does not match: check the app's clock and try again.")
    organizer.totp_secret = secret
    organizer.session_version += 1  # other sessions were opened without the second factor
    audit.record(organizer, "enable second factor", organizer.email)
    db.session.commit()


def disable_totp(organizer: Organizer, code: str) -> None:
    if not organizer.totp_secret or not totp_ok(organizer.totp_secret, code):
        raise AccountError("That code does not match.")
    organizer.totp_secret = None
    audit.record(organizer, "disable second factor", organizer.email)
    db.session.commit()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(by: Organizer, email: str, role: str) -> tuple[Invitation, str]:
    """A new invitation and its token (the only copy: it goes out in the email)."""
    if role not in RANKS:
        raise AccountError(f"The role must be one of {', '.join(RANKS)}.")
    address = normalise(email)
    if db.session.scalar(select(Organizer.id).where(Organizer.email == address)):
        raise AccountError("There is already an account with this email.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(email=address, role=role, token_hash=_token_hash(token),
                            invited_by=by.id, expires_at=utcnow() + INVITATION_LIFE)
    db.session.add(invitation)
    audit.record(by, "invite", address, role=role)
    db.session.commit()
    return invitation, token


def open_invitation(token: str) -> Invitation:
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _token_hash(token)))
    if invitation is None or invitation.revoked_at is not None:
        raise AccountError("This invitation is not valid.")
    if invitation.accepted_at is not None:
        raise AccountError("This invitation was already used: log in instead.")
    if invitation.expires_at < utcnow():
        raise AccountError("This invitation has expired: ask for a new one.")
    return invitation


def accept_invitation(token: str, password: str) -> Organizer:
    invitation = open_invitation(token)
    organizer = Organizer(email=invitation.email, role=invitation.role,
                          password_hash=hash_password(password))
    db.session.add(organizer)
    invitation.accepted_at = utcnow()
    db.session.flush()
    audit.record(organizer, "accept invitation", organizer.email, role=organizer.role)
    db.session.commit()
    return organizer


def revoke_invitation(by: Organizer, invitation_id: int) -> None:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None:
        raise AccountError("No open invitation with this id.")
    invitation.revoked_at = utcnow()
    audit.record(by, "revoke invitation", invitation.email)
    db.session.commit()


def _owners_left_without(organizer: Organizer) -> int:
    others = select(Organizer.id).where(Organizer.role == Role.OWNER, Organizer.active.is_(True),
                                        Organizer.id != organizer.id)
    return len(db.session.scalars(others).all())


def set_role(by: Organizer, organizer_id: int, role: str) -> Organizer:
    organizer = db.session.get(Organizer, organizer_id)
    if organizer is None:
        raise AccountError("No such account.")
    if role not in RANKS:
        raise AccountError(f"The role must be one of {', '.join(RANKS)}.")
    if organizer.role == Role.OWNER and role != Role.OWNER and not _owners_left_without(organizer):
        raise AccountError("The campaign needs at least one owner.")
    before, organizer.role = organizer.role, role
    organizer.session_version += 1  # the new role applies from the next login
    audit.record(by, "change role", organizer.email, before=before, after=role)
    db.session.commit()
    return organizer


def set_active(by: Organizer, organizer_id: int, active: bool) -> Organizer:
    organizer = db.session.get(Organizer, organizer_id)
    if organizer is None:
        raise AccountError("No such account.")
    if not active and organizer.role == Role.OWNER and not _owners_left_without(organizer):
        raise AccountError("The campaign needs at least one owner.")
    organizer.active = active
    organizer.session_version += 1
    audit.record(by, "reactivate account" if active else "deactivate account", organizer.email)
    db.session.commit()
    return organizer
