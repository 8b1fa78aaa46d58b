"""The one clock delivery decisions read, so tests can move time (send windows, digests)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC (tests replace this function)."""
    return datetime.now(UTC)
