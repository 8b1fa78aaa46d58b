"""What a run accepted, and the proof that none of it was lost (benches and slow tests).

Runs inside an app context on the run's database. "Lost" means any of: an accepted letter
missing from the database; an accepted letter not sent when the run has drained (whatever
its state: never confirmed, still queued, sending or held, failed, in review...); a letter
the sink received twice (by Message-ID, which is derived from the letter's id); a letter
marked sent that the sink never received.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.letters.emails import letter_message_id
from advocacy.models import Letter, LetterStatus


def states(ids: Iterable[int] | None = None) -> Counter[str]:
    """Letters by state: those of `ids`, or all of them."""
    db.session.expire_all()
    db.session.rollback()  # a fresh snapshot
    query = select(Letter.status, func.count()).group_by(Letter.status)
    if ids is not None:
        query = query.where(Letter.id.in_(list(ids)))
    return Counter({str(s): n for s, n in db.session.execute(query).all()})


WAITING = ("queued", "sending", "held")  # states a worker will still move on, by itself


def backlog(ids: Iterable[int]) -> int:
    """How many of these letters still wait for a worker (unconfirmed ones never will)."""
    current = states(ids)
    return sum(current[s] for s in WAITING)


def drain(ids: list[int], timeout: float) -> float:
    """Wait until none of these letters waits for a worker; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout and backlog(ids):
        time.sleep(2)
    return time.monotonic() - started


def outbox_message_ids(outbox: Path) -> list[str]:
    """The Message-ID of every .eml file the project's sink kept (headers only are read)."""
    parser = BytesHeaderParser()
    ids = []
    for path in outbox.glob("*.eml"):
        with path.open("rb") as fh:
            ids.append(str(parser.parse(fh)["Message-ID"]))
    return ids


def audit(accepted: Iterable[int], received: list[str], sender: str) -> dict[str, Any]:
    """Every accepted letter is in the database; every sent one arrived exactly once.

    `accepted`: ids of the letters the web accepted; `received`: the Message-IDs the sink
    got (letters and other mail alike). Returns counts, `lost` the sum of what went wrong.
    """
    accepted = set(accepted)
    db.session.rollback()
    found = dict(db.session.execute(
        select(Letter.id, Letter.status).where(Letter.id.in_(sorted(accepted)))).all()
    ) if accepted else {}
    counts = Counter(received)
    sent = {i for i, s in found.items() if s == LetterStatus.SENT}
    by_id = {letter_message_id(i, sender): i for i in found}
    arrived = {by_id[m] for m in counts if m in by_id}
    report: dict[str, Any] = {
        "accepted": len(accepted),
        "in_database": len(found),
        "by_state": dict(Counter(str(s) for s in found.values())),
        "delivered": len(arrived),
        "missing_from_database": len(accepted - set(found)),
        "not_delivered": len(set(found) - sent),
        "sent_never_received": len(sent - arrived),
        "received_twice": sum(1 for m, n in counts.items() if n > 1 and m in by_id),
    }
    report["lost"] = sum(report[k] for k in ("missing_from_database", "not_delivered",
                                             "sent_never_received", "received_twice"))
    return report
