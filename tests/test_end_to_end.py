"""One supporter's letters, from the JSON API to the officials' inboxes, on real components."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import Letter, LetterStatus, Official, Submission

from helpers import (
    ROOT,
    SUPPORTER,
    confirmation_link,
    submission,
    submit_and_confirm,
    verified_as_a_file_may,
    work,
    worker_env,
)


def test_one_letter_end_to_end(app: Any, client: Any, sink: Sink) -> None:
    reply = client.post("/api/letters", json=submission())
    assert reply.status_code == 202, reply.json
    officials = reply.json["officials"]
    un_emailed = db.session.scalars(
        select(Official).where(Official.key.like("un-%"), Official.email.is_not(None))
    ).all()
    assert len(officials) == len(un_emailed) == 2
    assert client.get("/api/stats").json["letters"]["unconfirmed"] == 2

    # Nothing goes to the officials before the confirmation.
    work(app)
    assert [m.rcpt_tos for m in sink.received] == [["marie.dubois@example.org"]]
    link = confirmation_link(sink)

    # Opening the link shows what will be sent and a button; it does not confirm by itself.
    page = client.get(link)
    assert page.status_code == 200 and b"Confirm" in page.data
    assert client.get("/api/stats").json["letters"]["queued"] == 0

    confirmed = client.post(link)
    assert confirmed.status_code == 200
    # The thank-you page offers plain share links to the campaign page, and no script but
    # the site's own (the Web Share button, where the browser has it).
    thanks = confirmed.data.decode()
    assert "Ask others to write too" in thanks
    assert re.findall(r"<script[^>]*>", thanks) == ['<script src="/static/share.js" defer>']
    assert "https://wa.me/?text=" in thanks and "http%3A//campaign.test/" in thanks
    assert client.get("/api/stats").json["letters"]["queued"] == 2

    work(app)
    to_officials = [m for m in sink.received if m.rcpt_tos != ["marie.dubois@example.org"]]
    assert sorted(r for m in to_officials for r in m.rcpt_tos) == sorted(
        t.email for t in un_emailed
    )
    for item in to_officials:
        msg = item.message()
        assert msg["From"].addresses[0].addr_spec == "letters@campaign.test"
        assert msg["From"].addresses[0].display_name == "Marie Dubois via Free Azat Miftakhov"
        assert msg["Reply-To"].addresses[0].addr_spec == "marie.dubois@example.org"
        assert re.fullmatch(r"bounce\+letter-\d+-[0-9a-f]{20}@campaign\.test", item.mail_from)
        assert re.fullmatch(r"<letter-\d+@campaign\.test>", msg["Message-ID"])
        text = msg.get_content()
        assert "Azat Miftakhov" in text and "I teach mathematics in Lyon." in text
        assert "Marie Dubois" in text and "Lyon, France" in text
        assert "{{" not in text and "{%" not in text

    stats = client.get("/api/stats").json
    assert stats["letters"]["sent"] == 2
    assert stats["by_body"]["un"]["sent"] == 2
    assert stats["by_body"]["eu"]["sent"] == 0

    # A second click on the link sends nothing twice.
    client.post(link)
    work(app)
    assert len(sink.received) == 3


def test_a_second_submission_to_the_same_officials_is_told_by_email_only(
    app: Any, client: Any, sink: Sink
) -> None:
    """The answer is the first one's; no letter is added; the email tells the inbox."""
    first = client.post("/api/letters", json=submission())
    same_person = {**SUPPORTER, "email": "marie.dubois@example.org"}
    again = client.post("/api/letters", json=submission(supporter=same_person))
    assert (again.status_code, again.json) == (first.status_code, first.json) == (202, first.json)
    assert db.session.scalar(select(db.func.count(Letter.id))) == 2
    work(app)
    first_mail, second_mail = (m.message() for m in sink.received)
    assert "confirm" in first_mail["Subject"].lower()
    text = second_mail.get_content()
    assert "already written" in text and "nothing new to confirm" in text.lower()
    for official in first.json["officials"]:
        assert official["official"] in text
    # The empty second submission is gone: only the first is kept.
    assert db.session.scalar(select(db.func.count(Submission.id))) == 1
    # The earlier letters wait for a confirmation: this email brings a link that confirms
    # them (freshly signed, so it need not equal the first email's link byte for byte).
    match = re.search(r"https?://[^/\s]+(/confirm/\S+)", text)
    assert match, text
    assert client.get("/api/stats").json["letters"]["queued"] == 0
    assert client.post(match.group(1)).status_code == 200
    assert client.get("/api/stats").json["letters"]["queued"] == 2


def test_live_mode_holds_letters_to_unverified_addresses(app: Any, client: Any, sink: Sink) -> None:
    verified_as_a_file_may("un-sr-torture")
    official = db.session.scalars(select(Official).where(Official.key == "un-wgad")).one()
    official.verified = False
    db.session.commit()
    submit_and_confirm(app, client, sink)
    app.config["ADVOCACY_MODE"] = "live"
    work(app)
    db.session.expire_all()
    states = {t.key: s for s, t in db.session.execute(
        select(Letter.status, Official).join(Official, Letter.target_id == Official.id))}
    assert states == {"un-wgad": LetterStatus.HELD, "un-sr-torture": LetterStatus.SENT}
    assert all("hrc-wg-ad@un.org" not in m.rcpt_tos for m in sink.received)


def test_permanent_refusal_marks_the_letter_failed_with_the_reason(
    app: Any, client: Any, sink: Sink
) -> None:
    submit_and_confirm(app, client, sink)
    sink.handler.reply = lambda item: (
        "550 5.1.1 mailbox unavailable" if "urgent-action@ohchr.org" in item.rcpt_tos else None
    )
    work(app)
    db.session.expire_all()
    failed = db.session.scalars(select(Letter).where(Letter.status == LetterStatus.FAILED)).one()
    assert failed.official.key == "un-sr-torture"
    assert failed.last_error is not None and "550" in failed.last_error
    assert "mailbox unavailable" in failed.last_error
    assert db.session.scalar(
        select(db.func.count(Letter.id)).where(Letter.status == LetterStatus.SENT)) == 1


def test_reconcile_requeues_letters_when_redis_lost_the_jobs(
    app: Any, client: Any, sink: Sink, runner: Any
) -> None:
    from advocacy.delivery.queue import get_queue

    submit_and_confirm(app, client, sink)
    get_queue().empty()  # Redis lost its jobs: the database still knows
    work(app)
    assert len(sink.received) == 1
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert '"letters": 2' in result.output
    work(app)
    assert len(sink.received) == 3


def test_worker_py_delivers_in_its_own_process(
    app: Any, client: Any, sink: Sink, tmp_path: Any
) -> None:
    import subprocess
    import sys


    submit_and_confirm(app, client, sink)
    env = worker_env(app, sink.url, tmp_path)
    done = subprocess.run([sys.executable, str(ROOT / "worker.py"), "--burst"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(sink.received) == 3
    assert client.get("/api/stats").json["letters"]["sent"] == 2


def test_one_reminder_after_a_day_and_unconfirmed_letters_expire_after_seven(
    app: Any, client: Any, sink: Sink, monkeypatch: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from advocacy import clock
    from advocacy.delivery.reconcile import reconcile

    start = datetime.now(UTC)
    now = {"value": start}
    monkeypatch.setattr(clock, "now", lambda: now["value"])
    assert client.post("/api/letters", json=submission()).status_code == 202
    work(app)
    assert len(sink.received) == 1

    now["value"] = start + timedelta(hours=23)
    assert reconcile()["reminders"] == 0
    now["value"] = start + timedelta(hours=25)
    assert reconcile()["reminders"] == 1
    work(app)
    assert len(sink.received) == 2
    assert sink.received[1].message()["Subject"].startswith("Reminder")
    assert "/confirm/" in sink.received[1].message().get_content()
    assert reconcile()["reminders"] == 0  # one reminder, never two
    work(app)
    assert len(sink.received) == 2

    now["value"] = start + timedelta(days=7, minutes=1)
    assert reconcile()["expired"] == 2
    stats = client.get("/api/stats").json["letters"]
    assert stats["cancelled"] == 2 and stats["unconfirmed"] == 0
    # The supporter may write again; the old link no longer sends anything.
    assert client.post("/api/letters", json=submission()).status_code == 202
