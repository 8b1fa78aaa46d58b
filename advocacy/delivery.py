"""The worker's jobs: they take ids, open their own session and call plain functions."""

from __future__ import annotations

import logging
import random
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select, update

from . import mail, queue
from .extensions import db
from .letters import LetterRenderError, letter_context, render_letter
from .messages import confirmation_message, letter_message
from .models import Letter, LetterStatus, Submission, Target, utcnow
from .services import confirmation_link, official_label

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def send_confirmation(submission_id: int) -> bool:
    """Email the supporter the link that confirms a submission; False if nothing to do."""
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.confirmed_at is not None:
        return False
    campaign = submission.campaign
    officials = [
        official_label(t)
        for t in db.session.scalars(
            select(Target).join(Letter, Letter.target_id == Target.id).where(
                Letter.submission_id == submission_id
            )
        )
    ]
    msg = confirmation_message(
        to_email=submission.supporter.email,
        to_name=submission.name,
        campaign_name=campaign.name,
        sender=current_app.config["ADVOCACY_SENDER"],
        link=confirmation_link(submission_id),
        officials=officials,
    )
    with mail.transport() as smtp:
        smtp.send(msg)
    submission.confirmation_sent_at = utcnow()
    db.session.commit()
    return True


def claim(letter_id: int) -> bool:
    """Take a queued letter for sending with one conditional UPDATE; False if another did."""
    now = utcnow()
    result = db.session.execute(
        update(Letter)
        .where(
            Letter.id == letter_id,
            Letter.status == LetterStatus.QUEUED,
            or_(Letter.not_before.is_(None), Letter.not_before <= now),
        )
        .values(status=LetterStatus.SENDING, claimed_at=now, attempts=Letter.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def compose(letter: Letter) -> EmailMessage:
    """The email for one letter, rendered from the template version the supporter saw."""
    submission, target, template = letter.submission, letter.target, letter.template
    campaign = letter.campaign
    if not target.email:
        raise LetterRenderError(f"{target.key} has no email address")
    context = letter_context(
        official={
            "office": target.office,
            "holder": target.holder,
            "country": target.country,
            "salutations": target.salutations,
        },
        supporter={"name": submission.name, "city": submission.city, "country": submission.country},
        personal_note=submission.personal_note,
        campaign_name=campaign.name,
        language=template.language,
        default_salutation=template.default_salutation,
    )
    rendered = render_letter(template.subject, template.body, context)
    return letter_message(
        letter_id=letter.id,
        rendered=rendered,
        official_email=target.email,
        official_office=target.office,
        supporter_name=submission.name,
        supporter_email=submission.supporter.email,
        campaign_name=campaign.name,
        sender=current_app.config["ADVOCACY_SENDER"],
        language=template.language,
    )


def _finish(letter: Letter, status: LetterStatus, error: str | None = None) -> None:
    letter.status = status
    letter.last_error = error
    if status == LetterStatus.SENT:
        letter.sent_at = utcnow()
    db.session.commit()


def _retry_later(letter: Letter, reason: str) -> None:
    """Back to the queue after an exponential, jittered wait; failed after MAX_ATTEMPTS."""
    if letter.attempts >= MAX_ATTEMPTS:
        _finish(letter, LetterStatus.FAILED, f"gave up after {letter.attempts} tries: {reason}")
        return
    delay = min(3600, 2 ** letter.attempts * 15) * random.uniform(0.5, 1.5)  # noqa: S311
    letter.not_before = utcnow() + timedelta(seconds=delay)
    _finish(letter, LetterStatus.QUEUED, reason)
    queue.get_queue().enqueue_in(timedelta(seconds=delay), deliver_letters, [letter.id])


def deliver_letters(letter_ids: list[int]) -> dict[str, int]:
    """Claim, compose and send a batch of letters over one SMTP connection."""
    counts = {"sent": 0, "skipped": 0, "held": 0, "failed": 0, "retry": 0}
    live = current_app.config["ADVOCACY_MODE"] == "live"
    with mail.transport() as smtp:
        for letter_id in letter_ids:
            if not claim(letter_id):
                counts["skipped"] += 1
                continue
            letter = db.session.get_one(Letter, letter_id)
            if live and not letter.target.verified:
                # targets-sources.md: nothing goes by email to an unverified address in live mode.
                _finish(letter, LetterStatus.HELD, "waiting: the official's address is unverified")
                counts["held"] += 1
                continue
            try:
                msg = compose(letter)
            except LetterRenderError as exc:
                _finish(letter, LetterStatus.FAILED, f"template: {exc}")
                counts["failed"] += 1
                continue
            try:
                smtp.send(msg)
            except smtplib.SMTPResponseException as exc:
                detail = exc.smtp_error
                if isinstance(detail, bytes):
                    detail = detail.decode(errors="replace")
                reason = f"{exc.smtp_code} {detail}"
                if 500 <= exc.smtp_code < 600:
                    _finish(letter, LetterStatus.FAILED, reason)
                    counts["failed"] += 1
                else:
                    _retry_later(letter, reason)
                    counts["retry"] += 1
                continue
            except (smtplib.SMTPException, OSError) as exc:
                # The connection broke: this letter waits and retries; the next one reconnects.
                _retry_later(letter, f"connection: {exc}")
                counts["retry"] += 1
                smtp.close()
                continue
            _finish(letter, LetterStatus.SENT)
            counts["sent"] += 1
    log.info("batch done: %s", counts)
    return counts


def reconcile() -> dict[str, int]:
    """Re-enqueue what Redis may have lost: due queued letters and unsent confirmations."""
    now = utcnow()
    letter_ids = list(
        db.session.scalars(
            select(Letter.id).where(
                Letter.status == LetterStatus.QUEUED,
                or_(Letter.not_before.is_(None), Letter.not_before <= now),
            )
        )
    )
    submission_ids = list(
        db.session.scalars(
            select(Submission.id).where(
                Submission.confirmation_sent_at.is_(None),
                Submission.confirmed_at.is_(None),
                Submission.created_at < now - timedelta(minutes=1),
            )
        )
    )
    jobs = queue.enqueue_letters(letter_ids)
    for sid in submission_ids:
        queue.enqueue_confirmation(sid)
    return {"letters": len(letter_ids), "letter_jobs": jobs, "confirmations": len(submission_ids)}
