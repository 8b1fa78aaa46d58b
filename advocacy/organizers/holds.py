"""What would hold a waiting letter again the moment it is released: its campaign or its office
is paused, the office is inactive, its address bounced or (in live mode) is not verified. The
worker checks the same in delivery.gate; releasing such a letter would only put it back, so
the organizers' controls keep it and say why instead of calling it released.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.letters.states import FOR_ORGANIZERS
from advocacy.models import Campaign, CampaignStatus, Letter, Official


class Blocker(enum.StrEnum):
    """Why a letter cannot go yet, whoever releases it; the admin words each one."""

    CAMPAIGN_PAUSED = "campaign_paused"
    OFFICE_PAUSED = "office_paused"
    OFFICE_INACTIVE = "office_inactive"
    UNVERIFIED = "unverified"
    BOUNCED = "bounced"
    NO_ADDRESS = "no_address"  # a follow-up's office without an email address (letters: never)


def blockers(ids: Iterable[int]) -> dict[int, Blocker]:
    """For each of these letters still waiting for an organizer that would be held again
    now, the first reason, as the worker would find it (delivery.gate.may_go's order)."""
    ids = list(ids)
    if not ids:
        return {}
    live = current_app.config["ADVOCACY_MODE"] == "live"
    found: dict[int, Blocker] = {}
    rows = db.session.execute(
        select(
            Letter.id,
            Campaign.status,
            Official.active,
            Official.paused,
            Official.verified,
            Official.bounced_at,
        )
        .join(Campaign, Letter.campaign_id == Campaign.id)
        .join(Official, Letter.target_id == Official.id)
        .where(Letter.id.in_(ids), Letter.status.in_(FOR_ORGANIZERS))
    )
    for letter_id, campaign_status, active, paused, verified, bounced_at in rows:
        blocker = first_blocker(campaign_status, active, paused, verified, bounced_at, live=live)
        if blocker is not None:
            found[letter_id] = blocker
    return found


def first_blocker(campaign_status: str, active: bool, paused: bool, verified: bool,
                  bounced_at: datetime | None, *, live: bool) -> Blocker | None:
    """What would hold a letter to this office of this campaign again, first as the worker
    finds it (delivery.gate.may_go's order); None when nothing would."""
    if not active:
        return Blocker.OFFICE_INACTIVE
    if campaign_status != CampaignStatus.OPEN:
        return Blocker.CAMPAIGN_PAUSED
    if paused:
        return Blocker.OFFICE_PAUSED
    if live and not verified:
        return Blocker.UNVERIFIED
    if bounced_at is not None:
        return Blocker.BOUNCED
    return None


def counted(found: dict[int, Blocker]) -> dict[str, int]:
    """How many letters each reason keeps, most first."""
    return dict(Counter(found.values()).most_common())
