"""The letter editor in headless Chromium: live preview, saving a version, rolling back."""

from __future__ import annotations

from typing import Any

from advocacy.models import Organizer

from helpers import ONE_DATABASE, PASSWORD, PEOPLE, SHOTS, accessibility_problems, organizer_page


@ONE_DATABASE
def test_an_editor_previews_saves_and_rolls_back_a_letter(
    app: Any, live: str, browser: Any, people: dict[str, Organizer]
) -> None:
    from playwright.sync_api import expect

    shots = SHOTS / "letter-editor"
    shots.mkdir(parents=True, exist_ok=True)
    page = organizer_page(browser, live, PEOPLE["editor"], PASSWORD)
    page.click("nav >> text=Letters")
    page.click("a:has-text('Open'):has-text('United Nations, English')")
    expect(page.locator("h1")).to_have_text("United Nations, English")
    assert accessibility_problems(page) == []

    # The preview follows what is typed, rendered by the server.
    page.fill("#subject", "Appeal from {{ supporter.name }} to {{ official.office }}")
    page.select_option("#official", "un-wgad")
    expect(page.locator("#preview-subject")).to_have_text(
        "Appeal from Alex Example to Working Group on Arbitrary Detention")
    expect(page.locator("#preview-to")).to_contain_text("hrc-wg-ad@un.org")
    page.fill("#suggested_note", "I teach <b>mathematics</b>.")
    expect(page.locator("#preview-text")).to_contain_text("I teach <b>mathematics</b>.")
    body = page.input_value("#body")
    page.fill("#body", body + "{% for x in range(9) %}{% endfor %}")
    expect(page.locator("#preview-error")).to_contain_text("a loop ({% for %}) is not allowed")
    page.screenshot(path=str(shots / "1-does-not-render.png"), full_page=True)
    page.click("#save-button")  # refused, and what was typed stays
    expect(page.locator("#body-error")).to_contain_text("a loop")
    assert page.input_value("#subject").startswith("Appeal from {{ supporter.name }}")
    page.fill("#body", body.replace("Yours sincerely,", "With respect,"))
    expect(page.locator("#preview-text")).to_contain_text("With respect,")
    page.screenshot(path=str(shots / "2-preview.png"), full_page=True)

    page.click("#save-button")
    expect(page.locator("main")).to_contain_text("Saved as version 2.")
    expect(page.locator("#version-2")).to_contain_text("(current), by editor@campaign.test")
    expect(page.locator("#version-2 ins").last).to_have_text("With respect,")
    expect(page.locator("#preview-to")).to_contain_text("hrc-wg-ad@un.org")  # still chosen
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "3-saved.png"), full_page=True)

    page.click("button[aria-label='Bring back version 1']")
    expect(page.locator("main")).to_contain_text("Version 1 is back, as version 3.")
    assert page.input_value("#subject").startswith("Azat Miftakhov (Russia)")
    expect(page.locator("#preview-text")).to_contain_text("Yours sincerely,")
    page.screenshot(path=str(shots / "4-rolled-back.png"), full_page=True)
    page.close()

