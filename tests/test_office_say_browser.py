"""The office's own say in a phone's Chromium (issue 19): letters in French and Russian, sent
through the sink, end with the office's line in their language under the ask and the dated
news; the signed link opens the office's page in that language, and no page of it (the
choices, a refused address, the thanks) scrolls sideways at 390x844."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from advocacy import clock
from advocacy.campaigns.settings import find_campaign
from advocacy.crypto import lookup_hash
from advocacy.delivery.queue import enqueue_letters
from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.letters.versions import current_template
from advocacy.models import (
    Body,
    CampaignPage,
    Letter,
    LetterStatus,
    Official,
    Submission,
    Supporter,
)

from helpers import ONE_DATABASE, SHOTS, needs_chromium, work

pytestmark = [needs_chromium, ONE_DATABASE]

FOLDER = SHOTS / "office-say"
PHONE = {"width": 390, "height": 844}
# Each language's office: the torture rapporteur reads French; the rapporteur on Russia,
# Russian (a test inbox: the shipped file gives that mandate no address).
OFFICES = {"fr": ("un-sr-torture", "urgent-action@ohchr.org"),
           "ru": ("un-sr-russia", "sr-russia@ohchr.test")}
NEWS = {"fr": "Son avocat s’est vu refuser une visite.", "ru": "Адвокату отказали в свидании."}
FOOTER = {
    "fr": "À l’attention du bureau : vous pouvez recevoir ces lettres en un seul envoi"
          " quotidien, les suspendre une semaine ou nous indiquer la bonne adresse :",
    "ru": "Для адресата: вы можете получать эти письма одной ежедневной сводкой, приостановить"
          " их на неделю или сообщить нам правильный адрес:",
}
SIGNED = {"fr": "Lyon, France", "ru": "Lyon, Франция"}  # the signature's last line
PAGE_WORDS = {"fr": ("Comment vous recevez ces lettres", "Envoyer l’adresse", "Merci"),
              "ru": ("Как вы получаете эти письма", "Отправить адрес", "Спасибо")}
# The campaign as its page is titled in the language (campaigns/free-azat-miftakhov/).
TITLES = {"fr": "Libérez Azat Miftakhov", "ru": "Свободу Азату Мифтахову"}


def letter_in(language: str) -> None:
    """One confirmed letter in the language to its office, the page's news dated in it."""
    key, inbox = OFFICES[language]
    campaign = find_campaign(None)
    assert campaign is not None
    un = db.session.scalars(select(Body).where(Body.slug == "un")).one()
    office = db.session.scalars(select(Official).where(Official.key == key)).one()
    office.email, office.active = inbox, True
    page = db.session.scalars(select(CampaignPage).where(CampaignPage.language == language)
                              .order_by(CampaignPage.version.desc())).first()
    assert page is not None
    page.news_date, page.news = date(2026, 12, 2), NEWS[language]
    template = current_template(campaign, un, language)
    assert template is not None and template.language == language
    now = clock.now()
    address = f"supporter-{uuid.uuid4().hex[:6]}@example.org"
    supporter = Supporter(email=address, email_hash=lookup_hash(address))
    submission = Submission(
        campaign_id=campaign.id, supporter=supporter, body_id=un.id, target_country="",
        name="Camille Martin", city="Lyon", country="FR", language=language,
        personal_note="", consent_at=now, confirmed_at=now)
    letter = Letter(campaign_id=campaign.id, submission=submission, supporter=supporter,
                    target_id=office.id, template_id=template.id, status=LetterStatus.QUEUED,
                    queued_at=now)
    db.session.add(letter)
    db.session.commit()
    enqueue_letters([letter.id])


def no_sideways_scroll(page: Any, name: str) -> None:
    page.screenshot(path=str(FOLDER / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name


@pytest.mark.parametrize("language", ["fr", "ru"])
def test_the_offices_line_reads_in_its_language_and_its_page_fits_a_phone(
        app: Any, live: str, sink: Sink, browser: Any, language: str) -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    letter_in(language)
    work(app)
    [mail] = [m.message() for m in sink.received if m.rcpt_tos == [OFFICES[language][1]]]
    text = mail.get_content().replace("\r\n", "\n")
    (FOLDER / f"letter-{language}.txt").write_text(text, encoding="utf-8")
    # The office's line comes last, after the ask, the dated news and the signature, in the
    # letter's language.
    # One blank line between the signature and the office's line.
    footer = f"\n{SIGNED[language]}\n\n-- \n{FOOTER[language]}\n"
    assert footer in text and NEWS[language] in text, text
    assert text.index(NEWS[language]) < text.index(footer)
    link = re.search(rf"{re.escape(live)}/office/[A-Za-z0-9_.\-]+\?lang={language}", text)
    assert link and text.rstrip().endswith(link.group(0)), text
    title, send, thanks = PAGE_WORDS[language]

    page = browser.new_page(viewport=PHONE, locale=language)
    page.goto(link.group(0))
    assert page.locator("h1").inner_text() == title
    assert TITLES[language] in page.locator("main").inner_text()
    no_sideways_scroll(page, f"office-{language}")
    # A refused address keeps what was typed and says why, still within the screen.
    page.fill("#email", "not an address at all, written at length by a hurried office")
    page.click(f"button:has-text('{send}')")
    assert page.get_attribute("#email", "aria-invalid") == "true"
    no_sideways_scroll(page, f"office-{language}-refused")
    page.fill("#email", "right-inbox@example.org")
    page.click(f"button:has-text('{send}')")
    assert page.locator("h1").inner_text() == thanks
    assert TITLES[language] in page.locator("main").inner_text()
    no_sideways_scroll(page, f"office-{language}-done")
    # Another language keeps the choice's thanks.
    page.click("nav.languages a[lang=en]")
    assert page.locator("h1").inner_text() == "Thank you"
    assert "until one of our organizers has checked" in page.locator("main").inner_text()
    page.close()
    db.session.expire_all()
    key, inbox = OFFICES[language]
    office = db.session.scalars(select(Official).where(Official.key == key)).one()
    # Proposed, not used: letters keep going to the address an organizer checked.
    assert office.proposed_email == "right-inbox@example.org" and office.email == inbox
