"""Rate limits and send windows: when a letter may go, decided per campaign's settings.

Counting is done by the `limits` package's moving-window strategy on Redis (the one
Flask-Limiter uses), so any window of the configured length holds at most the limit, across
every worker on every machine. Keys are per relay, recipient domain and official, not per
campaign: an office is protected whichever campaign writes to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from limits import RateLimitItem, parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from redis import Redis


def _rate(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a rate such as '10/second' or '30/hour'") from None
    return value


class SendWindow(BaseModel):
    """Hours and weekdays (0 = Monday) in the official's own time zone."""

    model_config = ConfigDict(extra="forbid")
    start: time = time(8, 0)
    end: time = time(20, 0)
    days: Annotated[list[int], Field(min_length=1)] = [0, 1, 2, 3, 4]

    @model_validator(mode="after")
    def _order(self) -> SendWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if any(d not in range(7) for d in self.days):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return self


class RateLimits(BaseModel):
    """A campaign's limits; None switches one off."""

    model_config = ConfigDict(extra="forbid")
    relay: str | None = "10/second"
    per_domain: str | None = "120/minute"
    domains: dict[str, str] = {}
    per_official_hour: str | None = "30/hour"
    per_official_day: str | None = "300/day"
    window: SendWindow | None = SendWindow()
    # When an official's daily cap is full, their digest goes out at this local time.
    digest_at: time = time(20, 0)

    _check_rates = field_validator("relay", "per_domain", "per_official_hour",
                                   "per_official_day")(_rate)

    @field_validator("domains")
    @classmethod
    def _check_domains(cls, v: dict[str, str]) -> dict[str, str]:
        for rate in v.values():
            _rate(rate)
        return {k.lower(): r for k, r in v.items()}


def campaign_limits(settings: dict[str, Any] | None) -> RateLimits:
    """The campaign's stored settings over the defaults."""
    return RateLimits.model_validate(settings or {})


def window_opens(window: SendWindow | None, timezone: str, now: datetime) -> datetime | None:
    """None when `now` is inside the send window, else when it next opens (in UTC)."""
    if window is None:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if local.weekday() in window.days and window.start <= local.time() < window.end:
        return None
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        if day.weekday() not in window.days:
            continue
        opening = datetime.combine(day, window.start, tzinfo=zone)
        if opening > local:
            return opening.astimezone(now.tzinfo)
    raise ValueError("a send window with no day in it")  # unreachable: days is not empty


def digest_time(limits: RateLimits, timezone: str, now: datetime) -> datetime:
    """When today's digest for an official in this time zone goes out."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), limits.digest_at, tzinfo=zone)
    return max(at, local).astimezone(now.tzinfo)


# Checks look this much further back than a limit's window: a message reaches the relay a
# little after its slot is taken, and this keeps arrival times within the limit too.
MARGIN = 0.05
# A relay slot taken for a letter that could not go after all serves the next letter if it
# comes this soon (well inside MARGIN, so arrival times still keep within the relay's rate).
RELAY_CREDIT = 0.02


@dataclass(frozen=True)
class Wait:
    """Not now: try again in `seconds`; `scope` names the limit that said no."""

    seconds: float
    scope: str


class Limiter:
    """Consumes one slot of every limit that applies to a letter, or says how long to wait."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._storage = RedisStorage("redis://", connection_pool=redis.connection_pool,
                                     key_prefix=f"{prefix}:limits")
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._parsed: dict[str, RateLimitItem] = {}
        self._full_until: dict[tuple[str, str], float] = {}
        self._relay_credit: float | None = None

    def _item(self, rate: str) -> RateLimitItem:
        if rate not in self._parsed:
            self._parsed[rate] = parse(rate)
        return self._parsed[rate]

    def acquire(self, limits: RateLimits, official: str, domain: str, now: float) -> Wait | None:
        """Take a slot for one letter to `official` at `domain`; a Wait when a limit is full.

        Every limit is first checked, read-only, over its window plus MARGIN seconds, so a
        letter that must wait spends nothing, and the letters' arrival times (which trail
        these checks by the time a message takes) also keep within each window. Then each
        limit is hit atomically, the relay first. Only a race between workers can leave a
        slot unused; none is ever overspent. The hit counts the bare window (the storage's
        script makes it the key's expiry, whole seconds), so two workers that pass the
        check together can eat into MARGIN: it protects arrival times within a worker,
        not always between workers. An official or domain found full is
        remembered until its window frees up, so letters held for it cost no more lookups.
        """
        domain_rate = limits.domains.get(domain, limits.per_domain)
        checks = [
            (self._item(rate), key, scope)
            for rate, key, scope in (
                (limits.per_official_day, f"official-day:{official}", "official_day"),
                (limits.per_official_hour, f"official-hour:{official}", "official_hour"),
                (domain_rate, f"domain:{domain}", "domain"),
                (limits.relay, "relay", "relay"),
            )
            if rate is not None
        ]
        for item, key, scope in checks:
            until = self._full_until.get((str(item), key), 0.0)
            if until > now:
                return Wait(until - now, scope)
            # The storage computes the window's start as `now - expiry` (a float), so a
            # fractional expiry simply starts the window a little earlier.
            start, count = self._storage.get_moving_window(
                item.key_for(key), item.amount, item.get_expiry() + MARGIN)  # type: ignore[arg-type]
            if count >= item.amount:
                return self._full(scope, key, item, start + item.get_expiry() + MARGIN, now)
        credit, self._relay_credit = self._relay_credit, None
        for item, key, scope in reversed(checks):  # the relay first
            if scope == "relay" and credit is not None and now - credit <= RELAY_CREDIT:
                continue  # a relay slot taken a moment ago for a letter that was then held
            if not self._strategy.hit(item, key):
                if scope != "relay" and limits.relay is not None:
                    self._relay_credit = now  # another worker took the last slot: pass it on
                stats = self._strategy.get_window_stats(item, key)
                return self._full(scope, key, item, stats.reset_time + MARGIN, now)
        return None

    def _full(self, scope: str, key: str, item: RateLimitItem, free_at: float,
              now: float) -> Wait:
        wait = Wait(max(0.001, free_at - now), scope)
        if scope != "relay":
            self._full_until[(str(item), key)] = free_at
        return wait


class MailCap:
    """Emails to one address a day (confirmations, reminders, data links), however asked for.

    Anyone can type anyone's address into the form or the "my data" page; this caps what that
    can make land in the inbox. Counted by the address's lookup hash (crypto.lookup_hash),
    never the address, with the `limits` package's moving window on Redis like the letters'
    limits above: any 24 hours hold at most the cap, across workers, and the entries expire
    by themselves (a plain INCR with EXPIRE would let a fixed day's count double across its
    boundary).
    """

    def __init__(self, redis: Redis, prefix: str, rate: str) -> None:
        storage = RedisStorage("redis://", connection_pool=redis.connection_pool,
                               key_prefix=f"{prefix}:mailcap")
        self._strategy = MovingWindowRateLimiter(storage)
        self._item = parse(rate)

    def take(self, address_hash: str) -> bool:
        """Count one email to this address; False when its cap is reached (send nothing)."""
        return bool(self._strategy.hit(self._item, address_hash))
