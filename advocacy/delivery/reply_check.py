""""Did you get a reply?": one email, REPLY_CHECK_DAYS after a submission's letters were
delivered, to supporters who ticked the box asking for it (Submission.reply_check_at).

Once an hour (with the purge, advocacy.housekeeping) the submissions due are queued, one job
each by id. The job claims its submission with one conditional UPDATE (reply_asked_at set
where it is empty) and commits before anything is sent, so however often it is queued or
run, a submission's supporter gets the email at most once. Each office in it has three
signed one-click answers (links.answer_link); privacy.reply_answers records them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import CursorResult, exists, func, select, update

from advocacy import clock
from advocacy.delivery import mail, queue
from advocacy.delivery.notices import may_mail
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.addresses import bounce_address, sender_address
from advocacy.letters.compose import official_label, page_title
from advocacy.letters.emails import reply_question_message
from advocacy.links import answer_link
from advocacy.models import REPLY_ANSWERS, Letter, LetterStatus, Official, Submission

log = logging.getLogger(__name__)


def due(now: datetime) -> list[int]:
    """Submissions whose supporter asked to be asked, not asked yet, still known, whose
    letters are all done and the last of them delivered REPLY_CHECK_DAYS ago or more."""
    cutoff = now - timedelta(days=int(current_app.config["REPLY_CHECK_DAYS"]))
    waiting = exists().where(Letter.submission_id == Submission.id,
                             Letter.status.in_(states.WAITING))
    last_sent = (select(func.max(Letter.sent_at))
                 .where(Letter.submission_id == Submission.id,
                        Letter.status == LetterStatus.SENT)
                 .scalar_subquery())
    return list(db.session.scalars(
        select(Submission.id)
        .where(Submission.reply_check_at.is_not(None), Submission.reply_asked_at.is_(None),
               Submission.scrubbed_at.is_(None), Submission.confirmed_at.is_not(None),
               ~waiting, last_sent <= cutoff)
        .order_by(Submission.id)))


def queue_due(now: datetime | None = None) -> int:
    """Queue the question for every submission due; how many. Jobs carry ids only."""
    ids = due(now or clock.now())
    for submission_id in ids:
        queue.enqueue(queue.Job.ASK_ABOUT_REPLY, submission_id,
                      job_id=f"reply-question-{submission_id}")
    return len(ids)


def _claim(submission_id: int) -> bool:
    """Take the submission's one question, in one conditional UPDATE, committed."""
    result = cast(CursorResult[Any], db.session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.reply_check_at.is_not(None),
               Submission.reply_asked_at.is_(None), Submission.scrubbed_at.is_(None))
        .values(reply_asked_at=clock.now())))
    db.session.commit()
    return result.rowcount == 1


def ask_about_reply(submission_id: int) -> bool:
    """The job: email the supporter "did you get a reply?" about each office their letters
    reached; False when it was asked before (or is no longer theirs to be asked)."""
    if not _claim(submission_id):
        return False
    submission = db.session.get_one(Submission, submission_id)
    to_email = submission.supporter.email
    if to_email is None:
        return False
    locale = submission.locale or submission.language
    sent = db.session.execute(
        select(Letter.id, Official).join(Official, Letter.target_id == Official.id)
        .where(Letter.submission_id == submission_id, Letter.status == LetterStatus.SENT)
        .order_by(Letter.id)).all()
    if not sent or not may_mail(to_email, "reply question"):
        return False
    sender = sender_address(submission.campaign.sender)
    with force_locale(locale):
        msg = reply_question_message(
            to_email=to_email,
            campaign_name=page_title(submission.campaign_id, locale) or submission.campaign.name,
            sender=sender,
            offices=[(official_label(official, locale),
                      {answer: f"{answer_link(letter_id, answer)}?lang={locale}"
                       for answer in REPLY_ANSWERS})
                     for letter_id, official in sent])
    mail.shared_transport().send(msg, return_path=bounce_address("question", submission_id,
                                                                 sender))
    log.info("asked whether an office replied", extra={"fields": {
        "event": "reply question", "submission": submission_id}})
    return True
