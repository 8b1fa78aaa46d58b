"""An official's digest: the letters of a day in one email, for offices that asked for one."""

from __future__ import annotations

import smtplib
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import update

from advocacy import clock
from advocacy.delivery import mail, notes
from advocacy.delivery.batch import Batch, worker_id
from advocacy.delivery.mail import smtp_refusal
from advocacy.delivery.schedule import schedule_digest
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.addresses import bounce_address, sender_address
from advocacy.letters.compose import context_of, load, office_footer
from advocacy.letters.emails import digest_message
from advocacy.letters.render import choose_subject, country_name, render_letter
from advocacy.models import HoldReason, Letter


def _note(note: str) -> str:
    """What became of the digest, on each letter it carries."""
    return notes.with_detail(notes.DIGEST, note)[:500]


def send_digest(key: str) -> int:
    """One email to an official with the day's overflow; returns how many letters it carries."""
    now = clock.now()
    ids = db.session.execute(
        update(Letter)
        .where(Letter.digest_key == key, states.CLAIM_DIGEST.where(Letter.status),
               Letter.hold_reason == HoldReason.DIGEST)
        # Marked on the wire with the claim: the digest goes out right after, and a worker
        # that died in between leaves its letters to review, never to go out one by one.
        .values(status=states.CLAIM_DIGEST.to, claimed_at=now, claimed_by=worker_id(),
                attempts=Letter.attempts + 1, on_wire_at=now)
        .returning(Letter.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    if not ids:
        return 0
    letters = load(list(ids))
    first = letters[0]
    entries = [
        {"name": lt.signature, "city": lt.city,
         "country_name": country_name(lt.country, first.language),
         "personal_note": lt.personal_note}
        for lt in letters
    ]
    # Chosen by the digest's key, as its Message-ID is: a retried digest keeps its subject.
    subject = choose_subject(first.subject, first.subject_variants or [], key)
    subject = render_letter(subject, "-", context_of(first)).subject
    with force_locale(first.language):  # the language the letters are written in
        msg = digest_message(
            digest_key=key, official_email=first.official_email or "",
            official_office=first.office_in_language,
            salutation=first.official_salutations.get(first.language) or first.default_salutation,
            campaign_name=first.campaign_name,
            sender=sender_address(first.campaign_sender),
            entries=entries, subject=subject, footer=office_footer(first),
        )
    batch = Batch()
    smtp = mail.shared_transport()
    try:
        # Its bounce address names the first letter it carries: a bounce marks them all.
        smtp.send(msg, resend_unconfirmed=first.campaign_resend_ambiguous,
                  return_path=bounce_address("digest", first.id,
                                             sender_address(first.campaign_sender)))
    except mail.Unconfirmed as exc:
        later = now + timedelta(seconds=current_app.config["RETRY_BASE_SECONDS"])
        for letter in letters:
            if first.campaign_resend_ambiguous:  # same Message-ID: derived from the key
                batch.record(letter, states.HOLD, hold_reason=HoldReason.DIGEST,
                             not_before=later,
                             last_error=_note(notes.with_detail(notes.AMBIGUOUS, exc)))
            else:
                batch.record(letter, states.TO_REVIEW,
                             last_error=_note(notes.with_detail(notes.AMBIGUOUS, exc)))
        if first.campaign_resend_ambiguous:
            batch.after_commit.append(lambda: schedule_digest(key, later))
        batch.commit()
        return 0
    except (smtplib.SMTPException, OSError) as exc:
        refusal = smtp_refusal(exc)
        if refusal is not None and refusal[0] >= 500:
            for letter in letters:
                batch.record(letter, states.FAIL, last_error=_note(notes.refusal(*refusal)))
        else:
            smtp.close()
            later = now + timedelta(seconds=current_app.config["RETRY_BASE_SECONDS"])
            for letter in letters:
                batch.record(letter, states.HOLD, hold_reason=HoldReason.DIGEST,
                             not_before=later, last_error=_note(str(exc)))
            batch.after_commit.append(lambda: schedule_digest(key, later))
        batch.commit()
        return 0
    for letter in letters:
        batch.record_sent(letter)
    batch.commit()
    return len(letters)
