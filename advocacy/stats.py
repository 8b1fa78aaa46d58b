"""Counts of letters, computed by SQL aggregates (never by loading rows)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from .extensions import db
from .models import Body, Campaign, Letter, LetterStatus, Target


def letter_stats(campaign: Campaign | None = None) -> dict[str, Any]:
    """{"letters": {status: n}, "by_body": {body: {status: n}}}, every status present."""
    query = (
        select(Body.slug, Letter.status, func.count(Letter.id))
        .select_from(Letter)
        .join(Target, Letter.target_id == Target.id)
        .join(Body, Target.body_id == Body.id)
        .group_by(Body.slug, Letter.status)
    )
    if campaign is not None:
        query = query.where(Letter.campaign_id == campaign.id)
    letters = {status.value: 0 for status in LetterStatus}
    by_body: dict[str, dict[str, int]] = {}
    for body, status, count in db.session.execute(query):
        letters[status] = letters.get(status, 0) + count
        by_body.setdefault(body, {s.value: 0 for s in LetterStatus})[status] = count
    for slug in db.session.scalars(select(Body.slug)):
        by_body.setdefault(slug, {s.value: 0 for s in LetterStatus})
    return {"letters": letters, "by_body": by_body}


def sent_count(campaign: Campaign) -> int:
    """Letters delivered for a campaign: one indexed count, for the public page's counter."""
    return int(db.session.scalar(
        select(func.count(Letter.id)).where(Letter.campaign_id == campaign.id,
                                            Letter.status == LetterStatus.SENT)) or 0)
