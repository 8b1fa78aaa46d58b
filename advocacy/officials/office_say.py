"""The office's own say (issue 19): through the signed link at the foot of each letter, an
office asks for one daily digest, a week's pause, or gives the right address.

Each choice takes effect at once (the delivery gate reads it on the next letter), is audited
with no organizer (the office acted, through its link) and shown on the official's admin page,
where an organizer can undo it (organizers.official_edits).

A proposed address is kept apart and unverified: letters keep going to the current address,
which was checked against the institution's own page. Whoever holds the link (a forwarded
letter) could otherwise send every later letter, with supporters' names and words, to an
address of their choosing; and holding the letters instead would let them stop the campaign's
mail to that office for as long as no organizer looks. An office that wants the letters to
stop meanwhile has the pause, which ends by itself after a week.
"""

from __future__ import annotations

from datetime import timedelta

from advocacy import audit, clock
from advocacy.extensions import db
from advocacy.models import Official

PAUSE_DAYS = 7
BY_THE_OFFICE = "the office, through the link in its letters"


def _record(official: Official, action: str, campaign_id: int, **details: object) -> None:
    audit.record(None, action, official.key, by=BY_THE_OFFICE, campaign_id=campaign_id,
                 **details)


def ask_digest(official: Official, campaign_id: int) -> None:
    """From now on, the office's letters go in one daily digest."""
    official.digest_daily = True
    _record(official, "office asked for a digest", campaign_id)
    db.session.commit()


def pause_for_a_week(official: Official, campaign_id: int) -> None:
    """Letters to the office wait a week from now, then go out by themselves."""
    official.paused_until = (clock.now() + timedelta(days=PAUSE_DAYS)).replace(microsecond=0)
    _record(official, "office paused its letters", campaign_id,
            until=official.paused_until.isoformat())
    db.session.commit()


def propose_address(official: Official, campaign_id: int, email: str, note: str) -> None:
    """Keep the address the office says is right, unverified, for an organizer to check."""
    official.proposed_email, official.proposed_note = email, note or None
    official.proposed_at = clock.now()
    _record(official, "office proposed an address", campaign_id, email=email, note=note,
            current=official.email or "")
    db.session.commit()
