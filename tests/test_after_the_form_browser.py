"""After the form, in headless Chromium on a phone and a desktop, in English, Russian and
French (issue 18): "check your inbox" with the masked address and a rate-limited resend, the
thank-you page's share controls and card, the status page, the widget sized to its content
in another site's page, the error pages, the badge and the touch targets."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from advocacy.delivery.sink import Sink, free_port

from helpers import (
    ONE_DATABASE,
    fill_and_send,
    needs_chromium,
    shots_for,
    work,
    write_only_to,
)

pytestmark = [needs_chromium, ONE_DATABASE]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

TEXTS = {
    "en": {"inbox": "Check your inbox", "send": "Send my letters", "again": "Sent again",
           "wait": "wait a minute", "thanks": "Thank you", "spam": "spam",
           "bad_email": "After the @ sign there is a character"},
    "ru": {"inbox": "Проверьте свою почту", "send": "Отправить мои письма",
           "again": "Отправлено повторно", "wait": "Подождите минуту", "thanks": "Спасибо",
           "spam": "Спам", "bad_email": "После знака @ стоит символ"},
    "fr": {"inbox": "Consultez votre boîte de réception", "send": "Envoyer mes lettres",
           "again": "Renvoyé", "wait": "Attendez une minute", "thanks": "Merci",
           "spam": "spams", "bad_email": "Après l'arobase (@), il y a un caractère"},
}


def shoot(page: Any, shots: Path, name: str) -> None:
    """The page at both sizes, full length, in the suite's folder."""
    for size, viewport in (("390x844", PHONE), ("1366x900", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(shots / f"{name}-{size}.png"), full_page=True)


def confirmations(sink: Sink, to: str) -> list[Any]:
    return [m.message() for m in sink.received
            if m.rcpt_tos == [to] and "confirm" in m.message().get_content()]


@pytest.mark.parametrize(("lang", "device"), [("en", "phone"), ("ru", "phone"),
                                              ("fr", "desktop")])
def test_check_inbox_resend_thanks_and_status(
    app: Any, live: str, sink: Sink, browser: Any, request: pytest.FixtureRequest,
    lang: str, device: str,
) -> None:
    from playwright.sync_api import expect

    text = TEXTS[lang]
    shots = shots_for(request, f"after-form-{lang}")
    context = browser.new_context(viewport=PHONE if device == "phone" else DESKTOP, locale=lang,
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{live}/")
    write_only_to(page, "un")
    # A typo first: the reason is said in the page's language, not email-validator's English.
    fill_and_send(page, "Sofia Ruiz", "sofia@example@org", "Valencia", "ES")
    reason = page.inner_text("#email-error")
    assert text["bad_email"] in reason and "@-sign" not in reason, reason
    page.fill("#email", "sofia@example.org")
    page.click("button[value=send]")

    # "Check your inbox" names the address, masked, and says where else to look.
    expect(page.locator("h1")).to_have_text(text["inbox"])
    body = page.inner_text("main")
    # Shown masked; the form that offers the other groups keeps it, hidden, for the supporter.
    assert "s•••@example.org" in body and "sofia@example.org" not in body
    assert text["spam"] in body
    shoot(page, shots, "1-check-inbox")
    work(app)
    assert len(confirmations(sink, "sofia@example.org")) == 1

    # Sent again once; asked again at once, it says to wait and sends nothing more.
    page.click("form[action*='/resend/'] button")
    expect(page.locator("p.notice")).to_contain_text(text["again"])
    assert "s•••@example.org" in page.inner_text("main")
    work(app)
    assert len(confirmations(sink, "sofia@example.org")) == 2
    action = page.locator("form[action*='/resend/']").get_attribute("action")
    reply = page.request.post(f"{live}{action}")
    assert reply.status == 429
    page.click("form[action*='/resend/'] button")
    expect(page.locator("p.notice")).to_contain_text(text["wait"])
    shoot(page, shots, "2-resend-too-soon")
    work(app)
    assert len(confirmations(sink, "sofia@example.org")) == 2

    # The confirm page shows each office, its channel and the letter with what was typed.
    mail = confirmations(sink, "sofia@example.org")[-1].get_content()
    confirm = re.search(r"http://127\.0\.0\.1:\d+/confirm/\S+", mail)
    status = re.search(r"http://127\.0\.0\.1:\d+/status/\S+", mail)
    assert confirm and status
    page.goto(confirm.group(0))
    assert page.locator("section.letter-to").count() == 2
    assert page.locator("p.channel[data-channel=email]").count() == 2
    assert "Sofia Ruiz" in page.locator("section.letter-to pre.letter").first.text_content()
    shoot(page, shots, "3-confirm")
    page.click("form button[type=submit]")

    # The thank-you page: a card for links, share controls, and a favicon.
    expect(page.locator("h1")).to_contain_text(text["thanks"])
    head = {name: page.locator(f"meta[{attr}='{name}']").get_attribute("content")
            for attr, name in (("property", "og:title"), ("property", "og:url"),
                               ("property", "og:description"), ("name", "description"))}
    assert all(head.values()), head
    assert head["og:url"] == f"{live}/c/free-azat-miftakhov"
    assert page.locator("link[rel=icon]").get_attribute("href").endswith("favicon.svg")
    assert page.request.get(f"{live}/static/favicon.svg").ok
    links = page.locator(".share-buttons a.button-link")
    assert links.count() >= 4
    assert all(links.nth(i).get_attribute("href").startswith(("mailto:", "https://"))
               for i in range(links.count()))
    # The system's share sheet shows where the browser has one (headless Chromium on Linux
    # has none); "copy the link" works here, a secure context.
    has_share = page.evaluate("typeof navigator.share === 'function'")
    assert page.locator(".share-native").is_visible() == has_share
    page.click(".share-copy")
    expect(page.locator(".share-status")).not_to_be_empty()
    assert page.evaluate("navigator.clipboard.readText()") == head["og:url"]
    assert not page.evaluate("[...document.scripts].some(s => s.src && "
                             "!s.src.startsWith(location.origin))")
    shoot(page, shots, "4-thanks")

    # The status page: times and the letter text.
    work(app)
    page.goto(status.group(0))
    assert page.locator("section.letter-to time").count() >= 4  # written, confirmed, delivered
    assert [page.locator(".letter-to .state").nth(i).get_attribute("data-state")
            for i in range(2)] == ["sent", "sent"]
    page.locator("section.letter-to summary").first.click()
    assert "Sofia Ruiz" in page.locator("section.letter-to pre.letter").first.inner_text()
    shoot(page, shots, "5-status")
    context.close()


@pytest.fixture
def partner_page(live: str, browser: Any) -> Iterator[str]:
    """A partner's page on another origin (another port) with the snippet pasted as the
    /embed page gives it, and nothing else of ours."""
    page = browser.new_page()
    page.goto(f"{live}/c/free-azat-miftakhov/embed?lang=fr")
    snippet = page.locator("pre.snippet code").first.inner_text()
    page.close()
    snippet = snippet.replace("your-organisation", "amnesty-lyon")
    html = f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1"><title>Partner</title>
      </head><body style="font-family:sans-serif;margin:0 1rem"><h1>Amnesty Lyon</h1>
      <p>Écrivez avec nous :</p>{snippet}<p id="after">Merci.</p></body></html>"""

    def serve(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html.encode()]

    port = free_port()
    server = make_server("127.0.0.1", port, serve, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{port}/"
    server.shutdown()


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_widget_sizes_itself_in_another_sites_page(
    app: Any, live: str, partner_page: str, browser: Any, request: pytest.FixtureRequest,
    device: str,
) -> None:
    from playwright.sync_api import expect

    shots = shots_for(request, f"widget-{device}")
    page = browser.new_page(viewport=PHONE if device == "phone" else DESKTOP, locale="fr")
    page.goto(partner_page)
    frame_id = "advocacy-free-azat-miftakhov-amnesty-lyon"
    frame = page.frame_locator(f"#{frame_id}")
    expect(frame.locator("button[value=send]")).to_be_attached()
    handle = page.query_selector(f"#{frame_id}")
    inner = handle.content_frame() if handle else None
    assert inner is not None

    def fits() -> bool:
        return bool(inner.evaluate("document.documentElement.scrollHeight <= innerHeight + 1"))

    page.wait_for_function(
        f"document.getElementById('{frame_id}').getBoundingClientRect().height > 1000")
    assert fits(), "the widget scrolls inside its frame"
    assert inner.evaluate("document.documentElement.scrollWidth <= innerWidth")
    # The Send button is on the partner's page, reached by scrolling that page only.
    send = frame.locator("button[value=send]")
    send.scroll_into_view_if_needed()
    assert send.is_visible()
    box, outer = send.bounding_box(), page.locator(f"#{frame_id}").bounding_box()
    assert box and outer and box["y"] + box["height"] <= outer["y"] + outer["height"]
    # (Chromium paints only the visible part of another origin's frame in a full-page shot.)
    page.screenshot(path=str(shots / "partner-page-send.png"))

    # Only the widget's own messages count: the partner page (another origin) cannot set it.
    height = page.evaluate(f"document.getElementById('{frame_id}').style.height")
    page.evaluate("window.postMessage({advocacyHeight: 50}, '*')")
    page.wait_for_timeout(200)
    assert page.evaluate(f"document.getElementById('{frame_id}').style.height") == height

    # The frame follows the page inside it: errors make it longer, and it grows with them.
    before = outer["height"]
    send.click()
    expect(frame.locator("#error-summary")).to_be_visible()
    page.wait_for_function(
        f"document.getElementById('{frame_id}').getBoundingClientRect().height > {before}")
    assert fits()
    fill_and_send(frame, "Claire Martin", "claire@example.org", "Lyon", "FR")
    expect(frame.locator("h1")).to_contain_text("Consultez votre boîte")
    # ... and shrinks to the short "check your inbox" page.
    page.wait_for_function(
        f"document.getElementById('{frame_id}').getBoundingClientRect().height < 900")
    assert fits()
    page.locator(f"#{frame_id}").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "partner-check-inbox.png"))
    page.close()


@pytest.mark.parametrize(("lang", "title"), [("en", "Page not found"),
                                             ("ru", "Страница не найдена"),
                                             ("fr", "Page introuvable")])
def test_error_pages_in_the_sites_frame_and_language(
    app: Any, live: str, browser: Any, request: pytest.FixtureRequest, lang: str, title: str
) -> None:
    shots = shots_for(request, f"errors-{lang}")
    page = browser.new_page(viewport=PHONE, locale=lang)
    reply = page.goto(f"{live}/c/no-such-campaign")
    assert reply is not None and reply.status == 404
    assert page.inner_text("h1") == title
    assert page.get_attribute("html", "lang") == lang
    assert page.locator("meta[name=viewport]").count() == 1
    assert page.locator("nav.languages").count() == 1 and page.locator("footer").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, shots, "404")
    page.close()


def test_the_badge_label_never_runs_into_the_number(live: str, browser: Any) -> None:
    page = browser.new_page(viewport=DESKTOP)
    for lang in ("en", "fr", "de", "ru", "es"):
        page.goto(f"{live}/badge.svg?lang={lang}")
        label, number = page.evaluate("""() => {
            const [label, number] = document.querySelectorAll("text");
            const box = label.getBBox();
            return [box.x + box.width, Number(document.querySelectorAll("rect")[1]
                                              .getAttribute("x"))]; }""")
        assert label <= number, (lang, label, number)
    page.close()


@pytest.mark.parametrize("lang", ["en", "ru", "fr", "de", "es", "it", "pt"])
def test_phone_language_bar_on_one_line_and_touch_targets(
    live: str, browser: Any, lang: str
) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 740}, locale=lang)
    page.goto(f"{live}/")
    tops = page.eval_on_selector_all("nav.languages li", "els => els.map(e => e.offsetTop)")
    assert len(set(tops)) == 1, tops
    small = page.eval_on_selector_all(
        "input[type=checkbox], nav.languages a, footer a, button:not([hidden])",
        """els => els.filter(e => e.offsetParent && !e.closest('.hp')).map(e => {
            const r = e.getBoundingClientRect();
            return r.width < 24 || r.height < 24 ? (e.id || e.textContent.trim()) : null;
        }).filter(Boolean)""")
    assert small == []
    page.close()
