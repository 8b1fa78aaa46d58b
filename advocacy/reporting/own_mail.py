"""Letters supporters sent themselves, counted for the dashboard and the page: from their own
mail (intake/own_mail.py records a click), and through an office's contact form or by post
(public.by_hand records "I sent it")."""

from __future__ import annotations

from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.models import BY_HAND_CHANNELS, OWN_MAIL_CHANNELS, Official, OwnMail
from advocacy.reporting.dashboard import Filters, in_range


def _counts(filters: Filters, channels: tuple[str, ...]) -> dict[str, int]:
    query = (select(OwnMail.channel, func.count(OwnMail.id)).group_by(OwnMail.channel)
             .where(OwnMail.channel.in_(channels), *in_range(OwnMail.created_at, filters)))
    if filters.campaign_id is not None:
        query = query.where(OwnMail.campaign_id == filters.campaign_id)
    if filters.body_id is not None:
        query = query.where(OwnMail.target_id.in_(
            select(Official.id).where(Official.body_id == filters.body_id)))
    counts = dict.fromkeys(channels, 0)
    for channel, count in db.session.execute(query):
        counts[channel] = count
    return counts


def own_mail_counts(filters: Filters) -> dict[str, int]:
    """{channel: n} for every own-mail channel, by one GROUP BY. The campaign, the days (UTC)
    and the body apply; the supporter's country cannot: nothing about the supporter is kept
    here."""
    return _counts(filters, OWN_MAIL_CHANNELS)


def by_hand_counts(filters: Filters) -> dict[str, int]:
    """{"form": n, "post": n}: letters supporters said they sent through an office's contact
    form or by post; the filters apply as for `own_mail_counts`."""
    return _counts(filters, BY_HAND_CHANNELS)
