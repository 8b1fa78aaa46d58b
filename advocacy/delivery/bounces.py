"""Bounces and complaints that come after the relay accepted an email.

Every email leaves with a signed bounce address as its envelope sender (letters.addresses):
`bounce+<kind>-<row>-<mac>@<reply domain>`. Mail to it reaches `advocacy inbound`, which
hands it here with what the address names. Two kinds of report are read:

- delivery status notifications (RFC 3464: multipart/report; report-type=delivery-status).
  A permanent failure (Action: failed, or a 5.x.x status) turns a sent letter into a failed
  one with the reason, and flags the office's address (Official.bounced_at, as a refusal at
  RCPT does): its next letters wait for an organizer. A delay (Action: delayed, 4.x.x) is
  noted on the letter and slows the office's domain down; it is not a bounce.
- complaints (ARF, RFC 5965: report-type=feedback-report): the office is paused, with the
  reason, shown on the dashboard and written in the audit log.

Parsed with the email package, not flufl.bounce: both formats are structured MIME that the
standard library reads exactly (message/delivery-status into its field blocks), and what we
need is the Action and Status of a report, which flufl.bounce's address-scraping heuristics
do not give. Mail to a bounce address that is neither (an auto-reply, a bounce in some
pre-RFC 3464 text format) is logged and dropped.

Feedback loops (a mail provider's complaints) often go to one registered address instead:
`bounce@` the reply domain. A report there counts only if it quotes exactly one signed bounce
address of ours (ARF's Original-Mail-From, or the Return-Path the office's server wrote on
the original it attaches); the signature, again, is all that is believed.

Nothing in a report is trusted but the signed address it came to (or quotes): which letter
it is about comes from the signature, never from the report's text (an Original-Recipient, a
quoted Message-ID), so a forged report can only be about an email whose bounce address its
writer saw, i.e. one they received or were shown.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from email.message import Message

from redis.exceptions import RedisError
from sqlalchemy import select, update

from advocacy import audit, clock
from advocacy.delivery import notes
from advocacy.delivery.gate import delivery_limiter
from advocacy.extensions import db
from advocacy.letters import states
from advocacy.letters.addresses import Bounced, bounced
from advocacy.models import Invitation, Letter, LetterStatus, Official

log = logging.getLogger(__name__)

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
REASON_MAX = 500


@dataclass(frozen=True)
class Report:
    """What a message to a bounce address says: `what` is "bounce" (permanent), "delay",
    "complaint" or "other" (nothing to act on); `reason` is a short text for people."""

    what: str
    reason: str
    status: str = ""


def _one_line(value: object, limit: int = 300) -> str:
    return " ".join(str(value or "").split())[:limit]


def _delivery_status(part: Message) -> Report:
    """The worst outcome among a DSN's per-recipient blocks (the first is per-message)."""
    payload = part.get_payload()
    blocks = [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
    if len(blocks) < 2:
        return Report("other", "a delivery status without recipients")
    found: Report | None = None
    for block in blocks[1:]:
        action = _one_line(block.get("Action")).lower()
        match = _STATUS.search(str(block.get("Status", "")))
        status = match.group(0) if match else ""
        diagnostic = _one_line(block.get("Diagnostic-Code"))
        # Action decides (RFC 3464, 2.3.3); the Status class when a writer left it out.
        if action == "failed" or (not action and status.startswith("5.")):
            reason = notes.with_detail(notes.BOUNCED_AFTER,
                                       f"{status or 'failed'} {diagnostic}".strip())
            return Report("bounce", reason[:REASON_MAX], status)
        if action == "delayed" or (not action and status.startswith("4.")):
            reason = notes.with_detail(notes.DELAYED_AFTER,
                                       f"{status} {diagnostic}".strip())
            found = found or Report("delay", reason[:REASON_MAX], status)
    return found or Report("other", "a delivery status that reports no failure or delay")


def _feedback(part: Message) -> Report:
    fields = part.get_payload()
    block = fields[0] if isinstance(fields, list) and fields and isinstance(
        fields[0], Message) else part
    kind = _one_line(block.get("Feedback-Type"), 40).lower() or "abuse"
    agent = _one_line(block.get("User-Agent"), 80)
    reason = notes.with_detail(notes.COMPLAINT,
                               f"{kind} report" + (f" from {agent}" if agent else ""))
    return Report("complaint", reason[:REASON_MAX])


def read_report(raw: bytes) -> Report:
    """What a message to a bounce address reports (see the module's docstring)."""
    msg = message_from_bytes(raw, policy=policy.compat32)
    if msg.get_content_type() == "multipart/report":
        for part in msg.walk():
            if part.get_content_type() == "message/delivery-status":
                return _delivery_status(part)
            if part.get_content_type() == "message/feedback-report":
                return _feedback(part)
    return Report("other", f"not a report: {msg.get_content_type()}")


def _quoted(part: Message) -> list[str]:
    """The envelope senders a report's part quotes of the original message."""
    ctype = part.get_content_type()
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload and isinstance(
        payload[0], Message) else None
    if ctype == "message/feedback-report" and inner is not None:
        return [str(inner.get("Original-Mail-From", ""))]
    if ctype == "message/rfc822" and inner is not None:
        return [str(inner.get("Return-Path", ""))]
    if ctype == "text/rfc822-headers" and isinstance(payload, str):
        return [str(message_from_string(payload, policy=policy.compat32).get("Return-Path", ""))]
    return []


def quoted_bounce_address(raw: bytes) -> Bounced | None:
    """The one signed bounce address of ours a report quotes, else None (none, or several)."""
    msg = message_from_bytes(raw, policy=policy.compat32)
    found = {bounced(address.strip().strip("<>")) for part in msg.walk()
             for address in _quoted(part)} - {None}
    return found.pop() if len(found) == 1 else None


def receive(named: Bounced, raw: bytes) -> str:
    """Act on a message that came to a valid bounce address; returns what was done."""
    report = read_report(raw)
    fields = {"event": "bounce", "kind": named.kind, "row": named.row, "report": report.what,
              "status": report.status}
    if report.what == "other":
        outcome = "dropped: " + report.reason
    elif named.kind in ("letter", "digest"):
        outcome = _about_letters(named, report)
    else:
        outcome = _about_service_email(named, report)
    log.info("%s %s: %s", named.kind, named.row, outcome,
             extra={"fields": {**fields, "outcome": outcome[:120]}})
    return outcome


def outcome_pending(named: Bounced) -> bool:
    """The letter a report names is still `sending`: its worker records `sent` at the end of
    its claim (delivery.batch), so a quick report may come first. The inbound server then
    answers 451, and the reporting server tries again later, when the outcome is there."""
    if named.kind not in ("letter", "digest"):
        return False
    return any(letter.status == LetterStatus.SENDING for letter in _letters_named(named))


def _letters_named(named: Bounced) -> list[Letter]:
    first = db.session.get(Letter, named.row)
    if first is None:
        return []
    if named.kind == "digest" and first.digest_key:
        return list(db.session.scalars(select(Letter).where(
            Letter.digest_key == first.digest_key, Letter.target_id == first.target_id)))
    return [first]


def _about_letters(named: Bounced, report: Report) -> str:
    letters = _letters_named(named)
    if not letters:
        return "dropped: the letter is no longer kept"
    official = db.session.get_one(Official, letters[0].target_id)
    ids = [letter.id for letter in letters]
    if report.what == "bounce":
        failed = db.session.execute(
            update(Letter).where(Letter.id.in_(ids), states.BOUNCE.where(Letter.status))
            .values(status=states.BOUNCE.to, last_error=report.reason, bounced_at=clock.now())
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if official.bounced_at is None:  # the first bounce says why; later ones agree
            official.bounced_at = clock.now()
            official.bounce_reason = report.reason
        db.session.commit()
        return f"{failed} letter(s) bounced; {official.key}'s address flagged"
    if report.what == "delay":
        db.session.execute(
            update(Letter).where(Letter.id.in_(ids), Letter.status == states.SENT)
            .values(last_error=report.reason).execution_options(synchronize_session=False))
        db.session.commit()
        _slow_down(official)
        return f"delay noted on {len(ids)} letter(s); {official.key}'s domain slowed down"
    newly = not official.paused
    official.paused = True
    official.pause_reason = report.reason
    official.complained_at = clock.now()
    audit.record(None, "complaint received", official.key, letter=named.row,
                 kind=named.kind, reason=report.reason, paused=True)
    db.session.commit()
    return f"{official.key} paused" if newly else f"{official.key} was paused already"


def _slow_down(official: Official) -> None:
    """The office's server defers our mail: its domain goes slower for a while."""
    domain = (official.email or "").rpartition("@")[2].lower()
    if domain:
        with contextlib.suppress(RedisError):  # advice to the limiter, not a record
            delivery_limiter().slow_down(domain, clock.now().timestamp())


def _about_service_email(named: Bounced, report: Report) -> str:
    """A service email bounced or drew a complaint.

    Most need nothing done: a confirmation that bounces leaves letters unconfirmed, and
    those expire by themselves (reconcile); a data link, a reply notice or a test letter
    that bounces changes nothing stored. Two are worth an organizer's eyes, in the audit
    log: an invitation that bounced (the invited address is wrong) and any complaint (a
    confirmation form abused to mail strangers shows up there first).
    """
    if report.what == "complaint":
        audit.record(None, "complaint received", f"{named.kind} email {named.row}",
                     kind=named.kind, reason=report.reason)
        db.session.commit()
        return "complaint about a service email: in the audit log"
    if named.kind == "invite" and report.what == "bounce":
        invitation = db.session.get(Invitation, named.row)
        if invitation is not None:
            audit.record(None, "invitation bounced", invitation.email, reason=report.reason)
            db.session.commit()
            return "invitation bounced: in the audit log"
    return f"{report.what} of a {named.kind} email: nothing to do"
