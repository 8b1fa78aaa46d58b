"""What a worker does between jobs, every RECONCILE_EVERY_SECONDS in one worker at a time:
reconcile Redis with the database, roll up the dashboard's counts, purge writers' data past the
retention period and, right after each hourly purge, ask supporters who wanted it whether an
office replied (delivery.reply_check).

It sits above the stages it runs (delivery, reporting, privacy), as the worker does."""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from advocacy import clock, connections
from advocacy.delivery import reconcile, reply_check
from advocacy.extensions import db
from advocacy.privacy.retention import purge_if_due
from advocacy.progress import Advance, nothing
from advocacy.reporting.rollup import STEPS as ROLLUP_STEPS
from advocacy.reporting.rollup import roll_up

log = logging.getLogger(__name__)
STEPS = reconcile.STEPS + ROLLUP_STEPS  # what a run reports to its Advance


def run(advance: Advance = nothing) -> dict[str, int]:
    """One round: reconcile, then the rollup and the purge; the counts of each."""
    report = reconcile.reconcile(advance)
    report["rolled_up"] = roll_up(advance=advance)  # the dashboard's counts
    purged = purge_if_due(clock.now())  # writers' data past the retention period, once an hour
    report["scrubbed"] = purged.submissions if purged else 0
    # With the purge, once an hour: those still known, two weeks after delivery.
    report["reply_questions"] = reply_check.queue_due() if purged is not None else 0
    return report


def run_periodically(app: Flask, stop: threading.Event) -> None:
    """Run reconcile every RECONCILE_EVERY_SECONDS in one worker at a time (a Redis lock).

    It runs in the worker process itself, not as a scheduled job: a Redis that lost its data
    would have lost that job too.
    """
    every = float(app.config["RECONCILE_EVERY_SECONDS"])
    while not stop.wait(every):
        with app.app_context():
            try:
                lock = f"{app.config['QUEUE_NAME']}:reconcile-lock"
                if connections.get_redis().set(lock, "1", nx=True, ex=max(1, int(every) - 1)):
                    report: Any = run()
                    log.info("reconcile: %s", report,
                             extra={"fields": {"event": "reconcile", **report}})
            except (RedisError, SQLAlchemyError) as exc:  # a service is away: next round
                # Its statements carry ids and times only, so the error's text is safe to log.
                log.warning("reconcile skipped: %s", exc,
                            extra={"fields": {"event": "reconcile skipped",
                                              "error": type(exc).__name__}})
            finally:
                db.session.remove()
