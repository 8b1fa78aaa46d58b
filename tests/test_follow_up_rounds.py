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

from sqlalchemy import func, select, update

from advocacy import clock
from advocacy.campaigns.settings import find_campaign
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import Body, Campaign, FollowUpLetter, FollowUpRound, Letter, Official
from advocacy.organizers.controls import set_limits
from advocacy.testing.stack import NO_LIMITS

from helpers import (
    NOW,
    PASSWORD,
    PEOPLE,
    csrf,
    log_in,
    mailbox_as_read,
    organizer_page,
    seed_queued,
    send,
    work,
)

# Long, with a comma: the To header must keep it one name (the email package's folding did not).
FRENCH_NAME = ("Rapporteur spécial sur la torture et autres peines ou traitements cruels,"
               " inhumains ou dégradants")


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


def a_round(offices: list[Official], *states: str) -> list[int]:
    """A round of the default campaign to these offices, its letters in these states."""
    round_ = FollowUpRound(campaign_id=the_campaign().id, day=clock.now().date(),
                           subject="Follow-up: Azat Miftakhov", text="We wrote to you.")
    db.session.add(round_)
    db.session.flush()
    rows = [FollowUpLetter(round_id=round_.id, target_id=o.id, status=state)
            for o, state in zip(offices, states, strict=False)]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def page_text(page: bytes) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.decode())).split())


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
    rounds = client.get(follow_ups_url()).data.decode()
    assert '<span lang="fr">Relance : Azat Miftakhov</span></td><td data-label="Language">French' \
        '</td>' in html.unescape(rounds)
    mails = {m.rcpt_tos[0]: m for m in sink.received[before:]
             if m.message()["Message-ID"].startswith("<follow-up-")}
    assert set(mails) == {o.email for o in offices}
    assert [m.message()["Content-Language"] for m in mails.values()] == ["fr"] * len(mails)
    # One mailbox each, as a mail reader reads it: the office's French name where it has one.
    assert mailbox_as_read(mails[named.email].data, "To") == (FRENCH_NAME, named.email)
    assert mailbox_as_read(mails[unnamed.email].data, "To") == (unnamed.office, unnamed.email)
    assert all(len(m.message()["To"].addresses) == 1 for m in mails.values())


def test_a_round_in_a_language_the_campaign_has_no_letters_in_is_refused(
    app: Any, client: Any, people: Any
) -> None:
    unanswered_offices()
    log_in(client, PEOPLE["editor"])
    for language in ("xx", "", "<b>"):
        page = start(client, language)
        assert "is not one of this campaign's letter languages" in page, page
    assert db.session.scalar(select(func.count()).select_from(FollowUpRound)) == 0


# --- the overview counts the follow-ups that wait for a decision -----------------------------

def test_the_overview_counts_follow_ups_waiting_for_a_decision_and_links_to_them(
    app: Any, client: Any, people: Any
) -> None:
    offices = unanswered_offices()
    a_round(offices, "needs_review", "sent")
    log_in(client, PEOPLE["viewer"])

    page = client.get("/admin/").data.decode()
    assert re.search(r'<dd id="deciding">1</dd>', page), page  # no letter waits: the follow-up
    link = f"/admin/campaigns/{the_campaign().slug}/follow-ups#waiting"
    assert f'<a id="deciding-follow-ups" href="{link}">1 follow-up letter: decide on the' \
           " Follow-ups page</a>" in page
    alert = re.search(r'<li class="notice risk" data-alert="follow-ups">(.*?)</li>', page, re.S)
    assert alert, page
    assert "1 follow-up letter of Free Azat Miftakhov waits for your decision." in alert.group(1)
    assert f'href="{link}">Release or cancel it</a>' in alert.group(1)
    assert 'id="all-clear"' not in page and "nothing to decide" not in page
    waiting = client.get(link.partition("#")[0]).data.decode()
    assert '<h2 id="waiting">' in waiting and "table-waiting-follow-ups" in waiting

    # A group none of the offices is in: nothing of theirs to decide there.
    eu = client.get("/admin/?body=eu").data.decode()
    assert '<dd id="deciding">0</dd>' in eu and 'data-alert="follow-ups"' not in eu


def test_letters_whose_sending_nobody_can_vouch_for_are_counted_in_german(
    app: Any, client: Any, people: Any
) -> None:
    one, *three = seed_queued(2)[:4]
    claimed = clock.now() - timedelta(minutes=3)
    for ids, by in (([one], "gone-host:1"), (three, "gone-host:2")):
        db.session.execute(update(Letter).where(Letter.id.in_(ids)).values(
            status="sending", claimed_at=claimed, claimed_by=by, on_wire_at=claimed))
    db.session.commit()
    log_in(client, PEOPLE["viewer"])
    text = page_text(client.get("/admin/?lang=de").data)
    since = claimed.strftime("%Y-%m-%d %H:%M UTC")
    assert (f"4 Briefe warten auf die Entscheidung, ob sie versandt wurden (im Versand seit"
            f" {since}): Der Versandprozess, der sie sandte, ist beendet. Ab ") in text, text
    assert "warten sie in „ Wartende Briefe “ auf Sie: Fragen Sie bei der Stelle nach" in text
    assert "letters waiting for a decision" not in text
    db.session.execute(update(Letter).where(Letter.id.in_(three)).values(status="cancelled"))
    db.session.commit()
    text = page_text(client.get("/admin/?lang=de").data)
    assert "1 Brief wartet auf die Entscheidung, ob er versandt wurde (im Versand seit" in text


# --- "label: value" in the organizer's language ------------------------------------------------

def test_counts_by_state_read_as_french_writes_them_with_a_space_before_the_colon(
    app: Any, client: Any, people: Any
) -> None:
    offices = unanswered_offices()
    a_round(offices, "needs_review", "sent")
    [letter, *_] = seed_queued(1)
    db.session.execute(update(Letter).where(Letter.id == letter).values(
        status="held", hold_reason="paused"))
    db.session.commit()
    log_in(client, PEOPLE["viewer"])

    page = client.get(f"{follow_ups_url()}?lang=fr").data.decode()
    rounds = re.search(r'id="table-rounds">(.*?)</table>', page, re.S)
    assert rounds
    counts = re.search(r'<td data-label="Lettres par état">([^<]+)</td>', rounds.group(1))
    assert counts, rounds.group(1)
    assert counts.group(1).count("\u00a0: 1") == 2, counts.group(1)  # two states, one each
    assert not re.search(r"[^\u00a0]:", counts.group(1))

    waiting = client.get("/admin/moderation?lang=fr").data.decode()
    listed = re.search(r'<ul class="counts" id="waiting-counts">(.*?)</ul>', waiting, re.S)
    assert listed and "\u00a0: 1</li>" in listed.group(1), listed
    english = client.get("/admin/moderation").data.decode()
    assert re.search(r"<li>[^<\u00a0]+: 1</li>", english)


# --- releasing a follow-up that would only be held again -------------------------------------

def release(client: Any, ids: list[int]) -> str:
    url = follow_ups_url()
    return html.unescape(client.post(f"{url}/waiting", data={
        "csrf_token": csrf(client, url), "follow_up": [str(i) for i in ids],
        "action": "release", "reason": "the office is back"}, follow_redirects=True)
        .data.decode())


def status(follow_up_id: int) -> FollowUpLetter:
    db.session.expire_all()
    return db.session.get_one(FollowUpLetter, follow_up_id)


def test_a_follow_up_whose_office_is_still_paused_is_kept_back_and_the_editor_told_why(
    app: Any, client: Any, sink: Sink, people: Any
) -> None:
    paused, fine = unanswered_offices()[:2]
    held, review = a_round([paused, fine], "held", "needs_review")
    paused.paused = True
    db.session.commit()
    log_in(client, PEOPLE["editor"])

    page = release(client, [held, review])
    assert "1 follow-up letter released." in page
    assert (f"Not released: {paused.office} is paused, so 1 follow-up letter to it would only"
            " be held again. Resume the office on its page first, then release the letter."
            ) in page
    assert status(held).status == "held" and status(review).status == "queued"
    work(app)
    assert status(held).status == "held" and status(review).status == "sent"

    # Resumed, it goes.
    paused.paused = False
    db.session.commit()
    assert "1 follow-up letter released." in release(client, [held])
    work(app)
    assert status(held).status == "sent"
    assert [m.rcpt_tos[0] for m in sink.received] == [
        fine.email, paused.email]


def test_released_to_an_office_that_paused_its_letters_it_goes_when_the_pause_ends(
    app: Any, client: Any, sink: Sink, people: Any
) -> None:
    [office] = unanswered_offices()[:1]
    [one] = a_round([office], "needs_review")
    until = (clock.now() + timedelta(days=3)).replace(microsecond=0)
    office.paused_until = until
    db.session.commit()
    log_in(client, PEOPLE["editor"])

    page = release(client, [one])
    assert "1 follow-up letter released." in page
    assert (f"{office.office} paused its letters until {until:%Y-%m-%d %H:%M} UTC: 1"
            " follow-up letter to it goes out then, by itself.") in page
    work(app)
    row = status(one)
    assert (row.status, row.not_before) == ("queued", until)  # not before the office's pause ends
    assert not sink.received


def test_a_follow_up_kept_back_by_a_limit_or_a_pause_counts_no_try(app: Any, sink: Sink) -> None:
    """Attempts count tries that reached the relay: a follow-up put back by the office's
    pause or a rate limit, however often, has tried nothing (a dead worker's follow-up with
    tries left is queued again, not put to a person)."""
    from advocacy.delivery.follow_ups import send_follow_up

    offices = unanswered_offices()[:2]
    first, second = a_round(offices, "queued", "queued")
    offices[0].paused_until = clock.now() + timedelta(days=3)
    db.session.commit()
    set_limits(None, {**NO_LIMITS, "relay": "1/hour"})

    def three_times(*ids: int) -> None:
        for _ in range(3):
            db.session.execute(update(FollowUpLetter).values(not_before=None))
            db.session.commit()
            for follow_up_id in ids:
                send_follow_up(follow_up_id)

    three_times(first, second)  # the second takes the hour's one letter
    assert [(status(i).status, status(i).attempts) for i in (first, second)] == [
        ("queued", 0), ("sent", 1)]
    offices[0].paused_until = None
    db.session.commit()
    three_times(first)  # now the relay's limit keeps it back
    row = status(first)
    assert (row.status, row.attempts, row.last_error) == ("queued", 0, "rate limit: relay")
    assert len(sink.received) == 1


def test_a_resume_sends_the_follow_ups_its_pause_held_but_not_those_held_otherwise(
    app: Any, client: Any, sink: Sink, people: Any
) -> None:
    """Resuming the campaign queues again the follow-ups its pause held, as it does letters;
    one whose office is still paused waits for an editor, as before."""
    from advocacy.delivery.follow_ups import send_follow_up
    from advocacy.organizers.controls import set_paused

    offices = unanswered_offices()[:2]
    free, still = a_round(offices, "queued", "queued")
    log_in(client, PEOPLE["editor"])
    set_paused(None, None, paused=True)
    offices[1].paused = True
    db.session.commit()
    for one in (free, still):
        send_follow_up(one)
    assert {status(i).status for i in (free, still)} == {"held"}

    url = f"/admin/campaigns/{the_campaign().slug}"
    page = page_text(client.post(f"{url}/sending", data={
        "csrf_token": csrf(client, url), "paused": "no"}, follow_redirects=True).data)
    assert "1 follow-up letter the pause held goes out again too." in page
    assert status(free).status == "queued" and status(still).status == "held"
    work(app)
    assert status(free).status == "sent" and status(still).status == "held"
    assert [m.rcpt_tos[0] for m in sink.received] == [offices[0].email]

    set_paused(None, offices[1].key, paused=False)  # the office resumed: its follow-up goes
    work(app)
    assert status(still).status == "sent"


def test_a_follow_up_kept_back_is_said_in_the_editors_language(
    app: Any, client: Any, people: Any
) -> None:
    [office] = unanswered_offices()[:1]
    [one] = a_round([office], "held")
    office.bounced_at = clock.now()
    db.session.commit()
    log_in(client, PEOPLE["editor"])
    url = follow_ups_url()
    page = html.unescape(client.post(f"{url}/waiting?lang=fr", data={
        "csrf_token": csrf(client, url), "follow_up": [str(one)], "action": "release",
        "reason": "x"}, follow_redirects=True).data.decode())
    assert f"Non libérée\u00a0: l’adresse de {office.office} a rejeté le courrier" in page, page
    assert status(one).status == "held"


def test_on_a_french_phone_card_labels_take_the_french_colon_and_nothing_scrolls_sideways(
    app: Any, live: str, browser: Any, people: Any
) -> None:
    """The cards' labels are drawn by the style sheet (td[data-label]::before); the replies'
    figures, labelled in French, used to push the overview past a phone's width."""
    a_round(unanswered_offices(), "needs_review")
    page = organizer_page(browser, live, PEOPLE["viewer"], PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    for url in ("/admin/", follow_ups_url()):
        page.goto(f"{live}{url}?lang=fr")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
    label = page.evaluate("getComputedStyle(document.querySelector("
                          "'#table-rounds td[data-label]'), '::before').content")
    assert label == '"Objet\u00a0: "', label
