"""A letter's state machine, in one place: its states, their groupings, the moves allowed
between them, and what each state means to the person who wrote the letter.

Every write of `Letter.status` goes through a named `Transition` below: an UPDATE takes its
`where(Letter.status)` (the states it may move from) and its `to` (the new state), and the
worker's `Batch.record` takes the outcome of a claimed letter. A transition that is not in
`ALLOWED` cannot be built: it raises `ForbiddenTransition` when this module is imported, so
a new move is added to the table first, where a reader sees all of them.

`LetterStatus` stays declared in `advocacy.models` and is re-exported here: the model's
column is typed with it, and `models` is the core layer, which may not import `letters`
(import-linter's layers), while importing it from here would also pull flask_babel into
every script that only needs the schema.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Lazy: the labels are read while a page renders, in that page's language. Imported as `_`
# so that `pybabel extract` finds them with its default keywords.
from flask_babel import lazy_gettext as _
from sqlalchemy import ColumnElement

from advocacy.models import HoldReason, LetterStatus

__all__ = ["LetterStatus"]  # re-exported: see the module's docstring

UNCONFIRMED = LetterStatus.UNCONFIRMED
QUEUED = LetterStatus.QUEUED
SENDING = LetterStatus.SENDING
HELD = LetterStatus.HELD
SENT = LetterStatus.SENT
FAILED = LetterStatus.FAILED
NEEDS_REVIEW = LetterStatus.NEEDS_REVIEW
CANCELLED = LetterStatus.CANCELLED

# A letter is written unconfirmed (intake.submit); the model's column default says the same.
INITIAL = UNCONFIRMED

# The moves a letter may make, from -> to. Cancelled is the end; so is sent, but for a bounce
# that comes after the relay accepted the letter (a delivery status notification to its
# signed bounce address, delivery.bounces): it is failed then, with the reason. Failed is
# final for the machine (nothing moves it by itself, the purge may scrub it) but an
# organizer may queue it once more (moderation.retry).
ALLOWED: dict[LetterStatus, frozenset[LetterStatus]] = {
    UNCONFIRMED: frozenset({QUEUED, CANCELLED}),  # confirmed; expired, erased, deactivated
    QUEUED: frozenset({SENDING, CANCELLED}),  # claimed by a worker; erased, deactivated
    # A claimed letter's outcomes (Batch.record, reconcile's stale letters).
    SENDING: frozenset({SENT, QUEUED, HELD, FAILED, NEEDS_REVIEW, CANCELLED}),
    HELD: frozenset({QUEUED, SENDING, CANCELLED}),  # released; its digest claimed; cancelled
    NEEDS_REVIEW: frozenset({QUEUED, CANCELLED}),  # an organizer releases or cancels it
    FAILED: frozenset({QUEUED}),  # an organizer retries it
    SENT: frozenset({FAILED}),  # bounced after acceptance
    CANCELLED: frozenset(),
}

# --- Groupings -------------------------------------------------------------------------

# Nothing moves these by itself any more: the purge may scrub a submission whose letters are
# all final (privacy.retention).
FINAL = (SENT, FAILED, CANCELLED)
# The rest: something (a worker, a supporter, an organizer, the clock) will still move them.
WAITING = (UNCONFIRMED, QUEUED, SENDING, HELD, NEEDS_REVIEW)
# Waiting for an organizer's hand: the moderation page lists, releases and cancels these.
FOR_ORGANIZERS = (HELD, NEEDS_REVIEW)
# Not yet in a worker's hands nor waiting for an organizer: deactivating an official
# cancels these. A letter `sending` may already be on the wire: it is left alone, and said so.
UNSENT = (UNCONFIRMED, QUEUED, HELD)
# A supporter's erasure cancels these: the unsent ones and those an organizer would decide
# on. (A letter `sending` at that moment is cancelled by its worker if not yet composed,
# else recorded as sent and scrubbed.)
ERASABLE = (*UNSENT, NEEDS_REVIEW)
# Few at any moment: the dashboard counts them from the status index with a GROUP BY; sent
# letters, the many, are counted from the rollup instead (reporting.rollup).
SMALL = tuple(s for s in LetterStatus if s != SENT)


class ForbiddenTransition(ValueError):
    """A status write that the table `ALLOWED` does not allow."""


@dataclass(frozen=True)
class Transition:
    """A named move of letters from one or more states to one, checked against `ALLOWED`."""

    sources: tuple[LetterStatus, ...]
    to: LetterStatus

    def __post_init__(self) -> None:
        for source in self.sources:
            check(source, self.to)

    def where(self, column: Any) -> ColumnElement[bool]:
        """The UPDATE's condition: the letter is still in a state this move starts from.

        One state is compared with `=`, as the statements always did (the status index)."""
        if len(self.sources) == 1:
            return column == self.sources[0]  # type: ignore[no-any-return]
        return column.in_(self.sources)  # type: ignore[no-any-return]


def check(source: LetterStatus, to: LetterStatus) -> None:
    """Raise unless a letter may move from `source` to `to`."""
    if to not in ALLOWED[source]:
        raise ForbiddenTransition(f"a letter may not go from {source} to {to}")


def transition(sources: LetterStatus | Iterable[LetterStatus], to: LetterStatus) -> Transition:
    """A move from `sources` (one state or several) to `to`; raises if the table forbids it."""
    if isinstance(sources, LetterStatus):
        return Transition((sources,), to)
    return Transition(tuple(sources), to)


# --- Every status write in the code is one of these ---------------------------------------

CONFIRM = transition(UNCONFIRMED, QUEUED)  # the supporter followed the link (intake.confirm)
EXPIRE = transition(UNCONFIRMED, CANCELLED)  # not confirmed in time (reconcile)
CLAIM = transition(QUEUED, SENDING)  # a worker takes due letters (delivery.jobs.claim)
CLAIM_DIGEST = transition(HELD, SENDING)  # a digest takes its day's letters (delivery.digest)
# Held letters whose time came, whose pause ended, whose official's address was verified.
RELEASE = transition(HELD, QUEUED)
RELEASE_BY_HAND = transition(FOR_ORGANIZERS, QUEUED)  # organizers.moderation.release
RETRY_BY_HAND = transition(FAILED, QUEUED)  # organizers.moderation.retry
CANCEL_BY_HAND = transition(FOR_ORGANIZERS, CANCELLED)  # organizers.moderation.cancel
ERASE = transition(ERASABLE, CANCELLED)  # the supporter erased their data (privacy.rights)
DEACTIVATE = transition(UNSENT, CANCELLED)  # the official was deactivated (official_edits)

# What becomes of a claimed letter (delivery.batch.Batch.record, reconcile's stale letters).
DELIVERED = transition(SENDING, SENT)
REQUEUE = transition(SENDING, QUEUED)  # tried again later, put back, or its worker died
HOLD = transition(SENDING, HELD)  # limits, windows, pauses, digests
FAIL = transition(SENDING, FAILED)
TO_REVIEW = transition(SENDING, NEEDS_REVIEW)  # it may or may not have arrived: a person looks
DROP = transition(SENDING, CANCELLED)  # erased, or the official deactivated, after the claim
# A sent letter's office bounced it later (a signed DSN: delivery.bounces).
BOUNCE = transition(SENT, FAILED)

NAMED = (CONFIRM, EXPIRE, CLAIM, CLAIM_DIGEST, RELEASE, RELEASE_BY_HAND, RETRY_BY_HAND,
         CANCEL_BY_HAND, ERASE, DEACTIVATE, DELIVERED, REQUEUE, HOLD, FAIL, TO_REVIEW, DROP,
         BOUNCE)


STATE_LABELS = {
    UNCONFIRMED: _("Waiting for your confirmation"),
    QUEUED: _("Confirmed: going out soon"),
    SENDING: _("Being sent"),
    HELD: _("Confirmed: goes out later, within the office's hours and limits"),
    SENT: _("Delivered to the office's mail server"),
    FAILED: _("Could not be delivered"),
    NEEDS_REVIEW: _("Being checked by the campaign"),
    CANCELLED: _("Not sent"),
}


# The same states in the organizers' words (the admin): what the letter waits for, if anything.
ORGANIZER_LABELS = {
    UNCONFIRMED: _("Waiting for the supporter to confirm"),
    QUEUED: _("Ready to go out"),
    SENDING: _("Being sent"),
    HELD: _("Held back"),
    SENT: _("Sent"),
    FAILED: _("Failed"),
    NEEDS_REVIEW: _("Sent or not? Waiting for your decision"),
    CANCELLED: _("Cancelled"),
}

# Why a held letter waits, in the organizers' words. The first three end by themselves; the
# others wait for an organizer (FOR_A_DECISION).
HOLD_LABELS = {
    HoldReason.LIMIT: _("the office's hourly or daily limit: goes out when it allows"),
    HoldReason.WINDOW: _("outside the office's working hours: goes out when they begin"),
    HoldReason.DIGEST: _("gathered into the office's daily digest"),
    HoldReason.PAUSED: _("paused by the organizers"),
    HoldReason.UNVERIFIED: _("the office's address is not verified yet"),
    HoldReason.BOUNCED: _("the office's address bounced"),
}
FOR_A_DECISION = (HoldReason.PAUSED, HoldReason.UNVERIFIED, HoldReason.BOUNCED)


def organizer_label(status: str, hold_reason: str | None = None) -> str:
    """A letter's state as the admin shows it: "Held back (paused by the organizers)"."""
    label = str(ORGANIZER_LABELS.get(LetterStatus(status), status))
    if status == HELD and hold_reason in HOLD_LABELS:
        return f"{label} ({HOLD_LABELS[HoldReason(hold_reason)]})"
    return label


# The note an erasure leaves on the letters it cancelled (see ERASABLE).
ERASED = "cancelled: the supporter erased their data"
