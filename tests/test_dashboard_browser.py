"""The dashboard in headless Chromium: the charts render, the filters apply, CSV downloads parse."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from advocacy.reporting.rollup import roll_up

from helpers import (
    NOW,
    ONE_DATABASE,
    PASSWORD,
    PEOPLE,
    accessibility_problems,
    needs_chromium,
    organizer_page,
    seed_queued,
    send,
    shots_for,
)

pytestmark = [needs_chromium, pytest.mark.usefixtures("people")]


@ONE_DATABASE
def test_a_viewer_reads_filters_and_downloads_the_dashboard(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    ids = seed_queued(3, "un")
    send(ids[:4], NOW - timedelta(days=2), "FR")
    send(ids[4:], NOW - timedelta(days=1), "DE")
    roll_up(NOW)
    shots = shots_for(request, "admin-dashboard")
    page = organizer_page(browser, live, PEOPLE["viewer"], PASSWORD, accept_downloads=True)
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("#chart-day rect.bar")).to_have_count(2)  # two days with letters
    box = page.locator("#chart-day rect.bar").first.bounding_box()
    assert box is not None and box["height"] > 10  # drawn, not just present
    expect(page.locator("#table-country")).to_contain_text("FR")
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "1-overview.png"), full_page=True)

    page.fill("#f-country", "DE")
    page.click("form.filters button")
    expect(page.locator("#table-country tbody tr")).to_have_count(1)
    expect(page.locator("#table-country")).to_contain_text("DE")
    expect(page.locator("#chart-day rect.bar")).to_have_count(1)
    page.screenshot(path=str(shots / "2-filtered.png"), full_page=True)

    with page.expect_download() as info:
        page.click("text=every sent letter")
    target = tmp_path / "letters.csv"
    info.value.save_as(target)
    with target.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and {r["supporter_country"] for r in rows} == {"DE"}
    with page.expect_download() as info:
        page.click("a:text-is('country')")
    info.value.save_as(target)
    with target.open(newline="") as f:
        assert list(csv.reader(f)) == [["country", "letters"], ["DE", "2"]]
    page.close()
