"""Organizers' controls over delivery: pause or resume a campaign or an official, set its
limits, turn an official's digest on or off."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from advocacy.campaigns.settings import find_campaign
from advocacy.delivery import queue
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.models import Campaign, CampaignStatus, HoldReason, Letter, LetterStatus, Official
from advocacy.organizers import holds
from advocacy.organizers.follow_ups import enqueue_released, release_paused


def _campaign_or_error(slug: str | None) -> Campaign:
    campaign = find_campaign(slug)
    if campaign is None:
        raise LookupError(f"no campaign {slug!r}" if slug else "no default campaign: run init")
    return campaign


def _official_or_error(key: str) -> Official:
    official = db.session.scalar(select(Official).where(Official.key == key))
    if official is None:
        raise LookupError(f"no official with key {key!r}")
    return official


def set_paused(campaign_slug: str | None, official_key: str | None, paused: bool) -> dict[str, Any]:
    """Pause or resume a campaign or one official; resuming re-queues what the pause held,
    but for letters something else still holds (`still_held`: how many, by why), and the
    follow-up letters it held (`follow_ups_released`), but for those held otherwise too."""
    held = select(Letter.id).where(Letter.status == LetterStatus.HELD,
                                   Letter.hold_reason == HoldReason.PAUSED)
    if official_key:
        official = _official_or_error(official_key)
        official.paused = paused
        official.pause_reason = None  # an organizer's own pause, or the end of one
        if not paused:  # resuming ends the office's own pause too (issue 19)
            official.paused_until = None
        held = held.where(Letter.target_id == official.id)
        what, scope = {"official": official.key}, {"target_id": official.id}
    else:
        campaign = _campaign_or_error(campaign_slug)
        campaign.status = CampaignStatus.PAUSED if paused else CampaignStatus.OPEN
        held = held.where(Letter.campaign_id == campaign.id)
        what, scope = {"campaign": campaign.slug}, {"campaign_id": campaign.id}
    released: list[int] = []
    kept: dict[str, int] = {}
    follow_ups: list[int] = []
    db.session.flush()  # the pause's end counts for what is still blocked
    if not paused:
        follow_ups = release_paused(**scope)
        waiting = list(db.session.scalars(held))
        blocked = holds.blockers(waiting)  # e.g. the campaign resumed, the office still paused
        released, kept = [i for i in waiting if i not in blocked], holds.counted(blocked)
        if released:
            db.session.execute(
                update(Letter)
                .where(Letter.id.in_(released), states.RELEASE.where(Letter.status))
                .values(status=states.RELEASE.to, hold_reason=None, not_before=None)
            )
    db.session.commit()
    if released:
        queue.enqueue_letters(released)
    if follow_ups:
        enqueue_released(follow_ups)
    return {**what, "paused": paused, "released": len(released), "still_held": kept,
            "follow_ups_released": len(follow_ups)}


def set_limits(campaign_slug: str | None, settings: dict[str, Any] | None) -> dict[str, Any]:
    """Show a campaign's limits, or replace its settings (validated) and show the result."""
    from advocacy.campaigns.limits import campaign_limits

    campaign = _campaign_or_error(campaign_slug)
    if settings is not None:
        campaign_limits(settings)  # raises with the reason when a value is wrong
        campaign.limits = settings
        db.session.commit()
    return {"campaign": campaign.slug,
            "limits": campaign_limits(campaign.limits).model_dump(mode="json")}


def set_digest(official_key: str, on: bool) -> None:
    """The organizer's choice for an official: past the daily cap, one digest instead."""
    _official_or_error(official_key).digest = on
    db.session.commit()
