"""The officials letters go to: list and search; add, edit, verify, deactivate; import."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager

from advocacy import audit, clock
from advocacy.admin import bp, group_label, requires, wording
from advocacy.campaigns.pages import IMAGE_MAX_BYTES
from advocacy.extensions import db
from advocacy.letters.render import country_name
from advocacy.letters.salutations import for_holder
from advocacy.letters.states import UNSENT
from advocacy.models import Body, Letter, Official, Role
from advocacy.officials import choices
from advocacy.officials.files import LANGUAGES
from advocacy.officials.rows import COLUMNS, OTHER_LANGUAGES, REQUIRED, row_of_official
from advocacy.organizers import official_edits, official_import
from advocacy.organizers.accounts import may
from advocacy.organizers.controls import set_paused

PER_PAGE = 50
STATES = {
    "active": Official.active.is_(True),
    "inactive": Official.active.is_(False),
    "unverified": Official.email.is_not(None) & Official.verified.is_(False),
    "verified": Official.verified.is_(True),
    "no-email": Official.email.is_(None),
    "paused": Official.paused.is_(True),
    "bounced": Official.bounced_at.is_not(None),
}
IMPORTS = ("admin.import_officials", "admin.apply_import")


@bp.url_value_preprocessor
def _room_for_imports(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before CSRFProtect reads the form, so an import may be larger than other forms.
    if endpoint in IMPORTS:
        request.max_content_length = official_import.MAX_REQUEST_BYTES


@bp.errorhandler(413)
def _too_large(exc: Exception) -> Any:
    text = _("What was sent is too large: an import file may have up to %(kb)d KB, a campaign"
             " page's image %(mb)d MB, other forms much less.",
             kb=official_import.MAX_BYTES // 1024, mb=IMAGE_MAX_BYTES // (1024 * 1024))
    return render_template("admin/message.html", title=_("Too large"), text=text), 413


def _editor() -> bool:
    return bool(may(current_user.organizer, Role.EDITOR))


def _listing(args: Mapping[str, str]) -> Select[Official]:
    """The officials the list's search and filters select, in a stable order."""
    query = (select(Official).join(Official.body).options(contains_eager(Official.body))
             .order_by(Body.id, Official.country, Official.office, Official.id))
    if text := args.get("q", "").strip():
        query = query.where(or_(*(column.icontains(text, autoescape=True) for column in (
            Official.office, Official.holder, Official.key, Official.email))))
    if args.get("body"):
        query = query.where(Body.slug == args["body"])
    if args.get("country"):
        query = query.where(Official.country == args["country"].upper())
    if args.get("state") in STATES:
        query = query.where(STATES[args["state"]])
    return query


def _state_names() -> dict[str, str]:
    """The filter's states, as the list's menu names them."""
    return {"active": _("active"), "inactive": _("inactive"), "unverified": _("unverified"),
            "verified": _("verified"), "no-email": _("no email"), "paused": _("paused"),
            "bounced": _("bounced")}


@bp.get("/targets")
@requires(Role.VIEWER)
def officials() -> Any:
    page = db.paginate(_listing(request.args), page=request.args.get("page", 1, type=int),
                       per_page=PER_PAGE, error_out=False)
    countries = db.session.scalars(select(Official.country).distinct().where(
        Official.country != "").order_by(Official.country)).all()
    filters = {name: request.args.get(name, "") for name in ("q", "body", "country", "state")}
    return render_template(
        "admin/targets.html", page=page, filters=filters, editor=_editor(), states=STATES,
        state_names=_state_names(),
        kept={name: value for name, value in filters.items() if value},
        bodies=db.session.scalars(select(Body).order_by(Body.id)).all(),
        countries=[(code, country_name(code, str(get_locale() or "en"))) for code in countries])


def _typed(form: Any, previous: Sequence[str] = ()) -> dict[str, str]:
    """The form as one text per column: the languages ticked and typed, in the official's order
    first (so an edit that leaves them alone changes nothing), then as listed."""
    values = {name: str(form.get(name, "")) for name in COLUMNS}
    codes = [code.strip().lower() for code in [
        *form.getlist("languages"), *re.split(r"[\s,]+", form.get("languages_other", ""))]
        if code.strip()]
    ordered = [code for code in previous if code in codes] + codes
    values["languages"] = " ".join(dict.fromkeys(ordered))
    return values


def _form(official: Official | None, values: Mapping[str, str], errors: dict[str, str],
          opened: str = "") -> str:
    """The official's form: countries, languages and time zones to choose from, in the
    organizer's language, and how the letters will greet the holder."""
    locale = str(get_locale() or "en")
    country = values.get("country", "").strip().upper()
    chosen = tuple(values.get("languages", "").split())
    zones = choices.time_zones(country, locale)
    timezone = values.get("timezone", "")
    gender = values.get("holder_gender", "")
    greetings = [(lang, choices.language_name(lang, locale),
                  for_holder(values.get(f"salutation_{lang}", "").strip(), lang, gender))
                 for lang in LANGUAGES]
    return render_template(
        "admin/target_form.html", official=official, values=values, errors=errors, opened=opened,
        bodies=db.session.scalars(select(Body).order_by(Body.id)).all(),
        required=[name for name in REQUIRED if name != "key"],  # made from the name if empty
        languages=LANGUAGES, other_languages=OTHER_LANGUAGES,
        countries=choices.countries(locale), language_choices=choices.languages(
            locale, country, chosen), chosen_languages=chosen, zones=zones,
        every_zone=choices.every_zone() if not zones.main or (
            timezone and timezone not in zones) else (),
        names={lang: choices.language_name(lang, locale) for lang in LANGUAGES},
        greetings=greetings)


def _said_saved(saved: official_edits.Saved) -> None:
    flash(_("Saved %(key)s.", key=saved.official.key) if saved.changes
          else _("Nothing was changed."))
    if saved.unverified:
        flash(_("The email address changed, so it is no longer verified: check the new address"
                " against its source, then verify it again. Until then, in live mode, its"
                " letters wait."), "error")


@bp.route("/targets/new", methods=["GET", "POST"])
@requires(Role.EDITOR)
def new_official() -> Any:
    if request.method == "POST":
        typed = _typed(request.form)
        if request.form.get("action") == "suggest":  # the button, or official_form.js
            return _form(None, official_edits.suggest(typed, adding=True), {})
        try:
            saved = official_edits.save_official(current_user.organizer, None, typed)
        except official_edits.InvalidEdit as exc:
            return _form(None, typed, exc.errors), 422
        _said_saved(saved)
        return redirect(url_for("admin.official", target_id=saved.official.id))
    return _form(None, official_edits.suggest({"languages": "en"}, adding=False), {})


@bp.get("/targets/<int:target_id>")
@requires(Role.VIEWER)
def official(target_id: int) -> Any:
    official = db.get_or_404(Official, target_id)
    letters = dict(db.session.execute(
        select(Letter.status, func.count()).where(Letter.target_id == official.id)
        .group_by(Letter.status)).all())
    unsent = sum(letters.get(status, 0) for status in UNSENT)
    return render_template("admin/target.html", official=official, letters=letters, unsent=unsent,
                           editor=_editor(), languages=LANGUAGES, now=clock.now(),
                           may_verify=official_edits.may_verify(current_user.organizer, official),
                           set_it_yourself=official_edits.set_it_yourself())


@bp.route("/targets/<int:target_id>/edit", methods=["GET", "POST"])
@requires(Role.EDITOR)
def edit_official(target_id: int) -> Any:
    official = db.get_or_404(Official, target_id)
    if request.method == "POST":
        opened = request.form.get("opened", "")
        typed = _typed(request.form, official.languages)
        if request.form.get("action") == "suggest":
            return _form(official, official_edits.suggest(typed, adding=False), {}, opened)
        try:
            saved = official_edits.save_official(current_user.organizer, official, typed,
                                             opened)
        except official_edits.InvalidEdit as exc:
            return _form(official, typed, exc.errors, opened), 422
        _said_saved(saved)
        return redirect(url_for("admin.official", target_id=official.id))
    return _form(official, row_of_official(official), {}, official_edits.fingerprint(official))


@bp.post("/targets/<int:target_id>/verified")
@requires(Role.EDITOR)
def verify_official(target_id: int) -> Any:
    official = db.get_or_404(Official, target_id)
    verified = request.form.get("verified") == "yes"
    try:
        released = official_edits.set_verified(current_user.organizer, official, verified)
    except official_edits.OfficialError as exc:
        flash(str(exc), "error")
    else:
        if verified:
            flash(_("%(address)s is verified, by you, now.", address=official.email)
                  + (" " + ngettext("Released: %(num)d letter that waited for it.",
                                    "Released: %(num)d letters that waited for it.", released)
                     if released else ""))
        else:
            flash(_("%(address)s is no longer verified: in live mode its letters wait until it"
                    " is verified again.", address=official.email or official.key))
    return redirect(url_for("admin.official", target_id=official.id))


@bp.post("/targets/<int:target_id>/active")
@requires(Role.EDITOR)
def activate_official(target_id: int) -> Any:
    official = db.get_or_404(Official, target_id)
    try:
        if request.form.get("active") == "yes":
            cancelled = official_edits.reactivate(current_user.organizer, official)
            flash(_("%(key)s is active again: new letters will reach it.", key=official.key)
                  + (" " + _("Letters cancelled before stay cancelled (%(num)s).",
                             num=cancelled) if cancelled else ""))
        else:
            done = official_edits.deactivate(current_user.organizer, official,
                                           request.form.get("reason", ""))
            flash(ngettext("%(key)s is inactive. Cancelled: %(num)d letter not yet sent to it.",
                           "%(key)s is inactive. Cancelled: %(num)d letters not yet sent to it.",
                           done.cancelled, key=official.key))
            if done.sending:
                flash(ngettext("Left alone: %(num)d letter being sent at that moment, which may"
                               " still reach the official.",
                               "Left alone: %(num)d letters being sent at that moment, which"
                               " may still reach the official.", done.sending), "error")
    except official_edits.OfficialError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.official", target_id=official.id))


@bp.post("/targets/<int:target_id>/office-say")
@requires(Role.EDITOR)
def office_say_answer(target_id: int) -> Any:
    """An organizer answers what the office chose through its link: accept or dismiss the
    address it gave, or undo its digest and pause."""
    official = db.get_or_404(Official, target_id)
    action, by = request.form.get("action"), current_user.organizer
    try:
        if action == "accept":
            address = official_edits.accept_proposed_address(by, official)
            flash(_("Letters go to %(address)s from now on. Another organizer verifies it.",
                    address=address))
        elif action == "dismiss":
            official_edits.dismiss_proposed_address(by, official)
            flash(_("Dismissed: letters keep going to the current address."))
        elif action == "undo":
            released = official_edits.end_office_choice(by, official)
            flash(_("The office's digest and pause are undone.")
                  + (" " + ngettext("Released: %(num)d letter.", "Released: %(num)d letters.",
                                    released) if released else ""))
        else:
            abort(400)
    except official_edits.OfficialError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.official", target_id=official.id) + "#office-say")


@bp.app_context_processor
def _office_say_alerts() -> dict[str, Any]:
    """For admin/_office_say_alerts.html, asked only when a page includes it."""
    def office_say_alerts() -> list[dict[str, Any]]:
        now = clock.now()
        found = db.session.scalars(
            select(Official).where(or_(Official.digest_daily.is_(True),
                                       Official.paused_until > now,
                                       Official.proposed_email.is_not(None)))
            .order_by(Official.proposed_at.desc(), Official.id).limit(20))
        return [{"id": o.id, "office": o.office, "proposed_email": o.proposed_email,
                 "digest_daily": o.digest_daily,
                 "paused_until": o.paused_until if o.paused_until and o.paused_until > now
                 else None} for o in found]
    return {"office_say_alerts": office_say_alerts}


@bp.post("/targets/<int:target_id>/paused")
@requires(Role.EDITOR)
def pause_official(target_id: int) -> Any:
    """Pause (its letters wait, held) or resume (what the pause held goes out): also an office
    paused from the command line or by a complaint."""
    official = db.get_or_404(Official, target_id)
    paused = request.form.get("paused") == "yes"
    # Recorded first: set_paused commits it with the change itself.
    audit.record(current_user.organizer, "pause official" if paused else "resume official",
                 official.key)
    result = set_paused(None, official.key, paused)
    wording.flash_pause(result, _("Paused: letters to this office wait until you resume it."))
    return redirect(url_for("admin.official", target_id=official.id))


def _import_page(**context: Any) -> str:
    names = {b.slug: group_label(b) for b in db.session.scalars(select(Body))}
    return render_template("admin/target_import.html", columns=COLUMNS, required=REQUIRED,
                           max_kb=official_import.MAX_BYTES // 1024, group_names=names,
                           **context)


@bp.route("/targets/import", methods=["GET", "POST"])
@requires(Role.EDITOR)
def import_officials() -> Any:
    if request.method == "GET":
        return _import_page()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(error=_("Choose a file to import.")), 422
    try:
        plan, token = official_import.preview(upload.filename, upload.stream)
    except official_import.UploadError as exc:
        return _import_page(error=str(exc)), 422
    return _import_page(plan=plan, token=token), 200 if not plan.problems else 422


@bp.post("/targets/import/apply")
@requires(Role.EDITOR)
def apply_import() -> Any:
    try:
        plan = official_import.apply(current_user.organizer, request.form.get("token", ""))
    except official_import.UploadError as exc:
        return _import_page(error=str(exc)), 422
    except official_import.ImportChanged as exc:
        return _import_page(plan=exc.plan, token=exc.token, changed=True), 409
    flash(_("Imported %(name)s: %(added)d added, %(changed)d changed, %(unchanged)d unchanged."
            " Imported addresses are unverified until verified here.", name=plan.name,
            added=len(plan.added), changed=len(plan.changed), unchanged=len(plan.unchanged)))
    return redirect(url_for("admin.officials"))
