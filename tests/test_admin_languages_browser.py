"""The admin in Russian and German on a phone, in headless Chromium: long words wrap, tables
turn into cards, nothing scrolls sideways on any admin page. Screenshots are saved for a person
to look at."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.models import Official
from advocacy.officials.rows import COLUMNS, row_of_official

from helpers import (
    ONE_DATABASE,
    PASSWORD,
    PEOPLE,
    VIEWPORTS,
    make_partner_account,
    needs_chromium,
    seed_queued,
    shots_for,
)

pytestmark = [needs_chromium, pytest.mark.usefixtures("people")]

SLUG = "free-azat-miftakhov"
PAGES = {"overview": "/admin/", "campaigns": "/admin/campaigns",
         "campaign": f"/admin/campaigns/{SLUG}", "groups": "/admin/groups",
         "group": "/admin/groups/un", "group-new": "/admin/groups/new",
         "organizers": "/admin/organizers", "partners": "/admin/partners",
         "partner": "/admin/partners/{partner}", "import": "/admin/targets/import",
         "officials": "/admin/targets", "official": "/admin/targets/{official}",
         "official-edit": "/admin/targets/{official}/edit", "official-new": "/admin/targets/new",
         "letters": "/admin/letters", "letter": f"/admin/letters/{SLUG}/un/en",
         "moderation": "/admin/moderation", "outbox": "/admin/outbox", "report": "/admin/report",
         "report-un": "/admin/report?body=un", "audit": "/admin/audit", "live": "/admin/live",
         "account": "/admin/account", "follow-ups": f"/admin/campaigns/{SLUG}/follow-ups",
         "page-editor": f"/admin/campaigns/{SLUG}/page/ru"}
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# Table heads a reader could not read: squeezed narrower than their longest word, or cut.
SQUEEZED = """() => {
  const hidden = (el) => { for (; el; el = el.parentElement) {  // visually hidden, for readers
      const box = el.getBoundingClientRect(), style = getComputedStyle(el);
      if (box.width <= 2 || box.height <= 2 || style.clip.startsWith('rect')) return true; }
    return false; };
  return [...document.querySelectorAll('th, caption')].filter(el => el.offsetParent &&
    !hidden(el) && (el.scrollWidth > el.clientWidth + 1 || (el.textContent.trim().length > 3 &&
    el.getBoundingClientRect().width < 48))).map(el => el.textContent.trim().slice(0, 40));
}"""
# A box inside the page that scrolls sideways (a table in a scrolling region) hides part of it
# on a phone as surely as a page that does.
INNER = """() => [...document.querySelectorAll('main *')].filter(el => el.offsetParent &&
  ['auto', 'scroll'].includes(getComputedStyle(el).overflowX) && el.tagName !== 'TEXTAREA' &&
  el.scrollWidth > el.clientWidth + 1).map(el => el.tagName + '.' + el.className)"""


@ONE_DATABASE
@pytest.mark.parametrize("lang", ["ru", "de"])
def test_admin_pages_fit_a_phone_in_russian_and_german(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest, lang: str
) -> None:
    seed_queued(1, "un")
    partner = make_partner_account("someone@ngo.test", "ngo", "NGO")
    official = db.session.scalar(select(Official.id).where(Official.key == "un-sr-torture"))
    names = {"partner": partner.id, "official": official}
    shots = shots_for(request, f"admin-{lang}")
    page = browser.new_page(viewport=VIEWPORTS["phone"], locale=lang)
    page.goto(f"{live}/admin/login")
    page.fill("#email", PEOPLE["owner"])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    wide, squeezed = {}, {}
    for name, url in PAGES.items():
        reply = page.goto(f"{live}{url.format(**names)}")
        assert reply is not None and reply.status == 200, url
        assert page.get_attribute("html", "lang") == lang, url
        page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
        if extra := page.evaluate(SIDEWAYS):
            wide[url] = extra
        if heads := page.evaluate(SQUEEZED) + page.evaluate(INNER):
            squeezed[url] = heads
    # The import's preview: its problems and the officials it would add, as cards.
    wgad = row_of_official(db.session.scalar(select(Official).where(Official.key == "un-wgad")))
    rows = [{**wgad, "timezone": "Mars/Olympus", "office": "ab"}, {**wgad, "key": "un-new"}]
    upload = "\n".join([",".join(COLUMNS), *(",".join(f'"{row.get(name, "")}"'
                                                       for name in COLUMNS) for row in rows)])
    page.goto(f"{live}/admin/targets/import")
    page.set_input_files("#file", files=[{"name": "officials.csv", "mimeType": "text/csv",
                                          "buffer": upload.encode()}])
    page.click("#preview-upload")
    page.wait_for_selector("#problems")
    page.screenshot(path=str(shots / "import-preview-phone.png"), full_page=True)
    if heads := page.evaluate(SQUEEZED) + page.evaluate(INNER) or page.evaluate(SIDEWAYS):
        squeezed["import preview"] = heads
    page.close()
    assert not wide, f"pages wider than a 390 px phone (px too wide): {wide}"
    assert not squeezed, f"table heads too narrow, or boxes scrolling sideways: {squeezed}"


# Table heads with a word split over two lines ("Numé" / "ro"): each word of a head's text
# must lie on one line.
BROKEN_WORDS = """() => [...document.querySelectorAll('main th, main td:not(.wrap):not(.note)')]
  .filter(el => el.offsetParent).flatMap(el => {
    const words = [], walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let text; (text = walk.nextNode());) {
      // Not text hidden for screen readers alone (a 1 px box: every word "breaks").
      if (text.parentElement.getBoundingClientRect().width <= 1) continue;
      // Words, not keys or addresses: those break when their column is too narrow.
      const re = /\\S{1,20}(?!\\S)/g; let m;
      while ((m = re.exec(text.data))) {
        if (m.index && /\\S/.test(text.data[m.index - 1])) continue;  // a long word's tail
        const range = document.createRange();
        range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) words.push(m[0]); } }
    return words; })"""
SIDEWAYS = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"


@ONE_DATABASE
def test_on_a_desktop_no_table_head_breaks_inside_a_word(
    app: Any, live: str, browser: Any
) -> None:
    """French words are long ("Numéro", "Responsables"): beyond a phone a head or a cell wraps
    between words only (on a phone a long word may break rather than push the table
    sideways), and no page is wider than the window."""
    from advocacy.models import Letter, LetterStatus

    ids = seed_queued(2, "un")
    db.session.execute(Letter.__table__.update().where(Letter.id == ids[0])
                       .values(status=LetterStatus.NEEDS_REVIEW))
    db.session.commit()
    page = browser.new_page(viewport=VIEWPORTS["desktop"], locale="fr")
    page.goto(f"{live}/admin/login")
    page.fill("#email", PEOPLE["owner"])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    broken, sideways = {}, []
    for url in ("/admin/", "/admin/groups", "/admin/campaigns", f"/admin/campaigns/{SLUG}",
                "/admin/targets", "/admin/partners", f"/admin/campaigns/{SLUG}/follow-ups",
                "/admin/moderation", "/admin/letters"):
        page.goto(f"{live}{url}")
        if words := page.evaluate(BROKEN_WORDS):
            broken[url] = words
        if page.evaluate(SIDEWAYS):
            sideways.append(url)
    page.close()
    assert not sideways, f"wider than the window: {sideways}"
    assert not broken, f"words broken inside a table's head or cell: {broken}"
