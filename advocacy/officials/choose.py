"""Choosing the officials a letter goes to: a body's active officials, by country where it asks."""

from __future__ import annotations

from sqlalchemy import ColumnElement, SQLColumnExpression, or_, select

from advocacy.extensions import db
from advocacy.models import Body, Official


def chosen(body_id: int | SQLColumnExpression[int], body_slug: str | SQLColumnExpression[str],
           country: str | SQLColumnExpression[str] = "") -> list[ColumnElement[bool]]:
    """Which targets a letter to this body goes to: its active officials (for gov: a country's).

    Given values, or columns and parameters (a join on the body: intake.submit)."""
    where = [Official.body_id == body_id, Official.active.is_(True)]
    if isinstance(body_slug, str):
        if body_slug == "gov":
            where.append(Official.country == country)
    else:
        where.append(or_(body_slug != "gov", Official.country == country))
    return where


def choose_officials(body: Body, country: str = "") -> list[Official]:
    """The officials a letter to this body goes to, in a stable order."""
    query = select(Official).where(*chosen(body.id, body.slug, country)).order_by(Official.id)
    return list(db.session.scalars(query))
