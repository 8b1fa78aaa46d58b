"""The one clock: every decision and timestamp reads it, so tests can move time (send windows,
digests, holds, limits). Columns' defaults and the worker's waits use it too."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC (tests replace this function)."""
    return datetime.now(UTC)


def sleep(seconds: float) -> None:
    """Wait, as the clock counts (tests replace this with a step of their own clock)."""
    time.sleep(seconds)
