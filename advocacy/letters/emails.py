"""Building the emails: letters to officials, and the notices to supporters and organizers
(their texts are templates/email/*.txt)."""

from __future__ import annotations

import re
from binascii import b2a_qp
from dataclasses import dataclass
from datetime import timedelta
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache

from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from advocacy import clock
from advocacy.letters.render import LetterRenderError, RenderedLetter

# C0 and C1 controls and the Unicode line separators: the email package takes each of these
# for a line break (str.splitlines) and refuses the header, or a reader may show one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# An address as the checks on the way in leave it: no space, control or RFC 5322 special.
_ATOMS = r"[^\s\x00-\x1f\x7f-\x9f@<>,;:\"()\[\]\\]+"
_ADDRESS = re.compile(f"{_ATOMS}@{_ATOMS}")
_LINE_MAX = 998  # octets in a line of a message (RFC 5322)
_DAY = timedelta(days=1)


def _clean(value: str) -> str:
    # Input is validated on the way in; this is the second wall against header injection.
    return _CONTROL.sub(" ", value).strip()


def _in_header(value: str) -> str:
    """Text for a header: clean, and holding no encoded word of its own. Python's email
    package decodes one when a header is set (line breaks and all: "=?utf-8?b?DQpCY2M6…?="
    became a Bcc header on this Python), and a mail reader would too."""
    return _clean(value).replace("=?", "= ?")


def _address(value: str) -> str:
    """An address for a header and the envelope; refused, never repaired, when it is not one."""
    if not _ADDRESS.fullmatch(value):
        raise LetterRenderError(f"not a usable email address: {value!r}")
    return value


def display_name(name: str, limit: int = 160) -> str:
    """A display name without RFC 5322 specials (Python's header folding mangles them), cut
    at a word when longer than `limit`: for names people type (a supporter's, a campaign's).
    An office's name keeps its commas and parentheses: see `office_display_name`."""
    kept = " ".join("".join(ch for ch in _in_header(name) if ch not in ',;:<>()[]"\\@').split())
    if len(kept) <= limit:
        return kept
    cut = kept[:limit + 1].rpartition(" ")[0]
    return cut or kept[:limit]  # one word longer than the limit is cut where it must


def office_display_name(name: str) -> str:
    """An office's name for the To header, whole: "Special Rapporteur on torture and other
    cruel, inhuman or degrading treatment or punishment" arrives as the preview shows it,
    commas, parentheses and all (`mailbox` quotes or encodes it). Only what could break the
    header (controls, encoded words of its own) is taken out."""
    return " ".join(_in_header(name).split())


@lru_cache(maxsize=4096)
def mailbox(name: str, address: str, header: str = "To") -> str:
    """'Name <address>' for a header, the name whole whatever it holds.

    A short ASCII name goes as RFC 5322 writes it (quoted where it holds specials, by
    email.utils.formataddr); a long or non-ASCII one as RFC 2047 encoded words of at most 75
    characters, folded with CRLF (email.header.Header, the standard library's encoder), so no
    line passes 78 characters and every reader decodes the same name. Cached: an office's
    name repeats in every letter to it.
    """
    if not name:
        return address
    if name.isascii():
        plain = formataddr((name, address))
        if len(header) + 2 + len(plain) <= 78:
            return plain
    words = Header(name, "utf-8", maxlinelen=76, header_name=header).encode(linesep="\r\n")
    last = words.rpartition("\r\n")[2] if "\r\n" in words else f"{header}: {words}"
    # The address goes on a line of its own when it would push the last one past 78.
    fold = "\r\n" if len(last) + len(address) + 3 > 78 else ""
    return f"{words}{fold} <{address}>"
def via(supporter: str, campaign: str, language: str) -> str:
    """The From line's display name, "Supporter via Campaign", in the letter's language
    ("Anna vía …", "Анна через …"): an official reads it beside a letter in that language."""
    return _via_format(language) % {"supporter": supporter, "campaign": campaign}


@lru_cache(maxsize=16)
def _via_format(language: str) -> str:
    # Cached: the worker builds a From line per letter, and a locale switch costs more than
    # composing the rest of it. Translations do not change while the process runs.
    with force_locale(language):
        return str(_("%(supporter)s via %(campaign)s"))


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def letter_message_id(letter_id: int, sender: str) -> str:
    """The Message-ID of a letter, derived from its id, so a resend is recognisably the same."""
    return f"<letter-{letter_id}@{_domain(sender)}>"


def service_message_id(sender: str) -> str:
    """A Message-ID for a service email: unique (random), on the sender's domain.

    Service emails are never sent twice on purpose, so nothing needs it derived from a row;
    it is there because receivers score mail without one as spam (and RFC 5322 asks for it).
    """
    return make_msgid("advocacy", domain=_domain(sender))


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the wire: envelope and bytes. `sender` is the envelope sender
    (MAIL FROM, the Return-Path): the letter's bounce address, not the From."""

    sender: str
    recipients: list[str]
    data: bytes


def _header(value: str) -> str:
    """An unstructured header value; non-ASCII (or a line too long) goes out as RFC 2047
    encoded words, folded with CRLF like every other line (Header's default is a bare LF,
    which strict relays refuse)."""
    value = _in_header(value)
    if value.isascii() and len(value) < _LINE_MAX - len("Subject: "):
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def letter_message(*, letter_id: int, sender: tuple[str, str], reply_to: tuple[str, str],
                   to: tuple[str, str], subject: str, body: str, language: str,
                   return_path: str) -> Outgoing:
    """The email an official receives, from the parts letters.compose.composed made: each
    address a (display name, address) pair, the names already fit for a header;
    `return_path` is the letter's bounce address (addresses.bounce_address).

    Built with the email package's encoders (formataddr, Header, quoted-printable) rather
    than its EmailMessage object model, which costs more than the rest of delivery together;
    tests parse the result back with the strict default policy.
    """
    sender_email, official_email = _address(sender[1]), _address(to[1])
    supporter_email = _address(reply_to[1])
    headers = (
        ("From", mailbox(sender[0], sender_email, "From")),
        ("Reply-To", mailbox(reply_to[0], supporter_email, "Reply-To")),
        ("To", mailbox(to[0], official_email, "To")),
        ("Subject", _header(subject)),
        ("Message-ID", letter_message_id(letter_id, sender_email)),
        ("Date", format_datetime(clock.now())),
        ("Content-Language", _clean(language)),
        ("Auto-Submitted", "no"),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "quoted-printable"),
    )
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")
    data = b2a_qp(body.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
    return Outgoing(_address(return_path), [official_email], head + b"\r\n" + data)


def confirmation_message(
    *,
    to_email: str,
    to_name: str,
    campaign_name: str,
    sender: str,
    link: str,
    officials: list[str],
    status_link: str,
    reminder: bool = False,
    letters: list[tuple[str, RenderedLetter]] | None = None,
    already: list[str] | None = None,
) -> EmailMessage:
    """The email that asks a supporter to confirm before anything is sent.

    It shows the letters as they will go out (`letters`: official and rendered letter), so the
    inbox's owner sees exactly what a confirmation sends in their name, and names the
    officials this address had already written to (`already`), which only this email tells.
    Written in the current locale: the caller sets the supporter's with force_locale. The
    link's life it states is CONFIRM_MAX_AGE, the setting the link is checked against.
    """
    msg = EmailMessage()
    msg["From"] = Address(display_name(campaign_name), addr_spec=sender)
    msg["To"] = Address(display_name(to_name), addr_spec=to_email)
    name = _clean(campaign_name)
    msg["Subject"] = _in_header(
        _("Reminder: please confirm your letters: %(campaign)s", campaign=name) if reminder
        else _("Please confirm your letters: %(campaign)s", campaign=name))
    msg["Message-ID"] = service_message_id(sender)
    msg["Date"] = format_datetime(clock.now())
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(_text(
        "confirmation", name=_clean(to_name), campaign=name,
        officials=[_clean(o) for o in officials], already=[_clean(o) for o in already or []],
        link=link, status_link=status_link,
        **_link_life(timedelta(seconds=current_app.config["CONFIRM_MAX_AGE"])),
        letters=[(_clean(official), _clean(letter.subject), letter.body.strip())
                 for official, letter in letters or []]))
    return msg


def already_written_message(
    *,
    to_email: str,
    campaign_name: str,
    sender: str,
    already: list[str],
    earlier: list[tuple[str, str]],
    opt_in_link: str | None = None,
) -> EmailMessage:
    """Letters were asked for from this address, but it had written to every one of those
    officials already: nothing new to confirm but, with `opt_in_link`, the boxes ticked to
    hear from the campaign or its partner. `earlier` holds (what the link does, link) for
    the earlier letters, so their writer can still confirm or follow them.

    Not greeted by the name given: whoever typed this address may not be its owner.
    Written in the current locale: the caller sets the supporter's with force_locale.
    """
    name = _clean(campaign_name)
    return _notice(
        to_email=to_email, campaign_name=campaign_name, sender=sender,
        subject=_("Your letters: %(campaign)s", campaign=name),
        text=_text("already_written", campaign=name, already=[_clean(o) for o in already],
                   earlier=[(_clean(what), link) for what, link in earlier],
                   opt_in_link=opt_in_link))


def digest_message(
    *,
    digest_key: str,
    official_email: str,
    official_office: str,
    salutation: str,
    campaign_name: str,
    sender: str,
    entries: list[dict[str, str]],
    subject: str,
    footer: str = "",
) -> EmailMessage:
    """One email for an official's overflow of the day: who wrote, from where, and their words
    (and, in `footer`, the office's own link, as each letter has).

    Written in the current locale: the caller sets the letters' language with force_locale.
    """
    countries: dict[str, int] = {}
    for entry in entries:
        countries[entry["country_name"]] = countries.get(entry["country_name"], 0) + 1
    msg = EmailMessage()
    msg["From"] = Address(display_name(campaign_name), addr_spec=sender)
    msg["To"] = Address(office_display_name(official_office), addr_spec=official_email)
    msg["Subject"] = _in_header(subject + " " + ngettext(
        "(%(num)d supporter today)", "(%(num)d supporters today)", len(entries)))
    msg["Message-ID"] = f"<digest-{digest_key.replace(':', '-')}@{_domain(sender)}>"
    msg["Date"] = format_datetime(clock.now())
    msg["Auto-Submitted"] = "no"
    msg.set_content(_text(
        "digest", salutation=_clean(salutation), campaign=_clean(campaign_name), entries=entries,
        countries=", ".join(f"{name} ({n})" for name, n in sorted(countries.items())))
        + footer)
    return msg


def _link_life(life: timedelta) -> dict[str, int]:
    """How long a link lives, as a notice says it: in days when it is whole days, else in
    hours (at least one). The other of the two is 0."""
    seconds = round(life.total_seconds())
    days, rest = divmod(seconds, round(_DAY.total_seconds()))
    if days and not rest:
        return {"valid_days": days, "valid_hours": 0}
    return {"valid_days": 0, "valid_hours": max(1, seconds // 3600)}


def _text(template: str, **context: object) -> str:
    """The text of a notice from templates/email/<name>.txt, in the current locale.

    Plain text: Flask autoescapes .html, .xml and .svg templates only, so nothing here is
    turned into HTML entities. Jinja drops a template's last newline; the text ends in one.
    """
    return render_template(f"email/{template}.txt", **context) + "\n"


def _notice(*, to_email: str, campaign_name: str, sender: str, subject: str,
            text: str) -> EmailMessage:
    """A short automatic email from the campaign to one person."""
    msg = EmailMessage()
    msg["From"] = Address(display_name(campaign_name), addr_spec=sender)
    msg["To"] = Address(addr_spec=to_email)
    msg["Subject"] = _in_header(subject)
    msg["Message-ID"] = service_message_id(sender)
    msg["Date"] = format_datetime(clock.now())
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    return msg


def data_link_message(*, to_email: str, campaign_name: str, sender: str,
                      link: str) -> EmailMessage:
    """The link to a supporter's own data (see it, download it, erase it), in their language."""
    return _notice(
        to_email=to_email, campaign_name=campaign_name, sender=sender,
        subject=_("Your data at %(campaign)s", campaign=_clean(campaign_name)),
        text=_text("data_link", link=link))


def reply_notice_message(*, to_email: str, campaign_name: str, sender: str, official: str,
                         status_link: str) -> EmailMessage:
    """An official answered through the relay: the supporter reads it on their status page."""
    return _notice(
        to_email=to_email, campaign_name=campaign_name, sender=sender,
        subject=_("An official replied to your letter: %(campaign)s",
                  campaign=_clean(campaign_name)),
        text=_text("reply_notice", official=_clean(official), status_link=status_link))


def reply_question_message(*, to_email: str, campaign_name: str, sender: str,
                           offices: list[tuple[str, dict[str, str]]]) -> EmailMessage:
    """Did an office reply? One click per office: each answer its own signed link."""
    return _notice(
        to_email=to_email, campaign_name=campaign_name, sender=sender,
        subject=_("Did you get a reply? %(campaign)s", campaign=_clean(campaign_name)),
        text=_text("reply_question", offices=[(_clean(office), links)
                                              for office, links in offices]))


def follow_up_message(*, follow_up_id: int, to_email: str, office: str, campaign_name: str,
                      sender: str, subject: str, text: str, language: str) -> EmailMessage:
    """An organizers' follow-up to an office that has not answered: their own short text,
    From the campaign, with a Message-ID derived from its row (a resend is the same mail)."""
    msg = EmailMessage()
    msg["From"] = Address(display_name(campaign_name), addr_spec=_address(sender))
    # As a letter's (mailbox): the email package's own folding drops the quotes of a long
    # name with a comma ("Special Rapporteur on torture and other cruel, …"), splitting it
    # into two addresses.
    msg.set_raw("To", mailbox(office_display_name(office), _address(to_email), "To"))
    msg["Subject"] = _in_header(subject)
    msg["Message-ID"] = f"<follow-up-{follow_up_id}@{_domain(sender)}>"
    msg["Date"] = format_datetime(clock.now())
    msg["Auto-Submitted"] = "no"
    msg.set_content(text.rstrip() + "\n")
    msg["Content-Language"] = _clean(language)  # after set_content, which drops Content-*
    return msg


def invitation_message(*, to_email: str, campaign_name: str, sender: str, role: str,
                       link: str, valid_for: timedelta) -> EmailMessage:
    """An invitation to organize the campaign; the link holds the only copy of its token and
    works for `valid_for` (whole days).

    In English, as the organizers' pages are; set here, as the job that sends it has no
    request to take a language from.
    """
    with force_locale("en"):
        text = _text("invitation", campaign=_clean(campaign_name), role=role, link=link,
                     valid_days=max(1, round(valid_for / _DAY)))
    return _notice(
        to_email=to_email, campaign_name=campaign_name, sender=sender,
        subject=f"You are invited to organize {_clean(campaign_name)}", text=text)


def password_reset_message(*, to_email: str, campaign_name: str, sender: str, link: str,
                           valid_hours: int) -> EmailMessage:
    """The link to choose a new password, asked for on the login page, in the language of
    that page (the caller sets it)."""
    return _notice(
        to_email=to_email, campaign_name=campaign_name, sender=sender,
        subject=_("Choose a new password: %(campaign)s", campaign=_clean(campaign_name)),
        text=_text("password_reset", link=link, valid_hours=valid_hours))


def proof_message(*, to_email: str, sender: str, campaign_name: str, version: int,
                  official: str, subject: str, other_subjects: list[str],
                  text: str) -> EmailMessage:
    """A test of a letter for the organizer who asked: "[TEST]", to them and no one else."""
    # Not _text, which adds a last newline: the letter's text ends the email as it is
    # (set_content adds one only when it lacks it).
    return _notice(
        to_email=to_email, campaign_name=campaign_name, sender=sender,
        subject=f"[TEST] {subject}",
        text=render_template("email/proof.txt", version=version, official=_clean(official),
                             others=[_clean(s) for s in other_subjects], text=text))
