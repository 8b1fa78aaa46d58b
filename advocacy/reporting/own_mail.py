"""Letters supporters sent themselves, counted for the dashboard and the page: from their own
mail (intake/own_mail.py records a click), and through an office's contact form or by post
(public.by_hand records "I sent it")."""

from __future__ import annotations

from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.models import BY_HAND_CHANNELS, OWN_MAIL_CHANNELS, Official, OwnMail
from advocacy.reporting.dashboard import Filters, in_range


def sent_themselves(filters: Filters) -> tuple[dict[str, int], dict[str, int]]:
    """({own-mail channel: n}, {"form": n, "post": n}) by one GROUP BY. The campaign, the days
    (UTC) and the body apply; the supporter's country cannot: nothing about the supporter is
    kept here."""
    query = (select(OwnMail.channel, func.count(OwnMail.id)).group_by(OwnMail.channel)
             .where(*in_range(OwnMail.created_at, filters)))
    if filters.campaign_id is not None:
        query = query.where(OwnMail.campaign_id == filters.campaign_id)
    if filters.body_id is not None:
        query = query.where(OwnMail.target_id.in_(
            select(Official.id).where(Official.body_id == filters.body_id)))
    own, by_hand = dict.fromkeys(OWN_MAIL_CHANNELS, 0), dict.fromkeys(BY_HAND_CHANNELS, 0)
    for channel, count in db.session.execute(query):
        (own if channel in own else by_hand)[channel] = count
    return own, by_hand


def own_mail_counts(filters: Filters) -> dict[str, int]:
    """{channel: n} for every own-mail channel (see `sent_themselves`)."""
    return sent_themselves(filters)[0]


def by_hand_counts(filters: Filters) -> dict[str, int]:
    """{"form": n, "post": n}: letters supporters said they sent through an office's contact
    form or by post (see `sent_themselves`)."""
    return sent_themselves(filters)[1]
