"""What organizers do to one official: add, edit, verify, deactivate. Every action is audited.

Four eyes on an address: whoever set an official's email address (added the official, edited
the address, imported it) cannot also verify it; another editor or an owner does. A wrong
address sends supporters' names and words to whoever holds it, so one person's slip, or one
stolen account, must not be enough.

Edits live in the database: `advocacy init` overrides them only for an entry whose file
changed since it was last loaded (Official.file_hash), as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field

from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from advocacy import audit, clock
from advocacy.delivery import queue
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.salutations import DEFAULTS
from advocacy.letters.versions import SOURCE_LANGUAGE
from advocacy.models import Body, HoldReason, Letter, LetterStatus, Official, Organizer
from advocacy.officials.choices import country_languages, key_from, time_zones
from advocacy.officials.files import LANGUAGES, apply_spec, body_rule
from advocacy.officials.rows import (
    COLUMNS,
    InvalidRow,
    changed_fields,
    row_of_official,
    spec_from_row,
)


class OfficialError(ValueError):
    """An action on an official that cannot be done; the message says why."""


class InvalidEdit(ValueError):
    """What was typed is not a valid official: a reason per form field ("_" for the form)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Saved:
    official: Official
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    unverified: bool = False  # the email address changed, so it must be verified again


@dataclass(frozen=True)
class Deactivated:
    cancelled: int  # letters not yet sent, now cancelled
    sending: int  # letters a worker was sending at that moment, left alone


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def fingerprint(official: Official) -> str:
    """The official's values when an edit form was opened: a save over a newer one is refused."""
    blob = json.dumps(row_of_official(official), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _body(slug: str) -> Body | None:
    return db.session.scalar(select(Body).where(Body.slug == slug)) if slug else None


def free_key(row: Mapping[str, str]) -> str:
    """A key nobody has, made from the group, country and office ("gov-fr-minister-for-...")."""
    key = key_from(row.get("body", ""), row.get("country", ""), row.get("office", ""))
    if len(key) < 2:
        return ""
    taken = set(db.session.scalars(select(Official.key).where(Official.key.startswith(key))))
    n, free = 1, key
    while free in taken:
        n += 1
        free = f"{key[:79 - len(str(n)) - 1]}-{n}"
    return free


def suggest(row: Mapping[str, str], adding: bool) -> dict[str, str]:
    """The form with what can be suggested filled in: the country's languages (while only
    English is ticked), its time zone (when it has one clock; none when the one chosen is not
    the country's), a key from the office's name,
    and empty salutations from an official of the group with the same office, else the
    language's form for an unknown holder."""
    values = dict(row)
    country = values.get("country", "").strip().upper()
    if country and values.get("languages", "").split() in ([], [SOURCE_LANGUAGE]):
        # Untouched (the form starts with English): the country's own languages, and English.
        values["languages"] = " ".join(dict.fromkeys(
            [*country_languages(country), SOURCE_LANGUAGE]))
    zones = time_zones(country)
    if zones.main and values.get("timezone", "").strip() not in zones:
        values["timezone"] = zones.suggested
    if adding and not values.get("key", "").strip():
        values["key"] = free_key(values)
    same = _body(values.get("body", "").strip())
    alike = db.session.scalar(select(Official).where(
        Official.body_id == same.id, Official.office == values.get("office", "").strip(),
        Official.active.is_(True)).limit(1)) if same else None
    for lang in LANGUAGES:
        name = f"salutation_{lang}"
        if values.get(name, "").strip() in ("", DEFAULTS[lang]):  # not typed by anyone
            values[name] = (alike.salutations.get(lang) if alike else None) or DEFAULTS[lang]
    return values


def save_official(by: Organizer, official: Official | None, form: Mapping[str, str],
                opened: str = "") -> Saved:
    """Add an official (target None) or edit one from the form's fields; InvalidEdit if wrong.

    A new official without a key gets one made from its name, and an empty time zone takes
    the country's when the country has one clock."""
    row = {name: form.get(name, "") for name in COLUMNS}
    if official is not None:
        row["key"] = official.key  # the key names the official in files and commands: it stays
    elif not row["key"].strip():
        row["key"] = free_key(row)
    if not row["timezone"].strip():
        row["timezone"] = time_zones(row["country"].strip().upper()).suggested
    errors: dict[str, str] = {}
    try:
        spec = spec_from_row(row)
    except InvalidRow as exc:
        spec = None
        for name, reason in exc.errors:
            errors.setdefault(name, reason)
    if not row["timezone"]:
        errors["timezone"] = _("Choose the time zone the office works in: its letters arrive"
                               " in its working hours.")
    if not row["key"]:
        errors["key"] = _("Give the office's name, or type a key.")
    body = _body(row["body"].strip())
    if body is None:
        errors["body"] = _("Choose a group.")
    elif spec is not None and (problem := body_rule(body.by_country, spec)):
        errors["country"] = problem
    if official is None and spec is not None and db.session.scalar(
            select(Official.office).where(Official.key == spec.key)) is not None:
        errors["key"] = _("Another official has this key.")
    if official is not None and opened != fingerprint(official):
        errors["_"] = _("Someone else saved this official after you opened this page. Open it"
                        " again to see their version, then make your change.")
    if errors or spec is None or body is None:
        raise InvalidEdit(errors)

    before = row_of_official(official) if official else {}
    if official is None:
        official = Official(key=spec.key, verified=False, active=True)
        db.session.add(official)
    new_address = official.email != spec.email
    unverified = official.verified and new_address
    apply_spec(official, spec, body)
    if unverified:
        official.verified, official.verified_by, official.verified_at = False, None, None
    if new_address:
        # The refusal was for the old address. Letters held for it stay held, for moderation.
        official.bounced_at, official.bounce_reason = None, None
        official.address_set_by = by.id
    changes = changed_fields(before, row_of_official(official))
    if not before:
        audit.record(by, "add official", official.key, body=body.slug, office=official.office,
                     email=official.email)
    elif changes:
        audit.record(by, "edit official", official.key, unverified=unverified,
                     **{name: list(pair) for name, pair in changes.items()})
    try:
        db.session.commit()
    except IntegrityError:  # the same key, added by someone else a moment ago
        db.session.rollback()
        raise InvalidEdit({"key": _("Another official has this key.")}) from None
    return Saved(official, changes, unverified)


def set_it_yourself() -> str:
    """Why the organizer who set an address may not verify it."""
    return str(_("You set this address, so someone else verifies it: another editor or an"
                 " owner checks it against its source (four eyes). Ask one of them."))


def may_verify(by: Organizer, official: Official) -> bool:
    """Whether this organizer may verify the address: not the one who set it."""
    return official.address_set_by != by.id  # None (a shipped file, no one) differs from any id


def set_verified(by: Organizer, official: Official, verified: bool) -> int:
    """Mark the address verified by this organizer, now (or not); returns letters released.

    Letters held because the address was unverified (live mode) go out once it is verified.
    """
    released: list[int] = []
    if verified:
        if not official.email:
            raise OfficialError(_("Only an email address can be verified, and this official"
                                  " has none."))
        if not official.source.strip():
            raise OfficialError(_("Say where the address comes from (its source) before"
                                  " verifying it."))
        if not may_verify(by, official):
            raise OfficialError(set_it_yourself())
        setter = db.session.get(Organizer, official.address_set_by) if official.address_set_by \
            else None
        official.verified, official.verified_by, official.verified_at = True, by.email, clock.now()
        released = list(db.session.scalars(
            update(Letter)
            .where(Letter.target_id == official.id, states.RELEASE.where(Letter.status),
                   Letter.hold_reason == HoldReason.UNVERIFIED)
            .values(status=states.RELEASE.to, hold_reason=None, not_before=None)
            .returning(Letter.id)
            .execution_options(synchronize_session=False)))
        audit.record(by, "verify official", official.key, email=official.email,
                     source=official.source, released=len(released),
                     address_set_by=setter.email if setter else "")
    else:
        official.verified, official.verified_by, official.verified_at = False, None, None
        audit.record(by, "unverify official", official.key, email=official.email)
    db.session.commit()
    if released:
        with suppress(RedisError):  # queued in the database: reconcile enqueues them
            queue.enqueue_letters(released)
    return len(released)


def deactivate(by: Organizer, official: Official, reason: str = "") -> Deactivated:
    """Stop writing to an official: cancel its letters not yet sent, in one UPDATE.

    A worker claims letters with a conditional UPDATE too, so each letter is either claimed
    (then `sending`: left alone, and counted) or cancelled here, never both. A worker that
    reads the official after this commit cancels what it claimed (delivery.gate.may_go).
    """
    if not official.active:
        raise OfficialError(_("This official is already inactive."))
    reason = " ".join(reason.split())[:300]
    note = f"cancelled: {by.email} deactivated the official" + (f" ({reason})" if reason else "")
    official.active = False
    cancelled = db.session.scalars(
        update(Letter)
        .where(Letter.target_id == official.id, states.DEACTIVATE.where(Letter.status))
        .values(status=states.DEACTIVATE.to, hold_reason=None, not_before=None,
                moderation_note=note)
        .returning(Letter.id)
        .execution_options(synchronize_session=False)).all()
    sending = db.session.scalar(select(func.count()).select_from(Letter).where(
        Letter.target_id == official.id, Letter.status == LetterStatus.SENDING)) or 0
    audit.record(by, "deactivate official", official.key, cancelled=len(cancelled),
                 left_sending=sending, reason=reason)
    db.session.commit()
    return Deactivated(len(cancelled), sending)


def reactivate(by: Organizer, official: Official) -> int:
    """Write to the official again; returns its cancelled letters, which stay cancelled."""
    if official.active:
        raise OfficialError(_("This official is already active."))
    official.active = True
    audit.record(by, "reactivate official", official.key)
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Letter).where(
        Letter.target_id == official.id, Letter.status == LetterStatus.CANCELLED)) or 0


def accept_proposed_address(by: Organizer, official: Official) -> str:
    """The address the office gave becomes its address: set by this organizer, so another one
    verifies it (four eyes), as any address typed in."""
    if not official.proposed_email:
        raise OfficialError(_("The office has proposed no address."))
    before, official.email = official.email, official.proposed_email
    official.verified, official.verified_by, official.verified_at = False, None, None
    official.bounced_at, official.bounce_reason = None, None
    official.address_set_by = by.id
    official.proposed_email, official.proposed_note, official.proposed_at = None, None, None
    audit.record(by, "accept office's address", official.key, email=official.email,
                 before=before or "")
    db.session.commit()
    return official.email


def dismiss_proposed_address(by: Organizer, official: Official) -> None:
    audit.record(by, "dismiss office's address", official.key,
                 email=official.proposed_email or "")
    official.proposed_email, official.proposed_note, official.proposed_at = None, None, None
    db.session.commit()


def end_office_choice(by: Organizer, official: Official) -> int:
    """Undo the office's digest and pause; letters its pause held go out now (returned)."""
    audit.record(by, "undo office's choice", official.key, digest=official.digest_daily,
                 paused_until=official.paused_until.isoformat() if official.paused_until
                 else "")
    official.digest_daily, official.paused_until = False, None
    released = list(db.session.scalars(
        update(Letter)
        .where(Letter.target_id == official.id, states.RELEASE.where(Letter.status),
               Letter.hold_reason == HoldReason.PAUSED, Letter.not_before.is_not(None))
        .values(status=states.RELEASE.to, hold_reason=None, not_before=None)
        .returning(Letter.id)
        .execution_options(synchronize_session=False)))
    db.session.commit()
    if released:
        with suppress(RedisError):  # queued in the database: reconcile enqueues them
            queue.enqueue_letters(released)
    return len(released)
