"""The privacy notice supporters agree to, and the version their consent records."""

from __future__ import annotations

import hashlib
from typing import Protocol

from flask import current_app

from advocacy.letters.addresses import sender_address
from advocacy.models import Campaign

# Raise when the built-in notice (templates/public/_privacy_notice.html) changes in substance:
# each consent records the version the supporter saw.
# 2: encryption, retention, the data page, the relay; 3: partners' opt-ins, kept until withdrawn;
# 4: being quoted in the hand-over report, and the one question about replies
BUILTIN_VERSION = "builtin-4"


class Notice(Protocol):
    """What a campaign's notice depends on: a Campaign, or a row with these columns."""

    @property
    def privacy_notice(self) -> str | None: ...
    @property
    def reply_to(self) -> str: ...


def notice_version(campaign: Notice) -> str:
    """The built-in notice's version, or a hash of the organizer's own text."""
    if campaign.privacy_notice:
        digest = hashlib.sha256(campaign.privacy_notice.encode()).hexdigest()[:16]
        return f"campaign-{digest}"
    return f"{BUILTIN_VERSION}-{campaign.reply_to}"  # its text says where replies go


def retention_days() -> int:
    return int(current_app.config["RETENTION_DAYS"])


def data_page() -> str:
    """Where supporters see, download or erase their data (the notice names it)."""
    return f"{current_app.config['ADVOCACY_PUBLIC_URL']}/my-data"


def contact_address(campaign: Campaign) -> str:
    """Where supporters write about their data: the campaign's sender address."""
    return sender_address(campaign.sender)
