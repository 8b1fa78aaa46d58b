"""The dashboard in headless Chromium: the charts render, the filters apply, CSV downloads parse."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from advocacy.extensions import db
from advocacy.models import HoldReason, Letter, LetterStatus, Official
from advocacy.reporting.rollup import roll_up

from helpers import (
    NOW,
    ONE_DATABASE,
    PASSWORD,
    PEOPLE,
    VIEWPORTS,
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
    expect(page.locator("#table-country")).to_contain_text("France")
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "1-overview.png"), full_page=True)

    page.select_option("#f-country", label="Germany")
    page.click("form.filters button")
    expect(page.locator("#table-country tbody tr")).to_have_count(1)
    expect(page.locator("#table-country")).to_contain_text("Germany")
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
        page.click("a:text-is('Supporter country')")
    info.value.save_as(target)
    with target.open(newline="") as f:
        assert list(csv.reader(f)) == [["country", "letters"], ["DE", "2"]]
    page.close()


def _hold(ids: list[int], reason: HoldReason) -> None:
    db.session.execute(update(Letter).where(Letter.id.in_(ids))
                       .values(status=LetterStatus.HELD, hold_reason=reason))
    db.session.commit()


def _letters_to(key: str, ids: list[int]) -> list[int]:
    return list(db.session.scalars(select(Letter.id).join(Official, Letter.target_id == Official.id)
                                   .where(Official.key == key, Letter.id.in_(ids))))


@ONE_DATABASE
def test_an_organizers_morning_from_the_alert_to_a_truthful_release(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest,
) -> None:
    """Overview → held-letter alert → Letters waiting → select all, release: the message says
    what was released and why the rest still waits; resuming the office (paused from the
    command line) releases the rest."""
    from playwright.sync_api import expect

    from advocacy.organizers.controls import set_paused

    ids = seed_queued(2, "un")
    send(ids[:2], NOW - timedelta(days=1), "FR")
    wgad, torture = _letters_to("un-wgad", ids[2:]), _letters_to("un-sr-torture", ids[2:])
    set_paused(None, "un-wgad", paused=True)  # as `advocacy pause --official un-wgad` does
    _hold(wgad[:1] + torture[:1], HoldReason.PAUSED)
    shots = shots_for(request, "admin-morning")
    page = organizer_page(browser, live, PEOPLE["editor"], PASSWORD)
    expect(page.locator("#sent-total")).to_have_text("2")
    expect(page.locator("#deciding")).to_have_text("2")
    alert = page.locator("[data-alert=held-paused]")
    expect(alert).to_contain_text("2 letters held: paused by the organizers.")
    expect(page.locator("#table-waiting")).to_contain_text(
        "Held back (paused by the organizers)")
    assert "needs_review" not in page.locator("main").inner_text()  # words, not identifiers
    page.screenshot(path=str(shots / "1-overview.png"), full_page=True)

    alert.locator("a").click()
    expect(page.locator("h1")).to_have_text("Letters waiting for an organizer")
    expect(page.locator("#waiting tbody tr")).to_have_count(2)
    assert accessibility_problems(page) == []
    page.check("#select-all")
    expect(page.locator("#waiting tbody input:checked")).to_have_count(2)
    page.fill("#reason", "Checked with the office")
    page.click("button[value=release]")
    notes = page.locator("main > p.notice, main > p.error")
    expect(notes.first).to_have_text(
        "1 letter released: it goes out within the office's hours and limits.")
    expect(notes.nth(1)).to_contain_text("1 letter still waits: its office is paused.")
    page.screenshot(path=str(shots / "2-released.png"), full_page=True)
    db.session.expire_all()
    assert db.session.get_one(Letter, torture[0]).status == LetterStatus.QUEUED
    kept = db.session.get_one(Letter, wgad[0])
    assert (kept.status, kept.hold_reason) == (LetterStatus.HELD, HoldReason.PAUSED)

    page.click(f"#waiting tr:has(#letter-{wgad[0]}) >> text=Working Group")  # its office
    expect(page.locator("h1")).to_have_text("Working Group on Arbitrary Detention")
    page.click("button:has-text('Resume sending to this office')")
    expect(page.locator("main > p.notice").first).to_have_text(
        "Resumed. 1 letter released: it goes out within the office's hours and limits.")
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "3-resumed.png"), full_page=True)
    db.session.expire_all()
    assert db.session.get_one(Letter, wgad[0]).status == LetterStatus.QUEUED
    assert db.session.get_one(Official, kept.target_id).paused is False

    # Verify the office's address against its source, then print its dossier.
    page.click("button:has-text('against its source: verify it')")
    expect(page.locator("#verification")).to_contain_text("Verified by")
    db.session.expire_all()
    assert db.session.get_one(Official, kept.target_id).verified is True
    page.goto(f"{live}/admin/report?official=un-wgad&lang=fr")
    expect(page.locator("h1")).to_contain_text("Groupe de travail sur la détention arbitraire")
    expect(page.locator("#report-summary")).to_contain_text("1 lettre de 1 pays")
    expect(page.locator("#report-asks")).to_be_visible()
    page.emulate_media(media="print")  # what the printer (or "save as PDF") gets
    expect(page.locator("#print")).to_be_hidden()
    expect(page.locator("#report-appendix .hash")).to_have_count(1)
    page.screenshot(path=str(shots / "4-dossier-print.png"), full_page=True)
    page.close()


@ONE_DATABASE
def test_chart_labels_are_readable_on_a_phone_and_a_desktop(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest,
) -> None:
    ids = seed_queued(3, "un")
    for n, letter in enumerate(ids):
        send([letter], NOW - timedelta(days=n % 5, hours=n), "FR")
    roll_up(NOW)
    shots = shots_for(request, "admin-charts")
    page = organizer_page(browser, live, PEOPLE["viewer"], PASSWORD)
    for name, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.goto(f"{live}/admin/")
        # The font's size as displayed: as set, times the drawing's scale on the screen.
        sizes = page.eval_on_selector_all(
            "svg.chart text", "els => els.map(e =>"
            " parseFloat(getComputedStyle(e).fontSize) * e.getScreenCTM().a)")
        assert sizes and min(sizes) >= 11, (name, sizes)
        hours = page.eval_on_selector_all("#chart-hour text.tick:not(.value)",
                                          "els => els.map(e => e.textContent)")
        assert "12" in hours and len(hours) >= 4  # which hour...
        assert any(t[:3] in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} for t in hours)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        page.locator("#sent").screenshot(path=str(shots / f"charts-{name}.png"))
    page.close()
