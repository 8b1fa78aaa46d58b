"""Counting near-identical letters to each office, as they are confirmed: how many letters to
the same office within the campaign's window had (nearly) the same words of their own.

Each band key of a letter's paragraph (letters.similarity) is a counter in Redis (a field of
one hash per campaign, office and window-long period); a letter's count is the most any of
its band keys held before it, the previous period weighted by how much of it is still inside
the window (the sliding-window estimate rate limiters use). One round trip a submission,
whatever the number of letters before it (bench/similarity.py).

Exact copies (after normalising case, spacing and punctuation) share every band and count in
full; a paragraph with a few words changed shares some bands only, so each such letter
counts, on average, about s^rows of one (s its similarity): many are needed to reach the
campaign's count. The count errs towards sending letters one by one, never the other way.

What is kept: no text and no signature. Redis holds counters named by keyed hashes, which
expire two windows after the office's last letter; SQL keeps one number a letter (Letter.alike),
which says nothing of the words. Redis lost, the counts start again: letters go one by one
until enough alike ones have been confirmed again (never one held back for nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from flask import current_app
from redis import Redis
from redis.commands.core import Script

from advocacy import connections
from advocacy.campaigns.limits import RateLimits
from advocacy.crypto import keyring
from advocacy.letters import similarity


@dataclass(frozen=True)
class Confirmed:
    """One letter just confirmed: its id and its office."""

    letter_id: int
    target_id: int


def band_keys(note: str, own: bool, limits: RateLimits) -> list[str]:
    """The paragraph's band keys under the campaign's threshold, keyed by this instance."""
    key = similarity.shingle_key(keyring().lookup_key)
    return similarity.band_keys(note, own, key, limits.similar_threshold)


# One call a submission: for each of its letters (one office each), the office's hash for this
# period counts each band in (and is kept two windows), the last period's hash is read, and
# the most alike band is returned, rounded. In Lua, so a submission costs one command and one
# round trip; one hash per office and period, so a letter costs the server one HMGET, one
# HINCRBY a band and one EXPIRE.
_COUNT = """
local ttl = tonumber(ARGV[1])
local weight = tonumber(ARGV[2])
local counts = {}
for i = 1, #KEYS, 2 do
  local before = redis.call('HMGET', KEYS[i + 1], unpack(ARGV, 3))
  local most = 0
  for b = 3, #ARGV do
    local now = redis.call('HINCRBY', KEYS[i], ARGV[b], 1)
    local n = now - 1 + (tonumber(before[b - 2]) or 0) * weight
    if n > most then most = n end
  end
  redis.call('EXPIRE', KEYS[i], ttl)
  counts[#counts + 1] = math.floor(most + 0.5)
end
return counts
"""


def count_alike(
    campaign_id: int, letters: Sequence[Confirmed], keys: list[str], limits: RateLimits, now: float
) -> dict[int, int]:
    """Count these letters in, and return for each how many letters to its office within
    the window were alike before it."""
    if not letters or not keys:
        return {}
    window = limits.similar_window * 3600
    weight = 1 - (now % window) / window  # the share of the last period still in the window
    names = [
        name
        for letter in letters
        for name in counter_names(campaign_id, letter.target_id, limits, now)
    ]
    # Script keeps the script's SHA and loads it again only when Redis has lost it.
    counts = _script(connections.get_redis())(keys=names, args=[2 * window, weight, *keys])
    return {letter.letter_id: int(n) for letter, n in zip(letters, counts, strict=True)}


def counter_names(
    campaign_id: int, target_id: int, limits: RateLimits, now: float
) -> tuple[str, str]:
    """The office's hashes of counters: this window-long period's and the last one's."""
    period = int(now // (limits.similar_window * 3600))
    prefix = f"{current_app.config['QUEUE_NAME']}:alike:{campaign_id}:{target_id}"
    return f"{prefix}:{period}", f"{prefix}:{period - 1}"


def _script(redis: Redis) -> Script:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    script = app.extensions.get("advocacy_alike_script")
    if script is None:
        script = app.extensions["advocacy_alike_script"] = redis.register_script(_COUNT)
    return cast(Script, script)
