"""The addresses a letter carries: its sender, and the relay address an official can answer at
(privacy/replies.py takes the replies; the token ties each to its letter)."""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app

_LOCAL = re.compile(r"^reply\+(\d{1,18})-([0-9a-f]{20})$")


def _mac(letter_id: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"reply:{letter_id}".encode(), hashlib.sha256).hexdigest()[:20]


def reply_domain(sender: str) -> str:
    return current_app.config["REPLY_DOMAIN"] or sender.rpartition("@")[2] or "localhost"


def reply_address(letter_id: int, sender: str) -> str:
    """The address an official answers a relayed letter at; unguessable, tied to the letter."""
    return f"reply+{letter_id}-{_mac(letter_id)}@{reply_domain(sender)}"


def letter_of(address: str) -> int | None:
    """The letter a relay address belongs to, or None when the token is not ours."""
    local, _, _domain = address.strip().lower().rpartition("@")
    match = _LOCAL.match(local)
    if match is None:
        return None
    letter_id = int(match.group(1))
    return letter_id if hmac.compare_digest(match.group(2), _mac(letter_id)) else None


def sender_address(campaign_sender: str | None) -> str:
    """The envelope and From address: the campaign's own, else the server's ADVOCACY_SENDER."""
    return campaign_sender or str(current_app.config["ADVOCACY_SENDER"])
