"""The officials' admin pages in headless Chromium: search, edit, and an import preview."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from advocacy.extensions import db
from advocacy.models import Official
from advocacy.officials.rows import COLUMNS, row_of_official

from helpers import (
    ONE_DATABASE,
    PASSWORD,
    PEOPLE,
    accessibility_problems,
    needs_chromium,
    organizer_page,
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
    page.fill("#timezone", "Mars/Olympus")
    page.click("button:has-text('Save')")
    expect(page.locator("#timezone-error")).to_contain_text("unknown IANA time zone")
    assert page.get_attribute("#timezone", "aria-invalid") == "true"
    assert page.input_value("#holder") == "Dr Alice Jill Edwards"  # what was typed stays
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "2-edit-error.png"), full_page=True)
    page.fill("#timezone", "Europe/Zurich")
    page.click("button:has-text('Save')")
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
