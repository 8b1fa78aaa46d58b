"""The officials' admin pages in headless Chromium: search, edit, and an import preview."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import update

from advocacy.extensions import db
from advocacy.models import HoldReason, Letter, LetterStatus, Official
from advocacy.officials.rows import COLUMNS, REQUIRED, row_of_official

from helpers import (
    ONE_DATABASE,
    PASSWORD,
    PEOPLE,
    VIEWPORTS,
    accessibility_problems,
    needs_chromium,
    organizer_page,
    seed_queued,
    shipped_officials,
    shots_for,
    verified_as_a_file_may,
)

pytestmark = [needs_chromium, pytest.mark.usefixtures("people")]


def official(key: str) -> Official:
    db.session.expire_all()
    return db.session.scalars(db.select(Official).where(Official.key == key)).one()


@ONE_DATABASE
def test_an_editor_searches_edits_and_previews_an_import(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    shots = shots_for(request, "admin-officials")
    verified_as_a_file_may("un-sr-torture")
    page = organizer_page(browser, live, PEOPLE["editor"], PASSWORD)
    page.click("nav.admin-nav >> text=Officials")
    expect(page.locator("tr[data-key]")).to_have_count(shipped_officials())
    page.fill("#q", "torture")
    page.select_option("#filter-body", "un")
    page.click("form.filters button")
    expect(page.locator("tr[data-key]")).to_have_count(1)
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "1-search.png"), full_page=True)

    page.click("tr[data-key=un-sr-torture] a")
    page.click("text=Edit this official")
    page.fill("#holder", "Dr Alice Jill Edwards")
    source = page.input_value("#source")
    page.fill("#source", "")  # (the time zone is chosen from a list: it cannot be mistyped)
    page.click("#save-button")
    expect(page.locator("#source-error")).to_contain_text("at least 3 characters")
    assert page.get_attribute("#source", "aria-invalid") == "true"
    assert page.input_value("#holder") == "Dr Alice Jill Edwards"  # what was typed stays
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "2-edit-error.png"), full_page=True)
    page.fill("#source", source)
    page.select_option("#timezone", "Europe/Zurich")
    page.click("#save-button")
    expect(page.locator("main")).to_contain_text("Saved un-sr-torture.")
    expect(page.locator(".details")).to_contain_text("Dr Alice Jill Edwards")
    assert official("un-sr-torture").verified is True  # the address did not change

    rows = io.StringIO()
    writer = csv.DictWriter(rows, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerow({**row_of_official(official("un-wgad")), "holder": "Chair of the Group"})
    writer.writerow({**row_of_official(official("un-sr-russia")), "timezone": "Mars/Olympus"})
    page.click("nav.admin-nav >> text=Officials")
    page.click("text=Import from CSV")
    page.set_input_files("#file", files=[{"name": "officials.csv", "mimeType": "text/csv",
                                          "buffer": rows.getvalue().encode()}])
    page.click("button:has-text('Preview')")
    expect(page.locator("#summary")).to_have_text(
        "0 to add, 1 to change, 0 unchanged, 1 problem.")
    expect(page.locator("#problems")).to_contain_text("timezone")
    expect(page.locator("#changed")).to_contain_text("Chair of the Group")
    assert page.locator("#apply").count() == 0  # a file with a problem cannot be applied
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "3-import-preview.png"), full_page=True)
    assert official("un-wgad").holder == ""  # the preview saved nothing
    page.close()


def every_admin_page(live: str) -> list[str]:
    """A URL for every admin page an owner reads, with real keys and a few letters waiting."""
    from advocacy.campaigns.settings import find_campaign

    ids = seed_queued(1, "un")
    db.session.execute(update(Letter).where(Letter.id.in_(ids[:1])).values(
        status=LetterStatus.HELD, hold_reason=HoldReason.PAUSED))
    db.session.commit()
    campaign = find_campaign(None)
    assert campaign is not None
    torture = official("un-sr-torture").id
    return [f"{live}/admin{path}" for path in (
        "/", "/letters", f"/letters/{campaign.slug}/un/en", "/targets", f"/targets/{torture}",
        f"/targets/{torture}/edit", "/targets/new", "/targets/import", "/groups", "/groups/un",
        "/groups/new", "/moderation", "/campaigns", f"/campaigns/{campaign.slug}",
        f"/campaigns/{campaign.slug}/page/en", "/partners", "/outbox", "/report",
        "/report?body=un", "/organizers", "/audit", "/live", "/account")]


@ONE_DATABASE
def test_every_admin_page_fits_a_phone_and_a_desktop(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    shots = shots_for(request, "admin-fit")
    urls = every_admin_page(live)
    page = organizer_page(browser, live, PEOPLE["owner"], PASSWORD)
    too_wide = []
    for name, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        for url in urls:
            reply = page.goto(url)
            assert reply is not None and reply.status == 200, url
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > page.evaluate("window.innerWidth"):
                too_wide.append((name, url, width))
            slug = url.split("/admin", 1)[1].strip("/").replace("/", "-").replace("?", "-")
            page.screenshot(path=str(shots / f"{name}-{slug or 'overview'}.png"), full_page=True)
    page.close()
    assert too_wide == [], "\n".join(map(str, too_wide))


@ONE_DATABASE
def test_an_import_keeps_the_columns_the_file_leaves_out(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    """F14: a row that adds only an email to an office with a postal address and translated
    names changes the email alone; the preview names the columns kept."""
    from playwright.sync_api import expect

    before = row_of_official(official("eu-ep-president"))
    assert before["postal_address"] and before["office_fr"] and not before["email"]
    columns = [*REQUIRED, "email"]
    rows = io.StringIO()
    writer = csv.DictWriter(rows, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerow({**before, "email": "president@europarl.europa.eu"})
    shots = shots_for(request, "admin-import")
    page = organizer_page(browser, live, PEOPLE["editor"], PASSWORD)
    page.goto(f"{live}/admin/targets/import")
    expect(page.locator("#left-out-rule")).to_contain_text("A column left out changes nothing")
    page.set_input_files("#file", files=[{"name": "officials.csv", "mimeType": "text/csv",
                                          "buffer": rows.getvalue().encode()}])
    page.click("button:has-text('Preview')")
    expect(page.locator("#summary")).to_have_text(
        "0 to add, 1 to change, 0 unchanged, 0 problems.")
    for kept in ("postal_address", "contact_page", "holder", "office_fr"):
        expect(page.locator("#left-out")).to_contain_text(kept)
    expect(page.locator("#changed table.changes tbody tr")).to_have_count(1)  # email alone
    expect(page.locator("#changed")).to_contain_text("president@europarl.europa.eu")
    page.screenshot(path=str(shots / "1-preview.png"), full_page=True)
    page.click("#apply")
    expect(page.locator("main")).to_contain_text("0 added, 1 changed")
    after = row_of_official(official("eu-ep-president"))
    assert after == {**before, "email": "president@europarl.europa.eu"}
    page.close()
