"""Delivery's notes (last_error) read in the organizer's language: each kind the code
writes (built here from the writers' own names, delivery.notes), the relay's words kept after
it, unknown notes shown as they are and escaped; and the admin pages that show them."""

from __future__ import annotations

import html
import smtplib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import select, update

from advocacy import clock
from advocacy.admin import reason_html
from advocacy.admin.reasons import read
from advocacy.campaigns.settings import find_campaign
from advocacy.delivery import notes
from advocacy.extensions import db
from advocacy.letters.states import ERASED, LetterStatus
from advocacy.models import FollowUpLetter, FollowUpRound, Letter, Official

from helpers import PASSWORD, PEOPLE, log_in, seed_queued

REFUSED = notes.refusal(550, "5.1.1 <nobody@ohchr.org>: Recipient address rejected")
DEFERRED = notes.refusal(451, "4.7.1 greylisted, try again")
BROKEN = notes.exception_note(smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))

# Each kind's note as its writer builds it, and the detail that must follow its sentence.
KINDS: list[tuple[str, str]] = [
    *((note, "") for note in (
        notes.CONNECTION_DROPPED, notes.STOPPED_WHILE_SENDING,
        notes.STOPPED_WHILE_SENDING_RESENT, notes.STOPPED_BEFORE, notes.STOPPED_TOO_OFTEN,
        notes.RELAY_UNREACHABLE, notes.BATCH_BROKE_OFF, notes.RELAY_WAS_UNREACHABLE,
        notes.JOB_BROKE_OFF, notes.DEACTIVATED, notes.NOT_CONFIRMED, ERASED, notes.PAUSED,
        notes.PAUSED_BY_ORGANIZERS, notes.UNVERIFIED, notes.BOUNCED, notes.NO_ADDRESS,
        notes.ASKED_FOR_DIGEST, notes.NEAR_IDENTICAL, notes.OUTSIDE_WINDOW, notes.DAILY_CAP,
        notes.paused_by_office(datetime(2026, 12, 7, 9, 0, tzinfo=UTC)),
        *(notes.with_detail(notes.RATE_LIMIT, scope)
          for scope in ("official_day", "official_hour", "domain", "relay")))),
    (notes.with_detail(notes.TEMPLATE, "not a usable email address: 'x'"),
     "not a usable email address: 'x'"),
    (notes.with_detail(notes.RELAY, "Connection refused"), "Connection refused"),
    (notes.with_detail(notes.AMBIGUOUS, "no reply to DATA"), "no reply to DATA"),
    (notes.with_detail(notes.RESENT_AMBIGUOUS, "no reply to DATA"), "no reply to DATA"),
    (notes.with_detail(notes.BOUNCED_AFTER, "5.1.1 smtp; 550 no such user"),
     "5.1.1 smtp; 550 no such user"),
    (notes.with_detail(notes.DELAYED_AFTER, "4.4.1 timeout"), "4.4.1 timeout"),
    (notes.with_detail(notes.COMPLAINT, "abuse report from Outlook"), "abuse report from Outlook"),
    (notes.with_detail(notes.PAUSED, notes.with_detail(notes.COMPLAINT, "abuse report")),
     "abuse report"),
    (notes.with_detail(notes.RATE_LIMIT, "weekly"), "weekly"),
    (notes.gave_up(5, REFUSED), REFUSED),
    (notes.gave_up(5, BROKEN), BROKEN),
    (notes.with_detail(notes.DIGEST, REFUSED), REFUSED),
    (notes.with_detail(notes.DIGEST, notes.with_detail(notes.AMBIGUOUS, "timed out")),
     "timed out"),
    ("digest: (550, '5.1.1 no such user')", "(550, '5.1.1 no such user')"),  # as before
    (notes.not_sent_no_limits("ConnectionError: Redis away"), "ConnectionError: Redis away"),
    (REFUSED, REFUSED),
    (DEFERRED, DEFERRED),
    (BROKEN, BROKEN),
    (notes.exception_note(ConnectionRefusedError(111, "Connection refused")),
     "ConnectionRefusedError: [Errno 111] Connection refused"),
]


@pytest.mark.parametrize(("note", "detail"), KINDS)
def test_each_kind_of_note_reads_as_a_german_sentence(app: Any, note: str, detail: str
                                                      ) -> None:
    with app.test_request_context():
        with force_locale("en"):
            english = read(note)
        with force_locale("de"):
            found = read(note)
    assert found is not None and found.sentence, note  # recognised
    assert found.detail == detail  # the relay's or the error's words, kept as they came
    assert english is not None and found.sentence != english.sentence  # and said in German
    kind = note[: len(note) - len(detail)] if detail else note
    assert not kind or kind.strip(": (") not in found.sentence


def test_every_sentence_is_translated(app: Any) -> None:
    for lang in ("de", "fr", "es", "ru"):
        with app.test_request_context(), force_locale(lang):
            for note, _detail in KINDS:
                with force_locale("en"):
                    english = read(note)
                found = read(note)
                assert found and english and found.sentence != english.sentence, (lang, note)


def test_an_unknown_note_is_shown_as_it_is_and_escaped(app: Any) -> None:
    hostile = '<script>alert("relay")</script> & 250 ok'
    with app.test_request_context(), force_locale("de"):
        found = read(hostile)
        shown = str(reason_html(hostile))
        refused = str(reason_html(notes.refusal(550, "<img src=x onerror=alert(1)>")))
    assert found is not None and found.sentence == "" and found.detail == hostile
    assert shown == str(escape(hostile)) and "<script" not in shown
    assert "<img" not in refused and "&lt;img src=x onerror=alert(1)&gt;" in refused
    assert '<small class="reason-detail">' in refused
    assert read(None) is None and str(reason_html(None)) == ""


def _seed() -> None:
    """Two failed letters (one with no note), one waiting for a decision, and a held
    follow-up."""
    first, second, third = seed_queued(2)[:3]
    db.session.execute(update(Letter).where(Letter.id == third).values(
        status=LetterStatus.FAILED, last_error=None))
    db.session.execute(update(Letter).where(Letter.id == first).values(
        status=LetterStatus.FAILED, attempts=5, last_error=notes.gave_up(5, REFUSED)))
    db.session.execute(update(Letter).where(Letter.id == second).values(
        status=LetterStatus.NEEDS_REVIEW, last_error=notes.STOPPED_WHILE_SENDING))
    campaign = find_campaign(None)
    assert campaign is not None
    round_ = FollowUpRound(campaign_id=campaign.id, day=date(2026, 12, 18), subject="Follow-up",
                           text="We wrote to you a month ago.")
    db.session.add(round_)
    db.session.flush()
    official = db.session.scalars(select(Official).where(Official.email.is_not(None))).first()
    assert official is not None
    db.session.add(FollowUpLetter(round_id=round_.id, target_id=official.id, status="held",
                                  last_error=notes.UNVERIFIED,
                                  created_at=clock.now() - timedelta(hours=1)))
    db.session.commit()


# (page, what German shows, the English note it must not show)
PAGES = [
    ("/admin/", ["Nach 5 Versuchen aufgegeben.", "Der Mailserver hat ihn abgelehnt.", REFUSED,
                 "(kein Grund gespeichert)"], [notes.GAVE_UP, "(no reason kept)"]),
    ("/admin/moderation", ["Er kann angekommen sein: Sein Prozess hielt beim Senden an."],
     [notes.AMBIGUOUS, "its worker stopped"]),
    ("/admin/campaigns/free-azat-miftakhov/follow-ups",
     ["Die Adresse der Stelle ist nicht geprüft."], [notes.UNVERIFIED]),
]


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(("url", "german", "english"), PAGES)
def test_the_admin_shows_delivery_notes_in_german(app: Any, url: str, german: list[str],
                                                  english: list[str]) -> None:
    with app.app_context():
        _seed()
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    log_in(client, PEOPLE["owner"], PASSWORD)
    reply = client.get(url)
    assert reply.status_code == 200
    page = html.unescape(reply.data.decode())
    for words in german:
        assert words in page, words
    for words in english:
        assert words not in page, words


@pytest.mark.usefixtures("people")
def test_an_office_s_page_quotes_its_bounce_and_its_complaint_in_german(app: Any) -> None:
    with app.app_context():
        official = db.session.scalars(select(Official).where(Official.email.is_not(None))
                                      ).first()
        assert official is not None
        official.bounced_at = clock.now()
        official.bounce_reason = notes.with_detail(notes.BOUNCED_AFTER, "5.1.1 user unknown")
        official.paused = True
        official.pause_reason = notes.with_detail(notes.COMPLAINT, "abuse report")
        db.session.commit()
        url = f"/admin/targets/{official.id}"
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    log_in(client, PEOPLE["owner"], PASSWORD)
    page = html.unescape(client.get(url).data.decode())
    with app.test_request_context(), force_locale("de"):
        bounced = str(read(official.bounce_reason).sentence)  # type: ignore[union-attr]
        complained = str(read(official.pause_reason).sentence)  # type: ignore[union-attr]
    assert f"{bounced} 5.1.1 user unknown" in page and f"{complained} abuse report" in page
    assert notes.BOUNCED_AFTER not in page and f"{notes.COMPLAINT}:" not in page

