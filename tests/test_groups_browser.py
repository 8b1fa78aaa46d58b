"""A group organizers define in the admin, in headless Chromium, reaches supporters: defined,
given an official and a Russian letter, offered first on the campaign; then the public page
lists it first, shows its risk notice when it is chosen, and its letters go to that official."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.delivery.sink import Sink
from advocacy.extensions import db
from advocacy.models import Body, Campaign, Letter, LetterTemplate, Official

from helpers import (
    ONE_DATABASE,
    PASSWORD,
    PEOPLE,
    accessibility_problems,
    needs_chromium,
    organizer_page,
    shots_for,
    work,
)

pytestmark = [needs_chromium, pytest.mark.usefixtures("people")]

RISK_EN = "Writing to Russian officials may draw attention to you if you live in Russia."
RISK_RU = "Письмо российским чиновникам может привлечь к вам внимание, если вы живёте в России."
# A reserved domain (RFC 2606); in tests every letter goes to the loopback sink anyway.
OFFICE = "prosecutor-general@example.org"
LETTER = ("{{ salutation }}\n\nПрошу освободить Азата Мифтахова.\n\n{{ personal_note }}\n\n"
          "С уважением,\n{{ supporter.name }}\n{{ supporter.city }}\n")
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}


def shoot(page: Any, folder: Path, name: str) -> None:
    for device, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{device}.png"), full_page=True)
    page.set_viewport_size(SIZES["desktop"])


@ONE_DATABASE
def test_a_group_defined_in_the_admin_reaches_supporters_first_with_its_notice(
    app: Any, live: str, sink: Sink, browser: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    shots = shots_for(request, "groups")
    editor = organizer_page(browser, live, PEOPLE["editor"], PASSWORD)
    editor.click("nav.admin-nav >> text=Groups")
    editor.click("text=Define a group")
    editor.fill("#slug", "ru-auth")
    editor.fill("#name", "Russian authorities")
    editor.fill("#name-ru", "Власти России")
    editor.check("#language-ru")
    editor.fill("#risk-en", RISK_EN)
    editor.fill("#risk-ru", RISK_RU)
    assert accessibility_problems(editor) == []
    shoot(editor, shots, "1-define-group")
    editor.click("button:has-text('Define the group')")
    expect(editor.locator("main")).to_contain_text("Group ru-auth added.")
    expect(editor.locator("tr[data-slug=ru-auth]")).to_contain_text("opt-in")
    assert accessibility_problems(editor) == []
    shoot(editor, shots, "2-groups")

    # Its official: the official editor's group list has it.
    editor.click("nav.admin-nav >> text=Officials")
    editor.click("text=Add an official")
    editor.fill("#key", "ru-prosecutor-general")
    editor.select_option("#body", "ru-auth")
    editor.fill("#office", "Prosecutor General of the Russian Federation")
    editor.check("#languages-field input[value=ru]")
    editor.uncheck("#languages-field input[value=en]")
    editor.select_option("#timezone", "Europe/Moscow")
    editor.fill("#email", OFFICE)
    editor.fill("#source", "https://epp.genproc.gov.ru/web/gprf/contacts")
    for lang in ("en", "fr", "de", "ru", "es"):
        editor.fill(f"#salutation_{lang}", "Уважаемый Генеральный прокурор!")
    editor.click("button:has-text('Add')")
    expect(editor.locator("main")).to_contain_text("Saved ru-prosecutor-general.")

    # Its letter, in Russian only: the letter editor offers the group in no other language.
    editor.click("nav.admin-nav >> text=Letters")
    assert editor.locator("a[href$='/ru-auth/en']").count() == 0
    editor.click("a[href$='/free-azat-miftakhov/ru-auth/ru']")
    editor.fill("#subject", "Освободите Азата Мифтахова")
    editor.fill("#default_salutation", "Уважаемые дамы и господа!")
    editor.fill("#body", LETTER)
    editor.click("#save-button")
    expect(editor.locator("main")).to_contain_text("version 1")
    editor.close()

    # The owner offers it on the campaign, first.
    owner = organizer_page(browser, live, PEOPLE["owner"], PASSWORD)
    owner.goto(f"{live}/admin/campaigns/free-azat-miftakhov")
    owner.check("#body-ru-auth")
    owner.fill("#position-ru-auth", "0")
    shoot(owner, shots, "3-campaign-groups")
    owner.click("form >> button:has-text('Save')")
    expect(owner.locator("main")).to_contain_text("Saved.")
    owner.close()

    # Supporters: the group comes first, and its notice shows while it is chosen.
    page = browser.new_page(viewport=SIZES["desktop"], locale="en")
    page.goto(f"{live}/")
    # A group with a risk notice is never ticked for the supporter; the others are.
    assert not page.is_checked("#to-ru-auth") and page.is_checked("#to-un")
    page.click("#whole-letter summary")
    values = page.locator("#body option").evaluate_all("os => os.map(o => o.value)")
    assert values == ["ru-auth", "un", "eu", "coe", "gov"]
    expect(page.locator("#body option").first).to_have_text("Russian authorities")
    expect(page.locator("#group-risk")).to_contain_text(RISK_EN)
    expect(page.locator("#officials")).to_contain_text("takes letters only in: Russian")
    page.click("button[name=switch_language][value=ru]")
    expect(page.locator("#letter-before")).to_contain_text("Прошу освободить Азата Мифтахова")
    page.select_option("#body", "gov")
    expect(page.locator("#group-risk")).to_have_count(0)
    page.select_option("#body", "ru-auth")
    expect(page.locator("#group-risk")).to_contain_text(RISK_EN)
    # The governments' country shows while that group is ticked.
    expect(page.locator("#country-field")).to_be_visible()
    page.uncheck("#to-gov")
    expect(page.locator("#country-field")).to_be_hidden()
    for box in page.locator("input[name=bodies]").all():  # this supporter: that group alone
        box.set_checked(box.get_attribute("value") == "ru-auth")
    page.fill("#name", "Anna Petrova")
    page.fill("#email", "anna@example.org")
    page.fill("#city", "Riga")
    page.select_option("#supporter_country", "LV")
    page.check("#consent")
    assert accessibility_problems(page) == []
    shoot(page, shots, "4-public-form")
    page.click("button[value=send]")
    expect(page.locator("h1")).to_contain_text("Check your inbox")
    letters = db.session.scalars(select(Official.key).join(
        Letter, Letter.target_id == Official.id)).all()
    assert letters == ["ru-prosecutor-general"]

    # Confirmed, the letter goes out (to the loopback sink), in Russian.
    work(app)
    [confirmation] = [m.message() for m in sink.received if m.rcpt_tos == ["anna@example.org"]]
    confirm = re.search(r"http://127\.0\.0\.1:\d+/confirm/\S+", confirmation.get_content())
    assert confirm
    page.goto(confirm.group(0))
    page.click("form button[type=submit]")
    work(app)
    [letter] = [m.message() for m in sink.received if m.rcpt_tos == [OFFICE]]
    assert letter["Subject"] == "Освободите Азата Мифтахова"
    assert "Прошу освободить Азата Мифтахова" in letter.get_content()
    page.close()


@ONE_DATABASE
def test_without_javascript_show_the_letter_brings_the_risk_notice(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    campaign = db.session.scalars(select(Campaign)).one()
    group = Body(slug="ru-auth", name="Russian authorities", languages=["ru"],
                 risk_notices={"en": RISK_EN}, offered=False)
    db.session.add_all([group, Official(
        key="ru-office", body=group, office="Office", languages=["ru"], timezone="UTC",
        email=OFFICE, source="test", salutations={})])
    db.session.flush()
    db.session.add(LetterTemplate(
        campaign_id=campaign.id, body_id=group.id, language="ru", version=1,
        subject="Освободите Азата Мифтахова", text=LETTER, default_salutation="Уважаемые,",
        origin="organizer", content_hash="0" * 64))
    campaign.bodies = ["un", "ru-auth"]
    db.session.commit()
    shots = shots_for(request, "groups-no-script")
    page = browser.new_page(viewport=SIZES["phone"], locale="en", java_script_enabled=False)
    page.goto(f"{live}/")
    expect(page.locator("#group-risk")).to_have_count(0)  # the UN comes first: no notice
    page.click("#whole-letter summary")
    page.select_option("#body", "ru-auth")
    page.select_option("#language", "ru")
    page.click("#show-letter")
    expect(page.locator("#group-risk")).to_contain_text(RISK_EN)
    expect(page.locator("#letter-before")).to_contain_text("Прошу освободить Азата Мифтахова")
    shoot(page, shots, "5-no-script-notice")
    page.close()
