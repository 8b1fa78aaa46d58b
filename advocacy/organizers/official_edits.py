"""What organizers do to one official: add, edit, verify, deactivate. Every action is audited.

Four eyes on an address: whoever set an official's email address (added the official, edited
the address, imported it) cannot also verify it; another editor or an owner does. A wrong
address sends supporters' names and words to whoever holds it, so one person's slip, or one
stolen account, must not be enough.

Edits live in the database: `advocacy init` overrides them only for an entry whose file
changed since it was last loaded (Target.file_hash), as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field

from redis.exceptions import RedisError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from advocacy import audit, clock
from advocacy.delivery import queue
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.models import Body, HoldReason, Letter, LetterStatus, Organizer, Target
from advocacy.officials.files import apply_spec, body_rule
from advocacy.officials.rows import (
    COLUMNS,
    InvalidRow,
    changed_fields,
    row_of_target,
    spec_from_row,
)


class TargetError(ValueError):
    """An action on an official that cannot be done; the message says why."""


class InvalidEdit(ValueError):
    """What was typed is not a valid official: a reason per form field ("_" for the form)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Saved:
    target: Target
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    unverified: bool = False  # the email address changed, so it must be verified again


@dataclass(frozen=True)
class Deactivated:
    cancelled: int  # letters not yet sent, now cancelled
    sending: int  # letters a worker was sending at that moment, left alone


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def fingerprint(target: Target) -> str:
    """The official's values when an edit form was opened: a save over a newer one is refused."""
    blob = json.dumps(row_of_target(target), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _body(slug: str) -> Body | None:
    return db.session.scalar(select(Body).where(Body.slug == slug)) if slug else None


def save_target(by: Organizer, target: Target | None, form: Mapping[str, str],
                opened: str = "") -> Saved:
    """Add an official (target None) or edit one from the form's fields; InvalidEdit if wrong."""
    row = {name: form.get(name, "") for name in COLUMNS}
    if target is not None:
        row["key"] = target.key  # the key names the official in files and commands: it stays
    errors: dict[str, str] = {}
    try:
        spec = spec_from_row(row)
    except InvalidRow as exc:
        spec = None
        for name, reason in exc.errors:
            errors.setdefault(name, reason)
    body = _body(row["body"].strip())
    if body is None:
        errors["body"] = "Choose a body."
    elif spec is not None and (problem := body_rule(body.slug, spec)):
        errors["country"] = problem
    if target is None and spec is not None and db.session.scalar(
            select(Target.office).where(Target.key == spec.key)) is not None:
        errors["key"] = "Another official has this key."
    if target is not None and opened != fingerprint(target):
        errors["_"] = ("Someone else saved this official after you opened this page. Open it"
                       " again to see their version, then make your change.")
    if errors or spec is None or body is None:
        raise InvalidEdit(errors)

    before = row_of_target(target) if target else {}
    if target is None:
        target = Target(key=spec.key, verified=False, active=True)
        db.session.add(target)
    new_address = target.email != spec.email
    unverified = target.verified and new_address
    apply_spec(target, spec, body)
    if unverified:
        target.verified, target.verified_by, target.verified_at = False, None, None
    if new_address:
        # The refusal was for the old address. Letters held for it stay held, for moderation.
        target.bounced_at, target.bounce_reason = None, None
        target.address_set_by = by.id
    changes = changed_fields(before, row_of_target(target))
    if not before:
        audit.record(by, "add official", target.key, body=body.slug, office=target.office,
                     email=target.email)
    elif changes:
        audit.record(by, "edit official", target.key, unverified=unverified,
                     **{name: list(pair) for name, pair in changes.items()})
    try:
        db.session.commit()
    except IntegrityError:  # the same key, added by someone else a moment ago
        db.session.rollback()
        raise InvalidEdit({"key": "Another official has this key."}) from None
    return Saved(target, changes, unverified)


SET_IT_YOURSELF = ("You set this address, so someone else verifies it: another editor or an"
                   " owner checks it against its source (four eyes). Ask one of them.")


def may_verify(by: Organizer, target: Target) -> bool:
    """Whether this organizer may verify the address: not the one who set it."""
    return target.address_set_by != by.id  # None (a shipped file, no one) differs from any id


def set_verified(by: Organizer, target: Target, verified: bool) -> int:
    """Mark the address verified by this organizer, now (or not); returns letters released.

    Letters held because the address was unverified (live mode) go out once it is verified.
    """
    released: list[int] = []
    if verified:
        if not target.email:
            raise TargetError("Only an email address can be verified, and this official has"
                              " none.")
        if not target.source.strip():
            raise TargetError("Say where the address comes from (its source) before verifying"
                              " it.")
        if not may_verify(by, target):
            raise TargetError(SET_IT_YOURSELF)
        setter = db.session.get(Organizer, target.address_set_by) if target.address_set_by \
            else None
        target.verified, target.verified_by, target.verified_at = True, by.email, clock.now()
        released = list(db.session.scalars(
            update(Letter)
            .where(Letter.target_id == target.id, states.RELEASE.where(Letter.status),
                   Letter.hold_reason == HoldReason.UNVERIFIED)
            .values(status=states.RELEASE.to, hold_reason=None, not_before=None)
            .returning(Letter.id)
            .execution_options(synchronize_session=False)))
        audit.record(by, "verify official", target.key, email=target.email,
                     source=target.source, released=len(released),
                     address_set_by=setter.email if setter else "")
    else:
        target.verified, target.verified_by, target.verified_at = False, None, None
        audit.record(by, "unverify official", target.key, email=target.email)
    db.session.commit()
    if released:
        with suppress(RedisError):  # queued in the database: reconcile enqueues them
            queue.enqueue_letters(released)
    return len(released)


def deactivate(by: Organizer, target: Target, reason: str = "") -> Deactivated:
    """Stop writing to an official: cancel its letters not yet sent, in one UPDATE.

    A worker claims letters with a conditional UPDATE too, so each letter is either claimed
    (then `sending`: left alone, and counted) or cancelled here, never both. A worker that
    reads the official after this commit cancels what it claimed (delivery.gate._gate).
    """
    if not target.active:
        raise TargetError("This official is already inactive.")
    reason = " ".join(reason.split())[:300]
    note = f"cancelled: {by.email} deactivated the official" + (f" ({reason})" if reason else "")
    target.active = False
    cancelled = db.session.scalars(
        update(Letter)
        .where(Letter.target_id == target.id, states.DEACTIVATE.where(Letter.status))
        .values(status=states.DEACTIVATE.to, hold_reason=None, not_before=None,
                moderation_note=note)
        .returning(Letter.id)
        .execution_options(synchronize_session=False)).all()
    sending = db.session.scalar(select(func.count()).select_from(Letter).where(
        Letter.target_id == target.id, Letter.status == LetterStatus.SENDING)) or 0
    audit.record(by, "deactivate official", target.key, cancelled=len(cancelled),
                 left_sending=sending, reason=reason)
    db.session.commit()
    return Deactivated(len(cancelled), sending)


def reactivate(by: Organizer, target: Target) -> int:
    """Write to the official again; returns its cancelled letters, which stay cancelled."""
    if target.active:
        raise TargetError("This official is already active.")
    target.active = True
    audit.record(by, "reactivate official", target.key)
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Letter).where(
        Letter.target_id == target.id, Letter.status == LetterStatus.CANCELLED)) or 0
