"""A second campaign made, filled and published through the admin in Chromium (no code, no
files), then written to through its page, its widget and the API."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.models import Campaign, CampaignPage, Submission

from helpers import (
    ONE_DATABASE,
    PASSWORD,
    PEOPLE,
    VIEWPORTS,
    accessibility_problems,
    needs_chromium,
    organizer_page,
    shots_for,
)

pytestmark = [needs_chromium, pytest.mark.usefixtures("people")]

LETTER = ("{{ salutation }}\n\nI write to ask for the release of Narges Mohammadi.\n\n"
          "{% if personal_note %}{{ personal_note }}\n\n{% endif %}Yours sincerely,\n"
          "{{ supporter.name }}, {{ supporter.city }}\n")


def photo() -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"
    Image.new("RGB", (2400, 1600), (40, 90, 160)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def write_letter(page: Any, name: str, email: str) -> None:
    """A supporter fills the form (the UN alone, in English) and sends it."""
    for box in page.locator("input[name=bodies]").all():
        box.set_checked(box.get_attribute("value") == "un")
    page.fill("#name", name)
    page.fill("#city", "Lyon")
    page.select_option("#supporter_country", "FR")
    page.fill("#email", email)
    page.check("#consent")
    page.click("button[value=send]")


@ONE_DATABASE
def test_a_second_campaign_is_made_and_published_in_the_admin_and_takes_letters(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    shots = shots_for(request, "campaign-pages")
    admin = organizer_page(browser, live, PEOPLE["owner"], PASSWORD)
    admin.click("nav.admin-nav >> text=Campaigns")
    admin.fill("#new-slug", "free-narges")
    admin.fill("#new-name", "Free Narges Mohammadi")
    admin.click("button:has-text('Create (paused)')")
    expect(admin.locator("main")).to_contain_text("created, paused")

    # Its page, in English: typed, previewed, saved.
    admin.click("#page-en")
    admin.fill("#title", "Free Narges Mohammadi")
    admin.fill("#summary", "A Nobel Peace Prize laureate held in Evin prison: write for her.")
    admin.fill("#story", "Narges Mohammadi is held in **Evin**.\n\n<script>alert(1)</script>")
    admin.set_input_files("#image_file", files=[{"name": "photo.jpg", "mimeType": "image/jpeg",
                                                 "buffer": photo()}])
    admin.fill("#image_alt", "A blue square standing in for her photograph")
    admin.fill("#news_date", "2026-12-01")
    admin.fill("#news", "Letters are reaching the officials.")
    admin.fill("#goal", "2000")
    admin.fill("#share_text", "I wrote for Narges Mohammadi. Please write too:")
    admin.click("#preview-button")
    expect(admin.locator("#page-preview h1")).to_have_text("Free Narges Mohammadi")
    expect(admin.locator("#page-preview .story strong")).to_have_text("Evin")
    expect(admin.locator("#page-preview img.campaign-image")).to_be_visible()
    assert db.session.scalar(select(CampaignPage.id).join(
        Campaign, Campaign.id == CampaignPage.campaign_id)
        .where(Campaign.slug == "free-narges")) is None  # a preview saves nothing
    admin.screenshot(path=str(shots / "1-page-preview.png"), full_page=True)
    admin.click("#save-button")
    expect(admin.locator("main")).to_contain_text("Saved as version 1.")
    assert accessibility_problems(admin) == []

    # Its letter to the UN, in English.
    admin.click("nav.admin-nav >> text=Letters")
    admin.click("a[href='/admin/letters/free-narges/un/en']")
    admin.fill("#subject", "Free Narges Mohammadi")
    admin.fill("#default_salutation", "Dear Sir or Madam,")
    admin.fill("#body", LETTER)
    admin.click("#save-button")
    expect(admin.locator("main")).to_contain_text("Saved as version 1.")

    # Published: opened to letters.
    admin.click("nav.admin-nav >> text=Campaigns")
    admin.click("text=Free Narges Mohammadi")
    admin.click("button:has-text('Resume sending')")
    expect(admin.locator("main")).to_contain_text("State: open")
    admin.close()

    # A supporter writes through its page...
    page = browser.new_page(viewport=VIEWPORTS["phone"], locale="en")
    page.goto(f"{live}/c/free-narges")
    expect(page.locator("h1")).to_have_text("Free Narges Mohammadi")
    expect(page.locator(".counter")).to_contain_text("of 2,000")
    expect(page.locator(".news")).to_contain_text("Letters are reaching the officials.")
    assert page.locator("img.campaign-image").evaluate("i => i.naturalWidth") == 1200
    assert page.locator("script", has_text="alert(1)").count() == 0
    expect(page.locator("#letter-before")).to_contain_text("release of Narges Mohammadi")
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "2-public-page.png"), full_page=True)
    write_letter(page, "Sofia Ruiz", "sofia@example.org")
    expect(page.locator("h1")).to_have_text("Check your inbox")

    # ...its widget...
    page.goto(f"{live}/c/free-narges/widget?ref=partner-one")
    write_letter(page, "Claire Martin", "claire@example.org")
    expect(page.locator("h1")).to_have_text("Check your inbox")

    # ...and the API.
    reply = page.request.post(f"{live}/api/letters", data={
        "campaign": "free-narges", "body": "un", "language": "en", "consent": True,
        "supporter": {"name": "Jonas Weber", "email": "jonas@example.org", "city": "Leipzig",
                      "country": "DE"}})
    assert reply.status == 202, reply.text()

    # Paused in the admin: the page says so under its title and shows no form.
    admin = organizer_page(browser, live, PEOPLE["editor"], PASSWORD)
    admin.goto(f"{live}/admin/campaigns/free-narges")
    admin.click("button:has-text('Pause sending')")
    expect(admin.locator("main")).to_contain_text("State: paused")
    admin.close()
    page.goto(f"{live}/c/free-narges?lang=ru")
    expect(page.locator("#campaign-state")).to_contain_text("Эта кампания приостановлена")
    expect(page.locator("#fallback-notice")).to_be_visible()  # no Russian page: English
    assert page.locator("#letter-form").count() == 0
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "3-paused-ru.png"), full_page=True)
    page.close()

    narges = db.session.scalars(select(Campaign).where(Campaign.slug == "free-narges")).one()
    rows = db.session.execute(select(Submission.campaign_id, Submission.ref)
                              .order_by(Submission.id)).all()
    assert [tuple(r) for r in rows] == [(narges.id, None), (narges.id, "partner-one"),
                                        (narges.id, None)]
