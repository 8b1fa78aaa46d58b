"""The RQ queue and its one registry of jobs: every job the worker runs, enqueued by id.

Jobs are named here, once, by the dotted path RQ stores in Redis and imports when it runs
the job. The paths are a contract with jobs already waiting in Redis across a deploy, so
they stay fixed even when code moves: `advocacy.delivery` re-exports each job function
under its old path (see delivery/__init__.py), and a test checks that every name resolves.
Naming jobs here rather than passing function objects also keeps the stages free of
import circles: a job can schedule another without importing it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask import current_app
from rq import Queue

from advocacy.connections import get_redis

# RQ stops a job after this long (an alarm in the worker, RQ's own default made explicit):
# no worker works on a claim longer, so reconcile's wait before review follows from it.
JOB_TIMEOUT = 180  # seconds


def get_queue() -> Queue:
    return Queue(current_app.config["QUEUE_NAME"], connection=get_redis(),
                 default_timeout=JOB_TIMEOUT)


def chunks(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


class Job(StrEnum):
    """Every job, by the path RQ stores (never change one: queued jobs carry it)."""

    DELIVER_LETTERS = "advocacy.delivery.deliver_letters"
    RELEASE_LETTERS = "advocacy.delivery.release_letters"
    SEND_DIGEST = "advocacy.delivery.send_digest"
    SEND_CONFIRMATION = "advocacy.delivery.send_confirmation"
    SEND_DATA_LINK = "advocacy.delivery.send_data_link"
    SEND_DATA_LINK_FOR = "advocacy.delivery.send_data_link_for"
    NOTIFY_REPLY = "advocacy.delivery.notify_reply"
    SEND_INVITATION = "advocacy.delivery.send_invitation"
    SEND_PROOF = "advocacy.delivery.send_proof"
    ASK_ABOUT_REPLY = "advocacy.delivery.ask_about_reply"
    SEND_FOLLOW_UPS = "advocacy.delivery.send_follow_ups"


# Paths that jobs queued by an earlier version may still carry, and the job each one is now.
# The worker's shim modules keep them importable (advocacy/proofs.py); remove an entry, and
# its shim, once no queue holds it.
LEGACY_PATHS = {"advocacy.proofs.send_proof": Job.SEND_PROOF}


def enqueue(job: Job, *args: Any, job_id: str | None = None) -> None:
    """Queue one job now."""
    get_queue().enqueue(str(job), *args, job_id=job_id)


def enqueue_at(when: datetime, job: Job, *args: Any, job_id: str | None = None) -> None:
    """Queue one job for a moment (RQ's scheduler holds whole seconds: see schedule.py)."""
    get_queue().enqueue_at(when, str(job), *args, job_id=job_id)


def enqueue_confirmation(submission_id: int, reminder: bool = False) -> None:
    """Queue the confirmation email (or its one reminder) of a committed submission."""
    # enqueue_many sends the queue's name, the job and its place in the queue in one MULTI
    # round trip to Redis; enqueue() takes two.
    get_queue().enqueue_many([Queue.prepare_data(str(Job.SEND_CONFIRMATION),
                                                 args=(submission_id, reminder))])


def enqueue_data_link(supporter_id: int, locale: str) -> None:
    """Queue the email with the link to a supporter's own data."""
    enqueue(Job.SEND_DATA_LINK, supporter_id, locale)


def enqueue_data_link_request(email_hash: str, locale: str) -> None:
    """Queue a data link for whoever has this address's lookup hash, if anyone: the job
    looks it up, so the request takes the same time for an address we know and one we don't."""
    enqueue(Job.SEND_DATA_LINK_FOR, email_hash, locale)


def enqueue_reply_notice(reply_id: int) -> None:
    """Queue the email telling a supporter that an official replied."""
    enqueue(Job.NOTIFY_REPLY, reply_id)


def enqueue_letters(letter_ids: Sequence[int]) -> int:
    """Queue committed letters for delivery, in batches; returns the number of jobs."""
    size = int(current_app.config["LETTERS_PER_JOB"])
    queue = get_queue()
    jobs = [
        Queue.prepare_data(str(Job.DELIVER_LETTERS), args=(batch,))
        for batch in chunks(sorted(letter_ids), size)
    ]
    if jobs:
        queue.enqueue_many(jobs)
    return len(jobs)
