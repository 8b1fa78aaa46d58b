"""Retention: a writer's identity and words are kept only as long as delivery needs them.

A submission is scrubbed once every one of its letters is final (sent, failed or cancelled)
and the newest of them is older than RETENTION_DAYS: its name, city and personal paragraph
are blanked, the officials' replies deleted (and the replies supporters pasted, their answers
kept for the counts), and a supporter whose submissions are all
scrubbed loses their address and its lookup hash, unless they opted in to hear from the
campaign or a partner: opt-ins (models.OptIn) are kept while the consent stands, never
scrubbed here, and the address stays so that "my data" still reaches them to withdraw.
Letters, their states, times, officials, languages, partners and the supporter's country
stay, so every count stays right; the hand-over report keeps each letter's content hash
(stored when it was sent).

`advocacy purge` runs it on demand; each worker's reconcile loop runs it once an hour.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Executable,
    Table,
    bindparam,
    delete,
    exists,
    func,
    select,
    update,
)

from advocacy import clock
from advocacy.extensions import db
from advocacy.letters.render import LetterRenderError
from advocacy.letters.states import FINAL
from advocacy.links import STATUS_SALT, ConfirmationError, submission_for
from advocacy.models import (
    Letter,
    LetterStatus,
    OptIn,
    Reply,
    ReplyAnswer,
    RollupMark,
    Submission,
    Supporter,
)
from advocacy.reporting.rollup import move_mark

CHUNK = 500
PURGE_EVERY = timedelta(hours=1)
MARK = "purge"


@dataclass
class PurgeReport:
    submissions: int = 0  # names, cities and paragraphs removed
    supporters: int = 0  # addresses removed
    replies: int = 0
    pasted_replies: int = 0  # replies supporters pasted with their answer (text removed)
    outbox_files: int = 0  # test mode's copies of sent mail

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _last_activity() -> ColumnElement[Any]:
    return func.coalesce(Letter.sent_at, Letter.claimed_at, Letter.queued_at, Letter.created_at)


def _past(cutoff: datetime) -> ColumnElement[bool]:
    """A submission older than the cutoff whose letters are all final, the newest older too."""
    pending = exists().where(
        Letter.submission_id == Submission.id,
        Letter.status.not_in(FINAL) | (_last_activity() >= cutoff))
    return (Submission.created_at < cutoff) & ~pending


def due_for_scrubbing(cutoff: datetime) -> list[int]:
    """Submissions whose letters are all final, the newest older than the cutoff."""
    return list(db.session.scalars(
        select(Submission.id).where(Submission.scrubbed_at.is_(None), _past(cutoff))
        .order_by(Submission.id)))


def forgotten(submission_id: int, now: datetime | None = None) -> bool:
    """Whether a submission's personal data is gone: scrubbed (by the purge or an erasure),
    or past the retention period, which the next purge will scrub. Links to it die with it."""
    cutoff = (now or clock.now()) - timedelta(days=current_app.config["RETENTION_DAYS"])
    return db.session.scalar(select(Submission.id).where(
        Submission.id == submission_id,
        Submission.scrubbed_at.is_not(None) | _past(cutoff))) is not None


def _rows(statement: Executable) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount


def _keep_content_hashes(submission_ids: list[int]) -> None:
    """Sent letters without a content hash (sent before it was kept, migration 0007) get one
    now, while their writer's words can still be rendered: the hand-over report prints it."""
    from advocacy.letters.compose import (  # delivery imports this module, through rights
        load,
        render,
    )

    ids = list(db.session.scalars(select(Letter.id).where(
        Letter.submission_id.in_(submission_ids), Letter.status == LetterStatus.SENT,
        Letter.content_hash.is_(None))))
    hashes = []
    for row in load(ids):
        try:
            hashes.append({"letter_id": row.id, "digest": render(row).digest()})
        except LetterRenderError:
            continue  # the report says it no longer renders
    if hashes:
        table = cast(Table, Letter.__table__)
        db.session.execute(update(table).where(table.c.id == bindparam("letter_id"))
                           .values(content_hash=bindparam("digest")), hashes)


def scrub(submission_ids: Iterable[int]) -> PurgeReport:
    """Blank the given submissions' personal fields and forget writers left with none."""
    report = PurgeReport()
    ids = list(submission_ids)
    now = clock.now()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        _keep_content_hashes(chunk)
        letters = select(Letter.id).where(Letter.submission_id.in_(chunk))
        report.replies += _rows(delete(Reply).where(Reply.letter_id.in_(letters)))
        report.pasted_replies += _rows(
            update(ReplyAnswer).where(ReplyAnswer.letter_id.in_(letters),
                                      ReplyAnswer.text.is_not(None)).values(text=None))
        report.submissions += _rows(
            update(Submission).where(Submission.id.in_(chunk), Submission.scrubbed_at.is_(None))
            .values(name="", city="", personal_note="", scrubbed_at=now))
        writers = select(Submission.supporter_id).where(Submission.id.in_(chunk))
        unscrubbed = exists().where(Submission.supporter_id == Supporter.id,
                                    Submission.scrubbed_at.is_(None))
        report.supporters += forget_writers(writers, ~unscrubbed)
        db.session.commit()
    return report


def forget_writers(supporters: Any, *conditions: ColumnElement[bool]) -> int:
    """Remove the address and lookup hash of these supporters (ids, or a select of them)
    that hold one, meet the conditions and have no standing opt-in (the caller commits)."""
    known = Supporter.email.is_not(None) | Supporter.email_hash.is_not(None)
    opted_in = exists().where(OptIn.email_hash == Supporter.email_hash,
                              OptIn.withdrawn_at.is_(None))
    return _rows(update(Supporter).where(Supporter.id.in_(supporters), known, ~opted_in,
                                         *conditions)
                 .values(email=None, email_hash=None))


def _old_outbox_files(cutoff: datetime) -> int:
    outbox = Path(current_app.config["OUTBOX_DIR"])
    removed = 0
    if outbox.is_dir():
        for path in outbox.glob("*.eml"):
            if path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def purge(days: int | None = None, now: datetime | None = None) -> PurgeReport:
    """Scrub everything past the retention period; says what it removed."""
    days = current_app.config["RETENTION_DAYS"] if days is None else days
    cutoff = (now or clock.now()) - timedelta(days=days)
    report = scrub(due_for_scrubbing(cutoff))
    report.outbox_files = _old_outbox_files(cutoff)
    return report


def claim_purge(now: datetime) -> bool:
    """Take the scheduled purge due at `now` (the caller commits); one of many callers wins."""
    return move_mark(MARK, now, RollupMark.upto <= now - PURGE_EVERY)


def purge_if_due(now: datetime | None = None) -> PurgeReport | None:
    """The scheduled purge: at most once per PURGE_EVERY across all workers."""
    now = now or clock.now()
    claimed = claim_purge(now)
    db.session.commit()
    return purge(now=now) if claimed else None


def submission_for_status(token: str) -> Submission:
    """The submission a status link stands for, while its personal data is kept: the link
    dies when the purge or an erasure scrubs it, or once it is past the retention period."""
    submission = submission_for(token, STATUS_SALT, None)
    if forgotten(submission.id):
        raise ConfirmationError(_("This link has expired: the details of these letters were"
                                  " deleted, as the privacy notice says."))
    return submission
