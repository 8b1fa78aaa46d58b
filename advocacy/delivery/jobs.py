"""The worker's jobs: claim letters, apply limits and windows, compose, send, record.

Jobs take ids, never objects. The database decides: a letter is claimed with one
conditional UPDATE (queued -> sending), so a duplicated job cannot send it twice. Before a
letter's message goes to the relay (while the relay reads its MAIL FROM; RCPT TO and DATA
wait for it), one durable commit records the previous letter's outcome, unless it was `sent`
(those are written at the chunk's end), and marks this one as on the wire (`on_wire_at`).
So a worker killed mid-chunk leaves at most one letter that may have arrived without a
recorded outcome: `reconcile` records the marked letters followed by a later mark as sent
(the relay accepted them), hands the last marked one to an organizer (needs_review) and
queues the chunk's unmarked letters again, which were never sent.

The worker's own work overlaps the relay's replies: the next letter is composed, and after a
chunk's last letter the next chunk claimed and loaded, while the relay answers a DATA.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import smtplib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import bindparam, or_, update
from sqlalchemy.exc import SQLAlchemyError

from advocacy import clock
from advocacy.campaigns.limits import RateLimits
from advocacy.delivery import mail, notes
from advocacy.delivery.batch import LETTERS, Batch, worker_id
from advocacy.delivery.gate import delivery_limiter, limits_of, may_go
from advocacy.delivery.limits import DeliveryLimiter
from advocacy.delivery.mail import smtp_refusal
from advocacy.delivery.queue import Job
from advocacy.delivery.schedule import run_at
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.compose import LetterRow, compose, load, render
from advocacy.letters.emails import Outgoing
from advocacy.letters.render import LetterRenderError, RenderedLetter
from advocacy.letters.states import ERASED
from advocacy.models import HoldReason, Letter

log = logging.getLogger(__name__)


# Built once, like the other statements of the hot path (compose.load, batch): the claim
# is one conditional UPDATE, its values parameters.
_CLAIM = (
    update(LETTERS)
    .where(
        LETTERS.c.id.in_(bindparam("letter_ids", expanding=True)),
        states.CLAIM.where(LETTERS.c.status),
        or_(LETTERS.c.not_before.is_(None), LETTERS.c.not_before <= bindparam("now")),
    )
    .values(status=states.CLAIM.to, claimed_at=bindparam("now"), claimed_by=bindparam("by"),
            attempts=LETTERS.c.attempts + 1, on_wire_at=None)
    .returning(LETTERS.c.id)
)


def claim(letter_ids: list[int]) -> list[int]:
    """Take due queued letters for sending, in one conditional UPDATE; returns those taken."""
    taken = db.session.execute(_CLAIM, {"letter_ids": list(letter_ids), "now": clock.now(),
                                        "by": worker_id()}).scalars().all()
    db.session.commit()
    return list(taken)


def _put_back(letters: list[LetterRow], reason: str, batch: Batch) -> None:
    """Claimed letters never tried (Redis away, say): queued again, the attempt not counted."""
    later = clock.now() + timedelta(seconds=current_app.config["RETRY_BASE_SECONDS"])
    for letter in letters:
        batch.record(letter, states.REQUEUE, not_before=later, last_error=reason,
                     attempts=letter.attempts - 1)
        batch.counts["put back"] += 1


def _retry_later(letter: LetterRow, reason: str, batch: Batch) -> None:
    """Back to the queue after an exponential, jittered wait; failed after MAX attempts."""
    cfg = current_app.config
    if letter.attempts >= cfg["MAX_ATTEMPTS"]:  # attempts counts this one (set by claim)
        batch.record(letter, states.FAIL,
                     last_error=notes.gave_up(letter.attempts, reason))
        return
    base = cfg["RETRY_BASE_SECONDS"] * 2 ** (letter.attempts - 1)
    delay = min(cfg["RETRY_MAX_SECONDS"], base) * random.uniform(0.5, 1.5)  # noqa: S311
    until = clock.now() + timedelta(seconds=delay)
    batch.record(letter, states.REQUEUE, not_before=until, last_error=reason)
    batch.counts["retry"] += 1
    letter_id = letter.id
    batch.after_commit.append(
        functools.partial(run_at, until, Job.DELIVER_LETTERS, [letter_id]))


def _deferred(limiter: DeliveryLimiter, letter: LetterRow) -> None:
    """A 4xx for this letter's recipient: its domain goes slower for a while, not only the
    letter later (an office's server that defers one letter defers the next ones too)."""
    domain = (letter.official_email or "").rpartition("@")[2].lower()
    try:
        level = limiter.slow_down(domain, clock.now().timestamp())
    except RedisError:  # advice to the limiter: the letter's retry is recorded either way
        return
    log.info("%s deferred a letter: its rate is halved %d time(s)", domain, level,
             extra={"fields": {"event": "domain slowed", "domain": domain, "halved": level}})


Prepared = tuple[RenderedLetter, Outgoing] | Exception


def _prepare(letter: LetterRow) -> Prepared:
    """A letter's text and message, or what composing it raised (raised again when it is
    the letter's turn: composing may run ahead, while the previous letter's reply is awaited)."""
    try:
        rendered = render(letter)
        return rendered, compose(letter, rendered)
    except Exception as exc:  # noqa: BLE001 - kept for its letter's turn, not swallowed
        return exc


class _Ahead:
    """The next letter of a chunk, composed while the relay answers the current one: the
    worker's own work overlaps the relay's (with the relay on another machine, or a local
    sink on the other core, each reply is a wait). Composing is pure: a letter composed
    ahead and then held by its limits costs that work and nothing else. After the chunk's
    last letter, `then` (the next chunk's claim) runs in that wait."""

    def __init__(self, letters: list[LetterRow], then: Callable[[], None] | None = None
                 ) -> None:
        self._following = {a.id: b for a, b in zip(letters, letters[1:], strict=False)}
        self._last = letters[-1].id if letters else None
        self._then = then
        self._ready: dict[int, Prepared] = {}

    def take(self, letter: LetterRow) -> Prepared:
        ready = self._ready.pop(letter.id, None)
        return ready if ready is not None else _prepare(letter)

    def after(self, letter: LetterRow) -> Callable[[], None] | None:
        """What to do while the relay answers `letter`: compose the one after it."""
        if letter.id == self._last:
            return self._then
        following = self._following.get(letter.id)
        if following is None or following.supporter_email is None:
            return None
        return functools.partial(self._compose, following)

    def _compose(self, letter: LetterRow) -> None:
        self._ready[letter.id] = _prepare(letter)


@dataclass
class _Chunk:
    """A chunk of a job's ids, claimed and loaded: at its turn, or while the relay answered
    the previous chunk's last letter (claiming is one conditional UPDATE, as ever)."""

    skipped: int  # not claimed: sent, held or claimed by another worker meanwhile
    letters: list[LetterRow]


def _take(chunk: list[int]) -> _Chunk:
    claimed = claim(chunk)
    letters = load(claimed) if claimed else []
    # The session's read ends here: the chunk writes on a connection of its own, and a
    # transaction left open would hold its snapshot (and a pooled connection) meanwhile.
    db.session.commit()
    return _Chunk(len(chunk) - len(claimed), letters)


class _Next:
    """The next chunk, taken ahead; what taking it raised is raised at its turn."""

    def __init__(self) -> None:
        self.taken: _Chunk | Exception | None = None

    def take_ahead(self, chunk: list[int]) -> None:
        try:
            self.taken = _take(chunk)
        except Exception as exc:  # noqa: BLE001 - raised again at the chunk's turn
            with contextlib.suppress(SQLAlchemyError):
                db.session.rollback()
            self.taken = exc

    def take(self, chunk: list[int]) -> _Chunk:
        taken, self.taken = self.taken, None
        if taken is None:
            return _take(chunk)
        if isinstance(taken, Exception):
            raise taken
        return taken

    def put_back(self, reason: str) -> None:
        """The job stops with the next chunk claimed ahead: its letters, never tried, go
        back to the queue (the attempt not counted)."""
        taken, self.taken = self.taken, None
        if isinstance(taken, _Chunk) and taken.letters:
            batch = Batch()
            _put_back(taken.letters, reason, batch)
            batch.commit()


def _send(letter: LetterRow, smtp: mail.Transport, batch: Batch,
          limiter: DeliveryLimiter, ahead: _Ahead) -> bool:
    """Send one letter and record the outcome; False when the relay itself is unreachable."""
    if letter.supporter_email is None:  # erased after this letter was claimed
        batch.record(letter, states.DROP, last_error=ERASED)
        return True
    prepared = ahead.take(letter)
    if isinstance(prepared, LetterRenderError):
        batch.record(letter, states.FAIL, last_error=notes.with_detail(notes.TEMPLATE, prepared))
        return True
    if isinstance(prepared, Exception):
        raise prepared
    rendered, msg = prepared
    try:
        # With the campaign's consent, a message whose outcome is unknown goes once more
        # at once, with the same Message-ID; else never: a person decides. The on-wire
        # mark is committed while the relay reads MAIL FROM, and DATA waits for it.
        smtp.send(msg, resend_unconfirmed=letter.campaign_resend_ambiguous,
                  mark=functools.partial(batch.on_wire, letter), meanwhile=ahead.after(letter))
    except mail.NotMarked:
        batch.counts["taken back"] += 1  # reconcile queued it again: another claim sends it
        return True
    except mail.Unconfirmed as exc:
        if letter.campaign_resend_ambiguous:  # unknown twice over: again later, same Message-ID
            _retry_later(letter, notes.with_detail(notes.RESENT_AMBIGUOUS, exc)[:500], batch)
        else:
            batch.record(letter, states.TO_REVIEW, last_error=notes.CONNECTION_DROPPED)
        return True
    except mail.RelayError as exc:
        _retry_later(letter, notes.with_detail(notes.RELAY, exc)[:500], batch)
        return False
    except (smtplib.SMTPException, OSError) as exc:
        refusal = smtp_refusal(exc)
        if refusal is None or isinstance(exc, smtplib.SMTPSenderRefused):
            # The connection broke, or the relay refused our sender: not the official's fault.
            smtp.close()
            _retry_later(letter, notes.exception_note(exc)[:500], batch)
            return True
        code, text = refusal
        reason = notes.refusal(code, text)[:1000]
        if code < 500:
            _retry_later(letter, reason, batch)
            _deferred(limiter, letter)
            return True
        batch.record(letter, states.FAIL, last_error=reason)
        if isinstance(exc, smtplib.SMTPRecipientsRefused) or text.startswith("5.1."):
            # The address itself is refused: flag it, hold the rest until someone looks.
            batch.officials.append({"id": letter.target_id, "bounced_at": clock.now(),
                                  "bounce_reason": reason})
        return True
    batch.record_sent(letter, rendered.digest())
    return True


def deliver_letters(letter_ids: list[int]) -> dict[str, int]:
    """Deliver a batch: claim a chunk at a time, one SMTP connection for all of it."""
    cfg = current_app.config
    smtp = mail.shared_transport()
    limiter = delivery_limiter()
    counts: Counter[str] = Counter()
    limits_cache: dict[int, RateLimits] = {}
    size = cfg["CLAIM_SIZE"]
    upcoming = _Next()
    try:
        for start in range(0, len(letter_ids), size):
            chunk = list(letter_ids[start : start + size])
            taken = upcoming.take(chunk)
            letters = taken.letters
            counts["skipped"] += taken.skipped
            if not letters:
                continue
            following = list(letter_ids[start + size : start + 2 * size])
            ahead = _Ahead(letters, then=functools.partial(upcoming.take_ahead, following)
                           if following else None)
            batch = Batch()
            relay_up, redis_down = True, ""
            try:
                for letter in letters:
                    if not relay_up:  # no use trying each letter against a relay that is down
                        _retry_later(letter, notes.RELAY_UNREACHABLE, batch)
                        continue
                    try:
                        go = may_go(letter, limits_of(letter, limits_cache), limiter, batch)
                    except RedisError as exc:  # the limits cannot be counted: nothing more goes
                        redis_down = f"{type(exc).__name__}: {exc}"[:300]
                        break
                    if go:
                        relay_up = _send(letter, smtp, batch, limiter, ahead)
            finally:
                # What was done is recorded even if something broke off; letters not tried go
                # back to the queue now (not to review after the stale wait: none went out).
                untried = [lt for lt in letters if lt.id not in batch.decided]
                if redis_down:
                    _put_back(untried, notes.not_sent_no_limits(redis_down), batch)
                else:  # an unexpected error: the attempt counts, so a letter that breaks
                    for letter in untried:  # every worker ends failed, not in a loop
                        _retry_later(letter, notes.BATCH_BROKE_OFF, batch)
                batch.commit()
                counts.update(batch.counts)
            if redis_down:
                # The rest of the job stays queued in the database; reconcile enqueues it
                # again once Redis answers.
                log.warning("Redis away: %d letters put back in the queue", len(untried),
                            extra={"fields": {"event": "redis away", "put_back": len(untried)}})
                break
            if not relay_up:
                # The rest of the job waits in the queue for its retry; reconcile sees to it.
                upcoming.put_back(notes.RELAY_WAS_UNREACHABLE)
                rest = list(letter_ids[start + size:])
                if rest:
                    with contextlib.suppress(RedisError):
                        run_at(clock.now() + timedelta(seconds=cfg["RETRY_BASE_SECONDS"]),
                                    Job.DELIVER_LETTERS, rest)
                break
    finally:
        with contextlib.suppress(SQLAlchemyError):  # else reconcile queues them again
            upcoming.put_back(notes.JOB_BROKE_OFF)
    log.info("batch of %d: %s", len(letter_ids), dict(counts),
             extra={"fields": {"event": "batch", "letters": len(letter_ids), **counts}})
    return dict(counts)


def release_letters(letter_ids: list[int]) -> dict[str, int]:
    """Held letters whose time has come go back to the queue, and out."""
    released = db.session.execute(
        update(Letter)
        .where(
            Letter.id.in_(letter_ids),
            states.RELEASE.where(Letter.status),
            # PAUSED with a time: the office's own pause (an organizer's has none)
               Letter.hold_reason.in_([HoldReason.LIMIT, HoldReason.WINDOW, HoldReason.PAUSED]),
            Letter.not_before <= clock.now() + timedelta(seconds=1),
        )
        .values(status=states.RELEASE.to, hold_reason=None)
        .returning(Letter.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    return deliver_letters(sorted(released)) if released else {}
