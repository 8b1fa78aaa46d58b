"""Counts of letters for the public API and the terminal: the small states by an index, sent
letters from the rollup (see advocacy.reporting.dashboard). Never by loading rows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, cast

from flask import current_app
from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.letters.states import SMALL
from advocacy.models import Body, Campaign, Letter, LetterStatus, Official
from advocacy.reporting.dashboard import Filters, sent_by
from advocacy.reporting.rollup import Watermark


def letter_stats(campaign: Campaign | None = None) -> dict[str, Any]:
    """{"letters": {status: n}, "by_body": {body: {status: n}}}, every status present."""
    filters = Filters(campaign.id if campaign is not None else None)
    slugs: dict[int, str] = {i: slug for i, slug in db.session.execute(select(Body.id, Body.slug))}
    body_of: dict[int, int] = {i: body for i, body in db.session.execute(
        select(Official.id, Official.body_id))}
    by_body = {slug: {s.value: 0 for s in LetterStatus} for slug in slugs.values()}
    query = (select(Letter.status, Letter.target_id, func.count())
             .where(Letter.status.in_(SMALL)).group_by(Letter.status, Letter.target_id))
    if campaign is not None:
        query = query.where(Letter.campaign_id == campaign.id)
    for status, target_id, count in db.session.execute(query):
        by_body[slugs[body_of[target_id]]][status] += count
    for body_id, count in sent_by("body", filters).items():
        by_body[slugs[body_id]][LetterStatus.SENT] += count
    letters = {s.value: sum(counts[s.value] for counts in by_body.values())
               for s in LetterStatus}
    return {"letters": letters, "by_body": by_body}


def letters_by_campaign(at: Watermark | None = None) -> dict[int, dict[str, int]]:
    """{campaign id: {status: n}}, every status present, for each campaign with letters: what
    letter_stats(campaign)["letters"] says, for all campaigns in one grouped count of the
    small states and one sum of the sent."""
    found: dict[int, dict[str, int]] = {}

    def of(campaign_id: int) -> dict[str, int]:
        return found.setdefault(campaign_id, {s.value: 0 for s in LetterStatus})

    for campaign_id, status, count in db.session.execute(
            select(Letter.campaign_id, Letter.status, func.count())
            .where(Letter.status.in_(SMALL)).group_by(Letter.campaign_id, Letter.status)):
        of(campaign_id)[status] += count
    for campaign_id, count in sent_by("campaign", Filters(), at).items():
        of(campaign_id)[LetterStatus.SENT.value] += count
    return found


def sent_count(campaign: Campaign) -> int:
    """Letters delivered for a campaign, for the public page's counter."""
    return sum(sent_by("body", Filters(campaign.id)).values())


class Cached:
    """A value kept a few seconds per key, in this process: public counters are read far
    more often than they change, and a second's staleness harms no one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._values: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            found = self._values.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = compute()
        with self._lock:
            self._values[key] = (now + self.seconds, value)
        return value


def stats_cache() -> Cached:
    """This app's cache of public counts (one per app, so tests' apps do not share one)."""
    cache = current_app.extensions.get("advocacy_stats_cache")
    if cache is None:
        cache = current_app.extensions["advocacy_stats_cache"] = Cached(
            float(current_app.config["STATS_CACHE_SECONDS"]))
    return cast(Cached, cache)
