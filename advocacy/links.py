"""Signed links in emails: confirming letters, a supporter's status page and their data page,
the office's own page at the foot of each letter, and an organizer's new password.

Each link carries a row id signed with the app's secret and a salt of its own, so one kind of
link never opens another's page."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TypeVar

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from advocacy import clock
from advocacy.extensions import db
from advocacy.models import Organizer, Submission, Supporter

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


# The office's own say (issue 19): one link per office and campaign, at the foot of each
# letter. It is signed over (official id, campaign id, week it was issued), not per letter:
# every letter of a week to that office carries the same link, so building it costs a dict
# look-up (cached below), and it is the same whenever the letter is composed. Forwarded, it
# lets its reader do no more than the office could: a digest, a week's pause, an address
# proposed that an organizer must accept; each is audited and undone from the admin.
OFFICE_SALT = "advocacy-office-say"
OFFICE_LINK_DAYS = 90  # valid for at least this long; up to a week more (issued by week)
_WEEK_DAYS = 7


@functools.lru_cache(maxsize=8)
def _office_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=OFFICE_SALT)


@functools.lru_cache(maxsize=4096)
def _office_token(secret: str, official_id: int, campaign_id: int, week: int) -> str:
    return str(_office_serializer(secret).dumps([official_id, campaign_id, week]))


def _week(now: datetime) -> int:
    return now.toordinal() // _WEEK_DAYS


def office_link(official_id: int, campaign_id: int, language: str) -> str:
    """The page where the office says how it wants these letters (public.office_say), in the
    letters' language."""
    token = _office_token(current_app.config["SECRET_KEY"], official_id, campaign_id,
                          _week(clock.now()))
    return f"{current_app.config['ADVOCACY_PUBLIC_URL']}/office/{token}?lang={language}"


def office_for_token(token: str) -> tuple[int, int]:
    """(official id, campaign id) of an office link; ConfirmationError when it is not one of
    ours, or older than OFFICE_LINK_DAYS (and its week)."""
    try:
        official_id, campaign_id, week = _office_serializer(
            current_app.config["SECRET_KEY"]).loads(token)
        official_id, campaign_id, week = int(official_id), int(campaign_id), int(week)
    except (BadSignature, ValueError, TypeError):
        raise ConfirmationError(_("This link is not valid: please copy it whole.")) from None
    # Counted from the start of the week it was issued in, plus that week: 91 to 97 days.
    if clock.now().toordinal() - week * _WEEK_DAYS > OFFICE_LINK_DAYS + _WEEK_DAYS:
        raise ConfirmationError(_("This link has expired: the link in a more recent letter"
                                  " works.")) from None
    return official_id, campaign_id


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


RESET_SALT = "advocacy-password-reset"
RESET_MAX_AGE = 3600  # an hour: the email says so


def _reset_serializer(password_hash: str) -> URLSafeTimedSerializer:
    """The account's current password hash is part of the salt: once the password changes
    (through this link or any other way), every link made before stops working; and the
    token itself carries nothing of the hash."""
    return _serializer(f"{RESET_SALT}:{password_hash}")


def password_reset_link(organizer: Organizer) -> str:
    """The link that lets an organizer choose a new password: once, for RESET_MAX_AGE."""
    token = _reset_serializer(organizer.password_hash).dumps(organizer.id)
    return f"{current_app.config['ADVOCACY_PUBLIC_URL']}/admin/reset/{token}"


def organizer_for_reset_token(token: str) -> Organizer:
    """The active account a reset link is for, or ConfirmationError saying what is wrong."""
    invalid = _("This link is not valid, or it was used already: ask for a new one.")
    _signed, organizer_id = _serializer(RESET_SALT).loads_unsafe(token)  # the id, to look up
    organizer = (db.session.get(Organizer, organizer_id)
                 if isinstance(organizer_id, int) else None)
    if organizer is None or not organizer.active:
        raise ConfirmationError(invalid)
    try:
        _reset_serializer(organizer.password_hash).loads(token, max_age=RESET_MAX_AGE)
    except SignatureExpired:
        raise ConfirmationError(_("This link has expired: ask for a new one.")) from None
    except BadSignature:
        raise ConfirmationError(invalid) from None
    return organizer
