"""Header injection: tricks in every field that reaches an email, delivered by a real worker
process to the SMTP sink, and the bytes received parsed back with the email package. No
extra header, no extra recipient: RCPT TO is the official alone (or the supporter alone, for
the confirmation)."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from email.errors import ObsoleteHeaderDefect
from email.headerregistry import AddressHeader
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from advocacy import models as m
from advocacy.delivery.queue import enqueue_confirmation, enqueue_letters
from advocacy.delivery.sink import Received, Sink
from advocacy.extensions import db
from advocacy.organizers.controls import set_limits
from advocacy.testing.stack import NO_LIMITS

from helpers import ROOT, submission, submit_and_confirm, work, worker_env

EVIL = "evil@evil.example"
_CRLF_BCC = base64.b64encode(f"\r\nBcc: {EVIL}".encode()).decode()
TRICKS = {
    "crlf": f"\r\nBcc: {EVIL}", "lf": f"\nBcc: {EVIL}", "cr": f"\rBcc: {EVIL}",
    "u2028": f"\u2028Bcc: {EVIL}", "u2029": f"\u2029Bcc: {EVIL}", "nel": f"\x85Bcc: {EVIL}",
    "vt": f"\x0bBcc: {EVIL}", "fs": f"\x1cBcc: {EVIL}", "nul": f"\x00Bcc: {EVIL}",
    # Encoded words that a mail reader would decode into a line break and a header.
    "encoded-b": f" =?utf-8?b?{_CRLF_BCC}?= ",
    "encoded-q": " =?utf-8?q?=0D=0ABcc:_evil=40evil.example?= ",
    "address-list": f'", {EVIL}, "', "angle": f"<{EVIL}>",
    # SMTP smuggling: an end of data, then commands, inside the text.
    "smuggle": f"\r\n.\r\nRCPT TO:<{EVIL}>\r\nDATA\r\n", "bare-dot": f"\n.\nRCPT TO:<{EVIL}>\n",
}
LETTER_HEADERS = sorted(["From", "Reply-To", "To", "Subject", "Message-ID", "Date",
                         "Content-Language", "Auto-Submitted", "MIME-Version", "Content-Type",
                         "Content-Transfer-Encoding"])
CONFIRMATION_HEADERS = sorted(["From", "To", "Subject", "Message-ID", "Date", "Auto-Submitted",
                               "MIME-Version", "Content-Type", "Content-Transfer-Encoding"])
BREAKS = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
SENDER = "letters@campaign.test"


def no_limits() -> None:
    set_limits(None, NO_LIMITS)


def deliver(app: Any, sink: Sink, tmp_path: Path) -> None:
    """What the queue holds, sent by worker.py in its own process, as in production."""
    done = subprocess.run([sys.executable, str(ROOT / "worker.py"), "--burst"],
                          env=worker_env(app, sink.url, tmp_path), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def assert_clean(item: Received, rcpt: str, headers: list[str]) -> Any:
    """One recipient, the expected headers once each, every line CRLF-ended and short, no
    header that decodes to a line break, one address in each address header."""
    assert item.rcpt_tos == [rcpt], item.rcpt_tos
    assert EVIL not in item.mail_from
    assert not re.search(rb"\r(?!\n)|(?<!\r)\n", item.data), "a bare CR or LF"
    assert all(len(line) <= 998 for line in item.data.split(b"\r\n"))
    head = item.data.split(b"\r\n\r\n", 1)[0]
    names = [line.split(b":", 1)[0].decode() for line in head.split(b"\r\n")
             if line and line[:1] not in (b" ", b"\t")]
    assert sorted(names) == headers, names
    msg = item.message()
    assert not msg.defects, msg.defects
    for name in names:
        value = msg[name]
        assert not BREAKS.search(str(value)), (name, str(value))
        if isinstance(value, AddressHeader):
            # A period in an unquoted name is obsolete syntax, and harmless.
            defects = [d for d in value.defects if not isinstance(d, ObsoleteHeaderDefect)]
            assert len(value.addresses) == 1 and not defects, (name, str(value), defects)
            assert EVIL not in value.addresses[0].addr_spec
    return msg


def confirmations(sink: Sink) -> list[Received]:
    return [item for item in sink.received if item.mail_from.startswith("bounce+confirm-")
            and item.mail_from.endswith("@" + SENDER.rpartition("@")[2])
            and "/confirm/" in item.message().get_content()]


def check_everything_sent(app: Any, sink: Sink) -> int:
    """Every message in the sink is clean; returns how many letters reached officials."""
    officials = {t.email for t in db.session.scalars(select(m.Official)) if t.email}
    supporters = {s.email for s in db.session.scalars(select(m.Supporter))}
    letters = 0
    for item in sink.received:
        [rcpt] = item.rcpt_tos
        if rcpt in officials:
            msg = assert_clean(item, rcpt, LETTER_HEADERS)
            assert msg["To"].addresses[0].addr_spec == rcpt
            assert msg["From"].addresses[0].addr_spec == SENDER
            assert msg["Reply-To"].addresses[0].addr_spec in supporters
            letters += 1
        else:
            assert rcpt in supporters, rcpt
            msg = assert_clean(item, rcpt, CONFIRMATION_HEADERS)
            assert msg["To"].addresses[0].addr_spec == rcpt
    return letters


def test_tricks_in_what_supporters_type(app: Any, client: Any, sink: Sink,
                                        tmp_path: Path) -> None:
    no_limits()
    accepted = 0
    for i, (label, trick) in enumerate(TRICKS.items()):
        for field in ("name", "city", "personal_note", "email", "ref"):
            data = submission()
            data["supporter"]["email"] = f"t{i}-{field}@example.org"
            if field == "personal_note":
                data["personal_note"] = f"My words.{trick} The end."
            elif field == "ref":
                data["ref"] = f"partner{trick}"
            elif field == "email":
                data["supporter"]["email"] = f"t{i}{trick}@example.org"
            else:
                data["supporter"][field] = f"Marie{trick} Dubois"
            reply = client.post("/api/letters", json=data)
            assert reply.status_code in (202, 422), (label, field, reply.json)
            if reply.status_code == 422:
                key = field if field in ("personal_note", "ref") else f"supporter.{field}"
                assert key in reply.json["errors"], (label, field, reply.json)
            accepted += reply.status_code == 202
    assert accepted >= 10  # the tricks that are plain text get through to the mail
    deliver(app, sink, tmp_path)
    assert len(confirmations(sink)) == accepted
    for item in confirmations(sink):
        link = re.search(r"https?://[^/\s]+(/confirm/\S+)", item.message().get_content())
        assert link and client.post(link.group(1)).status_code == 200
    deliver(app, sink, tmp_path)
    assert check_everything_sent(app, sink) == 2 * accepted


def test_tricks_stored_past_the_checks(app: Any, client: Any, sink: Sink,
                                       tmp_path: Path) -> None:
    """The second wall: values in the database that no check saw (an old row, an edit by
    hand), in every field, in the campaign's name and the organizers' subject and text."""
    no_limits()
    postgres = db.engine.dialect.name == "postgresql"
    tricks = {k: v for k, v in TRICKS.items() if not (postgres and "\x00" in v)}  # unstorable
    campaign = db.session.scalars(select(m.Campaign).where(m.Campaign.is_default)).one()
    campaign.name = f"Free Azat{tricks['crlf']}{tricks['u2028']}{tricks['encoded-b']}"
    un = db.session.scalars(select(m.Body).where(m.Body.slug == "un")).one()
    template = db.session.scalars(select(m.LetterTemplate).where(
        m.LetterTemplate.campaign_id == campaign.id, m.LetterTemplate.body_id == un.id,
        m.LetterTemplate.language == "en")).one()
    everything = "".join(tricks.values())
    template.subject = ("Urgent: {{ supporter.name }}" + everything)[:300]
    template.text += everything
    template_id = template.id
    officials = [t for t in db.session.scalars(
        select(m.Official).where(m.Official.body_id == un.id)) if t.email]
    now = m.clock.now()
    good_addresses, bad_addresses = 0, 0
    for i, trick in enumerate(tricks.values()):
        for email in (f"s{i}@example.org", f"s{i}@example.org{trick}"):
            supporter = m.Supporter(email=email[:254])
            sub = m.Submission(campaign_id=campaign.id, supporter=supporter, body_id=un.id,
                             name=f"Eve{trick}"[:120], city=f"Lyon{trick}"[:120], country="FR",
                             language="en", locale="en", personal_note=f"Note{trick}",
                             ref=None, consent_at=now)
            db.session.add_all([m.Letter(campaign_id=campaign.id, submission=sub,
                                         supporter=supporter, target_id=t.id,
                                         template_id=template_id,
                                         status=m.LetterStatus.UNCONFIRMED) for t in officials])
            if email[-12:] == "@example.org":
                good_addresses += 1
            else:
                bad_addresses += 1
    db.session.commit()
    for sub_id in db.session.scalars(select(m.Submission.id)):
        enqueue_confirmation(sub_id)
    deliver(app, sink, tmp_path)
    assert len(sink.received) == good_addresses, [item.rcpt_tos for item in sink.received]
    db.session.execute(update(m.Letter).values(status=m.LetterStatus.QUEUED, queued_at=now))
    db.session.commit()
    enqueue_letters(list(db.session.scalars(select(m.Letter.id))))
    deliver(app, sink, tmp_path)
    assert check_everything_sent(app, sink) == good_addresses * len(officials)
    db.session.expire_all()
    failed = db.session.scalars(
        select(m.Letter).where(m.Letter.status == m.LetterStatus.FAILED)).all()
    assert len(failed) == bad_addresses * len(officials)
    assert all("not a usable email address" in (lt.last_error or "") for lt in failed)


def test_a_long_subject_in_another_script_folds_with_crlf(app: Any, client: Any,
                                                          sink: Sink) -> None:
    # The Russian subject is folded into encoded words; Header.encode folds with a bare LF
    # unless told otherwise, and relays that refuse bare LFs (SMTP smuggling) refused them.

    submit_and_confirm(app, client, sink, submission(language="ru"))
    work(app)
    letters = [item for item in sink.received if item.rcpt_tos != ["marie.dubois@example.org"]]
    assert len(letters) == 2
    for item in letters:
        msg = assert_clean(item, item.rcpt_tos[0], LETTER_HEADERS)
        assert msg["Subject"].startswith("Азат")  # his name first, in every subject
        assert b"\r\n =?utf-8?" in item.data  # folded, and folded right
