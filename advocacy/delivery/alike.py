"""Counting near-identical letters to each office, as they are confirmed: how many letters to
the same office within the campaign's window had (nearly) the same words of their own.

Each band key of a letter's paragraph (letters.similarity) is a counter in Redis per
campaign, office and window-long period; a letter's count is the most any of its band keys
held before it, the previous period weighted by how much of it is still inside the window (the
sliding-window estimate rate limiters use). One pipelined round trip a submission, whatever
the number of letters before it (bench/similarity.py).

What is kept: no text and no signature. Redis holds counters named by keyed hashes, which
expire two windows after their last letter; SQL keeps one number a letter (Letter.alike),
which says nothing of the words. Redis lost, the counts start again: letters go one by one
until enough alike ones have been confirmed again (never one held back for nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app

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


def count_alike(
    campaign_id: int, letters: Sequence[Confirmed], keys: list[str], limits: RateLimits, now: float
) -> dict[int, int]:
    """Count these letters in, and return for each how many letters to its office within
    the window were alike before it."""
    if not letters or not keys:
        return {}
    window = limits.similar_window * 3600
    period = int(now // window)
    weight = 1 - (now % window) / window  # the share of the last period still in the window
    prefix = f"{current_app.config['QUEUE_NAME']}:alike:{campaign_id}"
    redis = connections.get_redis()
    with redis.pipeline(transaction=False) as pipe:
        for letter in letters:
            for band in keys:
                name = f"{prefix}:{letter.target_id}:{band}"
                pipe.incr(f"{name}:{period}")
                pipe.expire(f"{name}:{period}", 2 * window)
                pipe.get(f"{name}:{period - 1}")
        answers = pipe.execute()
    counts: dict[int, int] = {}
    at = 0
    for letter in letters:
        most = 0.0
        for _band in keys:
            now_count, _ok, before = answers[at : at + 3]
            at += 3
            most = max(most, int(now_count) - 1 + int(before or 0) * weight)
        counts[letter.letter_id] = round(most)
    return counts
