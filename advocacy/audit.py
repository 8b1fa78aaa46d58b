"""The audit log: every organizer action, who, what, on what, when. Owners read it."""

from __future__ import annotations

from typing import Any

from advocacy.extensions import db
from advocacy.models import AuditEntry, Organizer


def record(actor: Organizer | None, action: str, subject: str = "", **details: Any) -> None:
    """Add an entry to the current transaction: it is kept exactly when the action is."""
    db.session.add(AuditEntry(
        organizer_id=actor.id if actor else None,
        organizer_email=actor.email if actor else "",
        action=action, subject=subject[:300], details=details,
    ))
