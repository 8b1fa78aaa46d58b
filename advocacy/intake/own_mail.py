"""The other paths: a supporter sends the letter themselves, from their own mail, through
an office's contact form or by post; we only count it.

Nothing personal is stored for it: the letter goes from the supporter's own hands, and the
count records which office, channel, language and partner, no more. A count is a click ("open
in my mail", "I sent it", "I posted it"), not proof of a sent letter; the dashboard says so.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from advocacy.extensions import db
from advocacy.models import BY_HAND_CHANNELS, OWN_MAIL_CHANNELS, Campaign, Official, OwnMail


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


def record(campaign: Campaign, official: Official, channel: str, language: str,
           ref: str | None) -> None:
    if channel not in OWN_MAIL_CHANNELS + BY_HAND_CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    db.session.add(OwnMail(campaign_id=campaign.id, target_id=official.id, channel=channel,
                           language=language, ref=ref or None))
    db.session.commit()
