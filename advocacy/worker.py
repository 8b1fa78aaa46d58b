"""The delivery worker process: RQ's SimpleWorker, kept alive through Redis and database outages.

RQ's worker loop quits when Redis goes away in the middle of a job (it cannot record the
job's end), RQ cannot even create a worker while Redis is away, and a job that failed on a
lost database connection would leave its session unusable for the next. Here the process
waits for Redis however long it is away (asking again after 1, 2, 4… seconds, up to
REDIS_WAIT_MAX, with a log line each time), a worker that quit without being asked to is
started again once Redis answers, and every job starts with a fresh session. The letters
themselves are safe either way (the database decides, and reconcile re-queues what Redis
lost); this keeps the process working, so the backlog drains without anyone restarting it.
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

from advocacy import logs
from advocacy.connections import get_redis
from advocacy.delivery.mail import close_shared_transports
from advocacy.delivery.queue import get_queue
from advocacy.extensions import db
from advocacy.housekeeping import run_periodically

log = logging.getLogger(__name__)
RESTART_AFTER_SECONDS = 2.0
# While Redis does not answer, it is asked again after REDIS_WAIT_FIRST, then twice as long
# each time, and at least every REDIS_WAIT_MAX: a restarted Redis is found within that, and a
# long outage costs one log line (and one connection attempt) per REDIS_WAIT_MAX.
REDIS_WAIT_FIRST = 1.0
REDIS_WAIT_MAX = 30.0


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
    worker: DeliveryWorker | None = None
    try:
        # Inside the try: RQ's worker asks Redis for its address as it is created.
        worker = DeliveryWorker([get_queue()], connection=get_redis())
        # In burst mode the scheduler only moves due scheduled jobs to the queue, once.
        worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    except RedisError as exc:  # its start or its teardown could not reach Redis
        log.warning("worker stopped by Redis: %s", type(exc).__name__,
                    extra={"fields": {"event": "worker redis error",
                                      "error": type(exc).__name__}})
    return burst or (worker is not None and worker.stop_asked)


class StopSignal:
    """SIGTERM and SIGINT between work loops: set an event rather than end the process."""

    def __init__(self) -> None:
        self.asked = threading.Event()

    def listen(self) -> None:
        """Take the signals back from RQ's worker, which installs its own in each loop."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.asked.set())

    def within(self, seconds: float) -> bool:
        """Wait, still stopping at once when asked; True if asked."""
        return self.asked.wait(seconds)


def wait_for_redis(stop: StopSignal, patient: bool = True) -> bool:
    """Ask Redis until it answers, waiting longer each time; False if stopped first.

    Not patient (a burst run), one question: False if Redis does not answer.
    """
    wait = REDIS_WAIT_FIRST
    while not stop.asked.is_set():
        try:
            get_redis().ping()
            return True
        except RedisError as exc:
            if not patient:
                log.error("Redis does not answer (%s): nothing delivered", type(exc).__name__,
                          extra={"fields": {"event": "redis away",
                                            "error": type(exc).__name__}})
                return False
            log.warning("Redis does not answer (%s): asking again in %.0f s",
                        type(exc).__name__, wait,
                        extra={"fields": {"event": "waiting for redis", "wait": wait,
                                          "error": type(exc).__name__}})
        if stop.within(wait):
            return False
        wait = min(REDIS_WAIT_MAX, wait * 2)
    return False


def run_worker(app: Flask, burst: bool = False) -> None:
    """An RQ worker with an app context, plus the periodic reconcile in a thread."""
    logs.configure()
    stop = threading.Event()
    signals = StopSignal()
    signals.listen()
    with app.app_context():
        # The app, its templates and connections live as long as the worker: keep them out
        # of every garbage collection (measured: bench/delivery.py).
        gc.freeze()
        if not burst:
            threading.Thread(target=run_periodically, args=(app, stop), daemon=True,
                             name="reconcile").start()
        try:
            while wait_for_redis(signals, patient=not burst):
                if _work_once(burst):
                    return
                signals.listen()
                log.warning("worker loop ended without a stop request: starting it again",
                            extra={"fields": {"event": "worker restart"}})
                if signals.within(RESTART_AFTER_SECONDS):
                    return
            if burst and not signals.asked.is_set():
                raise SystemExit(1)  # the burst could not run: say so to cron or the caller
        finally:
            stop.set()
            close_shared_transports()
