"""A supporter's rights over their data: see all of it (JSON) and erase it.

Both act on one supporter, reached through a signed link that was emailed to their address
(links.data_link): knowing an address is not enough to read or delete what it wrote.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import exists, select, update

from advocacy.campaigns.opt_ins import erase_opt_ins, opt_ins_of, withdraw
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.addresses import sender_address
from advocacy.letters.emails import letter_message_id
from advocacy.letters.states import ERASED
from advocacy.models import Letter, Official, Reply, ReplyAnswer, Submission, Supporter
from advocacy.privacy.retention import forget_writers, scrub


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def replies_to_submission(submission_id: int) -> list[Reply]:
    return list(db.session.scalars(
        select(Reply).join(Letter, Reply.letter_id == Letter.id)
        .where(Letter.submission_id == submission_id).order_by(Reply.id)))


def everything_about(supporter: Supporter) -> dict[str, Any]:
    """All we hold about one supporter, as JSON-ready data (GDPR art. 15 and 20)."""
    submissions = []
    for sub in db.session.scalars(select(Submission).where(Submission.supporter_id == supporter.id)
                                  .order_by(Submission.id)):
        letters = []
        replies_by_letter: dict[int, list[Reply]] = {}
        for reply in replies_to_submission(sub.id):
            replies_by_letter.setdefault(reply.letter_id, []).append(reply)
        rows = db.session.execute(
            select(Letter, Official.key, Official.office)
            .join(Official, Letter.target_id == Official.id)
            .where(Letter.submission_id == sub.id).order_by(Letter.id))
        answers = {a.letter_id: a for a in db.session.scalars(
            select(ReplyAnswer).join(Letter, ReplyAnswer.letter_id == Letter.id)
            .where(Letter.submission_id == sub.id))}
        for letter, key, office in rows:
            replies = [{"from": r.from_address, "subject": r.subject, "text": r.text,
                        "received_at": _when(r.received_at),
                        "from_the_office": {"confirmed": r.authenticated,
                                            "how": r.authentication}}
                       for r in replies_by_letter.get(letter.id, [])]
            letters.append({
                "official": office, "official_key": key, "status": letter.status,
                "sent_at": _when(letter.sent_at),
                "message_id": letter_message_id(letter.id, sender_address(sub.campaign.sender))
                if letter.sent_at else None,
                "replies": replies,
                "your_answer": {"got_a_reply": answers[letter.id].answer,
                                "answered_at": _when(answers[letter.id].answered_at),
                                "pasted_reply": answers[letter.id].text}
                if letter.id in answers else None,
            })
        submissions.append({
            "campaign": sub.campaign.name, "written_at": _when(sub.created_at),
            "name": sub.name, "city": sub.city, "country": sub.country,
            "letter_language": sub.language, "page_language": sub.locale,
            "personal_note": sub.personal_note, "signed_with_initials": sub.sign_initials,
            "partner_ref": sub.ref,
            "consent": {"letters_at": _when(sub.consent_at),
                        "privacy_notice_version": sub.privacy_version,
                        "newsletter_at": _when(sub.newsletter_at),
                        "partner_news_at": _when(sub.partner_optin_at),
                        "quoted_in_reports_at": _when(sub.quote_at),
                        "ask_about_reply_at": _when(sub.reply_check_at)},
            "confirmed_at": _when(sub.confirmed_at), "scrubbed_at": _when(sub.scrubbed_at),
            "letters": letters,
        })
    opt_ins = [{"id": o.id, "campaign": o.campaign, "partner": o.partner,
                "consented_at": _when(o.consented_at), "privacy_notice_version": o.notice_version}
               for o in opt_ins_of(supporter.email_hash)]
    return {"email": supporter.email, "first_seen_at": _when(supporter.created_at),
            "submissions": submissions, "opt_ins": opt_ins}


@dataclass
class Erasure:
    cancelled_letters: int
    submissions: int
    replies: int
    opt_ins: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def erase(supporter_id: int) -> Erasure:
    """Cancel the supporter's unsent letters and remove who they are and what they wrote."""
    cancelled = db.session.execute(
        update(Letter)
        .where(Letter.supporter_id == supporter_id, states.ERASE.where(Letter.status))
        .values(status=states.ERASE.to, not_before=None, hold_reason=None,
                last_error=ERASED)
        .returning(Letter.id)).scalars().all()
    # Their opt-ins go first: the scrub keeps the address of anyone who has one standing.
    supporter = db.session.get_one(Supporter, supporter_id)
    opt_ins = erase_opt_ins(supporter.email_hash)
    db.session.commit()
    ids = db.session.scalars(select(Submission.id).where(
        Submission.supporter_id == supporter_id))
    # scrub() also forgets the writer, once none of their submissions is left unscrubbed.
    report = scrub(list(ids))
    forget_writers([supporter_id])  # (one who wrote nothing, only opted in: none to scrub)
    db.session.commit()
    return Erasure(cancelled_letters=len(cancelled), submissions=report.submissions,
                   replies=report.replies, opt_ins=opt_ins)


def withdraw_opt_in(supporter: Supporter, opt_in_id: int) -> bool:
    """Withdraw one of the supporter's opt-ins; a supporter left with nothing kept (every
    submission scrubbed, no opt-in standing) is forgotten with it, as the scrub would."""
    if supporter.email_hash is None or not withdraw(opt_in_id, supporter.email_hash):
        db.session.rollback()
        return False
    unscrubbed = exists().where(Submission.supporter_id == Supporter.id,
                                Submission.scrubbed_at.is_(None))
    forget_writers([supporter.id], ~unscrubbed)
    db.session.commit()
    return True


def erased(supporter: Supporter) -> bool:
    return supporter.email is None
