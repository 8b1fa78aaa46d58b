""""Send me a test": a letter rendered as an official would get it, emailed to the organizer.

The request is recorded (audit log) and committed, then a job that carries only ids renders
the saved version and sends it. It goes to the organizer's own address, never the official's.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from advocacy import audit
from advocacy.delivery import queue
from advocacy.extensions import db
from advocacy.letters.versions import where
from advocacy.models import Body, Campaign, LetterTemplate, Organizer, Target

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
    queue.enqueue(queue.Job.SEND_PROOF, template.id, target.id,
                              organizer.id)
    return target
