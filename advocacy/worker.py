"""The delivery worker process: RQ's SimpleWorker, kept alive through Redis and database outages.

RQ's worker loop quits when Redis goes away in the middle of a job (it cannot record the
job's end), and a job that failed on a lost database connection would leave its session
unusable for the next. Here a worker that quit without being asked to is started again once
Redis answers, and every job starts with a fresh session. The letters themselves are safe
either way (the database decides, and reconcile re-queues what Redis lost); this keeps the
process working, so the backlog drains without anyone restarting it.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from rq import SimpleWorker

from . import logs
from .extensions import db
from .mail import close_shared_transports
from .queue import get_queue, get_redis
from .reconcile import reconcile_periodically

log = logging.getLogger(__name__)
RESTART_AFTER_SECONDS = 2.0


class DeliveryWorker(SimpleWorker):
    """A SimpleWorker that remembers whether it was asked to stop (SIGTERM, SIGINT)."""

    stop_asked = False

    def request_stop(self, signum: int, frame: Any) -> None:
        self.stop_asked = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def execute_job(self, job: Any, queue: Any) -> Any:
        try:
            return super().execute_job(job, queue)
        finally:
            # A job that failed on a lost connection leaves a session that refuses work until
            # rolled back; the next job must not inherit it.
            db.session.remove()


def _work_once(burst: bool) -> bool:
    """One RQ work loop; True when it ended as asked (a stop, or a burst done)."""
    worker = DeliveryWorker([get_queue()], connection=get_redis())
    try:
        # In burst mode the scheduler only moves due scheduled jobs to the queue, once.
        worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    except RedisError as exc:  # its teardown could not reach Redis either
        log.warning("worker stopped by Redis: %s", type(exc).__name__)
    return burst or worker.stop_asked


def _stop_asked_within(seconds: float) -> bool:
    """Wait before the next loop, still stopping at once on SIGTERM or SIGINT."""
    asked = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: asked.set())
    return asked.wait(seconds)


def run_worker(app: Flask, burst: bool = False) -> None:
    """An RQ worker with an app context, plus the periodic reconcile in a thread."""
    logs.configure()
    stop = threading.Event()
    with app.app_context():
        # The app, its templates and connections live as long as the worker: keep them out
        # of every garbage collection (measured: bench/delivery.py).
        gc.freeze()
        if not burst:
            threading.Thread(target=reconcile_periodically, args=(app, stop), daemon=True,
                             name="reconcile").start()
        try:
            while not _work_once(burst):
                log.warning("worker loop ended without a stop request: starting it again",
                            extra={"fields": {"event": "worker restart"}})
                if _stop_asked_within(RESTART_AFTER_SECONDS):
                    break
        finally:
            stop.set()
            close_shared_transports()
