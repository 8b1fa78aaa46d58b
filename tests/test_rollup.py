"""The rollup when two runs overlap: one counts, the other steps aside without an error."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from advocacy.extensions import db
from advocacy.models import LatencyCount, RollupMark, SentCount, SubmissionCount
from advocacy.reporting.rollup import STEPS, mark, roll_up

from helpers import (
    NOW,
    agree_under_every_filter,
    elsewhere,
    seed_queued,
    send,
    start_and_see_it_wait_on_its_claim,
)

LATER = NOW + timedelta(hours=2)


def roll_up_in_another_worker(app: Any, results: list[Any], steps: list[int]) -> None:
    with app.app_context():  # a session and a connection of its own
        try:
            results.append(roll_up(LATER, advance=steps.append))
        except Exception as error:  # noqa: BLE001  # the test reports it
            results.append(error)


def count_tables() -> list[tuple[Any, ...]]:
    """Every row of the rollup's tables, without ids (the waits' sums rounded)."""
    rows: list[tuple[Any, ...]] = []
    for table in (SentCount, SubmissionCount, LatencyCount):
        columns = [c for c in table.__table__.columns if c.name != "id"]
        rows += sorted((table.__tablename__, *(round(v, 3) if isinstance(v, float) else v
                                               for v in row))
                       for row in db.session.execute(select(*columns)))
    return rows


@pytest.mark.parametrize("first_ever", [True, False], ids=["no mark yet", "mark set"])
def test_a_run_that_overlaps_another_steps_aside(app: Any, first_ever: bool) -> None:
    ids = seed_queued(5, "un")  # 10 letters: 5 supporters to the 2 UN offices
    send(ids[:4], NOW - timedelta(days=3), "FR")  # before the days a run counts again
    send(ids[4:6], NOW - timedelta(days=1), "DE")  # in the day before the watermark's
    coe, moved = elsewhere()  # 2 to the CoE, 2 in a second campaign: one of each
    send([coe[0], moved[0]], NOW - timedelta(days=1), "FR")  # the day before
    if not first_ever:
        assert roll_up(NOW) == 6 + 2
    send(ids[6:] + [coe[1], moved[1]], NOW + timedelta(minutes=30), "FR")  # since the watermark

    results: list[Any] = []
    other_steps: list[int] = []
    other = threading.Thread(target=roll_up_in_another_worker,
                             args=(app, results, other_steps), daemon=True)
    overlapped: list[bool] = []
    steps: list[int] = []

    def advance(n: int) -> None:
        """This run's progress: at its first step, with its transaction open, the other
        run starts and waits on it."""
        steps.append(n)
        if not overlapped:
            overlapped.append(True)
            start_and_see_it_wait_on_its_claim(other)

    try:
        # All 14, or the day before the mark and since: 2 + 2 + 4 + 2.
        assert roll_up(LATER, advance=advance) == (14 if first_ever else 10)
    finally:
        db.session.rollback()  # a failed run's transaction: the other run goes on
        other.join(30)
    assert not other.is_alive()
    assert overlapped == [True]  # the other run waited on this one's claim
    assert results == [0]  # it found the hours claimed, and raised nothing
    assert sum(steps) == sum(other_steps) == STEPS  # both progress bars end at 100%
    assert mark() == LATER.replace(minute=0)

    agree_under_every_filter()
    # Exactly the rows of one run: the same as counting everything again from scratch.
    rolled_up = count_tables()
    for table in (SentCount, SubmissionCount, LatencyCount, RollupMark):
        db.session.execute(delete(table))
    db.session.commit()
    assert roll_up(LATER) == 14  # 10 + 4
    assert count_tables() == rolled_up
