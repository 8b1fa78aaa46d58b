"""Organizers' versions of the letters: drafts, their checks, saving, rollback and diffs.

Every save is a new LetterTemplate version (the highest is current); nothing is overwritten,
so letters keep the text they were written with and any version can come back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from advocacy import audit
from advocacy.extensions import db
from advocacy.letters.addresses import reply_domain
from advocacy.letters.asks import bad_keys
from advocacy.letters.compose import Composed, composed, draft_row, official_data
from advocacy.letters.diffs import Row, side_by_side
from advocacy.letters.render import (
    NOTE_MAX,
    LetterRenderError,
    has_control,
    letter_context,
    render_letter,
)
from advocacy.models import Body, Campaign, LetterTemplate, Official, Organizer
from advocacy.officials.files import LETTER_LANGUAGES

# A row kept in versions: a letter's template, or a campaign's page.
Versioned = TypeVar("Versioned")

SUBJECT_MAX = 300  # the column's size; a variant likewise
SALUTATION_MAX = 200
BODY_MAX = 20_000  # a letter is a few thousand characters
VARIANTS_MAX = 20
# Stands in for the supporter's paragraph when a check or preview has none to show.
SAMPLE_NOTE = "[The supporter's own paragraph, if they write one.]"
# The language the shipped letters are written in first; the others are translated from it.
SOURCE_LANGUAGE = "en"
SAMPLE_SUPPORTER = {"name": "Alex Example", "email": "alex@example.org", "city": "Lyon",
                    "country": "FR"}


Asks = tuple[tuple[str, str], ...]  # (key, paragraph), sorted by key (letters.asks)
ASK_MAX = 3000  # a paragraph, with room to spare
ASKS_MAX = 200  # a group's offices and countries


def content_hash(subject: str, default_salutation: str, body: str,
                 subject_variants: tuple[str, ...] = (), suggested_note: str = "",
                 asks: Asks = ()) -> str:
    """The fingerprint of a letter's text; without variants, note or asks, as it always was."""
    parts = [subject, default_salutation, body]
    if subject_variants or suggested_note or asks:
        parts += [json.dumps(list(subject_variants), ensure_ascii=False), suggested_note]
    if asks:
        parts.append(json.dumps(dict(asks), ensure_ascii=False, sort_keys=True))
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class Draft:
    """The text of one version, as typed or as stored."""

    subject: str
    default_salutation: str
    text: str
    subject_variants: tuple[str, ...] = ()
    suggested_note: str = ""
    asks: Asks = ()

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> Draft:
        """What the editor sent: variants one per line, browsers' CRLF made plain, an ask per
        `ask-<key>` field (and a new one in `ask_new_key` and `ask_new`)."""
        variants = [v.strip() for v in _lines(form.get("subject_variants", "")).split("\n")]
        asks = {name.removeprefix("ask-"): form.get(name, "") for name in form
                if name.startswith("ask-")}
        new_key = form.get("ask_new_key", "").strip()
        if new_key:
            asks[new_key] = form.get("ask_new", "")
        return cls(subject=form.get("subject", ""),
                   default_salutation=form.get("default_salutation", ""),
                   text=form.get("body", ""), subject_variants=tuple(v for v in variants if v),
                   suggested_note=form.get("suggested_note", ""),
                   asks=tuple(asks.items())).normalized()

    @classmethod
    def of(cls, template: LetterTemplate) -> Draft:
        return cls(template.subject, template.default_salutation, template.text,
                   tuple(template.subject_variants or ()), template.suggested_note or "",
                   tuple((template.asks or {}).items()))

    def normalized(self) -> Draft:
        """Only what changes the letter: line ends, outer blank space, repeated subjects."""
        subject = " ".join(self.subject.split())
        variants: list[str] = []
        for variant in self.subject_variants:
            variant = " ".join(variant.split())
            if variant and variant != subject and variant not in variants:
                variants.append(variant)
        text = _lines(self.text).strip()
        # An emptied ask is no ask: that office gets the default again.
        asks = tuple(sorted((key.strip(), _lines(ask).strip()) for key, ask in self.asks
                            if ask.strip()))
        return replace(self, subject=subject, subject_variants=tuple(variants),
                       default_salutation=self.default_salutation.strip(),
                       text=text + "\n" if text else "",
                       suggested_note=_lines(self.suggested_note).strip(), asks=asks)

    def content_hash(self) -> str:
        return content_hash(self.subject, self.default_salutation, self.text,
                            self.subject_variants, self.suggested_note, self.asks)

    def as_lines(self) -> list[str]:
        """The whole version as text, for diffs, its parts named in the reader's language."""
        return [_("Subject: %(text)s", text=self.subject),
                *(_("Subject variant: %(text)s", text=v) for v in self.subject_variants),
                _("Salutation: %(text)s", text=self.default_salutation),
                _("Suggested paragraph:"), *self.suggested_note.splitlines(),
                _("Body:"), *self.text.splitlines(),
                *(line for key, ask in self.asks
                  for line in (_("Ask for %(key)s:", key=key), *ask.splitlines()))]


class DraftError(ValueError):
    """A draft that cannot be saved (a letter's, or a campaign page's); `problems` says why,
    per field."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


class VersionConflict(Exception, Generic[Versioned]):
    """Someone saved a newer version since the editor opened the page (of a letter, or of a
    campaign's page: campaigns.pages raises it too)."""

    def __init__(self, current: Versioned | None) -> None:
        super().__init__("a newer version was saved meanwhile")
        self.current = current


def _field_problems(draft: Draft) -> dict[str, str]:
    problems: dict[str, str] = {}
    one_line = {"subject": (draft.subject, SUBJECT_MAX),
                "default_salutation": (draft.default_salutation, SALUTATION_MAX)}
    for field, (value, limit) in one_line.items():
        if not value:
            problems[field] = _("This is required.")
        elif len(value) > limit:
            problems[field] = _("At most %(limit)d characters (now %(now)d).", limit=limit,
                                now=len(value))
        elif has_control(value):
            problems[field] = _("Control characters are not allowed.")
    if len(draft.subject_variants) > VARIANTS_MAX:
        problems["subject_variants"] = _("At most %(num)d variants.", num=VARIANTS_MAX)
    for n, variant in enumerate(draft.subject_variants, start=1):
        if len(variant) > SUBJECT_MAX or has_control(variant):
            problems["subject_variants"] = _("Variant %(n)d: at most %(limit)d characters,"
                                             " without control characters.", n=n,
                                             limit=SUBJECT_MAX)
    for field, value, limit in (("body", draft.text, BODY_MAX),
                                ("suggested_note", draft.suggested_note, NOTE_MAX)):
        if len(value) > limit:
            problems[field] = _("At most %(limit)d characters (now %(now)d).", limit=limit,
                                now=len(value))
        elif has_control(value, allow_newlines=True):
            problems[field] = _("Control characters are not allowed.")
    if not draft.text:
        problems["body"] = _("This is required.")
    wrong = bad_keys(dict(draft.asks))
    if wrong:
        problems["asks"] = _("Not an office's key, a country code or \"default\": %(keys)s.",
                             keys=", ".join(wrong))
    elif len(draft.asks) > ASKS_MAX:
        problems["asks"] = _("At most %(num)d asks.", num=ASKS_MAX)
    for key, ask in draft.asks:
        if len(ask) > ASK_MAX or has_control(ask, allow_newlines=True):
            problems["asks"] = _("The ask for %(key)s: at most %(limit)d characters, without"
                                 " control characters.", key=key, limit=ASK_MAX)
    return problems


def officials(body: Body) -> list[Official]:
    """Every active official of the group (for one chosen by country, of every country)."""
    return list(db.session.scalars(select(Official).where(
        Official.body_id == body.id, Official.active.is_(True)).order_by(Official.id)))


def _contexts(draft: Draft, body: Body, language: str) -> list[dict[str, Any]]:
    """The letter as each of the body's officials would get it, with and without a note."""
    data = [official_data(t, language) for t in officials(body)] or [
        {"office": "Office", "holder": "", "country": "FR", "salutations": {}}]
    return [letter_context(official=official, supporter=SAMPLE_SUPPORTER, personal_note=note,
                           campaign_name="Campaign", language=language,
                           default_salutation=draft.default_salutation, asks=dict(draft.asks))
            for official in data for note in ("", draft.suggested_note or SAMPLE_NOTE)]


def check(draft: Draft, body: Body, language: str) -> None:
    """Raise DraftError unless every field is sound and the letter renders for every official."""
    problems = _field_problems(draft)
    contexts = _contexts(draft, body, language)
    fields = [("subject", draft.subject, "-"), ("body", "-", draft.text)] + [
        ("subject_variants", variant, "-") for variant in draft.subject_variants]
    for field, subject, text in fields:
        if field in problems:
            continue
        try:
            for context in contexts:
                render_letter(subject, text, context)
        except LetterRenderError as exc:
            problems[field] = _("Does not render: %(reason)s", reason=exc)
    if problems:
        raise DraftError(problems)


Source = tuple[str, int] | None  # a translation's (language, version) written from


def _add_version(organizer: Organizer, campaign: Campaign, body: Body, language: str,
                 draft: Draft, current: LetterTemplate | None, source: Source = None
                 ) -> LetterTemplate:
    version = LetterTemplate(
        campaign_id=campaign.id, body_id=body.id, language=language,
        version=current.version + 1 if current else 1, subject=draft.subject,
        text=draft.text, default_salutation=draft.default_salutation,
        subject_variants=list(draft.subject_variants), suggested_note=draft.suggested_note,
        asks=dict(draft.asks), origin="organizer", content_hash=draft.content_hash(),
        author=organizer.email, source_language=source[0] if source else None,
        source_version=source[1] if source else None)
    db.session.add(version)
    return version


def _commit(current: LetterTemplate | None) -> None:
    try:
        db.session.commit()
    except IntegrityError:  # another organizer took this version number a moment ago
        db.session.rollback()
        raise VersionConflict(current) from None


def where(campaign: Campaign, body: Body, language: str) -> str:
    """How the audit log names a letter."""
    return f"{campaign.slug}/{body.slug}/{language}"


def source_of(campaign: Campaign, body: Body, language: str, written_from: str | None
              ) -> Source:
    """The source a translation is saved from: another language of this letter that has a
    version, with its current version number; None for an original."""
    if not written_from or written_from == language or written_from not in LETTER_LANGUAGES:
        return None
    source = current_template(campaign, body, written_from)
    return (written_from, source.version) if source else None


def _source(template: LetterTemplate) -> Source:
    if template.source_language and template.source_version is not None:
        return template.source_language, template.source_version
    return None


def save(organizer: Organizer, campaign: Campaign, body: Body, language: str, draft: Draft,
         base_version: int | None, written_from: str | None = None) -> LetterTemplate | None:
    """A new version with the draft's text; None when it is the current text already, from
    the same source.

    `base_version` is the version the editor started from: if another was saved since,
    VersionConflict, so that nobody overwrites a colleague's change unseen. `written_from`
    names the language a translation was written from: its current version is recorded, so
    that the translation is out of date once that language changes again. Saving an unchanged
    translation against a newer source is a new version too: someone checked it still fits.
    """
    draft = draft.normalized()
    check(draft, body, language)
    current = current_template(campaign, body, language)
    source = source_of(campaign, body, language, written_from)
    if current is not None and Draft.of(current).normalized() == draft and (
            _source(current) == source):
        return None
    if (current.version if current else None) != base_version:
        raise VersionConflict(current)
    version = _add_version(organizer, campaign, body, language, draft, current, source)
    audit.record(organizer, "save letter", where(campaign, body, language),
                 version=version.version,
                 **({"written_from": f"{source[0]} version {source[1]}"} if source else {}))
    _commit(current)
    return version


def roll_back(organizer: Organizer, old: LetterTemplate) -> LetterTemplate | None:
    """A new version with an old version's text; None when that is the current text."""
    campaign = db.session.get_one(Campaign, old.campaign_id)
    body = db.session.get_one(Body, old.body_id)
    draft = Draft.of(old).normalized()
    check(draft, body, old.language)  # the rules may have tightened since it was written
    current = current_template(campaign, body, old.language)
    if current is not None and Draft.of(current).normalized() == draft:
        return None
    # The old text comes back with what it was written from: if that changed since, the
    # translation shows as out of date again, which it is.
    version = _add_version(organizer, campaign, body, old.language, draft, current, _source(old))
    audit.record(organizer, "roll back letter", where(campaign, body, old.language),
                 to_version=old.version, version=version.version)
    _commit(current)
    return version


@dataclass(frozen=True)
class VersionView:
    template: LetterTemplate
    diff: list[Row]  # against the version before it, word by word


def _versions(campaign_id: int, body_id: int, language: str) -> list[LetterTemplate]:
    return list(db.session.scalars(
        select(LetterTemplate).where(LetterTemplate.campaign_id == campaign_id,
                                     LetterTemplate.body_id == body_id,
                                     LetterTemplate.language == language)
        .order_by(LetterTemplate.version)))


def history(campaign: Campaign, body: Body, language: str) -> list[VersionView]:
    """Every version, newest first, each with its changes from the one before."""
    views, before = [], Draft("", "", "").as_lines()
    for version in _versions(campaign.id, body.id, language):
        lines = Draft.of(version).as_lines()
        views.append(VersionView(version, side_by_side(before, lines)))
        before = lines
    return views[::-1]


def changes_since(campaign: Campaign, body: Body, language: str, since: int
                  ) -> tuple[LetterTemplate, LetterTemplate] | None:
    """This letter's version `since` and its current one, when both exist and differ."""
    versions = {v.version: v for v in _versions(campaign.id, body.id, language)}
    if since not in versions or since == max(versions):
        return None
    return versions[since], versions[max(versions)]


def compare(old: LetterTemplate, new: LetterTemplate) -> list[Row]:
    """How `new` differs from `old`, word by word."""
    return side_by_side(Draft.of(old).as_lines(), Draft.of(new).as_lines())


@dataclass(frozen=True)
class Staleness:
    """A translation whose source changed after it: its language, the version it was written
    from, and the source's version now."""

    language: str
    written_from: int
    now: int


def staleness(template: LetterTemplate | None, newest: dict[str, int]) -> Staleness | None:
    """Whether this version is out of date, given the newest version of each language of its
    letter; None for an original or an up-to-date translation."""
    source = _source(template) if template else None
    if source is None or newest.get(source[0], source[1]) <= source[1]:
        return None
    return Staleness(source[0], source[1], newest[source[0]])


def newest_versions(campaign: Campaign, body: Body) -> dict[str, int]:
    """The current version number of each language of this campaign's letter to this group."""
    rows = db.session.execute(
        select(LetterTemplate.language, func.max(LetterTemplate.version))
        .where(LetterTemplate.campaign_id == campaign.id, LetterTemplate.body_id == body.id)
        .group_by(LetterTemplate.language)).all()
    return {language: version for language, version in rows}


def overview() -> list[dict[str, Any]]:
    """Each campaign, group and language the group takes, with its current version (None when
    there is none)."""
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.is_default.desc(),
                                                             Campaign.name)).all()
    bodies = db.session.scalars(select(Body).order_by(Body.position, Body.id)).all()
    current: dict[tuple[int, int, str], LetterTemplate] = {}
    for template in db.session.scalars(select(LetterTemplate).order_by(LetterTemplate.version)):
        current[(template.campaign_id, template.body_id, template.language)] = template
    newest: dict[tuple[int, int], dict[str, int]] = {}
    for (campaign_id, body_id, lang), template in current.items():
        newest.setdefault((campaign_id, body_id), {})[lang] = template.version
    return [{"campaign": c, "body": b, "language": lang, "current": current.get((c.id, b.id, lang)),
             "stale": staleness(current.get((c.id, b.id, lang)), newest.get((c.id, b.id), {}))}
            for c in campaigns for b in bodies for lang in LETTER_LANGUAGES
            if not b.languages or lang in b.languages]


@dataclass(frozen=True)
class Sample:
    """A letter exactly as an official would get it, from the sample supporter."""

    to: str
    sender: str
    reply_to: str
    subject: str
    other_subjects: list[str]
    text: str


def render_sample(campaign: Campaign, draft: Draft, official: Official, language: str) -> Sample:
    """The draft rendered for one official by the worker's composer; LetterRenderError when
    it does not render."""
    letter = composed(draft_row(
        campaign, official, language, subject=draft.subject, text=draft.text,
        default_salutation=draft.default_salutation,
        subject_variants=list(draft.subject_variants), asks=dict(draft.asks),
        name=SAMPLE_SUPPORTER["name"],
        city=SAMPLE_SUPPORTER["city"], country=SAMPLE_SUPPORTER["country"],
        personal_note=draft.suggested_note or SAMPLE_NOTE, email=SAMPLE_SUPPORTER["email"]))
    # A relayed letter's reply address is made from its id, which a sample has not.
    relay = f"reply+<letter id>-<token>@{reply_domain(letter.sender[1])}"
    return Sample(to=Composed.line(letter.to), sender=Composed.line(letter.sender),
                  reply_to=Composed.line(letter.reply_to) or f"{letter.reply_to[0]} <{relay}>",
                  subject=letter.subject, other_subjects=list(letter.subjects[1:]),
                  text=letter.body)


def _newest_template(campaign_id: int, body_id: int, language: str
                     ) -> Select[LetterTemplate]:
    return (
        select(LetterTemplate)
        .where(
            LetterTemplate.campaign_id == campaign_id,
            LetterTemplate.body_id == body_id,
            LetterTemplate.language == language,
        )
        .order_by(LetterTemplate.version.desc())
        .limit(1)
    )


def current_template(campaign: Campaign, body: Body, language: str) -> LetterTemplate | None:
    """The newest version of the letter for this campaign, body and language."""
    return db.session.scalar(_newest_template(campaign.id, body.id, language))
