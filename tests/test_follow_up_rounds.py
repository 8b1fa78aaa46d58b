"""Organizers' follow-up rounds (organizers.follow_ups): written in a language the organizers
choose, which each letter carries (Content-Language, the office named in it); counted on the
overview while they wait for a decision; released only when they can go.

Real components: the admin's forms, the queue on Redis, the worker in this process, the
aiosmtpd sink, the database."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from advocacy.campaigns.settings import find_campaign
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import Body, Campaign, FollowUpRound, Official
from advocacy.organizers.controls import set_limits
from advocacy.testing.stack import NO_LIMITS

from helpers import NOW, PEOPLE, csrf, log_in, seed_queued, send, work

FRENCH_NAME = "Action urgente du Haut-Commissariat"


def the_campaign() -> Campaign:
    campaign = find_campaign(None)
    assert campaign is not None
    return campaign


def unanswered_offices() -> list[Official]:
    """Letters sent to the UN's offices, none answered: each office is one to follow up."""
    send(seed_queued(1, "un"), NOW - timedelta(days=20))
    set_limits(None, NO_LIMITS)
    return list(db.session.scalars(
        select(Official).join(Body).where(Official.email.is_not(None),
                                          Official.active.is_(True), Body.slug == "un")
        .order_by(Official.id)))


def follow_ups_url() -> str:
    return f"/admin/campaigns/{the_campaign().slug}/follow-ups"


def start(client: Any, language: str, day: str = "2026-12-18") -> str:
    url = follow_ups_url()
    return html.unescape(client.post(url, data={
        "csrf_token": csrf(client, url), "day": day, "language": language,
        "subject": "Relance : Azat Miftakhov",
        "text": "Nous vous avons écrit au sujet d'Azat Miftakhov il y a un mois."},
        follow_redirects=True).data.decode())


def test_a_round_in_french_is_labelled_french_and_names_the_office_in_french(
    app: Any, client: Any, sink: Sink, people: Any
) -> None:
    offices = unanswered_offices()
    assert len(offices) >= 2
    named, unnamed = offices[0], offices[1]
    named.office_names = {**(named.office_names or {}), "fr": FRENCH_NAME}
    named.languages = ["en"]  # the office's first language is not the round's
    unnamed.office_names = {k: v for k, v in (unnamed.office_names or {}).items() if k != "fr"}
    db.session.commit()

    log_in(client, PEOPLE["editor"])
    page = client.get(follow_ups_url()).data.decode()
    select_ = re.search(r'<select id="fu-language" name="language">(.*?)</select>', page, re.S)
    assert select_, page
    options = re.findall(r'<option value="([a-z]+)"( selected)?>([^<]+)</option>',
                         select_.group(1))
    assert options[0] == ("en", " selected", "English")  # the campaign's default first
    assert ("fr", "", "French") in options  # the campaign has letters in French

    before = len(sink.received)
    assert "letters queued." in start(client, "fr")
    work(app)
    [round_] = db.session.scalars(select(FollowUpRound)).all()
    assert round_.language == "fr"
    mails = {m.message()["To"].addresses[0].addr_spec: m.message()
             for m in sink.received[before:]
             if m.message()["Message-ID"].startswith("<follow-up-")}
    assert set(mails) == {o.email for o in offices}
    assert [m["Content-Language"] for m in mails.values()] == ["fr"] * len(mails)
    assert mails[named.email]["To"].addresses[0].display_name == FRENCH_NAME
    assert mails[unnamed.email]["To"].addresses[0].display_name == unnamed.office


def test_a_round_in_a_language_the_campaign_has_no_letters_in_is_refused(
    app: Any, client: Any, people: Any
) -> None:
    unanswered_offices()
    log_in(client, PEOPLE["editor"])
    for language in ("xx", "", "<b>"):
        page = start(client, language)
        assert "is not one of this campaign's letter languages" in page, page
    assert db.session.scalar(select(func.count()).select_from(FollowUpRound)) == 0
