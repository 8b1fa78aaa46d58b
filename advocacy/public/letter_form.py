"""The supporters' form: mapping its fields to a submission, and the preview of the letter.

The form and the JSON API share one validation (advocacy.intake.validation.check_submission), so
they accept and refuse exactly the same things; only the field names differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from babel import Locale
from babel.core import get_global
from flask_babel import get_locale
from sqlalchemy import or_, select

from advocacy.extensions import db
from advocacy.letters.compose import Composed, composed, draft_row, official_label
from advocacy.letters.render import LetterRenderError, country_name, initials
from advocacy.letters.similarity import ideas
from advocacy.letters.versions import current_template
from advocacy.models import Body, Campaign, LetterTemplate, Official
from advocacy.officials import groups
from advocacy.officials.channels import by_hand, channels
from advocacy.officials.choose import choose_officials, writable
from advocacy.officials.choose import chosen as chosen_where

# `countries as countries`: re-exported, the view reads the form's list here.
from advocacy.officials.countries import countries as countries
from advocacy.officials.countries import sort_key
from advocacy.officials.files import LANGUAGES, LETTER_LANGUAGES

# API field -> form field, for placing each message next to its field.
FIELD_OF = {
    "supporter.name": "name",
    "supporter.email": "email",
    "supporter.city": "city",
    "supporter.country": "supporter_country",
    "country": "country",
    "body": "bodies",
    "bodies": "bodies",
    "language": "language",
    "personal_note": "personal_note",
    "consent": "consent",
    "ref": "ref",
    "newsletter": "newsletter",
    "partner_optin": "partner_optin",
    "sign_initials": "sign_initials",
    "quote": "quote",
    "ask_reply": "ask_reply",
}


# Values only ever looked up, never shown back as typed: one holding NUL is left out (a
# PostgreSQL query cannot hold NUL), and the field then counts as not chosen.
LOOKUPS = ("body", "language", "country", "supporter_country", "switch_language", "own_mail")


def ticked(form: Mapping[str, str]) -> list[str]:
    """The groups ticked: the form's `bodies` boxes (it says it has them with `groups_form`,
    so that none ticked is told apart from an older form that sends one `body`)."""
    getlist = getattr(form, "getlist", None)
    if getlist is not None and form.get("groups_form"):
        return [s for s in dict.fromkeys(getlist("bodies")) if "\x00" not in s]
    body = form.get("body", "")
    return [body] if body and "\x00" not in body else []


def with_defaults(form: Mapping[str, str]) -> dict[str, str]:
    """The form's values, with the country of a group chosen by country defaulting to the
    supporter's own when that group has offices there."""
    values = {k: v for k, v in form.items() if not (k in LOOKUPS and "\x00" in v)}
    if values.get("switch_language") in LETTER_LANGUAGES:  # "show the letter in their language"
        values["language"] = values.pop("switch_language")
        values["action"] = "preview"
    own = values.get("supporter_country", "")
    groups_ticked = ticked(form)
    # A country the page filled in itself (country_auto: from the browser's language) gives
    # way to the supporter's own; one they chose stays.
    guessed = values.get("country") in ("", values.get("country_auto"))
    if own and guessed and groups_ticked:
        offices = (select(Official.id).join(Official.body)
                   .where(Body.slug.in_(groups_ticked), Body.by_country.is_(True),
                          Official.country == own, *writable()))
        if db.session.scalar(offices.limit(1)) is not None:
            values["country"] = own
    return values


def switch_page_language(values: dict[str, str], language: str) -> None:
    """The form came back from a language button (`page_language`, the page's language it
    was filled in, differs): a letter that was in the page's language follows it, and the
    page comes back as a preview. The paragraph stays as typed (it never starts as a
    suggestion: those are ideas shown beside it)."""
    was = values.get("page_language", "")
    if not was or was == language:
        return
    if values.get("language") == was and language in LANGUAGES:
        values["language"] = language
    values["action"] = "preview"


def browser_country(accept_languages: list[str], offered: list[str]) -> str:
    """The country the browser's languages suggest ("fr-BE": BE; "de": DE, its likeliest),
    if it is among `offered`; else ""."""
    likely = get_global("likely_subtags")
    for tag in accept_languages:
        parts = tag.replace("-", "_").split("_")
        region = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), "")
        if not region:
            region = str(likely.get(parts[0].lower(), "")).rpartition("_")[2]
        if region in offered:
            return region
    return ""


def payload(form: Mapping[str, str], campaign: Campaign, by_country: bool,
            bodies: list[str] | None = None) -> dict[str, Any]:
    """The JSON API's shape for what the form sent (`bodies`: the groups ticked, when the
    form has boxes for them)."""
    data: dict[str, Any] = {
        "campaign": campaign.slug,
        "language": form.get("language", "en"),
        "supporter": {
            "name": form.get("name", ""),
            "email": form.get("email", ""),
            "city": form.get("city", ""),
            "country": form.get("supporter_country", ""),
        },
        "personal_note": form.get("personal_note", ""),
        "consent": form.get("consent") == "yes",
        "newsletter": form.get("newsletter") == "yes",
        "partner_optin": form.get("partner_optin") == "yes",
        "sign_initials": form.get("sign_initials") == "yes",
        "quote": form.get("quote") == "yes",
        "ask_reply": form.get("ask_reply") == "yes",
    }
    if bodies is not None:
        data["bodies"] = bodies
    else:
        data["body"] = form.get("body", "")
    if by_country:  # the form always sends the select; it counts for such a group only
        data["country"] = form.get("country", "")
    if form.get("ref"):
        data["ref"] = form["ref"]
    return data


def field_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """Messages keyed by form field; anything without a field goes under '_'."""
    placed: dict[str, str] = {}
    for key, message in errors.items():
        placed[FIELD_OF.get(key, "_")] = message
    return placed


def choices(offered: list[Body], language: str) -> dict[str, Any]:
    """The groups (the campaign's offer, as `chosen` read it), and the countries of those
    chosen by country, supporters choose from."""
    return {
        "groups": [{"slug": b.slug, "name": groups.group_name(b, language),
                    "by_country": b.by_country,
                    "risk_notice": groups.risk_notice(b, language)} for b in offered],
        "gov_countries": sorted(((c, country_name(c, language))
                                 for c in groups.countries(offered)),
                                key=lambda pair: (sort_key(pair[1]), pair[1])),
        "languages": [(code, Locale.parse(code).get_display_name(code))
                      for code in LETTER_LANGUAGES],
    }


def by_hand_offices(campaign: Campaign, choice: Chosen, ticked: list[str], country: str,
                    page: str, preview: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The offices of every ticked group that take no email, by group in the campaign's
    order: the supporter sends them the letter themselves (contact form or post), or they
    get nothing from this supporter. Only groups with a letter in the chosen language: the
    buttons open that letter, with the supporter's words. Offices are named as the preview
    names them (in the letter's language); the previewed group's are the preview's own, the
    other groups' read in one query, whatever their number."""
    language = choice.language
    wanted = [b for b in choice.offered if b.slug in ticked
              and not (b.by_country and not country) and groups.accepts(b.languages, language)]
    others = [b.id for b in wanted if b is not choice.body]
    found: dict[int, list[Official]] = {}
    if others:
        rows = db.session.scalars(
            select(Official).join(Official.body)
            .where(Official.body_id.in_(others), *chosen_where(Body.id, Body.by_country, country),
                   Official.body_id.in_(select(LetterTemplate.body_id).where(
                       LetterTemplate.campaign_id == campaign.id,
                       LetterTemplate.language == language)),
                   or_(Official.email.is_(None), Official.email == ""))
            .order_by(Official.id))
        for official in rows:
            found.setdefault(official.body_id, []).append(official)
    listed: list[dict[str, Any]] = []
    for body in wanted:
        if body is choice.body:
            offices = [o for o in (preview or {}).get("officials", []) if o["by_hand"]] \
                if choice.template is not None else []
        else:
            offices = [{"key": t.key, "label": official_label(t, language),
                        "by_hand": by_hand(t)} for t in found.get(body.id, []) if by_hand(t)]
        if offices:
            listed.append({"group": groups.group_name(body, page), "offices": offices})
    return listed


def case_intake(campaign: Campaign, language: str) -> list[str]:
    """The case-intake offices of the campaign's groups, named in the page's language: the
    organizers submit the case there, and the page tells supporters so, offering no letter."""
    rows = db.session.scalars(select(Official).join(Official.body).where(
        groups.in_offer(campaign), Official.active.is_(True), Official.case_intake.is_(True))
        .order_by(Body.position, Body.id, Official.id))
    return [official_label(t, language) for t in rows]


@dataclass(frozen=True)
class Chosen:
    """The group and the language the form chose, the newest letter for them, and the groups
    the form offers (in the campaign's order: those with an office to write to)."""

    body: Body | None
    language: str
    template: LetterTemplate | None
    offered: list[Body]


def chosen(campaign: Campaign, form: Mapping[str, str]) -> Chosen:
    """What the form chose, read once a request for both the suggested paragraph and the
    preview (a language the app does not ship in has no preview: see `preview`). No group
    chosen yet is the campaign's first; one it does not offer is none."""
    offer = groups.offered(campaign, reachable=True)
    slug = form.get("body") or (offer[0].slug if offer else "")
    body = next((b for b in offer if b.slug == slug), None)
    language = form.get("language", "en")
    template = current_template(campaign, body, language) if body else None
    return Chosen(body, language, template, offer)


def suggestions(choice: Chosen) -> list[str]:
    """The organizers' ideas for the supporter's paragraph, for this letter: offered under it
    to start from, never filled in as the supporter's own words. The suggested paragraph holds
    them separated by blank lines."""
    return ideas(choice.template.suggested_note if choice.template else "")


# Stands for the supporter's paragraph while rendering, to find where the template puts it.
NOTE_MARK = "\u2063personal-note\u2063"


def preview(campaign: Campaign, choice: Chosen, form: Mapping[str, str],
            placeholders: dict[str, str], official_key: str | None = None,
            note: str | None = None) -> dict[str, Any] | None:
    """The officials and exactly the letter they would get, filled with what is typed so far.

    With `note` None, the letter comes in parts: `before` and `after` are the organizer's
    text, locked, and the supporter's paragraph goes between them. When the template has no
    place for it (no plain `{{ personal_note }}`), the whole letter is `before` and `has_note`
    is False. With a `note`, `letter` is the whole text as it goes out, paragraph in place.
    """
    body, language, template = choice.body, choice.language, choice.template
    if body is None or language not in LETTER_LANGUAGES:
        return None
    if body.by_country and not form.get("country"):  # no country, no officials yet
        return {"officials": [], "letter": None, "needs_country": True,
                "risk_notice": groups.risk_notice(body, str(get_locale() or "en"))}
    officials = choose_officials(body, form.get("country", "") if body.by_country else "")
    listed = [{"key": t.key, "label": official_label(t, language), "email": t.email,
               "contact_page": t.contact_page, "channels": channels(t), "by_hand": by_hand(t)}
              for t in officials]
    page = str(get_locale() or "en")
    about = {"risk_notice": groups.risk_notice(body, page), "group_languages": None}
    if not groups.accepts(body.languages, language):
        # Offer the group's own language rather than a letter it will not take.
        return {"officials": listed, "letter": None, **about,
                "group_languages": groups.languages_message(body, page),
                **_their_language(body.languages[0], page)}
    if template is None or not officials:
        return {"officials": listed, "letter": None, **about}
    chosen = next((t for t in officials if t.key == official_key), None)
    first = chosen or next((t for t in officials if t.email), officials[0])
    typed = form.get("name", "").strip()
    name = (initials(typed) if form.get("sign_initials") == "yes" else typed) \
        or placeholders["name"]
    supporter_country = form.get("supporter_country", "")
    row = draft_row(
        campaign, first, language, subject=template.subject, text=template.text,
        default_salutation=template.default_salutation,
        subject_variants=template.subject_variants or [], asks=template.asks, name=name,
        city=form.get("city", "").strip() or placeholders["city"],
        country=supporter_country if len(supporter_country) == 2 else "",
        personal_note=NOTE_MARK if note is None else note,
        email=form.get("email", "").strip() or placeholders["email"])
    try:  # the worker's composer: what is shown here is what the official gets
        letter = composed(row, unknown_country="" if supporter_country
                          else placeholders["country"])
    except LetterRenderError:
        return {"officials": listed, "letter": None}
    has_note = letter.body.count(NOTE_MARK) == 1
    before, _mark, after = letter.body.partition(NOTE_MARK)
    # Offer the officials' own language when the letter is in another one they do not read.
    theirs = [lang for lang in first.languages if lang in LETTER_LANGUAGES
              and groups.accepts(body.languages, lang)]
    suggest = None if language in first.languages or not theirs else theirs[0]
    return {
        **about,
        "officials": listed,
        "letter": letter,
        "official": first,
        "to": Composed.line(letter.to),
        "office": official_label(first, language),
        "from": Composed.line(letter.sender),
        # A relayed letter's reply address is made from its id: there is none yet.
        "reply_to": Composed.line(letter.reply_to) or placeholders["relay"],
        "subject": letter.subject,
        "subjects": letter.subjects,
        "has_note": has_note,
        "before": before.rstrip() if has_note else letter.body.rstrip(),
        "after": after.strip() if has_note else "",
        **_their_language(suggest, language),
    }


def letter_to(campaign: Campaign, form: Mapping[str, str], key: str,
              placeholders: dict[str, str]) -> dict[str, Any] | None:
    """The whole letter to one office of the chosen group, the supporter's paragraph in
    place (a preview with `note`), for them to send themselves; None when the group's letter
    does not go to that office."""
    letter = preview(campaign, chosen(campaign, form), form, placeholders, official_key=key,
                     note=form.get("personal_note", "").strip())
    if not letter or not letter.get("letter") or letter["official"].key != key:
        return None
    return letter


def _their_language(code: str | None, language: str) -> dict[str, str | None]:
    """The language to offer the letter in instead, named in `language`."""
    return {"their_language": code,
            "their_language_name": groups.language_name(code, language) if code else None}
