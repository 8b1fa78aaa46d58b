"""Checking a supporter's submission field by field, with a clear message for each problem."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from linkify_it import LinkifyIt
from linkify_it.tlds import TLDS

from advocacy.email_reasons import email_reason
from advocacy.letters.render import NOTE_MAX, has_control
from advocacy.officials.files import COUNTRIES, LETTER_LANGUAGES

NAME_MAX = 120
_REF = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_GROUP = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
# The honeypot: a field people never see (the form hides it, partners' forms should too),
# that bots filling every field fill. Whoever fills it gets an answer like success and
# nothing is stored or sent: the form's and the JSON API's alike.
HONEYPOT = "website"
TOP_FIELDS = {
    "campaign", "body", "bodies", "country", "language", "supporter", "personal_note",
    "consent", "ref", "newsletter", "partner_optin", "sign_initials", "quote", "ask_reply",
    HONEYPOT,
}
SUPPORTER_FIELDS = {"name", "email", "city", "country"}
# What is said when a choice is neither true nor false (translated when said).
CHOICE_ERRORS: dict[str, Callable[[], str]] = {
    "newsletter": lambda: _("The newsletter choice is true or false."),
    "partner_optin": lambda: _("The partner's news choice is true or false."),
    "sign_initials": lambda: _("Signing with initials is true or false."),
    "quote": lambda: _("The choice to be quoted is true or false."),
    "ask_reply": lambda: _("Asking later about a reply is true or false."),
}


# Names and cities reach other people's inboxes (the confirmation email goes to whatever
# address was typed): none may carry a link. linkify-it (the markdown-it family's port of
# the library chat apps use) finds what a mail reader would make clickable, "https://…",
# "www.…" and bare "name.tld" with every IANA top-level domain it ships, plus addresses.
_LINKS = LinkifyIt().tlds(TLDS, True)
# And what readers link whatever follows: a scheme, or "www." (linkify-it wants a known TLD).
_LINK_START = re.compile(r"://|(?<![^\W_])www\.", re.IGNORECASE)
# Invisible format characters (Unicode category Cf): bidirectional overrides and isolates
# (U+202A-202E, U+2066-2069) that make text read differently from what it is, zero-width
# spaces and joiners. Zero-width (non-)joiners stay allowed between two letters, where
# Persian and Indic names need them.
_JOINERS = "\u200c\u200d"


def _has_link(value: str) -> bool:
    return bool(_LINK_START.search(value) or _LINKS.test(value))


def _has_invisible(value: str) -> bool:
    for at, ch in enumerate(value):
        if unicodedata.category(ch) != "Cf":
            continue
        if ch in _JOINERS and 0 < at < len(value) - 1 and all(
                unicodedata.category(n)[0] in "LM" for n in (value[at - 1], value[at + 1])):
            continue
        return True
    return False


@dataclass(frozen=True)
class SubmissionInput:
    campaign: str | None
    body: str
    target_country: str
    language: str
    name: str
    email: str
    city: str
    country: str
    personal_note: str
    ref: str | None
    newsletter: bool = False  # a separate consent: the campaign may write to them later
    # Another: the partner whose ref this is may write to them (ignored without a partner).
    partner_optin: bool = False
    sign_initials: bool = False  # the letters are signed "A. M." instead of the full name
    quote: bool = False  # the paragraph may be quoted (initials and city) in the hand-over
    # Another separate consent: one email, a while after delivery, "did you get a reply?".
    ask_reply: bool = False
    # Every group written to, in order (`body` is the first): one submission, one confirmation.
    bodies: tuple[str, ...] = ()

    def groups(self) -> tuple[str, ...]:
        """The slugs of the groups this submission writes to."""
        return self.bodies or (self.body,)


def valid_ref(value: object) -> bool:
    """A partner's ref (and a campaign slug): lowercase letters, digits and dashes."""
    return isinstance(value, str) and _REF.match(value) is not None


def valid_group(value: object) -> bool:
    """A group's slug as the officials files allow it (officials.files.BodySpec)."""
    return isinstance(value, str) and _GROUP.match(value) is not None


def _line(value: Any, label: str, limit: int = NAME_MAX) -> tuple[str, str | None]:
    """A one-line text field (a name, a city): required, trimmed, no control or invisible
    characters, no markup, no link."""
    if not isinstance(value, str):
        return "", _("%(label)s is required.", label=label)
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        return "", _("%(label)s is required.", label=label)
    if len(value) > limit:
        return "", _("%(label)s is too long (at most %(limit)d characters).", label=label,
                   limit=limit)
    if has_control(value):
        return "", _("%(label)s must be a single line without control characters.",
                   label=label)
    if any(ch in value for ch in "<>"):
        return "", _("%(label)s cannot contain < or >.", label=label)
    if _has_invisible(value):
        return "", _("%(label)s cannot contain invisible or text-direction characters.",
                   label=label)
    if _has_link(value):
        return "", _("%(label)s cannot contain a web or email address. If a dot belongs to it,"
                   " put a space after the dot.", label=label)
    return value, None


def _country(value: Any, label: str) -> tuple[str, str | None]:
    if not isinstance(value, str) or not value.strip():
        return "", _("%(label)s is required.", label=label)
    code = value.strip().upper()
    if code not in COUNTRIES:
        return "", _("%(label)s must be a two-letter country code such as FR or DE.",
                   label=label)
    return code, None


def normalise_email(value: str) -> str:
    """The form in which we store and compare supporter addresses (ASCII: any relay takes it)."""
    checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    return (checked.ascii_email or checked.normalized).lower()


def caught_in_honeypot(data: Any) -> bool:
    """Whether a submission (the API's JSON, or the form's fields) filled the honeypot."""
    return isinstance(data, Mapping) and bool(data.get(HONEYPOT))


MAX_GROUPS = 20


def _groups(value: Any, body: Any, errors: dict[str, str]) -> tuple[str, ...]:
    """`bodies`, several groups at once: a list of distinct slugs (with `body`, if given,
    among them); () when absent or wrong (then with a message in `errors`)."""
    if value is None:
        return ()
    if (not isinstance(value, list) or not value or len(value) > MAX_GROUPS
            or not all(valid_group(v) for v in value)):
        errors["bodies"] = _("Choose at least one of the groups of offices this campaign"
                             " offers.")
        return ()
    slugs = tuple(dict.fromkeys(value))
    if body is not None and body not in slugs:
        errors["body"] = _("Give either body or bodies, or a body among the bodies.")
        return ()
    return slugs


def check_submission(data: Any) -> tuple[SubmissionInput | None, dict[str, str]]:
    """Validate a JSON submission; returns (input, {}) or (None, {field: message})."""
    if not isinstance(data, dict):
        return None, {"_": _("Send a JSON object.")}
    errors: dict[str, str] = {}
    for key in sorted(set(data) - TOP_FIELDS):
        errors[key] = _("Unknown field.")

    campaign = data.get("campaign")
    if campaign is not None and not valid_ref(campaign):
        errors["campaign"] = _("Unknown campaign.")

    # The group is a row: whether the campaign offers it, and whether it is chosen by
    # country, is checked with the campaign (intake.submit), which lists the choices.
    body = data.get("body")
    bodies = _groups(data.get("bodies"), body, errors)
    if bodies:
        body = bodies[0]
    elif "bodies" not in data and not valid_group(body):
        errors["body"] = _("Choose one of the groups of offices this campaign offers.")

    target_country = ""
    if data.get("country") not in (None, ""):
        target_country, err = _country(data.get("country"), _("Country of the offices"))
        if err:
            errors["country"] = err

    language = data.get("language", "en")
    if language not in LETTER_LANGUAGES:
        errors["language"] = _("Choose one of: %(choices)s.", choices=", ".join(LETTER_LANGUAGES))

    supporter = data.get("supporter")
    name = email = city = country = ""
    if not isinstance(supporter, dict):
        errors["supporter"] = _("Tell us who you are: name, email, city and country.")
    else:
        for key in sorted(set(supporter) - SUPPORTER_FIELDS):
            errors[f"supporter.{key}"] = _("Unknown field.")
        name, err = _line(supporter.get("name"), _("Your name"))
        if err:
            errors["supporter.name"] = err
        city, err = _line(supporter.get("city"), _("Your city"))
        if err:
            errors["supporter.city"] = err
        country, err = _country(supporter.get("country"), _("Your country"))
        if err:
            errors["supporter.country"] = err
        raw_email = supporter.get("email")
        if not isinstance(raw_email, str) or not raw_email.strip():
            errors["supporter.email"] = _("Your email address is required.")
        elif len(raw_email) > 254 or has_control(raw_email):
            errors["supporter.email"] = _("This is not a valid email address.")
        else:
            try:
                email = normalise_email(raw_email.strip())
            except EmailNotValidError as exc:
                errors["supporter.email"] = _("This is not a valid email address: %(reason)s",
                                               reason=email_reason(str(exc)))

    note = data.get("personal_note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        errors["personal_note"] = _("Your personal paragraph must be text.")
        note = ""
    else:
        note = unicodedata.normalize("NFC", note.replace("\r\n", "\n").replace("\r", "\n")).strip()
        if len(note) > NOTE_MAX:
            errors["personal_note"] = _(
                "Your personal paragraph is too long (at most %(limit)d characters).",
                limit=NOTE_MAX)
        elif has_control(note, allow_newlines=True):
            errors["personal_note"] = _("Your personal paragraph contains control characters.")

    if data.get("consent") is not True:
        errors["consent"] = _("Your consent is needed to send letters in your name.")

    # The separate choices (consents and the initials): each true or false, false when left
    # out; the message says which when it is neither.
    choices = {choice: data.get(choice, False) for choice in CHOICE_ERRORS}
    for choice, value in choices.items():
        if not isinstance(value, bool):
            errors[choice] = CHOICE_ERRORS[choice]()

    ref = data.get("ref")
    if ref is not None and not valid_ref(ref):
        errors["ref"] = _("A ref is lowercase letters, digits and dashes (at most 80).")

    if errors:
        return None, errors
    return (
        SubmissionInput(
            campaign=campaign,
            body=str(body),
            target_country=target_country,
            language=str(language),
            name=name,
            email=email,
            city=city,
            country=country,
            personal_note=note,
            ref=ref,
            newsletter=choices["newsletter"] is True,
            partner_optin=choices["partner_optin"] is True,
            sign_initials=choices["sign_initials"] is True,
            quote=choices["quote"] is True,
            ask_reply=choices["ask_reply"] is True,
            bodies=bodies,
        ),
        {},
    )
