"""Organizers define groups of offices: add one, or edit its names, how supporters choose its
offices (by country or not), the letter languages it takes and its risk notice."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from advocacy import audit
from advocacy.extensions import db
from advocacy.models import Body, Official, Organizer
from advocacy.officials.files import LANGUAGES, BodySpec, error_message

OTHER_LANGUAGES = tuple(lang for lang in LANGUAGES if lang != "en")  # English is `name`
NOTICE_MAX = 2000


class InvalidGroup(ValueError):
    """A group that cannot be saved; `errors` has a message per form field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class GroupForm:
    """The form's fields for a group (what the page shows back after a refusal)."""

    values: dict[str, str]
    languages: list[str]


def form_of(group: Body | None) -> GroupForm:
    """The form's values for a group (none: a new one)."""
    if group is None:  # an opt-in group at first, listed after the others
        last = db.session.scalar(select(func.max(Body.position))) or 0
        return GroupForm({"offered": "", "position": str(last + 1)}, [])
    values = {"slug": group.slug, "name": group.name, "position": str(group.position),
              "by_country": "yes" if group.by_country else "",
              "offered": "yes" if group.offered else ""}
    values |= {f"name-{lang}": (group.names or {}).get(lang, "") for lang in OTHER_LANGUAGES}
    values |= {f"risk-{lang}": (group.risk_notices or {}).get(lang, "") for lang in LANGUAGES}
    return GroupForm(values, list(group.languages or []))


def _text(form: Mapping[str, str], name: str) -> str:
    # Browsers send a textarea's line breaks as CRLF.
    return (form.get(name) or "").replace("\r\n", "\n").strip()


def spec_from_form(form: MultiDict[str, str], slug: str) -> BodySpec:
    """The group the form describes, checked; InvalidGroup names each field and reason."""
    errors: dict[str, str] = {}
    position = _text(form, "position") or "0"
    if not re.fullmatch(r"-?\d{1,4}", position):
        errors["position"] = _("A whole number, such as 5.")
    notices = {lang: _text(form, f"risk-{lang}") for lang in LANGUAGES}
    for lang, notice in notices.items():
        if len(notice) > NOTICE_MAX:
            errors[f"risk-{lang}"] = _("At most %(max)s characters.", max=NOTICE_MAX)
    name = _text(form, "name")
    data = {
        "slug": slug, "name": name,
        "names": {"en": name} | {lang: _text(form, f"name-{lang}") for lang in OTHER_LANGUAGES},
        "by_country": form.get("by_country") == "yes",
        "position": int(position) if "position" not in errors else 0,
        "languages": [lang for lang in form.getlist("languages") if lang],
        "risk_notice": notices,
        "offered": form.get("offered") == "yes",
    }
    try:
        spec = BodySpec.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "_"
            errors.setdefault({"names": "name-fr", "risk_notice": "risk-en"}.get(field, field),
                              error_message(err))
        raise InvalidGroup(errors) from None
    if errors:
        raise InvalidGroup(errors)
    return spec


def save_group(by: Organizer, group: Body | None, form: MultiDict[str, str]) -> Body:
    """Add a group (group None) or edit one from the form's fields; InvalidGroup if wrong.

    A group's slug stays once made: letters' folders, officials files and the JSON API name
    the group by it."""
    slug = group.slug if group is not None else _text(form, "slug").lower()
    spec = spec_from_form(form, slug)
    if group is None and slug == "new":  # /admin/groups/new is the page that defines one
        raise InvalidGroup({"slug": _("Choose another slug: new names the page for a new group.")})
    if group is None and db.session.scalar(select(Body.id).where(Body.slug == slug)):
        raise InvalidGroup({"slug": _("Another group has this slug.")})
    if group is not None and spec.by_country:
        without = db.session.scalar(select(func.count(Official.id)).where(
            Official.body_id == group.id, Official.country == "", Official.active.is_(True)))
        if without:
            raise InvalidGroup({"by_country": ngettext(
                "%(num)d active official of this group has no country: give it a country"
                " first, or it could never be written to.",
                "%(num)d active officials of this group have no country: give each a country"
                " first, or they could never be written to.", without)})
    before = form_of(group).values | {"languages": " ".join(form_of(group).languages)}
    if group is None:
        group = Body(slug=slug)
        db.session.add(group)
    spec.apply(group)
    after = form_of(group).values | {"languages": " ".join(form_of(group).languages)}
    changes = {k: [before.get(k, ""), v] for k, v in after.items() if before.get(k, "") != v}
    audit.record(by, "add group" if "slug" in changes else "edit group", slug, **changes)
    try:
        db.session.commit()
    except IntegrityError:  # the same slug, added by someone else a moment ago
        db.session.rollback()
        raise InvalidGroup({"slug": _("Another group has this slug.")}) from None
    return group
