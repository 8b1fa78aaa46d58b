"""Signed links in emails: confirming letters, a supporter's status page and their data page.

Each link carries a row id signed with the app's secret and a salt of its own, so one kind of
link never opens another's page."""

from __future__ import annotations

from typing import TypeVar

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from advocacy.extensions import db
from advocacy.models import Submission, Supporter

CONFIRM_SALT = "advocacy-confirm"
STATUS_SALT = "advocacy-status"
DATA_SALT = "advocacy-my-data"
DATA_LINK_MAX_AGE = 2 * 24 * 3600
Row = TypeVar("Row", Submission, Supporter)


class ConfirmationError(Exception):
    """A confirmation link that is invalid or expired."""


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _link(path: str, salt: str, row_id: int) -> str:
    token = _serializer(salt).dumps(row_id)
    return f"{current_app.config['ADVOCACY_PUBLIC_URL']}/{path}/{token}"


def _row_for(model: type[Row], token: str, salt: str, max_age: int | None, expired: str,
             gone: str) -> Row:
    """The row a signed link stands for, or ConfirmationError saying what is wrong."""
    try:
        row_id = int(_serializer(salt).loads(token, max_age=max_age))
    except SignatureExpired:
        raise ConfirmationError(expired) from None
    except (BadSignature, ValueError, TypeError):
        raise ConfirmationError(_("This link is not valid: please copy it whole.")) from None
    row = db.session.get(model, row_id)
    if row is None:
        raise ConfirmationError(gone)
    return row


def submission_for(token: str, salt: str, max_age: int | None) -> Submission:
    return _row_for(Submission, token, salt, max_age,
                    _("This link has expired: please write your letter again."),
                    _("These letters no longer exist."))


def data_link(supporter_id: int) -> str:
    """The supporter's page to download or erase their data; valid DATA_LINK_MAX_AGE."""
    return _link("my-data", DATA_SALT, supporter_id)


def supporter_for_data_token(token: str) -> Supporter:
    return _row_for(Supporter, token, DATA_SALT, DATA_LINK_MAX_AGE,
                    _("This link has expired: ask for a new one."),
                    _("This link is not valid: please copy it whole."))


def confirmation_link(submission_id: int) -> str:
    """The link that confirms a submission; it expires with CONFIRM_MAX_AGE."""
    return _link("confirm", CONFIRM_SALT, submission_id)


def submission_for_token(token: str) -> Submission:
    return submission_for(token, CONFIRM_SALT, current_app.config["CONFIRM_MAX_AGE"])


def status_link(submission_id: int) -> str:
    """The supporter's private page for these letters; it lives as long as their data."""
    return _link("status", STATUS_SALT, submission_id)


RESEND_SALT = "advocacy-resend"
RESEND_MAX_AGE = 24 * 3600


def resend_token(submission_id: int, shown_address: str) -> str:
    """The token of "send the email again" on a "check your inbox" page: the submission and
    the address as that page shows it (masked), signed; 0 stands for no submission (a bot's)."""
    return str(_serializer(RESEND_SALT).dumps([submission_id, shown_address]))


def resend_request(token: str) -> tuple[int, str] | None:
    """What a resend token stands for, or None when it is not one of ours or is too old."""
    try:
        submission_id, shown = _serializer(RESEND_SALT).loads(token, max_age=RESEND_MAX_AGE)
        return int(submission_id), str(shown)
    except (BadSignature, ValueError, TypeError):
        return None


ANSWER_SALT = "advocacy-reply-answer"


def answer_link(letter_id: int, answer: str) -> str:
    """One click on "did you get a reply?": the letter and the answer, signed. It lives as
    long as the letter's writer is known (the page checks retention, as the status page does)."""
    token = _serializer(ANSWER_SALT).dumps([letter_id, answer])
    return f"{current_app.config['ADVOCACY_PUBLIC_URL']}/reply-answer/{token}"


def answer_request(token: str) -> tuple[int, str]:
    """The letter and answer an answer link stands for, or ConfirmationError."""
    try:
        letter_id, answer = _serializer(ANSWER_SALT).loads(token)
        return int(letter_id), str(answer)
    except (BadSignature, ValueError, TypeError):
        raise ConfirmationError(_("This link is not valid: please copy it whole.")) from None
