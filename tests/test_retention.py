"""The scheduled purge: once an hour across all workers, even when two claim it at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from advocacy import clock
from advocacy.extensions import db
from advocacy.models import RollupMark
from advocacy.privacy.retention import MARK, PURGE_EVERY, PurgeReport, claim_purge, purge_if_due

from helpers import start_and_see_it_wait_on_its_claim


def purge_in_another_worker(app: Any, now: Any, results: list[PurgeReport | None]) -> None:
    with app.app_context():  # a session and a connection of its own
        results.append(purge_if_due(now))


@pytest.mark.parametrize("first_ever", [True, False], ids=["no mark yet", "mark due"])
def test_two_claims_for_the_same_hour_give_one_purge(app: Any, first_ever: bool) -> None:
    now = clock.now()
    if not first_ever:
        db.session.add(RollupMark(name=MARK, upto=now - 2 * PURGE_EVERY))
        db.session.commit()

    results: list[PurgeReport | None] = []
    other = threading.Thread(target=purge_in_another_worker, args=(app, now, results),
                             daemon=True)
    assert claim_purge(now)  # this worker's claim, not committed yet
    try:
        # The other claim waits for this one's row (a read, then a write, would not have).
        start_and_see_it_wait_on_its_claim(other)
    finally:
        db.session.commit()
        other.join(30)
    assert not other.is_alive()
    assert results == [None]  # it found the hour taken: one purge, not two

    assert purge_if_due(now + PURGE_EVERY / 2) is None  # the same hour, later on
    assert isinstance(purge_if_due(now + PURGE_EVERY), PurgeReport)  # the next one
