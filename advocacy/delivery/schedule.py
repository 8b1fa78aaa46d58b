"""Work to do later: jobs scheduled for the second a letter is due (never a second early)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from advocacy import clock
from advocacy.delivery import queue
from advocacy.delivery.queue import Job


def due_second(when: datetime) -> datetime:
    """`when` rounded up to a whole second: the moment RQ's scheduler can hold to."""
    # RQ scores a scheduled job in whole seconds, rounded down, so a job asked for 12.4 s
    # would run at 12 s, find its letter not yet due, and leave it to the next reconcile.
    whole = when.replace(microsecond=0)
    return whole if whole == when else whole + timedelta(seconds=1)


def run_at(when: datetime, job: Job, *args: Any, job_id: str | None = None) -> None:
    """Queue a job now if `when` has come, else for its due second."""
    if when <= clock.now():
        queue.enqueue(job, *args, job_id=job_id)
    else:
        queue.enqueue_at(due_second(when), job, *args, job_id=job_id)


def schedule_release(letter_ids: list[int], when: datetime) -> None:
    """Ask the queue to release held letters when their time comes (reconcile also does)."""
    run_at(when + timedelta(seconds=1), Job.RELEASE_LETTERS, letter_ids)


def schedule_digest(key: str, when: datetime) -> None:
    job_id = "digest-" + key.replace(":", "_")  # one job per digest, however many letters
    run_at(when, Job.SEND_DIGEST, key, job_id=job_id)
