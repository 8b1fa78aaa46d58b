"""Signed links in emails: confirming letters, a supporter's status page and their data page.

Each link carries a row id signed with the app's secret and a salt of its own, so one kind of
link never opens another's page."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from advocacy.extensions import db
from advocacy.models import (
    Submission,
    Supporter,
)

CONFIRM_SALT = "advocacy-confirm"


class ConfirmationError(Exception):
    """A confirmation link that is invalid or expired."""

STATUS_SALT = "advocacy-status"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _link(path: str, salt: str, row_id: int) -> str:
    token = _serializer(salt).dumps(row_id)
    return f"{current_app.config['ADVOCACY_PUBLIC_URL']}/{path}/{token}"


def _signed_id(token: str, salt: str, max_age: int | None, expired: str) -> int:
    """The id a signed link stands for, or ConfirmationError saying what is wrong."""
    try:
        return int(_serializer(salt).loads(token, max_age=max_age))
    except SignatureExpired:
        raise ConfirmationError(expired) from None
    except (BadSignature, ValueError, TypeError):
        raise ConfirmationError(_("This link is not valid: please copy it whole.")) from None


def submission_for(token: str, salt: str, max_age: int | None) -> Submission:
    submission_id = _signed_id(token, salt, max_age,
                               _("This link has expired: please write your letter again."))
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        raise ConfirmationError(_("These letters no longer exist."))
    return submission

DATA_SALT = "advocacy-my-data"

DATA_LINK_MAX_AGE = 2 * 24 * 3600


def data_link(supporter_id: int) -> str:
    """The supporter's page to download or erase their data; valid DATA_LINK_MAX_AGE."""
    return _link("my-data", DATA_SALT, supporter_id)


def supporter_for_data_token(token: str) -> Supporter:
    supporter_id = _signed_id(token, DATA_SALT, DATA_LINK_MAX_AGE,
                              _("This link has expired: ask for a new one."))
    supporter = db.session.get(Supporter, supporter_id)
    if supporter is None:
        raise ConfirmationError(_("This link is not valid: please copy it whole."))
    return supporter


def confirmation_link(submission_id: int) -> str:
    """The link that confirms a submission; it expires with CONFIRM_MAX_AGE."""
    return _link("confirm", CONFIRM_SALT, submission_id)


def submission_for_token(token: str) -> Submission:
    return submission_for(token, CONFIRM_SALT, current_app.config["CONFIRM_MAX_AGE"])


def status_link(submission_id: int) -> str:
    """The supporter's private page for these letters; it lives as long as their data."""
    return _link("status", STATUS_SALT, submission_id)
