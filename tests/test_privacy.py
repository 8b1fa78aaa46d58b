"""Supporters' safety and privacy, on real databases, Redis and the SMTP sink.

Encrypted at rest, found by a keyed hash, scrubbed after the retention period with the counts
kept, seen and erased by the supporter from an emailed link, keys rotated without loss, and
never in a log line, a metric, a queued job or a URL.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
from email.utils import parseaddr
from typing import Any

import pytest
from rq.job import Job
from rq.registry import FinishedJobRegistry
from sqlalchemy import select, text, update

from advocacy import crypto
from advocacy.connections import get_redis
from advocacy.delivery.queue import get_queue
from advocacy.delivery.sink import Sink, free_port
from advocacy.extensions import db
from advocacy.letters.addresses import letter_of
from advocacy.models import Campaign, Letter, LetterStatus, OptIn, Reply, Submission, Supporter
from advocacy.privacy.replies import inbound_server, store_reply
from advocacy.privacy.retention import purge_if_due
from advocacy.privacy.rights import erase
from advocacy.reporting.handover import Scope, letters

from helpers import (
    OFFICIAL,
    ONE_DATABASE,
    confirmation_link,
    csrf_token,
    dns,
    give_the_coe_an_inbox,
    signed,
    work,
)
from helpers import answer as reply_message

WRITER = {"name": "Zorana Vukotić-Quill", "email": "zq.private@example.org",
          "city": "Quillhaven", "country": "FR"}
# The marker holds a "~", which neither a hash (hex) nor a Fernet token (base64) can hold.
NOTE = "My own words, 7f3a~9c, for Azat."
SECRETS = ("Vukotić", "Vukotic", "zq.private", "Quillhaven", "7f3a~9c")


def letter_json(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"campaign": "free-azat-miftakhov", "body": "un", "language": "en",
                            "supporter": dict(WRITER), "personal_note": NOTE, "consent": True}
    data.update(changes)
    return data


def write_and_deliver(app: Any, client: Any, sink: Sink, **changes: Any) -> None:
    assert client.post("/api/letters", json=letter_json(**changes)).status_code == 202
    work(app)
    assert client.post(confirmation_link(sink)).status_code == 200
    work(app)


def stored_in_clear() -> list[str]:
    """Every value of every table as stored (no decryption), that shows a secret."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(text(f'SELECT * FROM "{table.name}"')):  # noqa: S608
            for value in row:
                shown = str(value)
                if any(s.lower() in shown.lower() for s in SECRETS):
                    found.append(f"{table.name}: {shown[:80]}")
    return found


def readable_anywhere() -> list[str]:
    """Every value as the app reads it (decrypted): what is still held at all."""
    found = []
    for model in (Supporter, Submission, Reply):
        for obj in db.session.scalars(select(model)):
            for column in model.__table__.columns:
                shown = str(getattr(obj, column.key))
                if any(s.lower() in shown.lower() for s in SECRETS):
                    found.append(f"{model.__name__}.{column.key}")
    return found


def test_nothing_personal_in_clear_in_tables_logs_metrics_jobs_or_links(
    app: Any, client: Any, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("advocacy").addHandler(caplog.handler)
    try:
        write_and_deliver(app, client, sink)
        client.get(confirmation_link(sink))
        assert client.post("/api/letters", json=letter_json()).status_code == 202
        work(app)  # the "already written" email and its job, logged too
    finally:
        logging.getLogger("advocacy").removeHandler(caplog.handler)
    sent = db.session.scalars(select(Letter).where(Letter.status == LetterStatus.SENT)).all()
    assert len(sent) == 2  # the journey happened, and the officials got the writer's words
    assert any(NOTE in m.message().get_body().get_content() for m in sink.received)

    assert stored_in_clear() == []
    supporter = db.session.scalars(select(Supporter)).one()
    assert supporter.email == WRITER["email"] and len(supporter.email_hash or "") == 64

    lines = [r.getMessage() + json.dumps(getattr(r, "fields", {}), default=str)
             for r in caplog.records]
    assert lines and not [line for line in lines if any(s in line for s in SECRETS)]

    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert not any(s.lower() in metrics.data.decode().lower() for s in SECRETS)

    queue = get_queue()
    jobs = [Job.fetch(i, connection=get_redis())
            for i in FinishedJobRegistry(queue=queue).get_job_ids()]
    assert jobs and all(isinstance(arg, int | bool | list) for job in jobs for arg in job.args)

    # The links in the emails carry signed ids, never the address.
    links = re.findall(r"https?://\S+", "".join(m.message().get_body().get_content()
                                                for m in sink.received
                                                if m.rcpt_tos == [WRITER["email"]]))
    # (Not "zq" alone: a random token may hold those two letters, as one run showed.)
    assert len(links) >= 2 and not any("zq.private" in link.lower() or "%40" in link
                                       or "example.org" in link for link in links)


def test_purge_scrubs_writers_after_the_retention_period_and_keeps_the_counts(
    app: Any, client: Any, runner: Any, sink: Sink
) -> None:
    write_and_deliver(app, client, sink)
    # A second writer whose letters are not confirmed yet: not scrubbed, still needed.
    other = {"name": "Waiting Writer", "email": "waiting@example.org", "city": "Porto",
             "country": "PT"}
    assert client.post("/api/letters", json=letter_json(
        supporter=other, personal_note="Still waiting.")).status_code == 202
    stats_before = client.get("/api/stats").json
    scope = Scope(official_ids=list(db.session.scalars(select(Letter.target_id))))
    report_before = [(r["id"], r["message_id"], r["hash"]) for r in letters(scope)]
    assert len(report_before) == 2
    # A letter sent before hashes were kept on sending (before migration 0007): the report
    # renders it again, to the same hash; the purge keeps that hash before the words go.
    older = report_before[0][0]
    db.session.execute(update(Letter).where(Letter.id == older).values(content_hash=None))
    db.session.commit()
    assert [(r["id"], r["message_id"], r["hash"]) for r in letters(scope)] == report_before

    assert json.loads(runner.invoke(args=["purge"]).output) == {
        "submissions": 0, "supporters": 0, "replies": 0, "pasted_replies": 0,
        "outbox_files": 0}  # 30 days: not yet
    result = runner.invoke(args=["purge", "--days", "0"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["submissions"] == 1
    assert json.loads(result.output)["supporters"] == 1

    db.session.expire_all()
    assert client.get("/api/stats").json == stats_before
    assert [(r["id"], r["message_id"], r["hash"]) for r in letters(scope)] == report_before
    assert db.session.get(Letter, older).content_hash == report_before[0][2]  # type: ignore[union-attr]
    assert readable_anywhere() == [] and stored_in_clear() == []
    scrubbed, waiting = db.session.scalars(select(Submission).order_by(Submission.id)).all()
    assert (scrubbed.name, scrubbed.city, scrubbed.personal_note) == ("", "", "")
    assert scrubbed.country == "FR" and scrubbed.scrubbed_at is not None
    assert waiting.name == "Waiting Writer" and waiting.scrubbed_at is None
    assert db.session.get(Supporter, scrubbed.supporter_id).email is None  # type: ignore[union-attr]
    # The scheduled purge runs at most once an hour, whichever worker gets there.
    assert purge_if_due() is not None and purge_if_due() is None


def _data_link(sink: Sink) -> str:
    [mail] = [m for m in sink.received if "Your data" in m.message()["Subject"]]
    assert mail.rcpt_tos == [WRITER["email"]]
    match = re.search(r"https?://[^/\s]+(/my-data/[^?\s]+)", mail.message().get_content())
    assert match
    return match.group(1)


def test_a_supporter_downloads_and_erases_their_data_from_an_emailed_link(
    app: Any, client: Any, sink: Sink
) -> None:
    write_and_deliver(app, client, sink)
    # Letters to the Council of Europe, not confirmed: the erasure cancels them.
    give_the_coe_an_inbox()
    coe = client.post("/api/letters", json=letter_json(body="coe"))
    assert coe.status_code == 202
    unsent = len(coe.json["officials"])
    form = client.get("/my-data")
    assert client.post("/my-data", data={"email": "not an address",
                                         "csrf_token": csrf_token(form.data)}).status_code == 422
    asked = client.post("/my-data", data={"email": "ZQ.Private@example.org",
                                          "csrf_token": csrf_token(form.data)})
    unknown = client.post("/my-data", data={"email": "nobody@example.org",
                                            "csrf_token": csrf_token(form.data)})
    assert asked.status_code == unknown.status_code == 200
    assert asked.data == unknown.data  # the page does not tell who wrote here
    work(app)
    link = _data_link(sink)  # one email, to the writer; none to the unknown address
    assert not any(m.rcpt_tos == ["nobody@example.org"] for m in sink.received)

    page = client.get(link)
    assert page.status_code == 200
    shown = page.data.decode()
    assert "Quillhaven" in shown and "7f3a~9c" in shown and "zq.private@example.org" in shown
    download = client.get(f"{link}/download")
    assert download.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(download.data)
    assert data["email"] == WRITER["email"] and len(data["submissions"]) == 2
    delivered = data["submissions"][0]
    assert delivered["personal_note"] == NOTE and delivered["consent"]["letters_at"]
    assert delivered["consent"]["privacy_notice_version"] == "builtin-4-supporter"
    assert {x["status"] for x in delivered["letters"]} == {"sent"}
    assert all(x["message_id"].startswith("<letter-") for x in delivered["letters"])

    assert client.post(f"{link}/erase",
                       data={"csrf_token": csrf_token(page.data)}).status_code == 422
    assert client.post(f"{link}/erase", data={"sure": "yes"}).status_code == 400  # no CSRF
    erased = client.post(f"{link}/erase", data={"sure": "yes", "csrf_token": csrf_token(page.data)})
    assert erased.status_code == 200
    assert f"and {unsent} letter" in erased.data.decode()

    statuses = db.session.scalars(select(Letter.status).order_by(Letter.id)).all()
    assert statuses == ["sent", "sent"] + ["cancelled"] * unsent
    assert readable_anywhere() == [] and stored_in_clear() == []
    assert client.get(link).status_code == 410
    assert client.get("/api/stats").json["letters"]["sent"] == 2  # the count stays
    # The address is unknown now: asking again sends nothing.
    before = len(sink.received)
    client.post("/my-data", data={"email": WRITER["email"], "csrf_token": csrf_token(form.data)})
    work(app)
    assert len(sink.received) == before
    assert client.get("/my-data/not-a-token").status_code == 404


def test_key_rotation_reencrypts_everything_without_loss(
    app: Any, client: Any, runner: Any, sink: Sink
) -> None:
    write_and_deliver(app, client, sink, newsletter=True)  # an opt-in, sealed and hashed too
    raw_before = db.session.execute(text("SELECT email, email_hash FROM supporter")).one()
    old_keys = list(app.config["DATA_KEYS"])
    new_key = runner.invoke(args=["new-data-key"]).output.strip()
    app.config["DATA_KEYS"] = [new_key, *old_keys]
    app.config["LOOKUP_KEY"] = "a new lookup key, rotated at the same time"
    crypto.init_app(app)
    result = runner.invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    # Organizers' second-factor secrets are sealed with the same keys (none set up here).
    assert json.loads(result.output) == {"supporter": 1, "submission": 1, "reply": 0,
                                         "organizer": 0, "opt_in": 1, "reply_answer": 0}

    app.config["DATA_KEYS"] = [new_key]  # the old key is gone: everything still reads
    crypto.init_app(app)
    db.session.expire_all()
    raw_after = db.session.execute(text("SELECT email, email_hash FROM supporter")).one()
    assert raw_after[0] != raw_before[0] and raw_after[1] != raw_before[1]
    supporter = db.session.scalars(select(Supporter)).one()
    submission = db.session.scalars(select(Submission)).one()
    assert supporter.email == WRITER["email"]
    opt_in = db.session.scalars(select(OptIn)).one()  # readable, and found by the new hash
    assert (opt_in.email, opt_in.name) == (WRITER["email"], WRITER["name"])
    assert opt_in.email_hash == supporter.email_hash
    assert (submission.name, submission.city, submission.personal_note) == (
        WRITER["name"], WRITER["city"], NOTE)
    # The new hash finds the writer: one letter per official still holds.
    letters_before = db.session.scalars(select(Letter.id)).all()
    assert client.post("/api/letters", json=letter_json()).status_code == 202
    assert db.session.scalars(select(Letter.id)).all() == letters_before

    app.config["DATA_KEYS"] = old_keys  # only the old key: the data is no longer readable
    crypto.init_app(app)
    db.session.expire_all()
    with pytest.raises(crypto.MissingKeyError):
        db.session.scalars(select(Submission)).one()


def test_signing_with_initials_keeps_the_name_from_the_officials(
    app: Any, client: Any, sink: Sink
) -> None:
    write_and_deliver(app, client, sink, sign_initials=True)
    to_officials = [m for m in sink.received if m.rcpt_tos != [WRITER["email"]]]
    assert len(to_officials) == 2
    for mail in to_officials:
        msg = mail.message()
        assert str(msg["From"]).startswith('"Z. V. Q. via ') or str(msg["From"]).startswith(
            "Z. V. Q. via ")
        body = msg.get_body().get_content()
        assert "Z. V. Q." in body and "Quillhaven" in body and "Vukoti" not in mail.data.decode()
    preview = client.post("/preview", data={"body": "un", "language": "en", "name": "Ada King",
                                            "sign_initials": "yes"}).json
    assert "A. K." in preview["after"] + preview["before"] and "Ada King" not in json.dumps(
        preview)


def test_replies_come_through_the_relay_and_wait_on_the_status_page(
    app: Any, client: Any, sink: Sink
) -> None:
    campaign = db.session.scalars(select(Campaign)).one()
    campaign.reply_to = "relay"
    db.session.commit()
    write_and_deliver(app, client, sink)
    [official_mail] = [m for m in sink.received if m.rcpt_tos == [OFFICIAL]]
    assert WRITER["email"] not in official_mail.data.decode()
    relay = parseaddr(official_mail.message()["Reply-To"])[1]
    assert relay.startswith("reply+") and relay.endswith("@campaign.test")
    assert letter_of(relay) is not None
    assert letter_of(relay.replace("reply+", "reply+9")) is None  # a forged token

    port = free_port()
    server = inbound_server(app, "127.0.0.1", port, dnsfunc=dns())
    server.start()
    try:  # signed by the office's domain (DKIM), as test_reply_authentication checks
        answer = signed(reply_message(to=relay))
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("office@ohchr.org", [relay], answer)
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("office@ohchr.org",
                              ["reply+1-0000000000000000000f@campaign.test"], answer)
    finally:
        server.stop()

    db.session.expire_all()
    reply = db.session.scalars(select(Reply)).one()
    assert reply.text.startswith("We have received your letter")
    raw = db.session.execute(text("SELECT text FROM reply")).scalar_one()
    assert "received" not in raw  # encrypted at rest too
    work(app)  # the writer hears of it, without the reply's words in the email
    [notice] = [m.message() for m in sink.received if "replied" in m.message()["Subject"]]
    assert notice["To"] == WRITER["email"] and "raise the case" not in notice.get_content()
    status = re.search(r"https?://[^/\s]+(/status/\S+)", notice.get_content())
    assert status
    page = client.get(status.group(1).split("?")[0]).data.decode()
    assert "will raise the case" in page and "office@ohchr.org" in page

    # Once the writer erases their data, replies go with it and later ones are dropped.
    letter_id, supporter_id = reply.letter_id, reply.letter.supporter_id
    erase(supporter_id)
    assert db.session.scalars(select(Reply)).all() == []
    assert store_reply(letter_id, answer, dns()) is None
    assert db.session.scalars(select(Reply)).all() == []


@ONE_DATABASE
def test_a_supporter_from_the_detaining_country_is_warned(client: Any) -> None:
    # Before a country is chosen the notice shows: without JavaScript (Tor Browser's safest
    # level, say) nothing would reveal it later. journey.js hides it until RU is chosen.
    page = client.get("/?lang=en").data.decode()
    assert re.search(r'id="risk-notice"[^>]*data-country="RU"', page)
    assert not re.search(r'id="risk-notice"[^>]*hidden', page)
    assert "Russia is the country that holds the prisoner" in page
    other = client.post("/?lang=en", data={"action": "preview", "body": "un", "language": "en",
                                           "supporter_country": "FR"}).data.decode()
    assert re.search(r'id="risk-notice"[^>]*hidden', other)
    chose = client.post("/?lang=en", data={"action": "preview", "body": "un", "language": "en",
                                           "supporter_country": "RU"}).data.decode()
    assert 'id="risk-notice"' in chose
    assert not re.search(r'id="risk-notice"[^>]*hidden', chose)
    assert "Russia is the country that holds the prisoner" in chose


@ONE_DATABASE
def test_security_headers_forbid_inline_scripts_and_frames(client: Any) -> None:
    for path in ("/", "/privacy", "/my-data", "/admin/login", "/status/x"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert "frame-ancestors 'none'" in policy and headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "Strict-Transport-Security" not in headers  # test mode, plain HTTP


@ONE_DATABASE
def test_hsts_in_live_mode_over_https(app: Any) -> None:
    from advocacy import create_app

    live_app = create_app({**app.config, "ADVOCACY_MODE": "live", "TESTING": True})
    with live_app.test_client() as client:
        secure = client.get("/healthz", base_url="https://campaign.test")
        hsts = secure.headers["Strict-Transport-Security"]
        assert re.fullmatch(r"max-age=3155\d{4}", hsts)  # a year; the campaign's domain only
        assert "Strict-Transport-Security" not in client.get("/healthz").headers


@ONE_DATABASE
@pytest.mark.usefixtures("app")
def test_the_page_works_under_its_policy_and_warns_in_the_browser(
    live: str, browser: Any
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(locale="en")
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.goto(f"{live}/?lang=en")
    expect(page.locator("#risk-notice")).to_be_hidden()
    page.select_option("#supporter_country", "RU")
    expect(page.locator("#risk-notice")).to_be_visible()
    expect(page.locator("#risk-notice")).to_contain_text("Russia is the country")
    page.fill("#name", "Ada King")
    expect(page.locator("#letter-after")).to_contain_text("Ada King")
    page.check("#sign_initials")
    expect(page.locator("#letter-after")).to_contain_text("A. K.")
    expect(page.locator("#headers")).to_contain_text("A. K. via")
    page.goto(f"{live}/admin/login")
    assert refused == []
    page.close()
