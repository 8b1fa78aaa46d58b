"""The audit log in the organizers' words: each entry a sentence, its details a readable list.

Every action the code records (audit.record's callers) has its sentence here; a test greps
the callers and checks that none is missing. An action from elsewhere (an older version, a
branch) still reads as a sentence, from its own words. Details keep every value recorded,
named in words and shown as text rather than as Python's lists and dicts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import format_decimal, gettext
from flask_babel import ngettext as _ngettext

from advocacy.models import AuditEntry

LIST_SHOWN = 20  # a long list of ids or keys shows its first ones and how many more


def _(message: str, **values: Any) -> str:
    return str(gettext(message, **values))


def ngettext(singular: str, plural: str, num: int, **values: Any) -> str:
    return str(_ngettext(singular, plural, num, **values))


@dataclass(frozen=True)
class Words:
    """What a sentence is made of: who did it, on what, and the recorded details."""

    who: str
    subject: str
    details: dict[str, Any]

    def number(self, name: str) -> int:
        value = self.details.get(name)
        return value if isinstance(value, int) else 0

    def text(self, name: str) -> str:
        value = self.details.get(name)
        return "" if value is None else str(value)

    def letters(self) -> int:
        """How many letters a moderation entry moved: its subject says ("3 letters")."""
        first = self.subject.split(" ", 1)[0]
        return int(first) if first.isdigit() else len(self.details.get("letters") or [])


def _role(value: str) -> str:
    return {"owner": _("owner"), "editor": _("editor"), "viewer": _("viewer"),
            "partner": _("partner account")}.get(value, value)


def _complaint(w: Words) -> str:
    if w.details.get("paused"):
        return _("Someone at the office %(office)s marked a letter as spam: the office is"
                 " paused.", office=w.subject)
    return _("Someone marked an email from the campaign as spam (%(what)s).", what=w.subject)


def _home(w: Words) -> str:
    if w.subject in ("", "(none)"):
        return _("%(who)s set no home campaign: the site's first page lists the open"
                 " campaigns.", who=w.who)
    return _("%(who)s made %(campaign)s the home campaign.", who=w.who, campaign=w.subject)


SENTENCES: dict[str, Callable[[Words], str]] = {
    # Accounts
    "log in": lambda w: _("%(who)s logged in.", who=w.who),
    "log in with a recovery code": lambda w: ngettext(
        "%(who)s logged in with a recovery code (%(num)d left).",
        "%(who)s logged in with a recovery code (%(num)d left).",
        w.number("remaining"), who=w.who),
    "log out everywhere": lambda w: _("%(who)s logged out everywhere.", who=w.who),
    "enable second factor": lambda w: _("%(who)s turned on the second factor.", who=w.who),
    "disable second factor": lambda w: _("%(who)s turned off the second factor.", who=w.who),
    "make recovery codes": lambda w: _("%(who)s made new recovery codes (the old ones no"
                                       " longer work).", who=w.who),
    "send password reset link": lambda w: _(
        "A link to choose a new password was sent to %(email)s (asked for on the login"
        " page).", email=w.subject),
    "reset password by email": lambda w: _("%(who)s chose a new password through the link"
                                           " sent by email.", who=w.who),
    "set password from the command line": lambda w: _(
        "The password of %(email)s was set from the command line.", email=w.subject),
    "invite": lambda w: _("%(who)s invited %(email)s as %(role)s.", who=w.who,
                          email=w.subject, role=_role(w.text("role"))),
    "accept invitation": lambda w: _("%(who)s accepted the invitation and joined as"
                                     " %(role)s.", who=w.who, role=_role(w.text("role"))),
    "revoke invitation": lambda w: _("%(who)s withdrew the invitation to %(email)s.",
                                     who=w.who, email=w.subject),
    "invitation bounced": lambda w: _("The invitation to %(email)s could not be delivered.",
                                      email=w.subject),
    "change role": lambda w: _("%(who)s made %(email)s %(role)s (was %(before)s).",
                               who=w.who, email=w.subject, role=_role(w.text("after")),
                               before=_role(w.text("before"))),
    "deactivate account": lambda w: _("%(who)s deactivated the account of %(email)s.",
                                      who=w.who, email=w.subject),
    "reactivate account": lambda w: _("%(who)s reactivated the account of %(email)s.",
                                      who=w.who, email=w.subject),
    # Campaigns, pages, partners
    "create campaign": lambda w: _("%(who)s created the campaign %(campaign)s.", who=w.who,
                                   campaign=w.subject),
    "copy campaign": lambda w: _("%(who)s created the campaign %(campaign)s as a copy of"
                                 " %(source)s.", who=w.who, campaign=w.subject,
                                 source=w.text("source")),
    "change campaign": lambda w: _("%(who)s changed the settings of the campaign"
                                   " %(campaign)s.", who=w.who, campaign=w.subject),
    "set home campaign": _home,
    "pause campaign": lambda w: _("%(who)s paused the campaign %(campaign)s.", who=w.who,
                                  campaign=w.subject),
    "resume campaign": lambda w: _("%(who)s resumed the campaign %(campaign)s.", who=w.who,
                                   campaign=w.subject),
    "save page": lambda w: _("%(who)s saved version %(version)s of the page %(page)s.",
                             who=w.who, version=w.text("version"), page=w.subject),
    "roll back page": lambda w: _("%(who)s brought back version %(old)s of the page %(page)s"
                                  " (saved as version %(version)s).", who=w.who,
                                  old=w.text("to_version"), page=w.subject,
                                  version=w.text("version")),
    "add partner": lambda w: _("%(who)s added the partner %(partner)s.", who=w.who,
                               partner=w.text("name") or w.subject),
    "edit partner": lambda w: _("%(who)s changed the partner %(partner)s.", who=w.who,
                                partner=w.subject),
    "download opt-ins": lambda w: ngettext(
        "%(who)s downloaded %(num)d opt-in for %(whom)s.",
        "%(who)s downloaded %(num)d opt-ins for %(whom)s.",
        w.number("count"), who=w.who, whom=w.subject),
    # Letters
    "save letter": lambda w: _("%(who)s saved version %(version)s of the letter"
                               " %(letter)s.", who=w.who, version=w.text("version"),
                               letter=w.subject),
    "roll back letter": lambda w: _("%(who)s brought back version %(old)s of the letter"
                                    " %(letter)s (saved as version %(version)s).", who=w.who,
                                    old=w.text("to_version"), letter=w.subject,
                                    version=w.text("version")),
    "send test letter": lambda w: _("%(who)s sent a test of the letter %(letter)s to"
                                    " %(email)s.", who=w.who, letter=w.subject,
                                    email=w.text("to") or w.who),
    "release letters": lambda w: ngettext("%(who)s released %(num)d letter.",
                                          "%(who)s released %(num)d letters.",
                                          w.letters(), who=w.who),
    "retry letters": lambda w: ngettext("%(who)s sent %(num)d failed letter again.",
                                        "%(who)s sent %(num)d failed letters again.",
                                        w.letters(), who=w.who),
    "cancel letters": lambda w: ngettext("%(who)s cancelled %(num)d letter.",
                                         "%(who)s cancelled %(num)d letters.",
                                         w.letters(), who=w.who),
    "complaint received": _complaint,
    # Officials and groups
    "add official": lambda w: _("%(who)s added the office %(office)s.", who=w.who,
                                office=w.subject),
    "edit official": lambda w: _("%(who)s changed the office %(office)s.", who=w.who,
                                 office=w.subject),
    "import officials": lambda w: _("%(who)s imported offices from %(file)s.", who=w.who,
                                    file=w.subject),
    "verify official": lambda w: _("%(who)s checked the address of the office %(office)s.",
                                   who=w.who, office=w.subject),
    "unverify official": lambda w: _("%(who)s marked the address of the office %(office)s"
                                     " as not checked.", who=w.who, office=w.subject),
    "deactivate official": lambda w: _("%(who)s deactivated the office %(office)s.",
                                       who=w.who, office=w.subject),
    "reactivate official": lambda w: _("%(who)s reactivated the office %(office)s.",
                                       who=w.who, office=w.subject),
    "pause official": lambda w: _("%(who)s paused the office %(office)s.", who=w.who,
                                  office=w.subject),
    "resume official": lambda w: _("%(who)s resumed the office %(office)s.", who=w.who,
                                   office=w.subject),
    # What an office said through the link in its letters, and organizers' answers to it
    "office asked for a digest": lambda w: _("The office %(office)s asked for its letters in"
                                             " one daily digest.", office=w.subject),
    "office paused its letters": lambda w: _("The office %(office)s paused its letters for a"
                                             " while.", office=w.subject),
    "office proposed an address": lambda w: _("The office %(office)s proposed another address:"
                                              " %(email)s (not checked yet).",
                                              office=w.subject, email=w.text("email")),
    "accept office's address": lambda w: _("%(who)s accepted the address the office"
                                           " %(office)s gave: %(email)s.", who=w.who,
                                           office=w.subject, email=w.text("email")),
    "dismiss office's address": lambda w: _("%(who)s dismissed the address the office"
                                            " %(office)s proposed: %(email)s.", who=w.who,
                                            office=w.subject, email=w.text("email")),
    "undo office's choice": lambda w: _("%(who)s undid what the office %(office)s chose (its"
                                        " digest or its pause).", who=w.who,
                                        office=w.subject),
    "follow-up round": lambda w: ngettext(
        "%(who)s sent a round of follow-ups (%(round)s) to %(num)d office.",
        "%(who)s sent a round of follow-ups (%(round)s) to %(num)d offices.",
        w.number("offices"), who=w.who, round=w.subject),
    "follow-up round queued again": lambda w: ngettext(
        "%(who)s queued the follow-up round %(round)s again: %(num)d letter.",
        "%(who)s queued the follow-up round %(round)s again: %(num)d letters.",
        w.number("letters"), who=w.who, round=w.subject),
    "release follow-ups": lambda w: ngettext("%(who)s released %(num)d follow-up letter.",
                                             "%(who)s released %(num)d follow-up letters.",
                                             w.letters(), who=w.who),
    "cancel follow-ups": lambda w: ngettext("%(who)s cancelled %(num)d follow-up letter.",
                                            "%(who)s cancelled %(num)d follow-up letters.",
                                            w.letters(), who=w.who),
    "add group": lambda w: _("%(who)s added the group %(group)s.", who=w.who,
                             group=w.subject),
    "edit group": lambda w: _("%(who)s changed the group %(group)s.", who=w.who,
                              group=w.subject),
}

def _labels() -> dict[str, str]:
    """The details' names in words; a name not listed reads as itself, underscores as spaces."""
    return {
        "role": _("Role"), "before": _("Was"),
        "after": _("Now"), "reason": _("Reason"),
        "letters": _("Letters (ids)"), "letter": _("Letter (id)"),
        "version": _("Version"), "to_version": _("Brought back from version"),
        "email": _("Email address"), "source": _("Taken from"),
        "released": _("Letters released"), "address_set_by": _(
            "Address set by"), "cancelled": _("Letters cancelled"),
        "left_sending": _("Letters already being sent"),
        "added": _("Added"), "changed": _("Changed"),
        "unchanged": _("Unchanged"), "unverified": _(
            "Address no longer checked"), "count": _("How many"),
        "remaining": _("Left"), "paused": _("Paused"),
        "kind": _("Kind of email"), "to": _("Sent to"),
        "official": _("Office"), "campaign": _("Campaign"),
        "partner": _("Partner"), "partner_id": _("Partner (id)"),
        "name": _("Name"), "office": _("Office's title"),
        "body": _("Group"), "changes": _("Changes"),
        "by": _("By"), "campaign_id": _("Campaign (id)"), "until": _("Until"),
        "note": _("Note"), "current": _("Current address"), "digest": _("Daily digest"),
        "paused_until": _("Paused until"), "offices": _("Offices"),
        "letter_subject": _("Letter's subject"), "language": _("Language"),
    }


@dataclass(frozen=True)
class Entry:
    """One audit entry as the page shows it."""

    id: int
    at: datetime
    sentence: str
    details: list[tuple[str, str]]


def _who(entry: AuditEntry) -> str:
    if entry.organizer_email:
        return entry.organizer_email
    return _("Someone at the command line") if "command line" in entry.action \
        else _("The system")


def _label(name: str) -> str:
    return _labels().get(name) or name.replace("_", " ").capitalize()


# Actions whose details are fields changed, each recorded as [before, after].
CHANGED_FIELDS = frozenset({"edit official", "add group", "edit group"})


def shown(value: Any, pair: bool = False) -> str:
    """A recorded value as text: lists joined (the first ones, and how many more), mappings
    as "name: value; ...", yes and no, "none" for nothing; a `pair` as "before → after"."""
    if value is None or value == "" or value == [] or value == {}:
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return str(format_decimal(value))
    if isinstance(value, dict):
        labels = _labels()
        return "; ".join(f"{labels.get(str(k)) or k}: {shown(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        if pair and len(value) == 2:
            return f"{shown(value[0])} → {shown(value[1])}"
        items = [shown(v) for v in value[:LIST_SHOWN]]
        more = len(value) - LIST_SHOWN
        if more > 0:
            items.append(ngettext("and %(num)d more", "and %(num)d more", more))
        return ", ".join(items)
    return str(value)


def sentence(entry: AuditEntry) -> str:
    words = Words(_who(entry), entry.subject, dict(entry.details or {}))
    say = SENTENCES.get(entry.action)
    if say is not None:
        return say(words)
    if entry.subject:  # an action this version does not know: its own words, readable
        return _("%(who)s: %(action)s, %(subject)s.", who=words.who,
                 action=entry.action.replace("_", " "), subject=entry.subject)
    return _("%(who)s: %(action)s.", who=words.who, action=entry.action.replace("_", " "))


def readable(entry: AuditEntry) -> Entry:
    pairs = entry.action in CHANGED_FIELDS
    return Entry(entry.id, entry.created_at, sentence(entry),
                 [(_label(name), shown(value, pair=pairs))
                  for name, value in (entry.details or {}).items()])
