"""The privacy notice supporters agree to, and the version their consent records."""

from __future__ import annotations

import hashlib

from .mail import sender_address
from .models import Campaign

# Raise when the built-in notice (templates/public/privacy_notice.html) changes in substance:
# each consent records the version the supporter saw.
BUILTIN_VERSION = "builtin-1"


def notice_version(campaign: Campaign) -> str:
    """The built-in notice's version, or a hash of the organizer's own text."""
    if campaign.privacy_notice:
        digest = hashlib.sha256(campaign.privacy_notice.encode()).hexdigest()[:16]
        return f"campaign-{digest}"
    return BUILTIN_VERSION


def contact_address(campaign: Campaign) -> str:
    """Where supporters write about their data: the campaign's sender address."""
    return sender_address(campaign.sender)
