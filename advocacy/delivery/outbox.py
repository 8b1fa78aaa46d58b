"""The outbox: in test mode, every message the built-in sink received, as files (.eml).

Organizers read here what officials would receive before the campaign goes live. The service
emails hold links that act for their addressee alone: an invitation (open it, choose a
password: an account with its role), a supporter's confirmation, status and data links. Every
view of a message shows them masked: links to this site keep their first path segment only,
and elsewhere any path segment that looks like a token is hidden too (in case the site's
address changed since the message was sent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.models import HoldReason, Letter, LetterStatus, Official

_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}-[0-9a-f]{8}\.eml$")  # as advocacy.delivery.sink names them
HIDDEN = "[hidden]"
_URL = re.compile(r"(?P<origin>https?://[^/\s<>\"'?#]+)(?P<rest>[^\s<>\"']*)", re.IGNORECASE)
_SEPARATORS = re.compile(r"([/?#&=;])")
_URL_SAFE = re.compile(r"[\w.~-]+")


def _token_like(part: str) -> bool:
    """Long, URL-safe, with upper case, lower case and digits: secrets' and itsdangerous'
    tokens always are; words and article slugs almost never."""
    return (len(part) >= 20 and _URL_SAFE.fullmatch(part) is not None
            and any(c.isupper() for c in part) and any(c.islower() for c in part)
            and any(c.isdigit() for c in part))


def mask_links(text: str, site: str) -> str:
    """The text with what would let a reader act on a link hidden (see the module's doc)."""
    own = urlsplit(site).netloc.lower()

    def masked(match: re.Match[str]) -> str:
        origin, rest = match["origin"], match["rest"]
        if urlsplit(origin).netloc.lower() == own:
            first = re.match(r"/[^/?#]*", rest)
            kept = first.group(0) if first else ""
            return origin + kept + (f"/{HIDDEN}" if rest[len(kept):] else "")
        return origin + "".join(HIDDEN if _token_like(part) else part
                                for part in _SEPARATORS.split(rest))

    return _URL.sub(masked, text)


@dataclass(frozen=True)
class Message:
    name: str
    sender: str
    to: str
    subject: str
    date: str


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        # With policy.default the parser makes EmailMessage objects (typeshed says Message).
        return BytesParser(_class=EmailMessage, policy=policy.default).parse(fh)


def newest(folder: Path, site: str, limit: int = 100) -> list[Message]:
    """The latest messages, newest first (file names sort by arrival), links masked."""
    if not folder.is_dir():
        return []
    names = sorted((p.name for p in folder.iterdir() if _NAME.match(p.name)), reverse=True)
    listed = []
    for name in names[:limit]:
        msg = _parse(folder / name)
        listed.append(Message(name, *(mask_links(str(msg[h] or ""), site)
                                      for h in ("From", "To", "Subject", "Date"))))
    return listed


def read(folder: Path, name: str, site: str) -> tuple[list[tuple[str, str]], str] | None:
    """(headers, text) of one message, links masked; None for a name that is not the
    outbox's. There is no download of the raw message: it would hold the links unmasked."""
    if not _NAME.match(name) or not (folder / name).is_file():
        return None
    msg = _parse(folder / name)
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return [(k, mask_links(str(v), site)) for k, v in msg.items()], mask_links(str(text), site)


def unverified_officials() -> list[tuple[Official, int]]:
    """Active officials whose address nobody has verified, with the letters held for them."""
    held = (select(Letter.target_id, func.count(Letter.id).label("n"))
            .where(Letter.status == LetterStatus.HELD,
                   Letter.hold_reason == HoldReason.UNVERIFIED)
            .group_by(Letter.target_id).subquery())
    rows = db.session.execute(
        select(Official, func.coalesce(held.c.n, 0))
        .outerjoin(held, held.c.target_id == Official.id)
        .where(Official.active.is_(True), Official.verified.is_(False))
        .order_by(Official.key))
    return [(t, int(n)) for t, n in rows]
