"""Bounces and complaints after the relay accepted an email, and deferrals that slow a domain.

Every email leaves with a signed VERP envelope sender (bounce+<kind>-<row>-<mac>@). The
reports that come back are written here with the email package after the examples in
RFC 3464 (appendix) and RFC 5965 (appendix B), sent over SMTP to `advocacy inbound`'s
server, and their outcomes read from the letter, the office, the audit log and the dashboard.
"""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from advocacy import clock
from advocacy.campaigns.limits import RateLimits
from advocacy.delivery import notices
from advocacy.delivery.bounces import read_report, receive
from advocacy.delivery.digest import send_digest
from advocacy.delivery.gate import delivery_limiter
from advocacy.delivery.jobs import deliver_letters
from advocacy.delivery.limits import RECOVER_EVERY
from advocacy.delivery.sink import Received, Sink, free_port
from advocacy.extensions import db
from advocacy.letters.addresses import Bounced, bounce_address, bounced, reply_address
from advocacy.letters.versions import current_template
from advocacy.models import (
    AuditEntry,
    Body,
    HoldReason,
    Invitation,
    Letter,
    LetterStatus,
    Official,
    Reply,
    Submission,
)
from advocacy.privacy.replies import inbound_server
from advocacy.reporting.dashboard import Filters, state_counts, table
from advocacy.reporting.rollup import roll_up

from helpers import (
    NOW,
    OFFICIAL,
    ONE_DATABASE,
    PASSWORD,
    PEOPLE,
    accessibility_problems,
    log_in,
    needs_chromium,
    organizer_page,
    seed_queued,
    send,
    shots_for,
    submission,
    work,
)

WIRE = policy.compat32.clone(linesep="\r\n")  # smtplib sends bytes as they are
VERP = re.compile(r"^bounce\+([a-z]+)-(\d+)-[0-9a-f]{20}@campaign\.test$")


# --- the reports, as mail servers write them ------------------------------------------------

def delivery_status(original: bytes, *, action: str, status: str, diagnostic: str,
                    to: str) -> bytes:
    """A DSN (RFC 3464) from the office's MX about one recipient, with the original headers."""
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; mx1.ohchr.org"
    per_message["Arrival-Date"] = format_datetime(clock.now())
    per_recipient = Message()
    per_recipient["Original-Recipient"] = f"rfc822;{OFFICIAL}"
    per_recipient["Final-Recipient"] = f"rfc822;{OFFICIAL}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Remote-MTA"] = "dns; mbx.ohchr.org"
    per_recipient["Diagnostic-Code"] = f"smtp; {diagnostic}"
    per_recipient["Last-Attempt-Date"] = format_datetime(clock.now())
    status_part = Message()
    status_part["Content-Type"] = "message/delivery-status"
    status_part.set_payload([per_message, per_recipient])
    headers = MIMEText("", "rfc822-headers")
    headers.set_payload(original.split(b"\r\n\r\n", 1)[0].decode("ascii").replace(
        "\r\n", "\n") + "\n")
    report = MIMEMultipart("report", _subparts=[
        MIMEText("This is the mail system at host mx1.ohchr.org.\n\nI'm sorry to have to"
                 " inform you that your message could not be delivered.\n"),
        status_part, headers], **{"report-type": "delivery-status"})
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx1.ohchr.org>"
    report["To"] = to
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = format_datetime(clock.now())
    report["Message-ID"] = "<20261203.dsn.1@mx1.ohchr.org>"
    report["Auto-Submitted"] = "auto-replied"
    return report.as_bytes(policy=WIRE)


def abuse_report(original: bytes, *, to: str,
                 mail_from: str = "letters@campaign.test") -> bytes:
    """A complaint (ARF, RFC 5965) from the office's mail provider, the original attached."""
    fields = Message()
    for name, value in (
            ("Feedback-Type", "abuse"), ("User-Agent", "OfficeMailFilter/2.1"),
            ("Version", "1"), ("Original-Mail-From", f"<{mail_from}>"),
            ("Original-Rcpt-To", f"<{OFFICIAL}>"),
            ("Arrival-Date", format_datetime(clock.now())),
            ("Reporting-MTA", "dns; mx1.ohchr.org"), ("Source-IP", "192.0.2.1"),
            ("Reported-Domain", "campaign.test")):
        fields[name] = value
    feedback = Message()
    feedback["Content-Type"] = "message/feedback-report"
    feedback.set_payload([fields])
    attached = Message()
    attached["Content-Type"] = "message/rfc822"
    attached.set_payload([message_from_bytes(original, policy=policy.compat32)])
    report = MIMEMultipart("report", _subparts=[
        MIMEText("This is an email abuse report for an email message received from IP"
                 " 192.0.2.1 on " + format_datetime(clock.now()) + ".\n"),
        feedback, attached], **{"report-type": "feedback-report"})
    report["From"] = "<abuse@ohchr.org>"
    report["To"] = to
    report["Subject"] = "FW: Please free Azat Miftakhov"
    report["Date"] = format_datetime(clock.now())
    report["Message-ID"] = "<20261203.arf.1@mx1.ohchr.org>"
    return report.as_bytes(policy=WIRE)


def report_to(app: Any, address: str, raw: bytes) -> None:
    """Hand a report to `advocacy inbound`'s server over SMTP, with the null sender of
    automatic mail (RFC 5321, 4.5.5), as the campaign's MX would."""
    port = free_port()
    server = inbound_server(app, "127.0.0.1", port)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("", [address], raw)
    finally:
        server.stop()


def sent_to_office(app: Any, sink: Sink) -> tuple[Letter, Received]:
    """A letter delivered to OFFICIAL through the sink, and the message as it arrived."""
    ids = seed_queued(1)
    deliver_letters(ids)
    letter = db.session.scalars(select(Letter).join(Official).where(
        Official.email == OFFICIAL, Letter.id.in_(ids))).one()
    assert letter.status == LetterStatus.SENT
    [message] = [m for m in sink.received if m.rcpt_tos == [OFFICIAL]]
    return letter, message


def office() -> Official:
    return db.session.scalars(select(Official).where(Official.email == OFFICIAL)).one()


def next_letter_is_held(reason: HoldReason) -> Letter:
    ids = seed_queued(1)
    deliver_letters(ids)
    db.session.expire_all()
    [later] = db.session.scalars(select(Letter).join(Official).where(
        Official.email == OFFICIAL, Letter.id.in_(ids))).all()
    assert (later.status, later.hold_reason) == (LetterStatus.HELD, reason)
    return later


# --- every email the project sends -----------------------------------------------------------

def test_every_kind_of_email_has_a_message_id_a_date_and_a_signed_bounce_address(
    app: Any, client: Any, sink: Sink, people: dict[str, Any]
) -> None:
    # Letters to officials.
    ids = seed_queued(1)
    deliver_letters(ids)
    # A digest: two letters to one office held for its day's email.
    digest_ids = seed_queued(2)
    first_office = db.session.get_one(Letter, digest_ids[0]).target_id
    held = [i for i in digest_ids if db.session.get_one(Letter, i).target_id == first_office]
    db.session.execute(update(Letter).where(Letter.id.in_(held)).values(
        status=LetterStatus.HELD, hold_reason=HoldReason.DIGEST, digest_key="1:2:2026-12-03"))
    db.session.commit()
    assert send_digest("1:2:2026-12-03") == 2
    # A confirmation, its reminder, and "you had written to them already".
    assert client.post("/api/letters", json=submission()).status_code == 202
    work(app)
    sub = db.session.scalars(select(Submission).order_by(Submission.id.desc())).first()
    assert sub is not None
    assert notices.send_confirmation(sub.id, reminder=True)
    assert client.post("/api/letters", json=submission()).status_code == 202
    work(app)
    # The data link, a reply notice, an invitation, a test letter.
    assert notices.send_data_link(sub.supporter_id, "en")
    letter = db.session.get_one(Letter, ids[0])
    reply = Reply(letter_id=letter.id, from_address="o@ohchr.org", subject="Re", text="Thanks",
                  authenticated=True, authentication="DKIM pass for ohchr.org")
    owner = people["owner"]
    invitation = Invitation(email="new@campaign.test", role="editor", token_hash="x" * 64,
                            invited_by=owner.id, expires_at=clock.now() + timedelta(days=7))
    db.session.add_all([reply, invitation])
    db.session.commit()
    assert notices.notify_reply(reply.id)
    assert notices.send_invitation(invitation.id, "http://campaign.test/admin/invitation/x")
    template = current_template(sub.campaign, db.session.get_one(Body, sub.body_id), "en")
    assert template is not None
    assert notices.send_proof(template.id, letter.target_id, owner.id)

    kinds: dict[str, set[int]] = {}
    message_ids = []
    for received in sink.received:
        msg = received.message()
        match = VERP.match(received.mail_from)
        assert match, (received.mail_from, msg["Subject"])
        named = bounced(received.mail_from)
        assert named is not None and (named.kind, named.row) == (
            match.group(1), int(match.group(2)))
        kinds.setdefault(named.kind, set()).add(named.row)
        assert received.mail_from != msg["From"].addresses[0].addr_spec  # never the From
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(msg["Message-ID"])), msg["Subject"]
        message_ids.append(str(msg["Message-ID"]))
        assert parsedate_to_datetime(str(msg["Date"])).tzinfo is not None
    assert len(set(message_ids)) == len(message_ids)
    assert set(kinds) == {"letter", "digest", "confirm", "already", "data", "reply",
                          "invite", "test"}
    assert kinds["letter"] >= set(ids) - set(held)
    assert len(kinds["digest"]) == 1 and kinds["digest"] <= set(held)  # its first letter
    assert kinds["confirm"] == {sub.id}  # the confirmation and its reminder name the same
    assert kinds["data"] == {sub.supporter_id} and kinds["reply"] == {reply.id}
    assert kinds["invite"] == {invitation.id} and kinds["test"] == {owner.id}


def test_bounce_addresses_are_signed_per_kind_and_row(app: Any) -> None:
    address = bounce_address("letter", 41, "letters@campaign.test")
    assert bounced(address) is not None and bounced(address.upper()) is not None
    assert bounced(address.replace("letter-41", "letter-42")) is None  # another row
    assert bounced(address.replace("letter-", "digest-")) is None  # another kind
    # A relay address is signed for another purpose: its token is no bounce token.
    token = reply_address(41, "letters@campaign.test").split("-")[1].split("@")[0]
    assert bounced(f"bounce+letter-41-{token}@campaign.test") is None
    with pytest.raises(ValueError, match="not a kind"):
        bounce_address("anything", 1, "letters@campaign.test")


# --- reading reports -------------------------------------------------------------------------

def test_reports_are_read_by_their_action_and_status(app: Any) -> None:
    original = b"From: a@campaign.test\r\nSubject: x\r\n\r\nbody\r\n"
    gave_up = read_report(delivery_status(  # RFC 3464's own example: failed, with 4.0.0
        original, action="failed", status="4.0.0", diagnostic="426 connection timed out",
        to="x@campaign.test"))
    assert (gave_up.what, gave_up.status) == ("bounce", "4.0.0")
    assert read_report(delivery_status(
        original, action="delivered", status="2.0.0", diagnostic="250 ok",
        to="x@campaign.test")).what == "other"
    holiday = b"From: o@ohchr.org\r\nSubject: Out of office\r\n\r\nBack on Monday.\r\n"
    assert read_report(holiday).what == "other"
    assert read_report(abuse_report(original, to="x@campaign.test")).what == "complaint"


# --- through `advocacy inbound` ----------------------------------------------------------------

def test_a_permanent_failure_after_acceptance_fails_the_letter_and_flags_the_office(
    app: Any, sink: Sink
) -> None:
    letter, message = sent_to_office(app, sink)
    report_to(app, message.mail_from, delivery_status(
        message.data, action="failed", status="5.1.1",
        diagnostic="550 5.1.1 <urgent-action@ohchr.org>: Recipient address rejected: User"
                   " unknown in virtual mailbox table", to=message.mail_from))

    db.session.expire_all()
    letter = db.session.get_one(Letter, letter.id)
    assert letter.status == LetterStatus.FAILED
    assert letter.last_error is not None
    assert letter.last_error.startswith("bounced after delivery: 5.1.1 smtp; 550 5.1.1")
    assert office().bounced_at is not None and "User unknown" in (office().bounce_reason or "")
    next_letter_is_held(HoldReason.BOUNCED)  # waits for an organizer, as after a refusal


def test_a_delay_is_noted_and_slows_the_domain_not_a_bounce(app: Any, sink: Sink) -> None:
    letter, message = sent_to_office(app, sink)
    report_to(app, message.mail_from, delivery_status(
        message.data, action="delayed", status="4.4.1",
        diagnostic="421 4.4.1 mbx.ohchr.org: connection timed out", to=message.mail_from))

    db.session.expire_all()
    letter = db.session.get_one(Letter, letter.id)
    assert letter.status == LetterStatus.SENT
    assert (letter.last_error or "").startswith("delayed after delivery (not a bounce): 4.4.1")
    assert office().bounced_at is None and not office().paused
    assert delivery_limiter().slowdown("ohchr.org", clock.now().timestamp() + 2).level == 1


def test_a_complaint_pauses_the_office_and_tells_the_organizers(
    app: Any, client: Any, sink: Sink, people: dict[str, Any]
) -> None:
    letter, message = sent_to_office(app, sink)
    report_to(app, message.mail_from, abuse_report(message.data, to=message.mail_from))

    db.session.expire_all()
    assert db.session.get_one(Letter, letter.id).status == LetterStatus.SENT
    paused = office()
    assert paused.paused and paused.complained_at is not None
    assert paused.pause_reason == "complaint: abuse report from OfficeMailFilter/2.1"
    [entry] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "complaint received")).all()
    assert entry.subject == paused.key and entry.details["letter"] == letter.id
    held = next_letter_is_held(HoldReason.PAUSED)
    assert (held.last_error or "").startswith("paused: complaint")  # the office's own reason

    log_in(client, people["viewer"].email)
    page = client.get("/admin/").data.decode()
    start = page.index('id="complaints"')
    alert = page[start:page.index("</section>", start)]
    assert paused.office in alert and "reported our mail as unwanted" in alert
    assert f'href="/admin/targets/{paused.id}#sending"' in alert  # where it is resumed

    from advocacy.organizers.controls import set_paused
    set_paused(None, paused.key, paused=False)  # an organizer resumes it: the alert goes
    assert 'id="complaints"' not in client.get("/admin/").data.decode()


def test_a_forged_bounce_address_is_refused_and_changes_nothing(app: Any, sink: Sink) -> None:
    letter, message = sent_to_office(app, sink)
    forged = re.sub(r"-[0-9a-f]{20}@", "-" + "0" * 20 + "@", message.mail_from)
    report = delivery_status(message.data, action="failed", status="5.1.1",
                             diagnostic="550 5.1.1 unknown", to=forged)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        report_to(app, forged, report)
    # A valid bounce address of another email: the report's words (the recipient, the
    # original's headers) are not believed, only what the address names.
    other = bounce_address("data", 1, "letters@campaign.test")
    report_to(app, other, report)

    db.session.expire_all()
    assert db.session.get_one(Letter, letter.id).status == LetterStatus.SENT
    assert office().bounced_at is None and not office().paused


def test_a_feedback_loop_report_counts_by_the_signed_address_it_quotes(
    app: Any, sink: Sink
) -> None:
    """Providers' feedback loops send every complaint to one registered address (bounce@):
    the report then counts by the bounce address it quotes, if the signature is ours."""
    _letter, message = sent_to_office(app, sink)
    forged = re.sub(r"-[0-9a-f]{20}@", "-" + "1" * 20 + "@", message.mail_from)
    as_delivered = b"Return-Path: <%s>\r\n" % forged.encode() + message.data
    report_to(app, "bounce@campaign.test", abuse_report(
        as_delivered, to="bounce@campaign.test", mail_from=forged))
    db.session.expire_all()
    assert not office().paused  # a signature that is not ours: dropped

    # The Return-Path the office's server wrote on the original, as the report attaches it.
    as_delivered = b"Return-Path: <%s>\r\n" % message.mail_from.encode() + message.data
    report_to(app, "bounce@campaign.test", abuse_report(as_delivered, to="bounce@campaign.test"))
    db.session.expire_all()
    assert office().paused and office().complained_at is not None


# --- deferrals at delivery ----------------------------------------------------------------------

def test_deferrals_from_one_domain_slow_that_domain_down(app: Any, sink: Sink) -> None:
    sink.handler.rcpt_reply = lambda to: "451 4.7.1 Try again later" if to.endswith(
        "@ohchr.org") else None
    ids = seed_queued(1)
    deliver_letters(ids)
    db.session.expire_all()
    deferred = db.session.scalars(select(Letter).join(Official).where(
        Official.email == OFFICIAL, Letter.id.in_(ids))).one()
    assert deferred.status == LetterStatus.QUEUED and "451" in (deferred.last_error or "")
    assert {m.rcpt_tos[0].rpartition("@")[2] for m in sink.received} == {"un.org"}

    limiter = delivery_limiter()
    now = clock.now().timestamp() + 2
    assert limiter.slowdown("ohchr.org", now).now(now) == 1
    assert limiter.slowdown("un.org", now).now(now) == 0
    # A second deferral in the same burst is the same signal; one later halves again.
    assert limiter.slow_down("ohchr.org", now) == 1
    assert limiter.slow_down("ohchr.org", now + 40) == 2

    # What the halving means: 8/minute at ohchr.org is 2/minute now, while un.org keeps 8.
    limits = RateLimits(relay=None, per_domain="8/minute", per_official_hour=None,
                        per_official_day=None)
    at = now + 41
    taken = {d: sum(limiter.acquire(limits, f"o{i}", d, at + i / 100) is None
                    for i in range(8)) for d in ("ohchr.org", "un.org")}
    assert taken == {"ohchr.org": 2, "un.org": 8}
    # It comes back one halving per RECOVER_EVERY seconds without deferrals.
    assert limiter.slowdown("ohchr.org", at).now(at + RECOVER_EVERY) == 1
    assert limiter.slowdown("ohchr.org", at).now(at + 2 * RECOVER_EVERY) == 0


def test_a_digest_that_bounces_fails_every_letter_it_carried(app: Any, sink: Sink) -> None:
    ids = seed_queued(3)
    theirs = list(db.session.scalars(select(Letter.id).join(Official).where(
        Official.email == OFFICIAL, Letter.id.in_(ids))))
    db.session.execute(update(Letter).where(Letter.id.in_(theirs)).values(
        status=LetterStatus.HELD, hold_reason=HoldReason.DIGEST, digest_key="1:1:2026-12-03"))
    db.session.commit()
    assert send_digest("1:1:2026-12-03") == 3
    [digest] = [m for m in sink.received if m.rcpt_tos == [OFFICIAL]]
    report_to(app, digest.mail_from, delivery_status(
        digest.data, action="failed", status="5.2.2", diagnostic="552 5.2.2 Mailbox full",
        to=digest.mail_from))

    db.session.expire_all()
    assert {db.session.get_one(Letter, i).status for i in theirs} == {LetterStatus.FAILED}
    others = set(ids) - set(theirs)
    assert {db.session.get_one(Letter, i).status for i in others} == {LetterStatus.QUEUED}
    assert office().bounce_reason == "bounced after delivery: 5.2.2 smtp; 552 5.2.2 Mailbox full"


@needs_chromium
@ONE_DATABASE
@pytest.mark.usefixtures("people")
def test_the_complaint_alert_reads_well_on_a_phone_and_a_desktop(
    app: Any, live: str, browser: Any, sink: Sink, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    _letter, message = sent_to_office(app, sink)
    report_to(app, message.mail_from, abuse_report(message.data, to=message.mail_from))
    shots = shots_for(request, "complaint-alert")
    for name, size in (("phone", {"width": 390, "height": 844}),
                       ("desktop", {"width": 1366, "height": 900})):
        page = organizer_page(browser, live, PEOPLE["viewer"], PASSWORD)
        page.set_viewport_size(size)
        alert = page.locator("#complaints")
        expect(alert).to_be_visible()
        expect(alert.locator("li")).to_have_count(1)
        expect(alert).to_contain_text("reported our mail as unwanted")
        box = alert.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        assert accessibility_problems(page) == []
        page.screenshot(path=str(shots / f"{name}.png"))
        page.close()


def test_a_letter_that_bounces_days_later_counts_as_sent_no_more(app: Any) -> None:
    ids = seed_queued(2)
    send(ids, NOW - timedelta(days=4))  # long before the rollup's recounted days
    roll_up(NOW - timedelta(hours=2))
    assert state_counts(Filters())[LetterStatus.SENT] == len(ids)

    dsn = delivery_status(b"From: x@campaign.test\r\n\r\n", action="failed", status="5.1.1",
                          diagnostic="550 5.1.1 unknown", to="x@campaign.test")
    receive(Bounced("letter", ids[0]), dsn)
    roll_up(NOW + timedelta(hours=2))
    counts = state_counts(Filters())
    assert (counts[LetterStatus.SENT], counts[LetterStatus.FAILED]) == (len(ids) - 1, 1)
    assert sum(n for _day, n in table("day", Filters())) == len(ids) - 1


def test_a_report_on_a_letter_still_being_recorded_is_asked_again_later(
    app: Any, sink: Sink
) -> None:
    # A letter's `sent` is written at the end of its claim: a quick bounce may come first.
    letter, message = sent_to_office(app, sink)
    db.session.execute(update(Letter).where(Letter.id == letter.id).values(
        status=LetterStatus.SENDING))
    db.session.commit()
    report = delivery_status(message.data, action="failed", status="5.1.1",
                             diagnostic="550 5.1.1 User unknown", to=message.mail_from)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        report_to(app, message.mail_from, report)
    assert refused.value.smtp_code == 451  # the reporting server keeps it and tries again
    db.session.expire_all()
    assert db.session.get_one(Letter, letter.id).status == LetterStatus.SENDING
    assert office().bounced_at is None

    db.session.execute(update(Letter).where(Letter.id == letter.id).values(
        status=LetterStatus.SENT))
    db.session.commit()
    report_to(app, message.mail_from, report)  # its next try, once the outcome is recorded
    db.session.expire_all()
    assert db.session.get_one(Letter, letter.id).status == LetterStatus.FAILED
    assert office().bounced_at is not None
