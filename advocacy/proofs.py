""""Send me a test": a letter rendered as an official would get it, emailed to the organizer.

The request is recorded (audit log) and committed, then a job that carries only ids renders
the saved version and sends it. It goes to the organizer's own address, never the official's.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from . import audit, mail, queue
from .extensions import db
from .letter_versions import Draft, render_sample, where
from .messages import proof_message
from .models import Body, Campaign, LetterTemplate, Organizer, Target

log = logging.getLogger(__name__)


class ProofError(ValueError):
    """A test that cannot be sent; the message says why."""


def request_proof(organizer: Organizer, template: LetterTemplate, target_key: str) -> Target:
    """Record the request, commit, then queue the job (mail only after the commit)."""
    target = db.session.scalar(select(Target).where(
        Target.key == target_key, Target.body_id == template.body_id, Target.active.is_(True)))
    if target is None:
        raise ProofError("Choose one of this body's officials.")
    campaign = db.session.get_one(Campaign, template.campaign_id)
    body = db.session.get_one(Body, template.body_id)
    audit.record(organizer, "send test letter", where(campaign, body, template.language),
                 version=template.version, official=target.key, to=organizer.email)
    db.session.commit()
    queue.get_queue().enqueue("advocacy.proofs.send_proof", template.id, target.id,
                              organizer.id)
    return target


def send_proof(template_id: int, target_id: int, organizer_id: int) -> bool:
    """The job: render the version for the official and email it to the organizer alone."""
    template = db.session.get(LetterTemplate, template_id)
    target = db.session.get(Target, target_id)
    organizer = db.session.get(Organizer, organizer_id)
    if template is None or target is None or organizer is None or not organizer.active:
        log.info("test letter %s not sent: version, official or organizer gone", template_id)
        return False
    campaign = db.session.get_one(Campaign, template.campaign_id)
    sample = render_sample(campaign, Draft.of(template), target, template.language)
    sender = mail.sender_address(campaign.sender)
    mail.shared_transport().send(proof_message(
        to_email=organizer.email, sender=sender, campaign_name=campaign.name,
        version=template.version, official=sample.to or target.office, subject=sample.subject,
        other_subjects=sample.other_subjects, text=sample.text))
    return True
