"""The one composer: a letter as its official gets it, for the worker that sends it, the
supporter's preview, the organizer's sample and the test letter alike.

Everything any of them shows (To, From, Reply-To, subject, text) comes from `composed`, fed a
LetterRow: the worker's rows come from the database (`load`); a preview's or a sample's from
`draft_row`, which has no id yet (NOT_YET). A letter's subject is one of the template's
subjects, chosen by its id (render.choose_subject): before there is an id, `subjects` holds
every one the letter may take, and the letter, once written, takes the one its id picks.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Label, Text, bindparam, cast, func, select, type_coerce

from advocacy.crypto import unseal
from advocacy.extensions import db
from advocacy.letters.addresses import bounce_address, reply_address, sender_address
from advocacy.letters.emails import (
    Outgoing,
    display_name,
    letter_message,
    office_display_name,
    via,
)
from advocacy.letters.render import (
    LetterRenderError,
    RenderedLetter,
    choose_subject,
    initials,
    letter_context,
    render_letter,
)
from advocacy.links import office_link
from advocacy.models import (
    Campaign,
    CampaignPage,
    Letter,
    LetterTemplate,
    Official,
    Submission,
    Supporter,
)
from advocacy.officials.files import office_name


def label_of(office: str, holder: str) -> str:
    return f"{office} ({holder})" if holder else office


def official_label(official: Official, language: str = "en") -> str:
    """The office in the language (English when it has no name in it), and who holds it."""
    return label_of(office_name(official.office, official.office_names, language), official.holder)


def official_data(official: Official, language: str) -> dict[str, Any]:
    """What a letter's template sees of an official, the office named in the letter's language."""
    return {"office": office_name(official.office, official.office_names, language),
            "holder": official.holder, "holder_gender": official.holder_gender,
            "key": official.key, "country": official.country,
            "salutations": official.salutations}


@dataclass(frozen=True)
class LetterRow:
    """One letter and everything deciding and composing it needs, as plain values (its dicts
    and lists may be shared with the other rows of a `load`: read them, never change them)."""

    id: int
    campaign_id: int
    target_id: int
    attempts: int
    campaign_name: str
    campaign_status: str
    campaign_limits: dict[str, Any]
    campaign_sender: str | None
    campaign_reply_to: str
    campaign_resend_ambiguous: bool
    official_key: str
    official_email: str | None
    official_office: str
    official_office_names: dict[str, str]
    official_holder: str
    official_holder_gender: str
    official_country: str
    official_salutations: dict[str, str]
    official_timezone: str
    official_active: bool
    official_paused: bool
    official_pause_reason: str | None  # a complaint's, say; None when organizers paused it
    official_verified: bool
    official_bounced: bool
    official_digest: bool
    official_digest_daily: bool  # the office asked for every letter in one daily digest
    official_paused_until: datetime | None  # the office asked for a pause until then
    name: str
    city: str
    country: str
    personal_note: str
    sign_initials: bool
    supporter_email: str | None
    language: str
    subject: str
    text: str
    default_salutation: str
    subject_variants: list[str]
    asks: dict[str, str] | None
    # Near-identical letters to its office before it (Letter.alike; delivery.alike).
    alike: int | None = None
    # The campaign's name in the letter's language (its page's title), for the From line.
    campaign_title: str | None = None
    # The campaign page's dated latest news in the letter's language (news_of).
    news: tuple[date | None, str] = (None, "")

    @property
    def office_in_language(self) -> str:
        """The office's name in the letter's language, for the To header and the text."""
        return office_name(self.official_office, self.official_office_names, self.language)

    @property
    def signature(self) -> str:
        """The name the letter is signed with: initials when the supporter asked for that."""
        return initials(self.name) if self.sign_initials else self.name

def _stored(column: Any) -> Label[str]:
    """A sealed column read as stored: `load` opens each distinct ciphertext once."""
    return type_coerce(column, Text).label(f"sealed_{column.class_.__name__}_{column.key}")


def _json(column: Any) -> Label[str]:
    """A JSON column read as its text: `load` parses each distinct text once (a chunk's
    letters share a campaign, a template and a few offices, and parsing the same office names
    and asks for every row was half of reading the chunk)."""
    return cast(column, Text).label(f"json_{column.class_.__name__}_{column.key}")


_ROW_COLUMNS = (
    Letter.id, Letter.campaign_id, Letter.target_id, Letter.attempts,
    Campaign.name, Campaign.status, _json(Campaign.limits), Campaign.sender, Campaign.reply_to,
    Campaign.resend_ambiguous,
    Official.key, Official.email, Official.office, _json(Official.office_names), Official.holder,
    Official.holder_gender, Official.country, _json(Official.salutations),
    Official.timezone, Official.active, Official.paused, Official.pause_reason, Official.verified,
    Official.bounced_at.is_not(None), Official.digest, Official.digest_daily,
    Official.paused_until,
    _stored(Submission.name), _stored(Submission.city), Submission.country,
    _stored(Submission.personal_note), Submission.sign_initials, _stored(Supporter.email),
    LetterTemplate.language, LetterTemplate.subject, LetterTemplate.text,
    LetterTemplate.default_salutation, _json(LetterTemplate.subject_variants),
    _json(LetterTemplate.asks),
    Letter.alike,
)


def page_title(campaign_id: int, language: str) -> str | None:
    """The campaign's name in a language: the title of its page in it, if there is one (the
    notices' From line; letters and previews read it with the news, `pages_of`)."""
    return db.session.scalar(
        select(CampaignPage.title)
        .where(CampaignPage.campaign_id == campaign_id, CampaignPage.language == language)
        .order_by(CampaignPage.version.desc()).limit(1))


# Where the campaign and the language are in a row (what `pages_of` is asked for).
_CAMPAIGN = next(i for i, column in enumerate(_ROW_COLUMNS) if column is Letter.campaign_id)
_LANGUAGE = next(i for i, column in enumerate(_ROW_COLUMNS) if column is LetterTemplate.language)
# Where the sealed columns are in a row.
_SEALED = frozenset(i for i, column in enumerate(_ROW_COLUMNS)
                    if isinstance(column, Label) and column.name.startswith("sealed_"))
# And the JSON ones.
_JSON = frozenset(i for i, column in enumerate(_ROW_COLUMNS)
                  if isinstance(column, Label) and column.name.startswith("json_"))


# Built once: building a select of this many columns cost more than running it (a twentieth
# of a worker's CPU a letter, docs/benchmarks.md); the ids are an expanding parameter.
_LOAD = (
    select(*_ROW_COLUMNS)
    .join(Campaign, Letter.campaign_id == Campaign.id)
    .join(Official, Letter.target_id == Official.id)
    .join(Submission, Letter.submission_id == Submission.id)
    .join(Supporter, Letter.supporter_id == Supporter.id)
    .join(LetterTemplate, Letter.template_id == LetterTemplate.id)
    .where(Letter.id.in_(bindparam("letter_ids", expanding=True)))
    .order_by(Letter.id)
)


def load(letter_ids: list[int]) -> list[LetterRow]:
    """The letters with everything composing them needs, in one query (no ORM objects)."""
    rows = db.session.execute(_LOAD, {"letter_ids": list(letter_ids)})
    # A supporter's letters to several offices share their name, city, words and address:
    # each ciphertext is opened once a call rather than once a letter (four decryptions a
    # letter were a few percent of the worker's CPU). The plain texts live as long as the rows.
    opened: dict[str, str] = {}

    def unsealed(token: str | None) -> str | None:
        if token is None:
            return None
        if token not in opened:
            opened[token] = unseal(token)
        return opened[token]

    parsed: dict[str, Any] = {}

    def value(i: int, v: Any) -> Any:
        if v is None or (i not in _SEALED and i not in _JSON):
            return v
        if i in _SEALED:
            return unsealed(v)
        if v not in parsed:
            parsed[v] = json.loads(v)
        return parsed[v]  # shared by the rows with the same text: read, never changed

    values: list[list[Any]] = [[value(i, v) for i, v in enumerate(row)] for row in rows]
    pages = pages_of({(v[_CAMPAIGN], v[_LANGUAGE]) for v in values})
    # Built once, with the page's title and news (a dataclasses.replace a letter cost more).
    return [LetterRow(*v, campaign_title=pages[(v[_CAMPAIGN], v[_LANGUAGE])][0],  # type: ignore[misc]
                      news=pages[(v[_CAMPAIGN], v[_LANGUAGE])][1]) for v in values]


def pages_of(pages: set[tuple[int, str]]
             ) -> dict[tuple[int, str], tuple[str | None, tuple[date | None, str]]]:
    """Each campaign's page in each language, from its current version, as a letter uses it:
    its title (the campaign's name in the From line) and its dated latest news. None and no
    news in a language without a page (a letter in Italian does not quote English news).
    One query for a chunk's letters, reading the current versions only."""
    found: dict[tuple[int, str], tuple[str | None, tuple[date | None, str]]] = dict.fromkeys(
        pages, (None, (None, "")))
    if not pages:
        return found
    campaigns = {campaign for campaign, _ in pages}
    current = (select(CampaignPage.campaign_id, CampaignPage.language,
                      func.max(CampaignPage.version).label("version"))
               .where(CampaignPage.campaign_id.in_(campaigns))
               .group_by(CampaignPage.campaign_id, CampaignPage.language).subquery())
    rows = db.session.execute(
        select(CampaignPage.campaign_id, CampaignPage.language, CampaignPage.title,
               CampaignPage.news_date, CampaignPage.news)
        .join(current, (CampaignPage.campaign_id == current.c.campaign_id)
              & (CampaignPage.language == current.c.language)
              & (CampaignPage.version == current.c.version)))
    for campaign_id, language, title, when, text in rows:
        if (campaign_id, language) in found:
            found[(campaign_id, language)] = (title, (when, text or ""))
    return found


# The id of a letter not written yet (a preview, a sample): database ids start at 1.
NOT_YET = 0


@dataclass(frozen=True)
class Composed:
    """A letter as its official gets it; addresses are (display name, address) pairs."""

    to: tuple[str, str]  # the address is "" when the office takes no email
    sender: tuple[str, str]
    reply_to: tuple[str, str]  # the address is "" for a relayed letter not written yet
    subject: str
    subjects: tuple[str, ...]  # every subject it may take: `subject` alone once it has an id
    body: str

    @staticmethod
    def line(pair: tuple[str, str]) -> str:
        """'Name <address>' as a mail program shows the header; "" without an address."""
        return f"{pair[0]} <{pair[1]}>" if pair[1] else ""


def render(letter: LetterRow, unknown_country: str = "") -> RenderedLetter:
    """The letter's subject and text, from the template version the supporter saw."""
    # One of the subjects, chosen by the letter's id: a retried letter keeps its subject.
    # Before there is an id, the template's own (`composed` lists the others).
    subject = letter.subject if letter.id == NOT_YET else choose_subject(
        letter.subject, letter.subject_variants or [], str(letter.id))
    return render_letter(subject, letter.text, context_of(letter, unknown_country))


def _subjects(letter: LetterRow, chosen: str, unknown_country: str) -> tuple[str, ...]:
    """Every subject a letter not written yet may take (the first is the template's own)."""
    if letter.id != NOT_YET or not any(v.strip() for v in letter.subject_variants or []):
        return (chosen,)
    context = context_of(letter, unknown_country)
    return tuple(render_letter(option, "-", context).subject
                 for option in [letter.subject, *letter.subject_variants] if option.strip())


def composed(letter: LetterRow, rendered: RenderedLetter | None = None,
             unknown_country: str = "") -> Composed:
    """The letter as it goes out (see the module's docstring); `unknown_country` names the
    supporter's country in a preview before one is chosen."""
    sender = sender_address(letter.campaign_sender)
    supporter = display_name(letter.signature)
    if letter.campaign_reply_to == "relay":
        reply = reply_address(letter.id, sender) if letter.id != NOT_YET else ""
    else:
        reply = letter.supporter_email or ""
    text = rendered or render(letter, unknown_country)
    return Composed(
        to=(office_display_name(letter.office_in_language), letter.official_email or ""),
        sender=(via(supporter, display_name(letter.campaign_title or letter.campaign_name),
                    letter.language), sender),
        reply_to=(supporter, reply),
        subject=text.subject,
        subjects=_subjects(letter, text.subject, unknown_country),
        body=text.body.rstrip() + office_footer(letter))


# What a preview shows in place of the office's signed link: a supporter (anyone, before
# confirming) must not hold a working link that speaks for the office.
PREVIEW_TOKEN = "…"  # noqa: S105  # a placeholder, not a secret


@functools.lru_cache(maxsize=16)
def _footer_line(language: str) -> str:
    with force_locale(language):
        return str(_("For the office: receive these letters as one daily digest, pause them for a"
                     " week, or give us the right address:"))


def office_footer(letter: LetterRow) -> str:
    """The sober line at the foot of each letter, in its language, with the office's link: after
    the signature (the ask and the page's dated news are in the text above it), one blank line
    and a signature separator ("-- "), so mail programs show it as the letter's footer."""
    if letter.id == NOT_YET:
        link = (f"{current_app.config['ADVOCACY_PUBLIC_URL']}/office/{PREVIEW_TOKEN}"
                f"?lang={letter.language}")
    else:
        link = office_link(letter.target_id, letter.campaign_id, letter.language)
    return f"\n\n-- \n{_footer_line(letter.language)}\n{link}\n"


def compose(letter: LetterRow, rendered: RenderedLetter | None = None) -> Outgoing:
    """The email for one letter: From the campaign, Reply-To the supporter or the relay."""
    if not letter.official_email:
        raise LetterRenderError(f"{letter.official_key} has no email address")
    if letter.supporter_email is None:
        raise LetterRenderError("the supporter's data was erased")
    parts = composed(letter, rendered)
    return letter_message(letter_id=letter.id, sender=parts.sender, reply_to=parts.reply_to,
                          to=parts.to, subject=parts.subject, body=parts.body,
                          language=letter.language,
                          return_path=bounce_address("letter", letter.id, parts.sender[1]))


def draft_row(campaign: Campaign, official: Official, language: str, *, subject: str, text: str,
              default_salutation: str, subject_variants: list[str], name: str, city: str,
              country: str, personal_note: str, email: str,
              asks: dict[str, str] | None = None) -> LetterRow:
    """A letter not written yet, for `composed`: what a preview or a sample shows."""
    page = pages_of({(campaign.id, language)})[(campaign.id, language)]
    return LetterRow(
        id=NOT_YET, campaign_id=campaign.id, target_id=official.id, attempts=0,
        campaign_name=campaign.name, campaign_status=campaign.status,
        campaign_limits=campaign.limits, campaign_sender=campaign.sender,
        campaign_reply_to=campaign.reply_to, campaign_resend_ambiguous=campaign.resend_ambiguous,
        official_key=official.key, official_email=official.email, official_office=official.office,
        official_office_names=official.office_names, official_holder=official.holder,
        official_holder_gender=official.holder_gender, official_country=official.country,
        official_salutations=official.salutations,
        official_timezone=official.timezone, official_active=official.active,
        official_paused=official.paused, official_pause_reason=official.pause_reason,
        official_verified=official.verified,
        official_bounced=official.bounced_at is not None, official_digest=official.digest,
        official_digest_daily=official.digest_daily, official_paused_until=official.paused_until,
        name=name, city=city, country=country, personal_note=personal_note,
        sign_initials=False, supporter_email=email, language=language, subject=subject,
        text=text, default_salutation=default_salutation,
        subject_variants=list(subject_variants), asks=asks or {},
        campaign_title=page[0], news=page[1])


def context_of(letter: LetterRow, unknown_country: str = "") -> dict[str, Any]:
    supporter = {"name": letter.signature, "city": letter.city, "country": letter.country}
    if unknown_country and not letter.country:
        supporter["country_name"] = unknown_country
    return letter_context(
        official={"office": letter.office_in_language, "holder": letter.official_holder,
                  "holder_gender": letter.official_holder_gender, "key": letter.official_key,
                  "country": letter.official_country, "salutations": letter.official_salutations},
        supporter=supporter,
        personal_note=letter.personal_note,
        campaign_name=letter.campaign_name,
        language=letter.language,
        default_salutation=letter.default_salutation,
        asks=letter.asks,
        news=letter.news,
    )


def rendered(letters: dict[int, str]) -> list[tuple[str, RenderedLetter]]:
    """Each letter (id: its official's label) as it will go out: for the supporter to see."""
    shown = []
    for row in load(list(letters)):
        try:
            shown.append((letters[row.id], render(row)))
        except LetterRenderError:
            continue  # it will fail on sending too, and the status page will say so
    return shown
