"""Recording what happened to each letter of a claim: sent, retried, failed, held, ambiguous.

Outcomes are buffered and written in one transaction, retried if the database is away; the
mark that a letter's message is about to go on the wire is made durable first, together with
every earlier outcome but one: `sent`, the common one, waits for the end of the chunk. A
marked letter with a later mark in its claim was therefore accepted by the relay (anything
else would have been written with that later mark): reconcile records it sent after a crash.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from redis.exceptions import RedisError
from sqlalchemy import Connection, Table, Update, bindparam, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from advocacy import clock
from advocacy.delivery.schedule import schedule_release
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.compose import LetterRow
from advocacy.letters.states import ForbiddenTransition, Transition
from advocacy.models import HoldReason, Letter, LetterStatus, Official

log = logging.getLogger(__name__)
LETTERS = cast(Table, Letter.__table__)  # Core statements: the hot path skips the ORM
# Recording a batch's outcomes is tried this many times, waiting RECORD_RETRY_BASE seconds
# doubled at each try (the first wait is twice it), at most RECORD_RETRY_MAX.
RECORD_ATTEMPTS = 8
RECORD_RETRY_BASE = 0.25
RECORD_RETRY_MAX = 10.0
# A batch records what became of claimed letters, by id alone: the moves it may write.
_CLAIMED = (states.SENDING,)


def worker_id() -> str:
    """Who claims a letter: this host and process, as reconcile reads it."""
    return f"{socket.gethostname()}:{os.getpid()}"


_SENT = update(LETTERS).where(LETTERS.c.id == bindparam("letter_id")).values(
    status=states.DELIVERED.to, sent_at=bindparam("sent_at"), last_error=None, hold_reason=None,
    content_hash=bindparam("content_hash"))


def on_wire_mark(table: Table) -> Update:
    """The mark that a claimed row's message goes on the wire (a letter's, a follow-up's).

    Only while this claim still holds the row: its state, and the attempt and worker it was
    claimed by (reconcile may have queued it again, thinking the worker dead). Parameters:
    mark_params."""
    return update(table).where(
        table.c.id == bindparam("mark_id"), table.c.status == LetterStatus.SENDING,
        table.c.attempts == bindparam("mark_attempts"),
        table.c.claimed_by == bindparam("mark_by")).values(on_wire_at=bindparam("mark_at"))


def mark_params(row_id: int, attempts: int) -> dict[str, Any]:
    """on_wire_mark's parameters for this worker's claim of a row, at this attempt."""
    return {"mark_id": row_id, "mark_attempts": attempts, "mark_by": worker_id(),
            "mark_at": clock.now()}


_MARK = on_wire_mark(LETTERS)


@dataclass
class Batch:
    """What happened to a chunk of letters, written in one transaction, then acted upon."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    officials: list[dict[str, Any]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    sent: list[dict[str, Any]] = field(default_factory=list)
    releases: dict[datetime, list[int]] = field(default_factory=dict)
    # Letters whose outcome is in this batch, or that went on the wire: the claimed letters
    # not among them were never tried when a chunk breaks off, and go back to the queue.
    decided: set[int] = field(default_factory=set)
    _conn: Connection | None = None

    def record(self, letter: LetterRow, step: Transition, **values: Any) -> None:
        """A claimed (`sending`) letter's outcome, written by id with the batch's commit."""
        if step.sources != _CLAIMED:  # the UPDATE is by id alone: only a claim's outcome
            raise ForbiddenTransition(f"a batch records claimed letters, not {step}")
        self.rows.append({"id": letter.id, "status": step.to, **values})
        self.counts[step.to.value] += 1
        self.decided.add(letter.id)

    def record_sent(self, letter: LetterRow, content_hash: str | None = None) -> None:
        self.sent.append({"letter_id": letter.id, "sent_at": clock.now(),
                          "content_hash": content_hash})
        self.counts["sent"] += 1
        self.decided.add(letter.id)

    def on_wire(self, letter: LetterRow) -> bool:
        """Record the outcomes so far, but `sent`, and mark `letter` as going to the relay.

        The commit is durable (never lost in a database crash), and comes before the
        message's RCPT TO and DATA (the transport runs it while the relay reads MAIL FROM,
        which alone delivers nothing): a letter left `sending` without the mark was never
        sent; one marked, with no outcome and a later mark in its claim, was accepted (its
        `sent` waited for the chunk's end: writing it with each mark cost a tenth of the
        worker's CPU a letter, docs/benchmarks.md); the last one marked may have arrived.
        False when the letter is no longer this claim's (reconcile took it back from a worker
        it thought dead): it must not go.
        """
        self.decided.add(letter.id)
        try:
            return self._write(mark=letter)
        except SQLAlchemyError:
            with contextlib.suppress(SQLAlchemyError):
                db.session.rollback()
            self.decided.discard(letter.id)  # not marked: it goes back to the queue
            raise

    def hold(self, letter: LetterRow, reason: HoldReason, until: datetime | None,
             note: str, **values: Any) -> None:
        self.record(letter, states.HOLD, hold_reason=reason, not_before=until,
                    last_error=note, **values)
        if until is not None and reason in (HoldReason.LIMIT, HoldReason.WINDOW,
                                              HoldReason.PAUSED):  # the office's own, timed
            # One release job per moment, however many letters wait for it.
            self.releases.setdefault(until, []).append(letter.id)

    def _write(self, mark: LetterRow | None = None) -> bool:
        # Committed durably: an outcome lost in a database crash would leave a letter that
        # arrived marked on the wire, for a person to ask about again (bench/chaos.py).
        if self.rows or self.officials:  # the rarer outcomes, through the session
            # Bulk UPDATE by primary key, grouped by the set of columns each row changes.
            for keys in {tuple(sorted(r)) for r in self.rows}:
                db.session.execute(update(Letter), [r for r in self.rows
                                                    if tuple(sorted(r)) == keys])
            if self.officials:
                db.session.execute(update(Official), self.officials)
            db.session.commit()
            self.rows, self.officials = [], []
        marked = False
        sent = self.sent if mark is None else []  # with a mark, `sent` waits (on_wire)
        if sent or mark is not None:
            # The marks and the chunk's `sent`, statements built once, on a connection kept:
            # through the session each commit would also take a pooled connection and ping
            # it, which cost more than the writes (measured: docs/benchmarks.md, "Delivery").
            conn = self._connection()
            try:
                if sent:
                    conn.execute(_SENT, sent)  # sent, each with its own time
                if mark is not None:
                    marked = conn.execute(
                        _MARK, mark_params(mark.id, mark.attempts)).rowcount == 1
                conn.commit()
            except SQLAlchemyError:
                self.close()  # a connection that failed is not used again
                raise
            if sent:
                self.sent = []
        return marked

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = db.engine.connect()
        return self._conn

    def close(self) -> None:
        """Give back the chunk's connection."""
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None

    def commit(self) -> None:
        if not (self.sent or self.rows or self.officials):
            self.close()
            return
        # The letters have gone out (or not) already: what happened must be recorded, so a
        # database away for a moment (a restart) is waited for rather than given up on, which
        # would leave the letters `sending` and send them to review. The writes are by id and
        # set values, so writing them again after a lost answer changes nothing.
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                self._write()
                break
            except OperationalError as exc:
                with contextlib.suppress(SQLAlchemyError):
                    db.session.rollback()
                self.close()
                if attempt == RECORD_ATTEMPTS:
                    raise
                log.warning("recording a batch failed (%s); trying again", type(exc).__name__,
                            extra={"fields": {"event": "record retry", "attempt": attempt}})
                time.sleep(min(RECORD_RETRY_MAX, RECORD_RETRY_BASE * 2 ** attempt))
        self.close()
        try:
            for until, letter_ids in self.releases.items():
                schedule_release(letter_ids, until)
            for action in self.after_commit:
                action()
        except RedisError as exc:
            # The letters are recorded: reconcile releases held ones and queues due ones
            # again once Redis answers.
            log.warning("could not schedule what follows a batch: %s", type(exc).__name__,
                        extra={"fields": {"event": "schedule skipped",
                                          "error": type(exc).__name__}})
        self.after_commit = []
        self.releases = {}
