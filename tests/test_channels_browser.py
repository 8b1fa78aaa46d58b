"""In headless Chromium, on a phone and a desktop: an office reached through its contact form
(the letter copied, the form opened in a new tab, "I sent it" counted) and one reached by post
(a printable letter with its address block and date, as printed)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from advocacy.extensions import db
from advocacy.models import Official

from helpers import (
    FORM_PAGE,
    ONE_DATABASE,
    accessibility_problems,
    needs_chromium,
    no_email_group,
    shots_for,
)

pytestmark = [needs_chromium, ONE_DATABASE]

DEVICES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}


@pytest.mark.parametrize("device", DEVICES)
def test_a_form_office_and_a_post_office_reached_by_hand_and_counted(
    app: Any, live: str, browser: Any, client: Any, request: pytest.FixtureRequest, device: str
) -> None:
    from playwright.sync_api import expect

    shots = shots_for(request, f"channels-{device}")
    form_office, post_office = no_email_group()
    context = browser.new_context(viewport=DEVICES[device], locale="en",
                                  permissions=["clipboard-read", "clipboard-write"])
    # The office's own contact form, served here: the test's browser reaches no outside host.
    context.route(f"{FORM_PAGE}**", lambda route: route.fulfill(
        content_type="text/html", body="<title>Contact us</title><form>Write to us</form>"))
    page = context.new_page()
    page.goto(f"{live}/?body=eu")
    # Before anything is typed: how each office is reached, and no button that could only fail.
    office = page.locator(f"#officials li[data-key='{form_office.key}']")
    expect(office.locator(".channel-form")).to_have_text("via its contact form")
    expect(page.locator(f"#officials li[data-key='{post_office.key}'] .channel-post")) \
        .to_have_text("by post")
    expect(page.locator("#send-none")).to_be_visible()
    assert page.locator("button[value=send]").count() == 0
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "1-page.png"), full_page=True)
    page.fill("#name", "Sofia Ruiz")
    page.fill("#city", "Valencia")
    page.select_option("#supporter_country", "ES")
    page.fill("#personal_note", "I teach mathematics in Valencia.")
    expect(page.locator("#letter-after")).to_contain_text("Sofia Ruiz")

    with page.expect_popup() as opened:
        page.click(f"button[value='form:{form_office.key}']")
    copy = opened.value
    copy.wait_for_load_state()
    expect(copy.locator("h1")).to_have_text("Send the letter through the contact form")
    assert accessibility_problems(copy) == []
    copy.click("button[data-copy=letter-text]")
    expect(copy.locator("#copy-status")).to_contain_text("Copied")
    copied = copy.evaluate("navigator.clipboard.readText()")
    assert "I teach mathematics in Valencia." in copied and "Sofia Ruiz" in copied
    copy.screenshot(path=str(shots / "2-contact-form.png"), full_page=True)
    with copy.expect_popup() as office_form:
        copy.click("#open-form")
    office_form.value.wait_for_load_state()
    assert office_form.value.url == FORM_PAGE and "/by-hand" in copy.url  # a new tab
    copy.click("#sent")
    expect(copy.locator("h1")).to_have_text("Thank you")
    assert client.get("/api/stats").json["by_hand"] == {"form": 1, "post": 0}

    with page.expect_popup() as opened:
        page.click(f"button[value='post:{post_office.key}']")
    paper = opened.value
    paper.wait_for_load_state()
    assert accessibility_problems(paper) == []
    paper.screenshot(path=str(shots / "3-post.png"), full_page=True)
    paper.emulate_media(media="print")
    expect(paper.locator("address.recipient")).to_contain_text("Rue Wiertz 60")
    expect(paper.locator("article.paper .date")).to_be_visible()
    expect(paper.locator("article.paper")).to_contain_text("I teach mathematics in Valencia.")
    expect(paper.locator("article.paper")).to_contain_text("Sofia Ruiz\nValencia, Spain")
    assert paper.locator("#gaps").count() == 0  # nothing left to fill in
    for on_screen_only in ("#sent", "h1", "nav.languages", "footer"):
        expect(paper.locator(on_screen_only)).to_be_hidden()
    paper.screenshot(path=str(shots / "4-post-printed.png"), full_page=True)
    paper.emulate_media(media="screen")
    paper.click("#sent")
    expect(paper.locator("h1")).to_have_text("Thank you")
    assert client.get("/api/stats").json["by_hand"] == {"form": 1, "post": 1}
    context.close()


def test_case_intake_inboxes_are_shown_as_organizers_submissions(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    shots = shots_for(request, "case-intake")
    db.session.execute(update(Official).where(Official.key == "un-wgad").values(case_intake=True))
    db.session.commit()
    for device, viewport in DEVICES.items():
        page = browser.new_page(viewport=viewport, locale="en")
        page.goto(f"{live}/?body=un")
        expect(page.locator("#officials")).not_to_contain_text("Arbitrary Detention")
        note = page.locator(".organizers-submissions")
        expect(note).to_contain_text("Working Group on Arbitrary Detention")
        assert note.locator("form, button, textarea").count() == 0
        note.screenshot(path=str(shots / f"{device}.png"))
        page.close()
