"""The official's form and the letters editor in headless Chromium, on a phone and a desktop:
choices filled in as one types, placeholders inserted at the cursor, a translation out of date,
and no sideways scrolling (issue 20)."""

from __future__ import annotations

from typing import Any

from advocacy.models import Organizer

from helpers import ONE_DATABASE, PASSWORD, PEOPLE, SHOTS, accessibility_problems, organizer_page

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def shoot(page: Any, name: str) -> None:
    """Both sizes: each must fit without sideways scrolling; a full-page screenshot of each."""
    folder = SHOTS / "forms-for-people"
    folder.mkdir(parents=True, exist_ok=True)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.wait_for_timeout(100)
        assert page.evaluate(FITS), (name, size, page.evaluate(
            "document.documentElement.scrollWidth"))
        page.screenshot(path=str(folder / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["desktop"])


@ONE_DATABASE
def test_the_officials_form_suggests_as_one_chooses(
    app: Any, live: str, browser: Any, people: dict[str, Organizer]
) -> None:
    from playwright.sync_api import expect

    page = organizer_page(browser, live, PEOPLE["editor"], PASSWORD)
    page.set_viewport_size(SIZES["desktop"])
    page.goto(f"{live}/admin/targets/new")
    page.select_option("#body", "gov")
    page.fill("#office", "Minister for Europe and Foreign Affairs")
    page.select_option("#country", "FR")
    expect(page.locator("#timezone")).to_have_value("Europe/Paris")
    page.select_option("#holder_gender", "f")
    expect(page.locator("#salutation-preview q[lang=fr]")).to_have_text("Madame,")
    expect(page.locator("#salutation-preview q[lang=en]")).to_have_text("Dear Madam,")
    page.fill("#salutation_fr", "Madame la Ministre, Monsieur le Ministre,")
    expect(page.locator("#salutation-preview q[lang=fr]")).to_have_text("Madame la Ministre,")
    expect(page.locator("#key")).to_have_attribute(
        "placeholder", "gov-fr-minister-for-europe-and-foreign-affairs")
    assert accessibility_problems(page) == []
    shoot(page, "official-france")

    page.select_option("#country", "US")  # several clocks: the organizer picks one
    expect(page.locator("#timezone")).to_have_value("")
    expect(page.locator("#timezone option[value='America/Chicago']")).to_have_count(1)
    page.fill("#source", "state.gov")
    page.fill("#contact_page", "https://www.state.gov/contact-us/")
    page.click("#save-button")
    expect(page.locator("#timezone-error")).to_contain_text("Choose the time zone")
    expect(page.locator("#office")).to_have_value("Minister for Europe and Foreign Affairs")
    expect(page.locator("#country")).to_have_value("US")
    # The error sits right under its field.
    field = page.locator("#timezone").bounding_box()
    error = page.locator("#timezone-error").bounding_box()
    assert field and error and 0 <= error["y"] - (field["y"] + field["height"]) < 40
    shoot(page, "official-error")
    page.select_option("#timezone", "America/New_York")
    page.click("#save-button")
    expect(page.locator("main")).to_contain_text(
        "Saved gov-us-minister-for-europe-and-foreign-affairs.")
    page.close()


@ONE_DATABASE
def test_the_letters_editor_previews_beside_the_text_and_marks_translations(
    app: Any, live: str, browser: Any, people: dict[str, Organizer]
) -> None:
    from playwright.sync_api import expect

    page = organizer_page(browser, live, PEOPLE["editor"], PASSWORD)
    page.set_viewport_size(SIZES["desktop"])
    page.goto(f"{live}/admin/letters/free-azat-miftakhov/un/en")
    # A placeholder from the list goes where the cursor is.
    page.fill("#subject", "Appeal from ")
    page.focus("#subject")
    page.press("#subject", "End")
    page.click("#insert-placeholders button[data-insert='{{ supporter.name }}']")
    expect(page.locator("#subject")).to_have_value("Appeal from {{ supporter.name }}")
    expect(page.locator("#preview-subject")).to_have_text("Appeal from Alex Example")
    body = page.input_value("#body")
    page.fill("#body", body.replace("Yours sincerely,", "With respect,"))
    expect(page.locator("#preview-text")).to_contain_text("With respect,")
    # Beside the text on a desktop, under it on a phone.
    form, preview = (page.locator(s).bounding_box() for s in ("#letter-editor", ".editor-preview"))
    assert form and preview and preview["x"] >= form["x"] + form["width"] - 1
    page.set_viewport_size(SIZES["phone"])
    form, preview = (page.locator(s).bounding_box() for s in ("#letter-editor", ".editor-preview"))
    assert form and preview and preview["y"] >= form["y"] + form["height"] - 1
    page.set_viewport_size(SIZES["desktop"])
    page.click("#save-button")
    expect(page.locator("main")).to_contain_text("Saved as version 2.")
    expect(page.locator("#version-2 del").last).to_have_text("Yours sincerely,")
    expect(page.locator("#version-2 ins").last).to_have_text("With respect,")
    assert accessibility_problems(page) == []
    shoot(page, "letter-editor-history")

    # French was written from English version 1: now out of date, with the way to the change.
    page.goto(f"{live}/admin/letters")
    row = page.locator("tr", has=page.locator("span[lang=fr]")).first
    expect(row.locator(".badge.stale")).to_have_text("Out of date")
    shoot(page, "letters-list")
    page.goto(f"{live}/admin/letters/free-azat-miftakhov/un/fr")
    expect(page.locator("#stale")).to_contain_text("English version 1")
    shoot(page, "letter-editor-out-of-date")
    page.click("#stale a")
    expect(page.locator("#since ins").last).to_have_text("With respect,")
    shoot(page, "letter-changes-since")
    page.go_back()
    page.click("#save-button")
    expect(page.locator("main")).to_contain_text("up to date with its source (English), version 2")
    expect(page.locator("#stale")).to_have_count(0)
    page.close()
