"""Opt-ins: supporters who agreed to hear from a partner, or (partner None) from the campaign.

An opt-in is recorded only once its address is proven (the supporter confirmed by email:
intake.confirm); before that anyone could have typed anyone's address, and a partner would
then write to someone who never asked, telling them that their address was given for a
political prisoner. It stays while the consent stands, apart from the letters' retention
(privacy.retention never touches this table); withdrawing it empties the address and name
(the row stays, with withdrawn_at, so counts and the consent's history stay right); erasing
one's data deletes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from advocacy import clock
from advocacy.crypto import lookup_hash
from advocacy.extensions import db
from advocacy.models import Campaign, OptIn, Partner

EXPORT_COLUMNS = ("name", "email", "consented_at", "confirmed_at", "privacy_notice_version")


def _upsert(insert_: Any, partner: bool) -> Any:
    """Insert an opt-in, or renew the standing one for this campaign, partner and address:
    the newest consent (its notice version) and the address as last typed."""
    columns = ["campaign_id", "partner_id", "email_hash"] if partner else [
        "campaign_id", "email_hash"]
    where = text("partner_id IS NOT NULL" if partner else "partner_id IS NULL")
    excluded = insert_.excluded
    return insert_.on_conflict_do_update(
        index_elements=columns, index_where=where,
        set_={"email": excluded.email, "name": excluded.name,
              "consented_at": excluded.consented_at, "confirmed_at": excluded.confirmed_at,
              "notice_version": excluded.notice_version})


_UPSERT = {(dialect, partner): _upsert(module.insert(OptIn), partner)
           for dialect, module in (("postgresql", postgresql), ("sqlite", sqlite))
           for partner in (True, False)}


def record_opt_in(campaign_id: int, partner_id: int | None, email: str, name: str,
                  consented_at: datetime, notice_version: str | None) -> None:
    """Record (or renew) a proven opt-in, in the caller's transaction."""
    connection = db.session.connection()
    connection.execute(_UPSERT[(connection.dialect.name, partner_id is not None)], {
        "campaign_id": campaign_id, "partner_id": partner_id, "email": email, "name": name,
        "email_hash": lookup_hash(email), "consented_at": consented_at,
        "confirmed_at": clock.now(), "notice_version": notice_version})


def standing() -> ColumnElement[bool]:
    return OptIn.withdrawn_at.is_(None)


@dataclass(frozen=True)
class HeldOptIn:
    """An opt-in as its supporter sees it on their data page."""

    id: int
    campaign: str
    partner: str | None  # None: the campaign's own news
    consented_at: datetime
    notice_version: str | None


def opt_ins_of(email_hash: str | None) -> list[HeldOptIn]:
    """The standing opt-ins of the address with this lookup hash."""
    if email_hash is None:
        return []
    rows = db.session.execute(
        select(OptIn.id, Campaign.name, Partner.name, OptIn.consented_at, OptIn.notice_version)
        .join(Campaign, OptIn.campaign_id == Campaign.id)
        .outerjoin(Partner, OptIn.partner_id == Partner.id)
        .where(OptIn.email_hash == email_hash, standing()).order_by(OptIn.id))
    return [HeldOptIn(*row) for row in rows]


def has_standing_opt_in(email_hash: str | None) -> bool:
    return email_hash is not None and db.session.scalar(
        select(OptIn.id).where(OptIn.email_hash == email_hash, standing()).limit(1)) is not None


def _rows(statement: Any) -> int:
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount


def withdraw(opt_in_id: int, email_hash: str) -> bool:
    """Withdraw one of this address's opt-ins (the caller commits): its address and name
    are emptied at once; the row says when. False if it is not theirs or already gone."""
    return _rows(update(OptIn).where(OptIn.id == opt_in_id, OptIn.email_hash == email_hash,
                                     standing())
                 .values(email=None, name=None, email_hash=None, withdrawn_at=clock.now())) == 1


def erase_opt_ins(email_hash: str | None) -> int:
    """Delete every opt-in of this address, withdrawn or not (the caller commits)."""
    if email_hash is None:
        return 0
    return _rows(delete(OptIn).where(OptIn.email_hash == email_hash))


def export_rows(campaign_id: int, partner_id: int | None) -> list[tuple[Any, ...]]:
    """The standing opt-ins of one campaign for one partner (None: the campaign's own), in
    EXPORT_COLUMNS' order, oldest first."""
    partner = OptIn.partner_id.is_(None) if partner_id is None else (
        OptIn.partner_id == partner_id)
    rows = db.session.execute(
        select(OptIn.name, OptIn.email, OptIn.consented_at, OptIn.confirmed_at,
               OptIn.notice_version)
        .where(OptIn.campaign_id == campaign_id, partner, standing()).order_by(OptIn.id))
    return [(name, email, consented.isoformat(), confirmed.isoformat(), version or "")
            for name, email, consented, confirmed, version in rows]


def opt_in_counts(campaign_id: int) -> dict[int | None, tuple[int, int]]:
    """Per partner (None: the campaign's own): (standing opt-ins, withdrawn ones)."""
    counts: dict[int | None, tuple[int, int]] = {}
    for partner_id, withdrawn, n in db.session.execute(
            select(OptIn.partner_id, OptIn.withdrawn_at.is_not(None), func.count())
            .where(OptIn.campaign_id == campaign_id)
            .group_by(OptIn.partner_id, OptIn.withdrawn_at.is_not(None))):
        kept, gone = counts.get(partner_id, (0, 0))
        counts[partner_id] = (kept, gone + n) if withdrawn else (kept + n, gone)
    return counts
