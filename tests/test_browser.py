"""The supporter's journey in headless Chromium (Debian's), on a phone and a desktop."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from advocacy.sink import Sink, free_port

from conftest import ROOT, work

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "test-output" / "screenshots"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="no chromium: .ci/run installs Debian's package"
)


@pytest.fixture
def live(app: Any) -> Iterator[str]:
    """The test's app served on loopback by a real HTTP server."""
    port = free_port()
    app.config["ADVOCACY_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield chromium
        chromium.close()


VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
JOURNEYS = [
    ("de", "phone", "Bitte prüfen Sie Ihren Posteingang", "Meine Briefe senden"),
    ("fr", "desktop", "Consultez votre boîte de réception", "Envoyer mes lettres"),
]


@pytest.mark.parametrize(("lang", "device", "check_inbox", "send"), JOURNEYS)
def test_the_whole_journey(
    app: Any, live: str, sink: Sink, browser: Any, request: pytest.FixtureRequest,
    lang: str, device: str, check_inbox: str, send: str,
) -> None:
    shots = SHOTS / f"journey-{lang}-{device}-{request.node.callspec.params['database_url']}"
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=VIEWPORTS[device], locale=lang)
    page.goto(f"{live}/")
    assert page.get_attribute("html", "lang") == lang  # from the browser's language
    page.select_option("#body", "un")
    page.fill("#name", "Sofia Ruiz")
    page.fill("#city", "Valencia")
    page.select_option("#supporter_country", "ES")
    page.fill("#personal_note", "Je suis mathématicienne et je suis ce cas depuis 2020.")
    page.click("button[value=preview]")
    preview = page.inner_text("pre.letter")
    assert "Sofia Ruiz" in preview and "depuis 2020" in preview and "Valencia" in preview
    page.screenshot(path=str(shots / "1-preview.png"), full_page=True)

    page.fill("#email", "sofia@example.org")
    page.check("#consent")
    page.click(f"button:has-text('{send}')")
    assert check_inbox in page.inner_text("h1")
    page.screenshot(path=str(shots / "2-check-inbox.png"), full_page=True)

    work(app)
    mail = sink.received[0].message().get_content()
    confirm = re.search(r"http://127\.0\.0\.1:\d+/confirm/\S+", mail)
    status = re.search(r"http://127\.0\.0\.1:\d+/status/\S+", mail)
    assert confirm and status
    page.goto(status.group(0))
    assert page.locator("td.state").all_inner_texts() == ["unconfirmed", "unconfirmed"]
    page.goto(confirm.group(0))
    page.click("form button[type=submit]")
    page.screenshot(path=str(shots / "3-confirmed.png"), full_page=True)
    work(app)
    page.goto(status.group(0))
    assert page.locator("td.state").all_inner_texts() == ["sent", "sent"]
    page.screenshot(path=str(shots / "4-status.png"), full_page=True)
    page.close()


def test_a_failed_submit_keeps_the_text_and_says_what_is_wrong(
    live: str, browser: Any
) -> None:
    page = browser.new_page(viewport=VIEWPORTS["phone"], locale="en")
    page.goto(f"{live}/")
    page.fill("#personal_note", "My words must survive a mistake.")
    page.fill("#name", "Ada")
    page.fill("#email", "not an address")
    page.click("button[value=send]")
    assert page.input_value("#personal_note") == "My words must survive a mistake."
    assert page.get_attribute("#email", "aria-invalid") == "true"
    assert "valid email" in page.inner_text("#email-error")
    assert page.locator("#city-error").count() == 1 and page.locator("#consent-error").count() == 1
    page.close()
