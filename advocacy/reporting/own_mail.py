"""Letters supporters sent from their own mail, counted for the dashboard and the page
(intake/own_mail.py records them)."""

from __future__ import annotations

from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.models import OWN_MAIL_CHANNELS, Official, OwnMail
from advocacy.reporting.dashboard import Filters, in_range


def own_mail_counts(filters: Filters) -> dict[str, int]:
    """{channel: n} for every channel, by one GROUP BY. The campaign, the days (UTC) and the
    body apply; the supporter's country cannot: nothing about the supporter is kept here."""
    query = (select(OwnMail.channel, func.count(OwnMail.id)).group_by(OwnMail.channel)
             .where(*in_range(OwnMail.created_at, filters)))
    if filters.campaign_id is not None:
        query = query.where(OwnMail.campaign_id == filters.campaign_id)
    if filters.body_id is not None:
        query = query.where(OwnMail.target_id.in_(
            select(Official.id).where(Official.body_id == filters.body_id)))
    counts = dict.fromkeys(OWN_MAIL_CHANNELS, 0)
    for channel, count in db.session.execute(query):
        counts[channel] = count
    return counts
