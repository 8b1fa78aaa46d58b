"""Choosing the officials a letter goes to: a group's active officials, by country where the
group is chosen by country."""

from __future__ import annotations

from sqlalchemy import ColumnElement, SQLColumnExpression, or_, select

from advocacy.extensions import db
from advocacy.models import Body, Official


def writable() -> list[ColumnElement[bool]]:
    """Offices a supporter may write to: active, and no case-intake inbox."""
    return [Official.active.is_(True), Official.case_intake.is_(False)]


def chosen(body_id: int | SQLColumnExpression[int], by_country: bool | SQLColumnExpression[bool],
           country: str | SQLColumnExpression[str] = "") -> list[ColumnElement[bool]]:
    """Which targets a letter to this group goes to: its active officials (for a group chosen
    by country: that country's). Case-intake inboxes are never a letter's target.

    Given values, or columns and parameters (a join on the group: intake.submit)."""
    where = [Official.body_id == body_id, *writable()]
    if isinstance(by_country, bool):
        if by_country:
            where.append(Official.country == country)
    else:
        where.append(or_(by_country.is_(False), Official.country == country))
    return where


def choose_officials(body: Body, country: str = "") -> list[Official]:
    """The officials a letter to this group goes to, in a stable order."""
    query = (select(Official).where(*chosen(body.id, body.by_country, country))
             .order_by(Official.id))
    return list(db.session.scalars(query))
