"""The supporter's journey in headless Chromium (Debian's), on a phone and a desktop."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from advocacy.delivery.sink import Sink, free_port

import helpers
from helpers import (
    CONTRAST,
    ONE_DATABASE,
    VIEWPORTS,
    accessibility_problems,
    fill_and_send,
    needs_chromium,
    shots_for,
    stored,
    submit_and_confirm,
    work,
    write_only_to,
)

pytestmark = needs_chromium


JOURNEYS = [
    ("de", "phone", "Bitte prüfen Sie Ihren Posteingang", "Meine Briefe senden"),
    ("fr", "desktop", "Consultez votre boîte de réception", "Envoyer mes lettres"),
]


def the_mail(sink: Sink, to: str) -> Any:
    [mail] = [m.message() for m in sink.received if m.rcpt_tos == [to]]
    return mail


@pytest.mark.parametrize(("lang", "device", "check_inbox", "send"), JOURNEYS)
def test_the_whole_journey(
    app: Any, live: str, sink: Sink, browser: Any, request: pytest.FixtureRequest,
    lang: str, device: str, check_inbox: str, send: str,
) -> None:
    from playwright.sync_api import expect

    shots = shots_for(request, f"journey-{lang}-{device}")
    page = browser.new_page(viewport=VIEWPORTS[device], locale=lang)
    page.goto(f"{live}/")
    assert page.get_attribute("html", "lang") == lang  # from the browser's language
    assert accessibility_problems(page) == []
    assert page.evaluate(CONTRAST) == []
    assert page.inner_text("#sent-count") == "0"
    write_only_to(page, "un")
    page.fill("#name", "Sofia Ruiz")
    page.fill("#city", "Valencia")
    page.select_option("#supporter_country", "ES")
    # The live preview follows what is typed: the signature is the organizer's, locked.
    expect(page.locator("#letter-after")).to_contain_text("Sofia Ruiz")
    expect(page.locator("#letter-after")).to_contain_text("Valencia")
    page.fill("#personal_note", "Je suis mathématicienne et je suis ce cas depuis 2020.")
    order = page.evaluate("""() => ["#letter-before", ".your-place", "#letter-after"].map(
        s => document.querySelector(s).getBoundingClientRect().top)""")
    assert order == sorted(order)  # the letter marks the place where the paragraph will go
    assert page.locator("#letter-before").evaluate("e => e.isContentEditable") is False
    assert "Azat" in page.inner_text("#letter-before")
    page.screenshot(path=str(shots / "1-preview.png"), full_page=True)

    page.fill("#email", "sofia@example.org")
    expect(page.locator("#headers")).to_contain_text("sofia@example.org")
    page.check("#consent")
    page.click(f"button:has-text('{send}')")
    assert check_inbox in page.inner_text("h1")
    page.screenshot(path=str(shots / "2-check-inbox.png"), full_page=True)

    work(app)
    confirmation = the_mail(sink, "sofia@example.org")
    assert {"de": "bestätigen", "fr": "confirmer"}[lang] in confirmation["Subject"]
    mail = confirmation.get_content()
    confirm = re.search(r"http://127\.0\.0\.1:\d+/confirm/\S+", mail)
    status = re.search(r"http://127\.0\.0\.1:\d+/status/\S+", mail)
    assert confirm and status
    page.goto(status.group(0))
    states = page.locator(".letter-to .state")
    assert [states.nth(i).get_attribute("data-state") for i in range(2)] == ["unconfirmed"] * 2
    page.goto(confirm.group(0))
    assert accessibility_problems(page) == []
    page.click("form button[type=submit]")
    page.screenshot(path=str(shots / "3-confirmed.png"), full_page=True)
    work(app)
    page.goto(status.group(0))
    assert [states.nth(i).get_attribute("data-state") for i in range(2)] == ["sent"] * 2
    assert page.get_attribute("html", "lang") == lang
    page.screenshot(path=str(shots / "4-status.png"), full_page=True)
    page.close()


def test_the_counter_follows_the_letters_sent_without_a_reload(
    app: Any, live: str, sink: Sink, client: Any, browser: Any
) -> None:
    from playwright.sync_api import expect


    page = browser.new_page(viewport=VIEWPORTS["desktop"], locale="en")
    page.clock.install()
    page.goto(f"{live}/")
    assert page.inner_text("#sent-count") == "0"
    submit_and_confirm(app, client, sink)
    work(app)
    page.clock.fast_forward("00:31")
    expect(page.locator("#sent-count")).to_have_text("2")
    page.close()


def test_the_journey_without_javascript(
    app: Any, live: str, sink: Sink, browser: Any, request: pytest.FixtureRequest
) -> None:
    shots = shots_for(request, "no-javascript")
    helpers.give_the_coe_an_inbox()  # the shipped files give the CoE no e-mail
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS["phone"],
                                  locale="en")
    page = context.new_page()
    page.goto(f"{live}/")
    write_only_to(page, "coe")
    page.fill("#name", "Sofia Ruiz")
    page.fill("#city", "Valencia")
    page.select_option("#supporter_country", "ES")
    page.fill("#personal_note", "I follow this case.")
    page.click("#show-letter")  # without scripts, the preview is a round trip
    assert "Sofia Ruiz" in page.inner_text("#letter-after")
    assert "Commissioner for Human Rights" in page.inner_text("#officials")
    assert page.input_value("#personal_note") == "I follow this case."
    page.screenshot(path=str(shots / "1-preview.png"), full_page=True)
    page.fill("#email", "sofia@example.org")
    page.check("#consent")
    page.click("button[value=send]")
    assert "Check your inbox" in page.inner_text("h1")
    context.close()


def test_keyboard_alone_reaches_every_field_in_order_and_sends(
    app: Any, live: str, browser: Any
) -> None:
    page = browser.new_page(viewport=VIEWPORTS["desktop"], locale="en")
    page.goto(f"{live}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")  # the skip link passes the language menu
    reached: list[str] = []
    page.click("#whole-letter summary")  # open, the letter's own fields come in order too
    page.focus("#main")
    for _ in range(50):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(
            "document.activeElement.id || document.activeElement.name || "
            "document.activeElement.tagName"))
    # The SUMMARY after the paragraph opens the ideas for it, right under it.
    fields = ["to-un", "to-gov", "country", "name", "email", "city", "supporter_country",
              "personal_note", "SUMMARY", "language", "SUMMARY", "body", "consent", "SUMMARY",
              "newsletter"]
    seen = [f for f in reached if f in fields]
    assert seen[:len(fields)] == fields, reached  # the order they are read in
    assert "website" not in reached  # the honeypot is never reached

    # Now fill it in with the keyboard only.
    page.focus("#name")
    page.keyboard.type("Kim Lee")
    page.keyboard.press("Tab")
    page.keyboard.type("kim@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("Seoul")
    page.keyboard.press("Tab")
    page.keyboard.type("Finland")  # type-ahead in a select; its government follows
    assert page.input_value("#supporter_country") == "FI"
    page.focus("#consent")
    page.keyboard.press("Space")
    assert page.is_checked("#consent")
    page.focus("button[value=send]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Check your inbox" in page.inner_text("h1"), page.inner_text("main")[:600]
    page.close()


def test_a_failed_submit_keeps_the_text_and_says_what_is_wrong(
    live: str, browser: Any
) -> None:
    from playwright.sync_api import expect

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
    # A screen reader hears the problems first: the summary is an alert and has the focus,
    # and each of its lines leads to its field.
    # (The summary takes the focus from a deferred script, which may run a moment after
    # the new page is shown: wait for it rather than read the focus once.)
    expect(page.locator("#error-summary")).to_be_focused()
    assert page.get_attribute("#error-summary", "role") == "alert"
    page.click("#error-summary a[href='#email']")
    expect(page.locator("#email")).to_be_focused()
    assert accessibility_problems(page) == []
    page.close()


BAD_INPUTS = [
    ("name", "", "Your name is required"),
    ("name", "x" * 121, "too long"),
    ("name", "Eve\nBcc: victim@example.org", "control characters"),
    ("name", "<script>alert(1)</script>", "cannot contain < or >"),
    ("city", "", "Your city is required"),
    ("city", "Lyon\u0007", "control characters"),
    ("city", "<b>Lyon</b>", "cannot contain < or >"),
    ("email", "", "email"),
    ("email", "a@b", "email"),
    ("email", "eve@example.org\r\nBcc: x@example.org", "email"),
    ("personal_note", "x" * 2001, "too long"),
    ("personal_note", "Hello\u0000there", "control characters"),
    ("supporter_country", "XX", "two-letter country code"),
    ("supporter_country", "", "Your country is required"),
    ("language", "tlh", "Choose one of: en, fr"),
]


# The database's part (nothing stored) is proven on both elsewhere; here, SQLite is enough.
@ONE_DATABASE
@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUTS)
def test_bad_input_in_the_browser_gets_a_message_by_its_field_and_stores_nothing(
    app: Any, live: str, browser: Any, field: str, value: str, message: str
) -> None:

    page = browser.new_page(viewport=VIEWPORTS["desktop"], locale="en")
    page.goto(f"{live}/")
    good = {"name": "Ada Lovelace", "email": "ada@example.org", "city": "London"}
    for key, text in good.items():
        page.fill(f"#{key}", text)
    page.select_option("#supporter_country", "GB")
    page.check("#consent")
    # Set the value as a hostile script would: past maxlength, with characters no keyboard
    # types, and with line breaks, which a one-line field would strip (a textarea keeps them).
    page.locator(f"#{field}").evaluate("""(el, v) => {
        if (el.tagName === "SELECT") {  // a value the list does not offer
            el.add(new Option(v, v));
        } else if (v.includes("\\n") && el.tagName === "INPUT") {
            const area = document.createElement("textarea");
            area.id = el.id; area.name = el.name; el.replaceWith(area); el = area;
        }
        el.value = v;
    }""", value)
    page.click("button[value=send]")
    assert page.get_attribute(f"#{field}", "aria-invalid") == "true"
    assert message.lower() in page.inner_text(f"#{field}-error").lower()
    assert stored() == (0, 0, 0)
    page.close()


@ONE_DATABASE
@pytest.mark.parametrize("name", ["Азат Мифтахов", "阿扎特", "عزت", "Zoë O'Brien-Łukasiewicz"])
def test_names_in_every_script_are_welcome(
    app: Any, live: str, browser: Any, name: str
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=VIEWPORTS["desktop"], locale="en")
    page.goto(f"{live}/")
    page.fill("#name", name)
    expect(page.locator("#letter-after")).to_contain_text(name)
    page.fill("#email", "writer@example.org")
    page.fill("#city", "Kazan")
    page.select_option("#supporter_country", "FR")
    page.check("#consent")
    page.click("button[value=send]")
    assert "Check your inbox" in page.inner_text("h1")
    page.close()


def test_own_mail_copies_or_opens_the_letter_and_counts_it(
    app: Any, live: str, browser: Any, client: Any
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=VIEWPORTS["desktop"], locale="en",
                                  permissions=["clipboard-read", "clipboard-write"])
    redirects: list[str] = []
    context.on("response", lambda r: redirects.append(r.headers.get("location", ""))
               if "/own-mail" in r.url else None)
    page = context.new_page()
    page.goto(f"{live}/")
    page.fill("#name", "Sofia Ruiz")
    page.fill("#city", "Valencia")
    page.fill("#personal_note", "From my own address.")
    expect(page.locator("#letter-after")).to_contain_text("Sofia Ruiz")
    page.click("button.copy[value='copy:un-wgad']")
    expect(page.locator("#copy-status")).to_contain_text("copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("To: hrc-wg-ad@un.org")
    assert "From my own address." in copied and "Sofia Ruiz" in copied
    # Gmail opens in a new tab (the test's browser resolves no outside host: it stops there).
    with page.expect_popup() as popup:
        page.click("button[value='gmail:un-wgad']")
    popup.value.wait_for_load_state()
    gmail = next(url for url in redirects if url.startswith("https://mail.google.com/"))
    assert "to=hrc-wg-ad%40un.org" in gmail and "From+my+own+address." in gmail
    stats = client.get("/api/stats").json
    assert stats["own_mail"]["copy"] == 1 and stats["own_mail"]["gmail"] == 1
    context.close()


@pytest.fixture
def partner_site(live: str) -> Iterator[str]:
    """Another site (another host name, so cross-site) whose page frames the widget and the
    campaign page."""
    html = f"""<!doctype html><title>Partner</title><h1>Partner site</h1>
      <iframe id="w" src="{live}/widget?ref=amnesty-lyon&lang=fr" title="form"
              style="width:100%;height:1400px"></iframe>
      <iframe id="p" src="{live}/" title="page"></iframe>""".encode()

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html]

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{port}/"
    server.shutdown()


def test_the_widget_works_inside_another_sites_frame_and_the_page_does_not(
    app: Any, live: str, partner_site: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    from advocacy.extensions import db
    from advocacy.models import Submission

    shots = shots_for(request, "widget")
    page = browser.new_page(viewport=VIEWPORTS["desktop"], locale="fr")
    page.goto(partner_site)
    widget = page.frame_locator("#w")
    fill_and_send(widget, "Claire Martin", "claire@example.org", "Lyon", "FR")
    expect(widget.locator("h1")).to_contain_text("Consultez votre boîte")
    page.screenshot(path=str(shots / "partner.png"), full_page=True)
    assert db.session.scalar(db.select(Submission.ref)) == "amnesty-lyon"
    # The campaign page itself refuses to be framed: its frame shows no form.
    framed = page.query_selector("#p").content_frame()
    assert framed is not None and framed.locator("#letter-form").count() == 0
    page.close()


@pytest.mark.parametrize("scripts", [True, False], ids=["javascript", "no-javascript"])
def test_enter_in_a_field_sends_the_letters_and_never_only_shows_them(
    app: Any, live: str, browser: Any, scripts: bool
) -> None:
    # Enter (a phone's "Go") submits with the form's default button: it must be "send", not
    # "Show the letter", which brought the page back as it was (nothing sent).
    context = browser.new_context(java_script_enabled=scripts, viewport=VIEWPORTS["phone"],
                                  locale="en")
    page = context.new_page()
    page.goto(f"{live}/")
    page.fill("#name", "Ada Enter")
    page.fill("#email", "ada.enter@example.org")
    page.select_option("#supporter_country", "FR")
    page.check("#consent")
    page.fill("#city", "Lyon")
    with page.expect_navigation():
        page.press("#city", "Enter")
    assert "Check your inbox" in page.inner_text("h1")
    assert stored()[1] == 1  # one submission
    context.close()
