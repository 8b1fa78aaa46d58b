"""What delivery records about a letter or follow-up it did not send (their `last_error`).

The notes are English, kept as written: the code, the tests and the logs match on them. Each
kind is named here once, and the writers build their notes from these names, so that the
admin's reading of them in the organizer's language (admin.reasons) cannot drift apart
from what is written. What follows a kind's prefix (a relay's reply, an exception's text)
is kept as it came.
"""

from __future__ import annotations

from datetime import datetime

# A letter that may or may not have reached the official: a person decides.
AMBIGUOUS = "ambiguous: may have arrived"
RESENT_AMBIGUOUS = f"{AMBIGUOUS}; sent again as the campaign chose"
CONNECTION_DROPPED = (f"{AMBIGUOUS}: the connection dropped after the whole message went out,"
                      " before the relay's answer")
STOPPED_WHILE_SENDING = (f"{AMBIGUOUS}: its worker stopped while sending it; check whether the"
                         " official got it")
STOPPED_WHILE_SENDING_RESENT = (f"{AMBIGUOUS}: its worker stopped while sending it; sent again"
                                " with the same Message-ID, as the campaign chose")

# A worker that stopped (reconcile), and letters a job did not try.
STOPPED_BEFORE = "its worker stopped before sending it: queued again"
STOPPED_TOO_OFTEN = ("its worker stopped before sending it, too many times: check the letter,"
                     " then release it")
RELAY_UNREACHABLE = "relay unreachable"
NOT_SENT_NO_LIMITS = "not sent: the rate limits could not be checked"
BATCH_BROKE_OFF = "not sent: its batch broke off"
RELAY_WAS_UNREACHABLE = "not sent: the relay was unreachable"
JOB_BROKE_OFF = "not sent: its job broke off"

# Prefixes of notes that carry a detail after ": ".
GAVE_UP = "gave up after"  # "gave up after 5 tries: <the last try's note>"
TEMPLATE = "template"  # the letter did not compose: the error's text
RELAY = "relay"  # the relay failed as a whole: the error's text
DIGEST = "digest"  # the office's digest carrying the letter: that email's note
RATE_LIMIT = "rate limit"  # the limit's scope (DeliveryLimiter's Wait.scope)
PAUSED = "paused"  # alone on a follow-up; on a letter followed by the office's own reason

# Whole notes: the letter's or the follow-up's office or campaign keeps it back.
DEACTIVATED = "the official was deactivated"
NOT_CONFIRMED = "not confirmed in time"
PAUSED_BY_ORGANIZERS = "paused by the organizers"
PAUSED_BY_OFFICE = "paused by the office until"  # then "<YYYY-MM-DD HH:MM> UTC"
UNVERIFIED = "the official's address is unverified"
BOUNCED = "the official's address bounced"
NO_ADDRESS = "no address"
ASKED_FOR_DIGEST = "the office asked for one daily digest"
NEAR_IDENTICAL = "near-identical to many letters to this office: goes in the digest"
OUTSIDE_WINDOW = "outside the official's send window"
DAILY_CAP = "daily cap reached: goes in the digest"

# What a bounce or a complaint about a delivered letter says (delivery.bounces).
BOUNCED_AFTER = "bounced after delivery"
DELAYED_AFTER = "delayed after delivery (not a bounce)"
COMPLAINT = "complaint"


def with_detail(prefix: str, detail: object) -> str:
    """A kind's note followed by its detail, as the reader splits them."""
    return f"{prefix}: {detail}"


def gave_up(tries: int, note: str) -> str:
    """The note of a letter failed after its last try."""
    return with_detail(f"{GAVE_UP} {tries} tries", note)


def refusal(code: int, text: str) -> str:
    """A relay's reply as it gave it ("550 5.1.1 no such user")."""
    return f"{code} {text}"


def exception_note(exc: BaseException) -> str:
    """A broken connection's error: its type and its text."""
    return f"{type(exc).__name__}: {exc}"


def paused_by_office(until: datetime) -> str:
    """The note of a letter or follow-up kept back by the office's own pause."""
    return f"{PAUSED_BY_OFFICE} {until:%Y-%m-%d %H:%M} UTC"


def not_sent_no_limits(why: object) -> str:
    """The note of letters put back because Redis did not answer the limiter: why, after."""
    return f"{NOT_SENT_NO_LIMITS} ({why})"
