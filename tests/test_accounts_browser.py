"""Accounts in headless Chromium: the second factor's QR code as a phone's camera reads it,
the recovery codes, and the audit log in sentences, on a phone and a desktop."""

from __future__ import annotations

import io
from typing import Any

import pyotp
import pytest
import zxingcpp
from PIL import Image

from advocacy import audit
from advocacy.extensions import db
from advocacy.models import Organizer

from helpers import ONE_DATABASE, PASSWORD, PEOPLE, accessibility_problems, needs_chromium
from helpers import SHOTS as SUITE_SHOTS

pytestmark = [needs_chromium]

# Where the screenshots go, to be looked at: the suite's own folder (test-output/, ignored).
SHOTS = SUITE_SHOTS / "accounts"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}


def logged_in(browser: Any, live: str, size: str, email: str) -> Any:
    page = browser.new_page(viewport=SIZES[size], locale="en")
    page.goto(f"{live}/admin/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    return page


def fits(page: Any) -> bool:
    """No sideways scrolling: the page is no wider than the window."""
    return bool(page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"))


@ONE_DATABASE
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_second_factor_setup_reads_from_the_screen_and_gives_recovery_codes(
    app: Any, live: str, browser: Any, people: dict[str, Organizer], size: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = logged_in(browser, live, size, PEOPLE["owner"])
    page.goto(f"{live}/admin/account")
    uri = page.get_attribute("#totp-uri", "href")
    assert uri and uri.startswith("otpauth://totp/advocacy:")
    drawn = Image.open(io.BytesIO(page.locator("#totp-qr svg").screenshot()))
    assert [found.text for found in zxingcpp.read_barcodes(drawn)] == [uri]
    assert fits(page)
    assert accessibility_problems(page) == []
    page.screenshot(path=str(SHOTS / f"totp-setup-{size}.png"), full_page=True)

    secret = (page.text_content("#totp-key") or "").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[value=enable]")
    page.wait_for_selector("#recovery-codes")
    assert page.locator("#recovery-codes li").count() == 10
    assert page.is_visible("button[data-print]")  # shown by the script, which can print
    assert fits(page)
    assert accessibility_problems(page) == []
    page.screenshot(path=str(SHOTS / f"recovery-codes-{size}.png"), full_page=True)
    page.close()


@ONE_DATABASE
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_audit_log_reads_as_sentences_on_a_phone_and_a_desktop(
    app: Any, live: str, browser: Any, people: dict[str, Organizer], size: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    owner = people["owner"]
    audit.record(owner, "import officials", "officials-2026-12.csv",
                 added=["gov-se-pm", "gov-fi-pm"],
                 changed={"eu-ep-president": ["email", "contact_url", "holder"]},
                 unchanged=41)
    audit.record(owner, "edit official", "un-wgad", unverified=True,
                 email=["old-address@ohchr.example", "new-address-for-the-group@ohchr.example"])
    audit.record(owner, "release letters", "3 letters", reason="checked the wording by hand",
                 letters=[11, 12, 13])
    audit.record(owner, "pause official", "un-sr-torture")
    audit.record(None, "complaint received", "un-wgad", letter=7, kind="letter",
                 reason="abuse report from the recipient's provider", paused=True)
    db.session.commit()
    page = logged_in(browser, live, size, PEOPLE["owner"])
    page.goto(f"{live}/admin/audit")
    text = page.text_content("#audit-entries") or ""
    assert f"{PEOPLE['owner']} released 3 letters." in text
    assert f"{PEOPLE['owner']} paused the office un-sr-torture." in text
    assert "old-address@ohchr.example → new-address-for-the-group@ohchr.example" in text
    assert "['" not in text and "{'" not in text
    assert fits(page)
    assert accessibility_problems(page) == []
    page.screenshot(path=str(SHOTS / f"audit-log-{size}.png"), full_page=True)
    page.close()
