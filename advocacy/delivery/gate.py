"""Whether a letter may go now: its campaign's limits and send windows, the official's caps.
A letter that may not go is put back with the time it may."""

from __future__ import annotations

import functools
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from advocacy import clock, connections
from advocacy.campaigns.limits import RateLimits, campaign_limits, digest_time, window_opens
from advocacy.delivery import notes
from advocacy.delivery.batch import Batch
from advocacy.delivery.limits import DeliveryLimiter
from advocacy.delivery.schedule import schedule_digest
from advocacy.letters import states
from advocacy.letters.compose import LetterRow
from advocacy.models import CampaignStatus, HoldReason


def limits_of(letter: LetterRow, cache: dict[int, RateLimits]) -> RateLimits:
    if letter.campaign_id not in cache:
        cache[letter.campaign_id] = campaign_limits(letter.campaign_limits)
    return cache[letter.campaign_id]


def may_go(letter: LetterRow, limits: RateLimits, limiter: DeliveryLimiter, batch: Batch) -> bool:
    """Everything that may keep a letter back; True when it may go now."""
    cfg = current_app.config
    if not letter.official_active:
        batch.record(letter, states.DROP, last_error=notes.DEACTIVATED)
        return False
    if letter.campaign_status != CampaignStatus.OPEN or letter.official_paused:
        why = (letter.official_pause_reason if letter.campaign_status == CampaignStatus.OPEN
               else None)  # the office's own reason (a complaint) when it alone is paused
        batch.hold(letter, HoldReason.PAUSED, None,
                   notes.with_detail(notes.PAUSED, why) if why else notes.PAUSED_BY_ORGANIZERS)
        return False
    if cfg["ADVOCACY_MODE"] == "live" and not letter.official_verified:
        # Verified means checked against a primary source (README, "Targets and letters");
        # in live mode nothing goes by email to an address that is not.
        batch.hold(letter, HoldReason.UNVERIFIED, None, notes.UNVERIFIED)
        return False
    if letter.official_bounced:
        batch.hold(letter, HoldReason.BOUNCED, None, notes.BOUNCED)
        return False
    now = clock.now()
    if letter.official_paused_until is not None and letter.official_paused_until > now:
        # The office's own pause (its link): released by time, as a limit's hold is.
        batch.hold(letter, HoldReason.PAUSED, letter.official_paused_until,
                   notes.paused_by_office(letter.official_paused_until))
        return False
    if letter.official_digest_daily:
        _into_digest(letter, limits, batch, now, notes.ASKED_FOR_DIGEST)
        return False
    if limits.similar_after is not None and (letter.alike or 0) >= limits.similar_after:
        _into_digest(letter, limits, batch, now, notes.NEAR_IDENTICAL)
        return False
    opens = window_opens(limits.window, letter.official_timezone, now)
    if opens is not None:
        batch.hold(letter, HoldReason.WINDOW, opens, notes.OUTSIDE_WINDOW)
        return False
    domain = (letter.official_email or "").rpartition("@")[2].lower()
    while (wait := limiter.acquire(limits, letter.official_key, domain,
                                         clock.now().timestamp())) is not None:
        if wait.scope == "official_day" and letter.official_digest:
            local_day = now.astimezone(ZoneInfo(letter.official_timezone)).date()
            key = f"{letter.campaign_id}:{letter.target_id}:{local_day.isoformat()}"
            at = digest_time(limits, letter.official_timezone, now)
            batch.hold(letter, HoldReason.DIGEST, at, notes.DAILY_CAP,
                       digest_key=key)
            batch.after_commit.append(functools.partial(schedule_digest, key, at))
            return False
        if wait.seconds <= cfg["INLINE_WAIT_SECONDS"]:
            clock.sleep(wait.seconds + random.uniform(0, WAIT_JITTER))  # noqa: S311
            continue
        # Counted from now, not from `now` above: the letter may have waited inline since,
        # and the wait is measured from the limiter's last look. Whole seconds (rounded up),
        # so letters held together share one release job.
        until = (clock.now() + timedelta(seconds=wait.seconds + 1)).replace(microsecond=0)
        batch.hold(letter, HoldReason.LIMIT, until, notes.with_detail(notes.RATE_LIMIT, wait.scope))
        return False
    return True


def _into_digest(letter: LetterRow, limits: RateLimits, batch: Batch, now: datetime,
                 note: str) -> None:
    """Held for the office's next digest: today's, or tomorrow's once today's has gone (a
    digest a letter would otherwise be one more email), keyed by its local day as the
    daily cap's overflow is, so both share one email."""
    zone = ZoneInfo(letter.official_timezone)
    at = digest_time(limits, letter.official_timezone, now)
    if at.astimezone(zone).time() != limits.digest_at:  # today's moment has passed
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        at = datetime.combine(tomorrow, limits.digest_at, tzinfo=zone).astimezone(now.tzinfo)
    key = f"{letter.campaign_id}:{letter.target_id}:{at.astimezone(zone).date().isoformat()}"
    batch.hold(letter, HoldReason.DIGEST, at, note, digest_key=key)
    batch.after_commit.append(functools.partial(schedule_digest, key, at))


def delivery_limiter() -> DeliveryLimiter:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    limiter = app.extensions.get("advocacy_limiter")
    if limiter is None:
        limiter = DeliveryLimiter(connections.get_redis(), app.config["QUEUE_NAME"])
        app.extensions["advocacy_limiter"] = limiter
    return limiter  # type: ignore[no-any-return]


# Added at random to each wait on a limit, so workers that wait for the same slot do not
# all wake at the same instant.
WAIT_JITTER = 0.01
