"""The outbox: in test mode, every message the built-in sink received, as files (.eml).

Organizers read here exactly what officials would receive before the campaign goes live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy import func, select

from .extensions import db
from .models import HoldReason, Letter, LetterStatus, Target

_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}-[0-9a-f]{8}\.eml$")  # as advocacy.sink names them


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


def newest(folder: Path, limit: int = 100) -> list[Message]:
    """The latest messages, newest first (file names sort by arrival)."""
    if not folder.is_dir():
        return []
    names = sorted((p.name for p in folder.iterdir() if _NAME.match(p.name)), reverse=True)
    listed = []
    for name in names[:limit]:
        msg = _parse(folder / name)
        listed.append(Message(name, str(msg["From"] or ""), str(msg["To"] or ""),
                              str(msg["Subject"] or ""), str(msg["Date"] or "")))
    return listed


def read(folder: Path, name: str) -> tuple[list[tuple[str, str]], str] | None:
    """(headers, text) of one message, or None for a name that is not one of the outbox's."""
    if not _NAME.match(name) or not (folder / name).is_file():
        return None
    msg = _parse(folder / name)
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return [(k, str(v)) for k, v in msg.items()], str(text)


def unverified_targets() -> list[tuple[Target, int]]:
    """Active officials whose address nobody has verified, with the letters held for them."""
    held = (select(Letter.target_id, func.count(Letter.id).label("n"))
            .where(Letter.status == LetterStatus.HELD,
                   Letter.hold_reason == HoldReason.UNVERIFIED)
            .group_by(Letter.target_id).subquery())
    rows = db.session.execute(
        select(Target, func.coalesce(held.c.n, 0))
        .outerjoin(held, held.c.target_id == Target.id)
        .where(Target.active.is_(True), Target.verified.is_(False))
        .order_by(Target.key))
    return [(t, int(n)) for t, n in rows]
