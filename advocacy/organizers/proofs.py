""""Send me a test": a letter rendered as an official would get it, emailed to the organizer.

The request is recorded (audit log) and committed, then a job that carries only ids renders
the saved version and sends it. It goes to the organizer's own address, never the official's.
"""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from sqlalchemy import select

from advocacy import audit
from advocacy.delivery import queue
from advocacy.extensions import db
from advocacy.letters.versions import where
from advocacy.models import Body, Campaign, LetterTemplate, Official, Organizer

log = logging.getLogger(__name__)


class ProofError(ValueError):
    """A test that cannot be sent; the message says why."""


def request_proof(organizer: Organizer, template: LetterTemplate, official_key: str) -> Official:
    """Record the request, commit, then queue the job (mail only after the commit)."""
    official = db.session.scalar(select(Official).where(
        Official.key == official_key, Official.body_id == template.body_id,
        Official.active.is_(True)))
    if official is None:
        raise ProofError(_("Choose one of this body's officials."))
    campaign = db.session.get_one(Campaign, template.campaign_id)
    body = db.session.get_one(Body, template.body_id)
    audit.record(organizer, "send test letter", where(campaign, body, template.language),
                 version=template.version, official=official.key, to=organizer.email)
    db.session.commit()
    queue.enqueue(queue.Job.SEND_PROOF, template.id, official.id,
                              organizer.id)
    return official
