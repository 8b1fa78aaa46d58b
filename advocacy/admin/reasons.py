"""Delivery's notes (a letter's or follow-up's `last_error`) in the organizer's words.

The notes stay in English in the database (delivery.notes names each kind); an organizer
reads a sentence in their language for each kind, followed by the note's detail as it came
(a relay's reply, an error's text: the relay's own words, not ours to translate). A note of
no known kind is shown as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Lazy (`_`), as the tables below are built at import; named `_` so that extraction finds them.
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _

from advocacy.delivery import notes
from advocacy.letters.states import ERASED


@dataclass(frozen=True)
class Reason:
    """A note read: the sentences in the organizer's language, then the detail as written."""

    sentence: str  # empty when the note is of no known kind
    detail: str  # the words that followed the kind (or the whole unknown note); may be empty


_WHOLE = {
    notes.CONNECTION_DROPPED: _(
        "It may have arrived: the connection broke after the whole letter went out, before the"
        " mail server answered. Check whether the office got it."),
    notes.STOPPED_WHILE_SENDING: _(
        "It may have arrived: its worker stopped while sending it. Check whether the office"
        " got it."),
    notes.STOPPED_WHILE_SENDING_RESENT: _(
        "It may have arrived: its worker stopped while sending it. It goes again with the same"
        " Message-ID, as the campaign chose."),
    notes.STOPPED_BEFORE: _("Its worker stopped before sending it: it is queued again."),
    notes.STOPPED_TOO_OFTEN: _(
        "Its worker stopped before sending it too many times: check the letter, then release"
        " it."),
    notes.RELAY_UNREACHABLE: _(
        "The campaign's mail server could not be reached: it is tried again later."),
    notes.BATCH_BROKE_OFF: _("Not sent: its batch broke off. It is tried again later."),
    notes.RELAY_WAS_UNREACHABLE: _(
        "Not sent: the campaign's mail server could not be reached. It is tried again later."),
    notes.JOB_BROKE_OFF: _("Not sent: its job broke off. It is queued again."),
    notes.DEACTIVATED: _("The official was deactivated."),
    notes.NOT_CONFIRMED: _("The supporter did not confirm it in time."),
    ERASED: _("Cancelled: the supporter erased their data."),
    notes.PAUSED: _("Paused: the campaign or the office is paused."),
    notes.PAUSED_BY_ORGANIZERS: _("Paused by the organizers."),
    notes.UNVERIFIED: _("The office's address is not verified."),
    notes.BOUNCED: _("The office's address bounced."),
    notes.NO_ADDRESS: _("The office has no email address."),
    notes.ASKED_FOR_DIGEST: _(
        "The office asked for one daily digest: the letter goes in it."),
    notes.NEAR_IDENTICAL: _(
        "Nearly identical to many letters to this office: it goes in the daily digest."),
    notes.OUTSIDE_WINDOW: _(
        "Outside the office's send window: it goes when the window opens."),
    notes.DAILY_CAP: _("The office's daily cap is reached: it goes in the digest."),
}

# A kind, then ": " and its detail, kept as written.
_DETAILED = {
    notes.TEMPLATE: _("The letter could not be composed from its template."),
    notes.RELAY: _("The campaign's mail server failed."),
    notes.AMBIGUOUS: _("It may have arrived: the mail server's answer was lost."),
    notes.RESENT_AMBIGUOUS: _(
        "It may have arrived: the mail server's answer was lost. It goes again with the same"
        " Message-ID, as the campaign chose."),
    notes.BOUNCED_AFTER: _(
        "The office's mail server took it, then sent it back (a bounce)."),
    notes.DELAYED_AFTER: _("The office's mail server reports a delay (not a bounce)."),
    notes.COMPLAINT: _("The office reported our mail as unwanted."),
}

# A kind, then ": " and another note, read in turn.
_AROUND = {
    notes.DIGEST: _("The digest carrying it:"),
    notes.PAUSED: _("The office is paused."),
}

_SCOPES = {
    "official_day": _("Held by the limit of letters per office per day."),
    "official_hour": _("Held by the limit of letters per office per hour."),
    "domain": _("Held by the limit for the office's mail domain."),
    "relay": _("Held by the limit of the campaign's mail server."),
}

_GAVE_UP = re.compile(rf"{re.escape(notes.GAVE_UP)} (\d+) tries: (.*)\Z", re.DOTALL)
_NO_LIMITS = re.compile(rf"{re.escape(notes.NOT_SENT_NO_LIMITS)} \((.*)\)\Z", re.DOTALL)
# A relay's reply: its code first (notes.refusal), or as an older digest wrote it, a tuple.
_REFUSAL = re.compile(r"\(?([45])\d\d\b")
# notes.exception_note: smtplib's and the socket's errors, by their class's name.
_EXCEPTION = re.compile(r"(SMTP\w*|\w*(Error|Exception)|gaierror|herror|timeout): ")


def read(note: str | None) -> Reason | None:
    """A stored note in the organizer's words; None for no note."""
    if not note:
        return None
    sentences, detail = _read(note)
    return Reason(" ".join(sentences), detail)


def _read(note: str) -> tuple[list[str], str]:
    if note in _WHOLE:
        return [str(_WHOLE[note])], ""
    for kind, sentence in _DETAILED.items():
        if note.startswith(kind + ": "):
            return [str(sentence)], note[len(kind) + 2:]
    for kind, sentence in _AROUND.items():
        if note.startswith(kind + ": "):
            inner, detail = _read(note[len(kind) + 2:])
            return [str(sentence), *inner], detail
    if note.startswith(notes.RATE_LIMIT + ": "):
        scope = note[len(notes.RATE_LIMIT) + 2:]
        return (([str(_SCOPES[scope])], "") if scope in _SCOPES
                else ([gettext("Held by a rate limit.")], scope))
    if gave_up := _GAVE_UP.match(note):
        tries = int(gave_up.group(1))
        inner, detail = _read(gave_up.group(2))
        return [ngettext("Gave up after %(num)d try.", "Gave up after %(num)d tries.", tries),
                *inner], detail
    if note.startswith(notes.PAUSED_BY_OFFICE + " "):
        return [gettext("Paused by the office until %(when)s.",
                        when=note[len(notes.PAUSED_BY_OFFICE) + 1:])], ""
    if no_limits := _NO_LIMITS.match(note):
        return [gettext("Not sent: the rate limits could not be checked. It is queued again.")
                ], no_limits.group(1)
    if refused := _REFUSAL.match(note):
        return [gettext("The mail server refused it.") if refused.group(1) == "5"
                else gettext("The mail server asked to try again later.")], note
    if _EXCEPTION.match(note):
        return [gettext("The connection to the mail server failed.")], note
    return [], note
