"""The office's own say (issue 19): the signed link at the foot of each letter, and the three
choices behind it (one daily digest, a week's pause, the right address), through real mail to
the sink, the worker, the admin pages and the audit log."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.delivery.queue import enqueue_letters
from advocacy.delivery.reconcile import reconcile
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.links import confirmation_link, office_link
from advocacy.models import AuditEntry, HoldReason, Letter, LetterStatus, Official
from advocacy.organizers.controls import set_limits

from helpers import PEOPLE, csrf_token, log_in, seed_queued, work

OFFICE = "un-sr-torture"
LINK = re.compile(r"http://campaign\.test(/office/[A-Za-z0-9_.\-]+)\?lang=en")
TUESDAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Geneva


@pytest.fixture(autouse=True)
def _room_for_choices(app: Any) -> None:
    app.config["OFFICE_SAY_RATE"] = "1000/minute"  # the limit is tested below, with its own


def official() -> Official:
    db.session.expire_all()
    return db.session.scalars(select(Official).where(Official.key == OFFICE)).one()


def letters_to_office() -> list[Letter]:
    db.session.expire_all()
    return list(db.session.scalars(select(Letter).where(Letter.target_id == official().id)
                                   .order_by(Letter.id)))


def sent_link(app: Any, sink: Sink) -> str:
    """The office's link, from the first letter sent to it (through the real sink)."""
    enqueue_letters(seed_queued(1))
    work(app)
    [letter] = [m.message() for m in sink.received if m.rcpt_tos == ["urgent-action@ohchr.org"]]
    text = letter.get_content().replace("\r\n", "\n")
    assert ("-- \nFor the office: receive these letters as one daily digest, pause them for a"
            " week, or give us the right address:\n") in text
    match = LINK.search(text)
    assert match, text
    return match.group(1) + "?lang=en"


def choose(client: Any, path: str, **form: str) -> Any:
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_token(page.data), **form})


def audit_actions() -> list[tuple[str, str, str]]:
    return [(e.action, e.subject, e.organizer_email) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("%office%")).order_by(AuditEntry.id))]


def test_each_letter_carries_the_offices_link_to_its_own_page(
        app: Any, client: Any, sink: Sink) -> None:
    path = sent_link(app, sink)
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Special Rapporteur on torture" in html and "Azat Miftakhov" in html
    assert html.count('name="choice"') == 3
    assert page.headers["X-Robots-Tag"] == "noindex" and 'content="noindex"' in html
    # The same office and campaign get the same link: built once, not signed per letter.
    assert office_link(official().id, letters_to_office()[0].campaign_id, "en").endswith(path)
    # In French, the page speaks French.
    assert "Recevoir un seul" in client.get(path.replace("lang=en", "lang=fr")).get_data(
        as_text=True)


def test_the_office_asks_for_a_digest_and_the_next_letters_go_in_it(
        app: Any, client: Any, sink: Sink, fake_now: Any) -> None:
    fake_now.set(TUESDAY)
    set_limits(None, {"window": None})
    path = sent_link(app, sink)
    reply = choose(client, path, choice="digest")
    assert reply.status_code == 303
    assert "one email a day" in client.get(reply.headers["Location"]).get_data(as_text=True)
    assert official().digest_daily
    enqueue_letters(seed_queued(3))
    work(app)
    held = [lt for lt in letters_to_office() if lt.status == LetterStatus.HELD]
    assert len(held) == 3 and {lt.hold_reason for lt in held} == {HoldReason.DIGEST}
    before = len(sink.received)
    fake_now.set(datetime(2026, 11, 24, 19, 0, 1, tzinfo=UTC))
    assert reconcile()["digests"] == 1
    work(app)
    [digest] = [m.message() for m in sink.received[before:]
                if m.rcpt_tos == ["urgent-action@ohchr.org"]]
    assert "3 more supporters" in digest.get_content() and LINK.search(digest.get_content())
    assert {lt.status for lt in letters_to_office()} == {LetterStatus.SENT}
    assert audit_actions() == [("office asked for a digest", OFFICE, "")]


def test_the_office_pauses_for_a_week_and_organizers_see_why(
        app: Any, client: Any, sink: Sink, fake_now: Any, people: Any) -> None:
    fake_now.set(TUESDAY)
    set_limits(None, {"window": None})
    path = sent_link(app, sink)
    assert choose(client, path, choice="pause").status_code == 303
    assert official().paused_until == TUESDAY + timedelta(days=7)
    assert "Now: paused until 2026-12-01 09:00 UTC." in client.get(path).get_data(as_text=True)
    enqueue_letters(seed_queued(2))
    work(app)
    held = [lt for lt in letters_to_office() if lt.status == LetterStatus.HELD]
    assert len(held) == 2 and {lt.hold_reason for lt in held} == {HoldReason.PAUSED}
    assert {lt.not_before for lt in held} == {TUESDAY + timedelta(days=7)}
    assert all(lt.last_error.startswith("paused by the office until") for lt in held)

    log_in(client, PEOPLE["viewer"])
    page = client.get(f"/admin/targets/{official().id}").get_data(as_text=True)
    assert "The office paused its letters until 2026-12-01 09:00 UTC" in page
    overview = client.get("/admin/").get_data(as_text=True)
    assert "paused its letters until 2026-12-01 09:00 UTC" in overview
    assert "Nothing needs your attention" not in overview

    before = len(sink.received)
    fake_now.set(TUESDAY + timedelta(days=7, seconds=1))
    assert reconcile()["released"] == 2
    assert "Now: paused" not in client.get(path).get_data(as_text=True)
    work(app)
    assert len([m for m in sink.received[before:]
                if m.rcpt_tos == ["urgent-action@ohchr.org"]]) == 2
    assert [a for a, _s, _o in audit_actions()] == ["office paused its letters"]


def test_the_office_gives_an_address_kept_unverified_until_an_organizer_accepts_it(
        app: Any, client: Any, sink: Sink, people: Any) -> None:
    path = sent_link(app, sink)
    refused = choose(client, path, choice="address", email="not an address", note="")
    assert refused.status_code == 422 and "not a valid email" in refused.get_data(as_text=True)
    assert official().proposed_email is None
    done = choose(client, path, choice="address", email="Torture-Desk@OHCHR.org",
                  note="The urgent-action box is for cases only.")
    assert done.status_code == 303
    office = official()
    assert office.proposed_email == "torture-desk@ohchr.org"
    assert office.email == "urgent-action@ohchr.org"  # letters keep going there meanwhile
    before = len(sink.received)
    enqueue_letters(seed_queued(1))
    work(app)
    assert [m.rcpt_tos for m in sink.received[before:]
            if "ohchr" in m.rcpt_tos[0]].count(["urgent-action@ohchr.org"]) == 1

    log_in(client, PEOPLE["editor"])
    target = f"/admin/targets/{office.id}"
    page = client.get(target).get_data(as_text=True)
    assert "torture-desk@ohchr.org" in page and "for cases only" in page
    accepted = client.post(f"{target}/office-say",
                           data={"action": "accept", "csrf_token": csrf_token(page.encode())})
    assert accepted.status_code == 302
    office = official()
    assert office.email == "torture-desk@ohchr.org" and office.proposed_email is None
    assert not office.verified and office.address_set_by == people["editor"].id
    assert audit_actions() == [
        ("office proposed an address", OFFICE, ""),
        ("accept office's address", OFFICE, PEOPLE["editor"]),
    ]


def test_bad_foreign_and_expired_links_are_refused(
        app: Any, client: Any, sink: Sink, fake_now: Any) -> None:
    fake_now.set(TUESDAY)
    path = sent_link(app, sink)
    token = path.split("/")[2].split("?")[0]
    tampered = path.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert client.get(tampered).status_code == 404
    assert client.post(tampered, data={"choice": "pause"}).status_code in (400, 404)
    # A confirmation link's token, signed with another salt, opens nothing here.
    other = confirmation_link(1).rsplit("/", 1)[1]
    assert client.get(f"/office/{other}").status_code == 404
    fake_now.set(TUESDAY + timedelta(days=89))
    assert client.get(path).status_code == 200
    fake_now.set(TUESDAY + timedelta(days=98))
    expired = client.get(path)
    assert expired.status_code == 404 and "expired" in expired.get_data(as_text=True)
    assert official().paused_until is None and audit_actions() == []


def test_choices_are_limited_per_client(app: Any, client: Any, sink: Sink) -> None:
    app.config["OFFICE_SAY_RATE"] = "2/minute"
    path = sent_link(app, sink)
    token = csrf_token(client.get(path).data)
    someone = f"2001:db8::{uuid.uuid4().hex[:4]}"  # a client of its own, whatever ran before
    codes = [client.post(path, data={"csrf_token": token, "choice": "digest"},
                         environ_base={"REMOTE_ADDR": someone}).status_code
             for _ in range(3)]
    assert codes == [303, 303, 429]
