"""The letters' templates: every viewer reads them, editors write new versions and roll back."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import select

from advocacy.admin import bp, requires
from advocacy.extensions import db
from advocacy.letters import versions as versions
from advocacy.letters.asks import DEFAULT
from advocacy.letters.compose import official_label
from advocacy.letters.render import FILTERS, LetterRenderError, country_name, placeholder_names
from advocacy.letters.versions import SOURCE_LANGUAGE, current_template
from advocacy.models import Body, Campaign, LetterTemplate, Role
from advocacy.officials.choices import language_name
from advocacy.officials.files import LETTER_LANGUAGES
from advocacy.organizers.accounts import may
from advocacy.organizers.proofs import ProofError, request_proof

LETTER = "/letters/<campaign_slug>/<body_slug>/<language>"


@bp.get("/letters")
@requires(Role.VIEWER)
def letters() -> Any:
    locale = str(get_locale() or "en")
    return render_template("admin/letters.html", rows=versions.overview(),
                           names={lang: language_name(lang, locale) for lang in LETTER_LANGUAGES})


def _find(campaign_slug: str, body_slug: str, language: str) -> tuple[Campaign, Body]:
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == campaign_slug))
    body = db.session.scalar(select(Body).where(Body.slug == body_slug))
    if campaign is None or body is None or language not in LETTER_LANGUAGES or (
            body.languages and language not in body.languages):  # not a language it takes
        abort(404)
    return campaign, body


def _preview(campaign: Campaign, body: Body, language: str, draft: versions.Draft,
             official_key: str | None) -> dict[str, Any]:
    """The draft as the chosen official (else the first with an address) would get it."""
    officials = versions.officials(body)
    chosen = next((t for t in officials if t.key == official_key), None) or next(
        (t for t in officials if t.email), officials[0] if officials else None)
    preview: dict[str, Any] = {"officials": [(t.key, official_label(t)) for t in officials],
                               "official": chosen.key if chosen else None}
    if chosen is None:
        preview["error"] = _("This body has no active official to write to.")
    elif not draft.text:
        preview["error"] = _("There is no text yet.")
    else:
        try:
            preview["sample"] = versions.render_sample(campaign, draft, chosen, language)
        except LetterRenderError as exc:
            preview["error"] = str(exc)
    return preview


def _ask_rows(body: Body, draft: versions.Draft) -> list[tuple[str, str, str]]:
    """(key, label, ask) for the default, each kind of office the draft names ("coe-pace"),
    each country of the group's offices, and each office: every place an ask may go."""
    asks = dict(draft.asks)
    officials = versions.officials(body)
    offices = [(t.key, official_label(t)) for t in officials]
    locale = str(get_locale() or "en")
    countries = [(code, _("Every office of %(country)s without its own",
                          country=country_name(code, locale)))
                 for code in sorted({t.country for t in officials if t.country})]
    named = {DEFAULT} | {key for key, _label in offices + countries}
    kinds = []
    for key in sorted(set(asks) - named):
        kind = [t.key for t in officials if t.key.startswith(f"{key}-")]
        kinds.append((key, _("Every office whose key starts with %(key)s- without its own"
                             " (%(num)d now)", key=key, num=len(kind)) if kind
                      else _("%(key)s (no such active office)", key=key)))
    rows = [(DEFAULT, _("Every office without an ask of its own (the default)")),
            *kinds, *countries, *offices]
    return [(key, label, asks.get(key, "")) for key, label in rows]


def _written_from(current: LetterTemplate | None, language: str, newest: dict[str, int]) -> str:
    """The language this letter is written from, as the form shows it: what was sent, else
    what the current version was written from, else English for a translation."""
    if request.method == "POST":
        return request.form.get("written_from", "")
    if current is not None and current.source_language:
        return current.source_language
    return SOURCE_LANGUAGE if language != SOURCE_LANGUAGE and SOURCE_LANGUAGE in newest else ""


def _since(campaign: Campaign, body: Body, language: str) -> dict[str, Any] | None:
    """?since=N: how the current version differs from version N (a translation's link to what
    changed in its source since it was written)."""
    since = request.args.get("since", type=int)
    pair = versions.changes_since(campaign, body, language, since) if since else None
    if pair is None:
        return None
    return {"old": pair[0], "new": pair[1], "rows": versions.compare(*pair)}


def _editor(campaign: Campaign, body: Body, language: str, draft: versions.Draft,
            base_version: int | None, problems: dict[str, str] | None = None,
            conflict: str | None = None) -> Any:
    official = request.values.get("official")
    locale = str(get_locale() or "en")
    current = current_template(campaign, body, language)
    newest = versions.newest_versions(campaign, body)
    return render_template(
        "admin/letter.html", campaign=campaign, body=body, language=language, draft=draft,
        language_name=language_name(language, locale),
        names={lang: language_name(lang, locale) for lang in LETTER_LANGUAGES},
        sources=[lang for lang in LETTER_LANGUAGES if lang in newest and lang != language],
        written_from=_written_from(current, language, newest),
        stale=versions.staleness(current, newest), since=_since(campaign, body, language),
        placeholders=placeholder_names(),
        current=current, base_version=base_version,
        history=versions.history(campaign, body, language), problems=problems or {},
        conflict=conflict, preview=_preview(campaign, body, language, draft, official),
        may_edit=may(current_user.organizer, Role.EDITOR), filters=FILTERS,
        ask_rows=_ask_rows(body, draft),
        sample=versions.SAMPLE_SUPPORTER)


def _back_to(campaign: Campaign, body: Body, language: str) -> Any:
    """To the letter's page, the official chosen for the preview still chosen."""
    return redirect(url_for("admin.letter", campaign_slug=campaign.slug, body_slug=body.slug,
                            language=language, official=request.form.get("official") or None))


@bp.get(LETTER)
@requires(Role.VIEWER)
def letter(campaign_slug: str, body_slug: str, language: str) -> Any:
    campaign, body = _find(campaign_slug, body_slug, language)
    current = current_template(campaign, body, language)
    draft = versions.Draft.of(current) if current else versions.Draft("", "", "")
    return _editor(campaign, body, language, draft, current.version if current else None)


@bp.post(LETTER)
@requires(Role.EDITOR)
def save_letter(campaign_slug: str, body_slug: str, language: str) -> Any:
    """Save a new version, or (the Preview button, without JavaScript) show the draft."""
    campaign, body = _find(campaign_slug, body_slug, language)
    draft = versions.Draft.from_form(request.form)
    base = request.form.get("base_version", type=int)
    if request.form.get("action") != "save":
        return _editor(campaign, body, language, draft, base)
    try:
        saved = versions.save(current_user.organizer, campaign, body, language, draft, base,
                              request.form.get("written_from") or None)
    except versions.DraftError as exc:
        return _editor(campaign, body, language, draft, base, problems=exc.problems), 422
    except versions.VersionConflict as exc:
        who = (exc.current.author or _("a file")) if exc.current else _("someone")
        message = _("Version %(version)s was saved by %(who)s since you opened this page. Your"
                    " text is below: compare it with the versions listed, then save again.",
                    version=exc.current.version if exc.current else "?", who=who)
        return _editor(campaign, body, language, draft,
                       exc.current.version if exc.current else None, conflict=message), 409
    flash(_("Saved as version %(version)d.", version=saved.version) if saved else
          _("Nothing changed, so no new version."))
    if saved and saved.source_language:
        flash(_("It is up to date with its source (%(language)s), version %(version)d.",
                language=language_name(saved.source_language, str(get_locale() or "en")),
                version=saved.source_version))
    return _back_to(campaign, body, language)


@bp.post(LETTER + "/preview")
@requires(Role.EDITOR)
def preview_letter(campaign_slug: str, body_slug: str, language: str) -> Any:
    """The live preview, rendered here with the code that sends (letter_editor.js asks)."""
    campaign, body = _find(campaign_slug, body_slug, language)
    preview = _preview(campaign, body, language, versions.Draft.from_form(request.form),
                       request.form.get("official"))
    return {"html": render_template("admin/_letter_preview.html", preview=preview),
            "ok": "error" not in preview}


@bp.post(LETTER + "/test")
@requires(Role.EDITOR)
def send_test(campaign_slug: str, body_slug: str, language: str) -> Any:
    """Email the current version, as the chosen official would get it, to the organizer."""
    campaign, body = _find(campaign_slug, body_slug, language)
    current = current_template(campaign, body, language)
    if current is None:
        abort(404)
    organizer = current_user.organizer
    try:
        official = request_proof(organizer, current, request.form.get("official", ""))
    except ProofError as exc:
        flash(str(exc), "error")
    except RedisError:
        flash(_("The queue cannot be reached: no test was sent. Try again in a moment."),
              "error")
    else:
        flash(_("A test of version %(version)d for %(office)s is on its way to %(address)s.",
                version=current.version, office=official.office, address=organizer.email))
    return _back_to(campaign, body, language)


@bp.post("/letters/versions/<int:template_id>/rollback")
@requires(Role.EDITOR)
def roll_back(template_id: int) -> Any:
    """A new version with an old one's text."""
    old = db.session.get(LetterTemplate, template_id)
    if old is None:
        abort(404)
    campaign = db.session.get_one(Campaign, old.campaign_id)
    body = db.session.get_one(Body, old.body_id)
    try:
        new = versions.roll_back(current_user.organizer, old)
    except (versions.DraftError, versions.VersionConflict) as exc:
        flash(_("Version %(version)d cannot come back: %(reason)s", version=old.version,
                reason=exc), "error")
    else:
        flash(_("Version %(old)d is back, as version %(new)d.", old=old.version,
                new=new.version) if new else
              _("Version %(version)d is already the current text.", version=old.version))
    return _back_to(campaign, body, old.language)
