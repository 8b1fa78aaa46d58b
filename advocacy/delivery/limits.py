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


# Deferrals slow a recipient domain down (DeliveryLimiter.slow_down): each halves its rate,
# at most SLOWEST times (1/32), and no more often than once in HALVE_EVERY seconds (a chunk
# of letters deferred together is one signal, not fifty); each RECOVER_EVERY seconds without
# one gives back one halving. Stored in Redis next to the limits, so every worker slows.
SLOWEST = 5
HALVE_EVERY = 30.0
RECOVER_EVERY = 300.0
# A worker rereads a domain's slow-down at most this often (it is read for every letter).
SLOW_REREAD = 1.0


@dataclass(frozen=True)
class Slowdown:
    """How many times a domain's rate is halved (`level`), as of `at` (a Unix time)."""

    level: int
    at: float

    def now(self, now: float) -> int:
        """The halvings left at `now`: one comes back each RECOVER_EVERY seconds."""
        return max(0, self.level - int(max(0.0, now - self.at) // RECOVER_EVERY))


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
        self._redis = redis
        self._slow_prefix = f"{prefix}:slow:"
        self._slow_read: dict[str, tuple[float, Slowdown]] = {}

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
        slowed = self.slowdown(domain, now).now(now) if domain_rate is not None else 0
        checks = [
            # The domain's own window, counted against its rate halved `slowed` times: the
            # same key, so letters already sent count whatever the rate is now.
            (item, key, scope, max(1, item.amount >> slowed) if scope == "domain"
             else item.amount)
            for item, key, scope in (
                (self._item(rate), key, scope)
                for rate, key, scope in (
                    (limits.per_official_day, f"official-day:{official}", "official_day"),
                    (limits.per_official_hour, f"official-hour:{official}", "official_hour"),
                    (domain_rate, f"domain:{domain}", "domain"),
                    (limits.relay, "relay", "relay"),
                )
                if rate is not None
            )
        ]
        for item, key, scope, amount in checks:
            until = self._full_until.get((str(item), key), 0.0)
            if until > now:
                return Wait(until - now, scope)
            # The storage computes the window's start as `now - expiry` (a float), so a
            # fractional expiry simply starts the window a little earlier.
            start, count = self._storage.get_moving_window(
                item.key_for(key), amount, item.get_expiry() + MARGIN)  # type: ignore[arg-type]
            if count >= amount:
                return self._full(scope, key, item, start + item.get_expiry() + MARGIN, now)
        credit, self._relay_credit = self._relay_credit, None
        for item, key, scope, amount in reversed(checks):  # the relay first
            if scope == "relay" and credit is not None and now - credit <= RELAY_CREDIT:
                continue  # a relay slot taken a moment ago for a letter that was then held
            # The strategy's hit, with the amount the check used (a slowed domain's).
            if not self._storage.acquire_entry(item.key_for(key), amount, item.get_expiry()):
                if scope != "relay" and limits.relay is not None:
                    self._relay_credit = now  # another worker took the last slot: pass it on
                stats = self._strategy.get_window_stats(item, key)
                return self._full(scope, key, item, stats.reset_time + MARGIN, now)
        return None

    def slowdown(self, domain: str, now: float) -> Slowdown:
        """The domain's slow-down as Redis holds it (reread at most every SLOW_REREAD s)."""
        read = self._slow_read.get(domain)
        if read is not None and now - read[0] < SLOW_REREAD:
            return read[1]
        raw: dict[bytes, bytes] = self._redis.hgetall(self._slow_prefix + domain)  # type: ignore[assignment]
        found = Slowdown(int(raw.get(b"level", 0)), float(raw.get(b"at", 0))) if raw else \
            Slowdown(0, 0.0)
        self._slow_read[domain] = (now, found)
        return found

    def slow_down(self, domain: str, now: float) -> int:
        """A deferral (4xx) from this domain: halve its rate once more; returns the halvings.

        Two workers deferred at the same moment may both read the same level and write one
        halving between them: the rule is advice, and HALVE_EVERY would merge them anyway.
        """
        key = self._slow_prefix + domain
        self._slow_read.pop(domain, None)
        current = self.slowdown(domain, now)
        level = current.now(now)
        if level and now - current.at < HALVE_EVERY:
            return level  # this burst of deferrals has been counted
        level = min(SLOWEST, level + 1)
        with self._redis.pipeline() as pipe:
            pipe.hset(key, mapping={"level": level, "at": now})
            pipe.expire(key, int(RECOVER_EVERY * (level + 1)))
            pipe.execute()
        self._slow_read[domain] = (now, Slowdown(level, now))
        return level

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
