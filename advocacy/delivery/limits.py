"""Counting letters against the rate limits in Redis (the limits themselves, and send windows,
are campaigns/limits.py): a letter may go now, or waits so long.

Counting is done by the `limits` package's moving-window strategy on Redis (the one
Flask-Limiter uses), so any window of the configured length holds at most the limit, across
every worker on every machine. Keys are per relay, recipient domain and official, not per
campaign: an office is protected whichever campaign writes to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis import Redis

from advocacy.campaigns.limits import RateLimits

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


class DeliveryLimiter:
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
    """Emails to one address per period of the rate (confirmations, reminders, data links),
    however asked for.

    Anyone can type anyone's address into the form or the "my data" page; this caps what that
    can make land in the inbox. Counted by the address's lookup hash (crypto.lookup_hash),
    never the address, with the `limits` package's moving window on Redis like the letters'
    limits above: any window of the rate's period (a day for "N/day") holds at most the cap,
    across workers, and the entries expire by themselves (a plain INCR with EXPIRE would let a
    fixed day's count double across its boundary).
    """

    def __init__(self, redis: Redis, prefix: str, rate: str) -> None:
        storage = RedisStorage("redis://", connection_pool=redis.connection_pool,
                               key_prefix=f"{prefix}:mailcap")
        self._strategy = MovingWindowRateLimiter(storage)
        self._item = parse(rate)

    def take(self, address_hash: str) -> bool:
        """Count one email to this address; False when its cap is reached (send nothing)."""
        return bool(self._strategy.hit(self._item, address_hash))
