"""The admin in Russian on a phone, in headless Chromium: long Russian words wrap, nothing
scrolls sideways. Screenshots are saved for a person to look at."""

from __future__ import annotations

from typing import Any

import pytest

from helpers import (
    ONE_DATABASE,
    PASSWORD,
    PEOPLE,
    VIEWPORTS,
    needs_chromium,
    shots_for,
)

pytestmark = [needs_chromium, pytest.mark.usefixtures("people")]

PAGES = {"campaign": "/admin/campaigns/free-azat-miftakhov", "groups": "/admin/groups",
         "group-new": "/admin/groups/new", "organizers": "/admin/organizers",
         "partners": "/admin/partners", "import": "/admin/targets/import",
         "live": "/admin/live", "page-editor": "/admin/campaigns/free-azat-miftakhov/page/ru"}
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@ONE_DATABASE
def test_russian_admin_pages_fit_a_phone(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    shots = shots_for(request, "admin-russian")
    page = browser.new_page(viewport=VIEWPORTS["phone"], locale="ru-RU")
    page.goto(f"{live}/admin/login")
    page.fill("#email", PEOPLE["owner"])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    wide = {}
    for name, url in PAGES.items():
        page.goto(f"{live}{url}")
        assert page.get_attribute("html", "lang") == "ru", url
        page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
        if extra := page.evaluate(SIDEWAYS):
            wide[url] = extra
    assert not wide, f"pages wider than a 390 px phone (px too wide): {wide}"
