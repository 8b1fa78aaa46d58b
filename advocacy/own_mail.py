"""The other path: a supporter sends the letter from their own mail; we only count it.

Nothing personal is stored for it: the letter goes from the supporter's own mailbox, and the
count records which office, channel, language and partner, no more. A count is a click on
"open in my mail", not proof of a sent email; the dashboard says so.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from sqlalchemy import func, select

from .dashboard import Filters, in_range
from .extensions import db
from .models import Campaign, OwnMail, Target

CHANNELS = ("mailto", "gmail", "outlook", "copy")


def compose_url(channel: str, to: str, subject: str, body: str) -> str:
    """A link that opens a new email, addressed and filled in, in the chosen mail program."""
    if channel == "mailto":
        # RFC 6068: percent-encoded, line breaks as CRLF.
        crlf = body.replace("\n", "\r\n")
        return f"mailto:{quote(to, safe='@')}?subject={quote(subject)}&body={quote(crlf)}"
    if channel == "gmail":
        return "https://mail.google.com/mail/?" + urlencode(
            {"view": "cm", "fs": "1", "to": to, "su": subject, "body": body})
    if channel == "outlook":
        return "https://outlook.live.com/mail/0/deeplink/compose?" + urlencode(
            {"to": to, "subject": subject, "body": body})
    raise ValueError(f"no compose link for {channel!r}")


def record(campaign: Campaign, target: Target, channel: str, language: str,
           ref: str | None) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    db.session.add(OwnMail(campaign_id=campaign.id, target_id=target.id, channel=channel,
                           language=language, ref=ref or None))
    db.session.commit()


def own_mail_counts(filters: Filters) -> dict[str, int]:
    """{channel: n} for every channel, by one GROUP BY. The campaign, the days (UTC) and the
    body apply; the supporter's country cannot: nothing about the supporter is kept here."""
    query = (select(OwnMail.channel, func.count(OwnMail.id)).group_by(OwnMail.channel)
             .where(*in_range(OwnMail.created_at, filters)))
    if filters.campaign_id is not None:
        query = query.where(OwnMail.campaign_id == filters.campaign_id)
    if filters.body_id is not None:
        query = query.where(OwnMail.target_id.in_(
            select(Target.id).where(Target.body_id == filters.body_id)))
    counts = dict.fromkeys(CHANNELS, 0)
    for channel, count in db.session.execute(query):
        counts[channel] = count
    return counts
