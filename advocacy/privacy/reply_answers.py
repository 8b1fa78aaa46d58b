"""Supporters' answers to "did you get a reply?" (delivery.reply_check sends the question):
yes, no or not yet for each letter, by one click on a signed link, and, if they wish, the
reply pasted on the page the click opens.

The pasted text is the supporter's to share and may name them: it is stored encrypted
(crypto.Sealed) and removed with their letters' other details (privacy.retention.scrub),
while the answer itself, a count, stays. A link to a letter whose writer is forgotten
answers nothing."""

from __future__ import annotations

from flask_babel import gettext as _

from advocacy import clock
from advocacy.extensions import db
from advocacy.links import ConfirmationError, answer_request
from advocacy.models import REPLY_ANSWERS, Letter, LetterStatus, ReplyAnswer
from advocacy.privacy.retention import forgotten

MAX_PASTE = 20_000  # characters, as a relayed reply's text


def letter_for_answer(token: str) -> tuple[Letter, str]:
    """The letter and answer an answer link stands for, while its writer is known."""
    letter_id, answer = answer_request(token)
    letter = db.session.get(Letter, letter_id)
    if answer not in REPLY_ANSWERS or letter is None or letter.status != LetterStatus.SENT:
        raise ConfirmationError(_("This link is not valid: please copy it whole."))
    if forgotten(letter.submission_id):
        raise ConfirmationError(_("This link has expired: the details of these letters were"
                                  " deleted, as the privacy notice says."))
    return letter, answer


def record_answer(letter: Letter, answer: str, pasted: str | None = None) -> ReplyAnswer:
    """Keep the supporter's answer about one letter (the latest counts); a pasted reply,
    when given, replaces the one kept. Committed."""
    if answer not in REPLY_ANSWERS:
        raise ValueError(f"not an answer: {answer}")
    row = db.session.query(ReplyAnswer).filter_by(letter_id=letter.id).one_or_none()
    if row is None:
        row = ReplyAnswer(letter_id=letter.id, answer=answer)
        db.session.add(row)
    row.answer, row.answered_at = answer, clock.now()
    if pasted is not None and pasted.strip():
        row.text = pasted.strip()[:MAX_PASTE]
    db.session.commit()
    return row
