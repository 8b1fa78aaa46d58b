"""Groups of offices (the `body` table): which a campaign offers, in which order, and what a
group asks of a letter (a country, a language) and tells a supporter (its risk notice)."""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select

from advocacy.extensions import db
from advocacy.models import Body, Campaign, Official
from advocacy.officials.choose import writable


def all_groups() -> list[Body]:
    """Every group, in its default order (position, then as added)."""
    return list(db.session.scalars(select(Body).order_by(Body.position, Body.id)))


def known_slugs() -> set[str]:
    """The slugs of the groups in the database."""
    return set(db.session.scalars(select(Body.slug)))


def in_offer(campaign: Campaign) -> ColumnElement[bool]:
    """Whether a group is one the campaign offers (a condition on Body, for a query)."""
    return Body.slug.in_(campaign.bodies) if campaign.bodies else Body.offered.is_(True)


def offered(campaign: Campaign, reachable: bool = False) -> list[Body]:
    """The groups a campaign offers, in its order: the ones it chose, else the groups offered
    by default, in their positions. `reachable`: only those with an office to write to (active,
    no case-intake inbox; each has email, contact page or post); a group with none would be a
    dead end, so the form leaves it out. One query either way: the form reads this on every
    preview."""
    query = select(Body).order_by(Body.position, Body.id).where(in_offer(campaign))
    if reachable:
        query = query.where(select(Official.id).where(
            Official.body_id == Body.id, *writable()).exists())
    rows = list(db.session.scalars(query))
    if campaign.bodies:
        rows.sort(key=lambda b: campaign.bodies.index(b.slug))
    return rows


def reachable(groups: Iterable[Body]) -> list[Body]:
    """Those groups that have an active official (see `offered`)."""
    groups = list(groups)
    with_officials = set(db.session.scalars(
        select(Official.body_id).distinct().where(
            *writable(), Official.body_id.in_([b.id for b in groups]))))
    return [b for b in groups if b.id in with_officials]


def countries(groups: Iterable[Body]) -> list[str]:
    """The countries that have an active official in one of the groups chosen by country."""
    ids = [b.id for b in groups if b.by_country]
    if not ids:
        return []
    return list(db.session.scalars(
        select(Official.country).distinct()
        .where(Official.body_id.in_(ids), *writable(), Official.country != "")
        .order_by(Official.country)))


def group_name(group: Body, language: str) -> str:
    """The group's name in the language, else its name."""
    return group.names.get(language) or group.name


def risk_notice(group: Body, language: str) -> str:
    """The group's risk notice in the page's language, else in English, else none."""
    notices = group.risk_notices or {}
    return notices.get(language) or notices.get("en") or ""


def described(group: Body, language: str) -> dict[str, object]:
    """A group as the JSON API tells it (GET /api/groups), named in `language`."""
    return {"body": group.slug, "name": group_name(group, language),
            "by_country": group.by_country, "countries": countries([group]),
            "languages": list(group.languages or []),
            "risk_notice": risk_notice(group, language) or None}


def accepts(languages: list[str] | None, language: str) -> bool:
    """Whether a group that accepts these letter languages (none: all) takes a letter in one."""
    return not languages or language in languages


def language_name(code: str, language: str) -> str:
    """A language's name, in the page's language."""
    return str(Locale.parse(code).get_display_name(language))


def languages_message(group: Body, language: str) -> str:
    """What a supporter is told when the group takes letters in other languages only."""
    return str(_("%(group)s takes letters only in: %(languages)s.",
                 group=group_name(group, language),
                 languages=", ".join(language_name(code, language) for code in group.languages)))
