"""Partners in headless Chromium: an owner invites a partner's account, which logs in, lands
on its own page, sees only its own ref's figures and opt-ins, downloads them, and is refused
everywhere else; the supporters' box to hear from the partner, on a phone and a desktop."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import Partner

from helpers import (
    ONE_DATABASE,
    PASSWORD,
    PEOPLE,
    accessibility_problems,
    needs_chromium,
    organizer_page,
    shots_for,
    submission,
    work,
)

pytestmark = [needs_chromium, pytest.mark.usefixtures("people")]
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}


def _write_and_confirm(app: Any, client: Any, sink: Sink, name: str, email: str, ref: str,
                       **changes: Any) -> None:
    data = submission(supporter={"name": name, "email": email, "city": "Lyon",
                                 "country": "FR"}, ref=ref, **changes)
    assert client.post("/api/letters", json=data).status_code == 202
    work(app)
    [mail] = [m for m in sink.received if m.rcpt_tos == [email]]
    link = re.search(r"https?://[^/\s]+(/confirm/\S+)", mail.message().get_content())
    assert link and client.post(link.group(1)).status_code == 200


def _shoot(browser: Any, url: str, folder: Path, name: str, part: str = "",
           **options: Any) -> None:
    for size, viewport in SIZES.items():
        page = browser.new_page(viewport=viewport, **options)
        page.goto(url)
        page.screenshot(path=str(folder / f"{name}-{size}.png"), full_page=True)
        if part:  # the part that changed, close up
            page.locator(part).screenshot(path=str(folder / f"{name}-{size}-part.png"))
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
        page.close()


@ONE_DATABASE
def test_a_partner_account_sees_only_its_own_ref(
    app: Any, live: str, browser: Any, client: Any, sink: Sink,
    request: pytest.FixtureRequest,
) -> None:
    from playwright.sync_api import expect

    shots = shots_for(request, "partners")
    ours, theirs = Partner(name="Amnesty Lyon", ref="amnesty-lyon"), Partner(
        name="Other Group", ref="other-group")
    db.session.add_all([ours, theirs])
    db.session.commit()
    _write_and_confirm(app, client, sink, "Ada Byron", "ada@example.org", "amnesty-lyon",
                       partner_optin=True)
    _write_and_confirm(app, client, sink, "Bo Other", "bo@example.org", "other-group",
                       partner_optin=True)
    _write_and_confirm(app, client, sink, "Cy Plain", "cy@example.org", "amnesty-lyon")

    # An owner invites the partner's account, choosing the partner.
    owner = organizer_page(browser, live, PEOPLE["owner"], PASSWORD)
    owner.click("nav.admin-nav >> text=Organizers")
    owner.fill("#invite-email", "team@amnesty-lyon.example.org")
    owner.select_option("#invite-role", "partner")
    owner.select_option("#invite-partner", label="Amnesty Lyon (amnesty-lyon)")
    owner.click("button:has-text('Send the invitation')")
    expect(owner.locator("main")).to_contain_text(
        "team@amnesty-lyon.example.org (partner, for Amnesty Lyon)")
    owner.goto(f"{live}/admin/partners")
    assert accessibility_problems(owner) == []
    owner.close()
    work(app)
    [invitation] = [m for m in sink.received if m.rcpt_tos == ["team@amnesty-lyon.example.org"]]
    link = re.search(r"(/admin/invitation/\S+)", invitation.message().get_content())
    assert link

    context = browser.new_context(viewport=SIZES["desktop"], accept_downloads=True)
    page = context.new_page()
    page.goto(live + link.group(1))
    page.fill("#password", PASSWORD)
    page.fill("#again", PASSWORD)
    page.click("button:has-text('Create my account')")
    expect(page).to_have_url(f"{live}/admin/partner")  # its landing page is its own
    main = page.locator("main")
    expect(main).to_contain_text("Through Amnesty Lyon (amnesty-lyon)")
    expect(page.locator("tr:has(th:text-is('Submissions')) td")).to_have_text("2")
    expect(page.locator("tr:has(th:text-is('Confirmed by email')) td")).to_have_text("2")
    expect(main).to_contain_text("ada@example.org")
    for hidden in ("bo@example.org", "cy@example.org", "Other Group"):
        expect(main).not_to_contain_text(hidden)
    nav = page.locator("nav.admin-nav")
    for other in ("Overview", "Letters", "Partners", "Organizers", "Campaigns"):
        expect(nav.get_by_role("link", name=other, exact=True)).to_have_count(0)
    assert accessibility_problems(page) == []
    page.screenshot(path=str(shots / "partner-home-desktop.png"), full_page=True)

    with page.expect_download() as download:
        page.click("text=Download them (CSV)")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r[1] for r in rows[1:]] == ["ada@example.org"]

    for url in ("/admin/", "/admin/partners", f"/admin/partners/{theirs.id}", "/admin/letters",
                "/admin/organizers", "/admin/audit", "/admin/export.csv?view=ref"):
        assert page.goto(live + url).status == 403, url
    # Even when it asks to land elsewhere, it lands on its own page.
    page.goto(f"{live}/admin/partner")
    page.click("nav.admin-nav button:has-text('Log out')")
    page.goto(f"{live}/admin/login?next=/admin/letters")
    page.fill("#email", "team@amnesty-lyon.example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live}/admin/partner")
    context.close()


@ONE_DATABASE
def test_the_partner_pages_and_the_box_on_a_phone_and_a_desktop(
    app: Any, live: str, browser: Any, client: Any, sink: Sink, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    shots = shots_for(request, "partners-look")
    db.session.add(Partner(name="Solidarité avec Azat Miftakhov", ref="solidarite-freeazat",
                           site_url="https://solidarite.example"))
    db.session.commit()
    page = browser.new_page(viewport=SIZES["phone"], locale="fr")
    page.goto(f"{live}/?ref=solidarite-freeazat&lang=fr")
    box = page.locator("#partner_optin")
    expect(box).not_to_be_checked()
    expect(page.locator("label[for=partner_optin]")).to_contain_text(
        "Solidarité avec Azat Miftakhov peut m’écrire")
    box.scroll_into_view_if_needed()
    assert accessibility_problems(page) == []
    page.close()
    consent = "fieldset:has(#partner_optin)"
    _shoot(browser, f"{live}/?ref=solidarite-freeazat&lang=fr", shots, "form-fr", consent,
           locale="fr")
    _shoot(browser, f"{live}/widget?ref=solidarite-freeazat", shots, "widget-en", consent)

    # The confirmation page says what confirming also records.
    data = submission(supporter={"name": "Eva", "email": "eva@example.org", "city": "Lyon",
                                 "country": "FR"}, ref="solidarite-freeazat",
                      partner_optin=True, newsletter=True)
    assert client.post("/api/letters", json=data).status_code == 202
    work(app)
    [mail] = [m for m in sink.received if m.rcpt_tos == ["eva@example.org"]]
    confirm = re.search(r"https?://[^/\s]+(/confirm/\S+)", mail.message().get_content())
    assert confirm
    _shoot(browser, live + confirm.group(1), shots, "confirm", "main")

    # The supporter's data page, listing their opt-ins, each to withdraw.
    from advocacy import clock
    from advocacy.campaigns.opt_ins import record_opt_in
    from advocacy.crypto import lookup_hash
    from advocacy.links import data_link
    from advocacy.models import Campaign, Supporter

    address = "ada@example.org"
    supporter = Supporter(email=address, email_hash=lookup_hash(address))
    db.session.add(supporter)
    campaign = db.session.scalars(db.select(Campaign).where(Campaign.is_default)).one()
    for partner_id in (None, 1):
        record_opt_in(campaign.id, partner_id, address, "Ada Byron", clock.now(), "builtin-4")
    db.session.commit()
    path = data_link(supporter.id).split("/my-data/", 1)[1]
    _shoot(browser, f"{live}/my-data/{path}?lang=de", shots, "my-data-de", "#opt-ins",
           locale="de")
    page = browser.new_page(viewport=SIZES["phone"], locale="de")
    page.goto(f"{live}/my-data/{path}?lang=de")
    assert accessibility_problems(page) == []
    page.locator("#opt-ins li", has_text="Solidarité").get_by_role("button").click()
    expect(page.locator("#opt-ins [role=status]")).to_contain_text("Widerrufen")
    expect(page.locator("#opt-ins li")).to_have_count(1)
    page.close()

    owner = organizer_page(browser, live, PEOPLE["owner"], PASSWORD)
    cookies = owner.context.cookies()
    owner.close()
    for size, viewport in SIZES.items():
        context = browser.new_context(viewport=viewport)
        context.add_cookies(cookies)
        for name, path in (("partners", "/admin/partners"), ("partner", "/admin/partners/1")):
            page = context.new_page()
            page.goto(live + path)
            assert accessibility_problems(page) == []
            page.screenshot(path=str(shots / f"{name}-{size}.png"), full_page=True)
            # (the admin's menu may run wider; the partner's tables scroll in their box)
            assert page.evaluate("document.querySelector('main').scrollWidth") <= \
                viewport["width"], (name, size)
            page.close()
        context.close()
