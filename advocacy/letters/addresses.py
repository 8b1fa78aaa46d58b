"""The addresses an email carries: its sender; the relay address an official can answer at
(privacy/replies.py takes the replies); and its bounce address, the envelope sender that
names the email, so that a bounce or a complaint arriving later says which one it was about
(delivery/bounces.py). Both kinds are signed with the same key and MAC, each over its own
purpose, so one kind's token never passes for the other."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from flask import current_app

_LOCAL = re.compile(r"^reply\+(\d{1,18})-([0-9a-f]{20})$")
_BOUNCE = re.compile(r"^bounce\+([a-z]{1,10})-(\d{1,18})-([0-9a-f]{20})$")

# What a bounce address may name: a letter, a digest (by its first letter), or a service
# email (by the row it was about). Words, not letters: an operator reads them in logs.
BOUNCE_KINDS = frozenset({
    "letter",   # a letter to an official: Letter.id
    "digest",   # an official's digest: the id of the first letter it carries
    "confirm",  # a confirmation or its reminder: Submission.id
    "already",  # "you had written to them already": Submission.id (deleted once sent)
    "data",     # the link to a supporter's data: Supporter.id
    "reply",    # the notice of an official's reply: Reply.id
    "invite",   # an invitation to organize: Invitation.id
    "test",     # a test letter to an organizer: Organizer.id
    "question", # "did you get a reply?" to a supporter: Submission.id
    "followup", # an organizers' follow-up letter to an office: FollowUpLetter.id
})


def _mac(subject: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()[:20]


def reply_domain(sender: str) -> str:
    return current_app.config["REPLY_DOMAIN"] or sender.rpartition("@")[2] or "localhost"


def reply_address(letter_id: int, sender: str) -> str:
    """The address an official answers a relayed letter at; unguessable, tied to the letter."""
    return f"reply+{letter_id}-{_mac(f'reply:{letter_id}')}@{reply_domain(sender)}"


def letter_of(address: str) -> int | None:
    """The letter a relay address belongs to, or None when the token is not ours."""
    local, _, _domain = address.strip().lower().rpartition("@")
    match = _LOCAL.match(local)
    if match is None:
        return None
    letter_id = int(match.group(1))
    return letter_id if hmac.compare_digest(match.group(2), _mac(f"reply:{letter_id}")) else None


@dataclass(frozen=True)
class Bounced:
    """What a valid bounce address names: the kind of email and the row it was about."""

    kind: str
    row: int


def bounce_address(kind: str, row: int, sender: str) -> str:
    """The envelope sender (Return-Path) of one email: VERP, signed, at the reply domain."""
    if kind not in BOUNCE_KINDS:
        raise ValueError(f"not a kind of email: {kind}")
    return f"bounce+{kind}-{row}-{_mac(f'bounce:{kind}:{row}')}@{reply_domain(sender)}"


def is_bounce_address(address: str) -> bool:
    """Whether an address has the shape of a bounce address (signed or not)."""
    return address.strip().lower().startswith("bounce+")


def is_report_address(address: str) -> bool:
    """Whether this is the plain `bounce@` address, for feedback loops that send every
    complaint to one registered address: the report then quotes the bounce address."""
    return address.strip().lower().rpartition("@")[0] == "bounce"


def bounced(address: str) -> Bounced | None:
    """The email a bounce address names, or None when its signature is not ours."""
    local, _, _domain = address.strip().lower().rpartition("@")
    match = _BOUNCE.match(local)
    if match is None or match.group(1) not in BOUNCE_KINDS:
        return None
    kind, row = match.group(1), int(match.group(2))
    if not hmac.compare_digest(match.group(3), _mac(f"bounce:{kind}:{row}")):
        return None
    return Bounced(kind, row)


def sender_address(campaign_sender: str | None) -> str:
    """The From address: the campaign's own, else the server's ADVOCACY_SENDER."""
    return campaign_sender or str(current_app.config["ADVOCACY_SENDER"])
