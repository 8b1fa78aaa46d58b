"""Officials' replies through the campaign's relay, for supporters who do not give their address.

A campaign with `reply_to = "relay"` sends letters with `Reply-To: reply+<letter>-<mac>@<domain>`
instead of the supporter's own address. Mail to that address reaches `advocacy inbound` (an
SMTP server, aiosmtpd, behind the campaign's MX or relay), which accepts it only for a valid
token, keeps the text encrypted (models.Reply) and shows it on the supporter's status page.
Nobody learns the supporter's address, and officials can still answer.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from redis.exceptions import RedisError

from . import queue
from .extensions import db
from .logs import quiet_smtp_servers
from .models import Letter, Reply, utcnow

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)
MAX_REPLY_BYTES = 256 * 1024
MAX_REPLY_TEXT = 20_000
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


def _text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        return "(This reply has no plain-text part; ask the official to send it as text.)"
    content = part.get_content()
    return str(content)[:MAX_REPLY_TEXT]


def store_reply(letter_id: int, raw: bytes) -> int | None:
    """Keep an official's reply to a letter; None (dropped) when its writer is no longer
    known: their data was scrubbed or erased, and a reply would be theirs alone to read."""
    letter = db.session.get(Letter, letter_id)
    if letter is None or letter.submission.scrubbed_at is not None:
        return None
    msg = message_from_bytes(raw[:MAX_REPLY_BYTES], policy=policy.default)
    reply = Reply(letter_id=letter_id, from_address=str(msg.get("From", ""))[:500],
                  subject=str(msg.get("Subject", ""))[:500], text=_text_of(msg),
                  received_at=utcnow())
    db.session.add(reply)
    db.session.commit()
    try:  # after the commit: the reply is kept even if the notice cannot be queued now
        queue.enqueue_reply_notice(reply.id)
    except RedisError:
        log.warning("notice of reply %s not queued; it waits on the status page", reply.id)
    return reply.id


class InboundHandler:
    """aiosmtpd handler: refuse unknown recipients at RCPT, store the rest at DATA."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        with self.app.app_context():
            if letter_of(address) is None:
                return "550 5.1.1 No such recipient"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if len(raw) > MAX_REPLY_BYTES:
            return "552 5.3.4 Message too big"
        with self.app.app_context():
            # Once per letter, however many of the message's recipients name it.
            letters = {letter_of(address) for address in envelope.rcpt_tos}
            for letter_id in sorted(i for i in letters if i is not None):
                store_reply(letter_id, raw)
        return "250 Message accepted"


def inbound_server(app: Flask, host: str, port: int) -> Controller:
    """The SMTP server that takes replies (not started); one message at most 256 KiB."""
    from aiosmtpd.controller import Controller  # only `advocacy inbound` runs it
    quiet_smtp_servers()
    return Controller(InboundHandler(app), hostname=host, port=port,
                      data_size_limit=MAX_REPLY_BYTES)
