"""Replies and accountability (issue 19): replies through the relay counted per office, the
one "did you get a reply?" email two weeks after delivery, its one-click answers and pasted
replies (encrypted, purged with retention), reply rates on the dashboard and in the hand-over
report, and organizers' dated follow-up rounds to the offices that have not answered.

Real components throughout: the API and the form, the worker's queue on Redis, the aiosmtpd
sink, `advocacy inbound` over SMTP, the database; time moves with the clock fixture."""

from __future__ import annotations

import re
import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from typing import Any

from sqlalchemy import func, select, text

from advocacy import housekeeping
from advocacy.crypto import unseal
from advocacy.delivery.queue import Job, enqueue
from advocacy.delivery.reply_check import ask_about_reply
from advocacy.delivery.sink import Sink, free_port
from advocacy.extensions import db
from advocacy.letters.addresses import reply_address
from advocacy.letters.emails import letter_message_id
from advocacy.models import (
    AuditEntry,
    Campaign,
    FollowUpLetter,
    FollowUpRound,
    Letter,
    LetterStatus,
    Official,
    ReplyAnswer,
    Submission,
)
from advocacy.privacy.replies import inbound_server
from advocacy.privacy.retention import purge
from advocacy.reporting.dashboard import Filters
from advocacy.reporting.reply_rates import reply_rates, unanswered

from helpers import OFFICIAL, PEOPLE, csrf, dns, log_in, work

SENDER = "letters@campaign.test"
MX = "mx.campaign.test"
ASKED = {"name": "Ilse Marrow", "email": "ilse.m@example.org", "city": "Ghent", "country": "BE"}
NOT_ASKED = {"name": "Tomas Berg", "email": "tomas.b@example.org", "city": "Oslo",
             "country": "NO"}


def write(client: Any, sink: Sink, app: Any, supporter: dict[str, str], ask: bool) -> None:
    """One supporter writes to the UN's offices (asking to be asked, or not) and confirms."""
    sent = client.post("/api/letters", json={
        "campaign": "free-azat-miftakhov", "body": "un", "language": "en",
        "supporter": supporter, "consent": True, "ask_reply": ask})
    assert sent.status_code == 202, sent.json
    work(app)
    [mail] = [m for m in sink.received if m.rcpt_tos == [supporter["email"]]
              and "confirm" in m.message()["Subject"].lower()]
    link = re.search(r"https?://[^/\s]+(/confirm/\S+)", mail.message().get_content())
    assert link
    assert client.post(link.group(1)).status_code == 200
    work(app)


def two_supporters(app: Any, client: Any, sink: Sink) -> None:
    campaign = db.session.scalars(select(Campaign)).one()
    campaign.reply_to = "relay"
    db.session.commit()
    write(client, sink, app, ASKED, ask=True)
    write(client, sink, app, NOT_ASKED, ask=False)
    assert db.session.scalar(select(func.count()).select_from(Letter).where(
        Letter.status != LetterStatus.SENT)) == 0


def letter_to_official(email: str) -> Letter:
    """The letter to OFFICIAL of one of the two supporters (the first to write has the
    lower id)."""
    letters = db.session.scalars(select(Letter).join(Official).where(
        Official.email == OFFICIAL).order_by(Letter.id)).all()
    return letters[0 if email == ASKED["email"] else 1]


def office_reply(letter: Letter, results: str | None) -> bytes:
    """An office's answer to a letter, as a mail program writes it: to the letter's relay
    address, In-Reply-To and References its Message-ID; with the MX's Authentication-Results
    when `results` is given."""
    msg = EmailMessage()
    if results:
        msg["Authentication-Results"] = results
    msg["From"] = "Urgent Action <urgent-action@ohchr.org>"
    msg["To"] = reply_address(letter.id, SENDER)
    msg["Subject"] = "Re: Free Azat Miftakhov"
    msg["Message-ID"] = make_msgid(domain="ohchr.org")
    msg["In-Reply-To"] = letter_message_id(letter.id, SENDER)
    msg["References"] = letter_message_id(letter.id, SENDER)
    msg.set_content("Thank you for your letter. We have raised the case with the authorities.")
    return msg.as_bytes(policy=SMTP)


def through_inbound(app: Any, letter: Letter, raw: bytes) -> None:
    """Hand the reply to `advocacy inbound` over SMTP, as the campaign's MX would."""
    port = free_port()
    server = inbound_server(app, "127.0.0.1", port, dnsfunc=dns(), trusted_authserv_id=MX)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("bounces@ohchr.org", [reply_address(letter.id, SENDER)], raw)
    finally:
        server.stop()


def row_for(rates: list[Any], email: str) -> Any:
    target = db.session.scalar(select(Official.id).where(Official.email == email))
    [row] = [r for r in rates if r.target_id == target]
    return row


def questions(sink: Sink) -> list[EmailMessage]:
    return [m.message() for m in sink.received if "Did you get a reply" in m.message()["Subject"]]


def two_weeks_later(app: Any, fake_now: Any, days: int = 15) -> None:
    fake_now.set(datetime.now(UTC) + timedelta(days=days))
    with app.app_context():
        housekeeping.run()
    work(app)


# --- replies through the relay, counted per office --------------------------------------------

def test_relayed_replies_are_counted_per_office_confirmed_ones_apart(
    app: Any, client: Any, sink: Sink
) -> None:
    two_supporters(app, client, sink)
    first, second = letter_to_official(ASKED["email"]), letter_to_official(NOT_ASKED["email"])
    assert first.id != second.id
    # The MX vouches for the first (DKIM pass for the office's domain); the second has no
    # evidence: kept, counted apart.
    through_inbound(app, first, office_reply(first, f"{MX}; dkim=pass header.d=ohchr.org"))
    through_inbound(app, second, office_reply(second, None))

    db.session.expire_all()
    assert (first.relayed_reply, second.relayed_reply) == ("confirmed", "unconfirmed")
    row = row_for(reply_rates(Filters()), OFFICIAL)
    assert (row.letters, row.relayed, row.unconfirmed) == (2, 1, 1)
    assert row.relayed_percent == 50.0 and row.answered
    others = [r for r in reply_rates(Filters()) if r.target_id != row.target_id]
    assert others and all(r.relayed == r.unconfirmed == 0 for r in others)
    # Only the confirmed reply is "an answer": the office is not followed up.
    assert row.target_id not in {o.target_id for o in unanswered(first.campaign_id)}


# --- the form's box ------------------------------------------------------------------------

def test_the_box_is_optional_and_unticked(client: Any) -> None:
    page = client.get("/?lang=en").data.decode()
    box = re.search(r'<input type="checkbox" id="ask_reply"[^>]*>', page)
    assert box and "checked" not in box.group(0)
    assert "ask me once by email whether I got a reply" in page


# --- the question, two weeks after delivery -------------------------------------------------

def test_one_question_per_consenting_supporter_never_twice(
    app: Any, client: Any, sink: Sink, fake_now: Any
) -> None:
    fake_now.set(datetime.now(UTC))
    two_supporters(app, client, sink)
    asked = db.session.scalars(select(Submission).join(Submission.supporter).where(
        Submission.reply_check_at.is_not(None))).all()
    assert len(asked) == 1

    two_weeks_later(app, fake_now, days=13)  # not yet: two weeks after delivery
    assert questions(sink) == []

    two_weeks_later(app, fake_now, days=15)
    [question] = questions(sink)
    assert question["To"] == ASKED["email"]
    assert question["Message-ID"] and question["Date"]
    body = question.get_content()
    offices = db.session.scalar(select(func.count()).select_from(Letter).where(
        Letter.submission_id == asked[0].id))
    assert len(re.findall(r"/reply-answer/\S+", body)) == 3 * offices  # yes, no, not yet each

    # The job run again, queued again by hand, the hourly round again: nothing more.
    assert ask_about_reply(asked[0].id) is False
    enqueue(Job.ASK_ABOUT_REPLY, asked[0].id)
    two_weeks_later(app, fake_now, days=16)
    work(app)
    assert len(questions(sink)) == 1
    assert [m for m in questions(sink) if m["To"] == NOT_ASKED["email"]] == []


def answer_links(sink: Sink) -> dict[str, list[str]]:
    """The question's links by answer, in the order of its offices."""
    [question] = questions(sink)
    found: dict[str, list[str]] = {"yes": [], "no": [], "not_yet": []}
    body = question.get_content()
    for label, answer in (("Yes, they replied:", "yes"), ("No, they did not:", "no"),
                          ("Not yet:", "not_yet")):
        found[answer] = re.findall(re.escape(label) + r" https?://[^/\s]+(/reply-answer/\S+)",
                                   body)
    return found


def test_the_one_click_answer_and_the_pasted_reply(
    app: Any, client: Any, sink: Sink, fake_now: Any
) -> None:
    fake_now.set(datetime.now(UTC))
    two_supporters(app, client, sink)
    two_weeks_later(app, fake_now)
    links = answer_links(sink)
    yes, no = links["yes"][0], links["no"][1]

    page = client.get(yes)
    assert page.status_code == 200
    assert re.search(r'value="yes" checked', page.data.decode())
    assert db.session.scalar(select(func.count()).select_from(ReplyAnswer)) == 0  # a look only

    pasted = "Dear Ms Marrow, we raised the case of Mr Miftakhov with the authorities."
    done = client.post(yes, data={"answer": "yes", "reply": pasted})
    assert done.status_code == 200 and "your answer is recorded" in done.data.decode()
    assert client.post(no, data={}).status_code == 200  # the link's own answer

    db.session.expire_all()
    answers = db.session.scalars(select(ReplyAnswer).order_by(ReplyAnswer.id)).all()
    assert [a.answer for a in answers] == ["yes", "no"]
    assert answers[0].text == pasted and answers[1].text is None
    raw = db.session.execute(text("SELECT text FROM reply_answer WHERE id = :id"),
                             {"id": answers[0].id}).scalar_one()
    assert pasted not in raw and unseal(raw) == pasted  # encrypted at rest

    yes_office = answers[0].letter.target_id
    rates = {r.target_id: r for r in reply_rates(Filters())}
    assert (rates[yes_office].yes, rates[yes_office].asked, rates[yes_office].letters) == (1, 1, 2)
    assert rates[answers[1].letter.target_id].no == 1

    # Forged links open nothing.
    token = yes.split("?")[0]
    assert client.get(token[:-3] + "xyz").status_code == 404

    # Retention: the pasted reply goes with the letters' details; the answer, a count, stays.
    fake_now.set(datetime.now(UTC) + timedelta(days=app.config["RETENTION_DAYS"] + 1))
    report = purge()
    assert report.pasted_replies == 1
    db.session.expire_all()
    kept = db.session.get_one(ReplyAnswer, answers[0].id)
    assert (kept.answer, kept.text) == ("yes", None)
    assert client.get(yes).status_code == 404  # the link died with the writer's data


# --- dashboard and hand-over report ---------------------------------------------------------

def test_the_dashboard_and_the_report_show_reply_rates(
    app: Any, client: Any, sink: Sink, people: Any
) -> None:
    two_supporters(app, client, sink)
    first = letter_to_official(ASKED["email"])
    through_inbound(app, first, office_reply(first, f"{MX}; dkim=pass header.d=ohchr.org"))
    log_in(client, PEOPLE["viewer"])

    page = client.get("/admin/?lang=en").data.decode()
    table = page[page.index('id="table-reply-rates"'):]
    table = table[:table.index("</table>")]
    target = db.session.scalar(select(Official).where(Official.email == OFFICIAL))
    assert target is not None
    row = re.search(rf'<tr data-office="{target.id}">(.*?)</tr>', table, re.S)
    assert row
    cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row.group(1))
    assert cells[:2] == ["2", "1 (50.0%)"]

    report = client.get(f"/admin/report?official={target.key}").data.decode()
    assert 'id="report-replies"' in report
    row = re.search(rf'<tr data-office="{target.id}">(.*?)</tr>', report, re.S)
    assert row
    assert re.findall(r'<td[^>]*class="num">([^<]*)</td>', row.group(1))[:2] == ["2", "1 (50.0%)"]


# --- follow-up rounds -------------------------------------------------------------------------

def test_a_follow_up_round_writes_once_to_each_office_that_has_not_answered(
    app: Any, client: Any, sink: Sink, people: Any
) -> None:
    two_supporters(app, client, sink)
    first = letter_to_official(ASKED["email"])
    through_inbound(app, first, office_reply(first, f"{MX}; dkim=pass header.d=ohchr.org"))
    campaign = db.session.scalars(select(Campaign)).one()
    waiting = {o.target_id for o in unanswered(campaign.id)}
    written = set(db.session.scalars(select(Letter.target_id).distinct()))
    assert waiting == written - {first.target_id} and waiting

    log_in(client, PEOPLE["editor"])
    url = f"/admin/campaigns/{campaign.slug}/follow-ups"
    page = client.get(url).data.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"csrf_token": token.group(1), "day": "2026-12-18",
            "subject": "Follow-up: Azat Miftakhov", "text": "We wrote to you about Azat"
            " Miftakhov a month ago and have had no answer. Could you tell us what you did?"}
    before = len(sink.received)
    assert client.post(url, data=form).status_code == 302
    work(app)

    db.session.expire_all()
    letters = db.session.scalars(select(FollowUpLetter)).all()
    assert {f.target_id for f in letters} == waiting
    assert all(f.status == "sent" for f in letters)
    mails = [m.message() for m in sink.received[before:]
             if m.message()["Message-ID"].startswith("<follow-up-")]  # (the reply's notice aside)
    offices = set(db.session.scalars(select(Official.email).where(Official.id.in_(waiting))))
    assert sorted(m["To"].addresses[0].addr_spec for m in mails) == sorted(offices)
    assert all(m["Subject"] == form["subject"] and m["Date"] for m in mails)
    assert OFFICIAL not in {m["To"].addresses[0].addr_spec for m in mails}  # it answered
    [entry] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "follow-up round")).all()
    assert entry.details["offices"] == len(waiting)

    # The same round again: refused, nothing more queued or sent.
    again = client.post(url, data=form, follow_redirects=True).data.decode()
    assert "already has a follow-up round dated 2026-12-18" in again
    work(app)
    assert db.session.scalar(select(func.count()).select_from(FollowUpRound)) == 1
    assert db.session.scalar(select(func.count()).select_from(FollowUpLetter)) == len(waiting)
    assert len([m for m in sink.received
                if m.message()["Message-ID"].startswith("<follow-up-")]) == len(waiting)

    # A viewer sees the page but may not start a round.
    viewer = app.test_client()
    log_in(viewer, PEOPLE["viewer"])
    assert "table-unanswered" in viewer.get(url).data.decode()
    assert viewer.post(url, data={**form, "csrf_token": csrf(viewer, url)}).status_code == 403
